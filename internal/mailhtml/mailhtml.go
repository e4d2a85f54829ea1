// Package mailhtml is how shoppers' mail is shown: the HTML of a mail
// sanitised with an allow-list (when it arrives and again whenever it is
// shown), remote images held back until an agent asks for them, inline
// images pointed at their stored files, and the quoted history of a reply
// — HTML or text — folded away. It knows nothing of tickets; the desk and
// the hub hand it a body and render what it returns.
package mailhtml

import (
	"bytes"
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// MaxHTMLBytes bounds the sanitised HTML kept for one message: mail from
// marketing tools runs to a few hundred KiB; beyond this the text is
// what is shown.
const MaxHTMLBytes = 512 << 10

var (
	policyOnce sync.Once
	policy     *bluemonday.Policy
)

// Policy is the allow-list: bluemonday's user-generated-content policy
// (text formatting, lists, tables, links, images; no script, style,
// form, iframe, object or event handler, no style attribute) with links
// that open apart (target=_blank, rel="nofollow noopener noreferrer") and
// cid: images, which Render points at stored files.
func Policy() *bluemonday.Policy {
	policyOnce.Do(func() {
		p := bluemonday.UGCPolicy()
		p.AllowURLSchemes("http", "https", "mailto", "cid")
		p.RequireNoFollowOnLinks(true)
		p.RequireNoReferrerOnLinks(true)
		p.AddTargetBlankToFullyQualifiedLinks(true)
		// The markers Gmail, Outlook and Thunderbird put on quoted
		// history, which Render folds; nothing else of class or id.
		p.AllowAttrs("class").Matching(regexp.MustCompile(`^(gmail_quote|gmail_attr|moz-cite-prefix|OutlookMessageHeader)$`)).Globally()
		p.AllowAttrs("id").Matching(regexp.MustCompile(`^(divRplyFwdMsg|appendonsend)$`)).OnElements("div")
		p.AllowAttrs("type").Matching(regexp.MustCompile(`^cite$`)).OnElements("blockquote")
		policy = p
	})
	return policy
}

// Sanitize is body with everything the allow-list does not name removed.
// It is safe to call on its own output (Render does, at every showing).
func Sanitize(body string) string {
	return strings.TrimSpace(Policy().Sanitize(body))
}

// Rendered is a mail's HTML ready for a page.
type Rendered struct {
	Shown  template.HTML
	Quoted template.HTML // the folded history; "" when there is none
	// RemoteImages: images on other servers were held back (data-src);
	// the page offers to show them.
	RemoteImages bool
}

// Render sanitises body again, holds back remote images (their address
// moves to data-remote-src, the image shows its alt text until an agent
// asks: loading one tells the sender the mail was read, and where from),
// points cid: images at files (cids maps a Content-ID to the file's
// address; an unknown one is dropped) and folds the quoted history.
func Render(body string, cids map[string]string) Rendered {
	clean := Sanitize(body)
	if clean == "" {
		return Rendered{}
	}
	nodes, err := html.ParseFragment(strings.NewReader(clean), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return Rendered{}
	}
	root := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	for _, n := range nodes {
		root.AppendChild(n)
	}
	var out Rendered
	out.RemoteImages = rewriteImages(root, cids)
	quoted := splitQuotedHTML(root)
	out.Shown = template.HTML(renderChildren(root)) // #nosec: sanitised above, rewritten by this package only
	if quoted != nil {
		out.Quoted = template.HTML(renderChildren(quoted))
	}
	if strings.TrimSpace(string(out.Shown)) == "" && out.Quoted != "" {
		out.Shown, out.Quoted = out.Quoted, "" // nothing but a quote: show it
	}
	return out
}

// rewriteImages holds back remote images and resolves cid: ones; it
// reports whether any remote image was held back.
func rewriteImages(n *html.Node, cids map[string]string) bool {
	remote := false
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; {
			next := c.NextSibling
			if c.Type == html.ElementNode && c.DataAtom == atom.Img {
				src := attr(c, "src")
				lower := strings.ToLower(src)
				switch {
				case strings.HasPrefix(lower, "cid:"):
					if file, ok := cids[ContentID(src[4:])]; ok {
						setAttr(c, "src", file)
					} else {
						n.RemoveChild(c)
					}
				case strings.HasPrefix(lower, "https://"), strings.HasPrefix(lower, "http://"):
					removeAttr(c, "src")
					setAttr(c, "data-remote-src", src)
					setAttr(c, "class", "remote-image")
					if attr(c, "alt") == "" {
						setAttr(c, "alt", "[image]")
					}
					remote = true
				default:
					n.RemoveChild(c)
				}
			} else {
				walk(c)
			}
			c = next
		}
	}
	walk(n)
	return remote
}

// ContentID is a Content-ID as stored and as a cid: URL names it:
// without angle brackets or surrounding space, URL escapes undone where
// they are valid.
func ContentID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if strings.Contains(id, "%") {
		if u, err := url.PathUnescape(id); err == nil {
			id = u
		}
	}
	return id
}

// quoteStart reports whether n begins a mail client's quoted history.
func quoteStart(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	for _, class := range strings.Fields(attr(n, "class")) {
		if class == "gmail_quote" || class == "moz-cite-prefix" || class == "OutlookMessageHeader" {
			return true
		}
	}
	switch attr(n, "id") {
	case "divRplyFwdMsg", "appendonsend":
		return true
	}
	return n.DataAtom == atom.Blockquote && trailing(n)
}

// trailing: nothing but whitespace follows n in the document, so a
// blockquote there is the history under a reply, not an answer given
// point by point between quotes.
func trailing(n *html.Node) bool {
	for p := n; p != nil; p = p.Parent {
		for s := p.NextSibling; s != nil; s = s.NextSibling {
			if strings.TrimSpace(textOf(s)) != "" {
				return false
			}
		}
	}
	return true
}

// splitQuotedHTML moves the quoted history out of root — from the first
// node that starts it to the end of the document — and returns it in a
// node of its own; nil when there is none. The "On … wrote:" line right
// above a trailing blockquote goes with it.
func splitQuotedHTML(root *html.Node) *html.Node {
	var start *html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		for c := n.FirstChild; c != nil && start == nil; c = c.NextSibling {
			if quoteStart(c) {
				start = c
				return
			}
			find(c)
		}
	}
	find(root)
	if start == nil {
		return nil
	}
	if start.DataAtom == atom.Blockquote {
		if prev := previousContent(start); prev != nil && attribution.MatchString(textOf(prev)) {
			start = prev
		}
	}
	quoted := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
	// Move start and everything after it, climbing to root, keeping the
	// nesting of what moves under copies of its ancestors.
	var chain []*html.Node
	for p := start.Parent; p != nil && p != root; p = p.Parent {
		chain = append(chain, p)
	}
	into := quoted
	for i := len(chain) - 1; i >= 0; i-- {
		clone := &html.Node{Type: chain[i].Type, Data: chain[i].Data, DataAtom: chain[i].DataAtom, Attr: chain[i].Attr}
		into.AppendChild(clone)
		into = clone
	}
	// From the innermost level outwards: move the node and its following
	// siblings, then the following siblings of each ancestor.
	levels := append([]*html.Node{start}, chain...)
	target := into
	for i, n := range levels {
		from := n
		if i > 0 {
			from = n.NextSibling
		}
		for c := from; c != nil; {
			next := c.NextSibling
			c.Parent.RemoveChild(c)
			target.AppendChild(c)
			c = next
		}
		target = target.Parent
		if target == nil {
			target = quoted
		}
	}
	return quoted
}

// previousContent is the sibling before n that holds something, skipping
// whitespace text and line breaks.
func previousContent(n *html.Node) *html.Node {
	for s := n.PrevSibling; s != nil; s = s.PrevSibling {
		if s.Type == html.ElementNode && s.DataAtom == atom.Br {
			continue
		}
		if strings.TrimSpace(textOf(s)) != "" {
			return s
		}
	}
	return nil
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}

func renderChildren(n *html.Node) string {
	var b bytes.Buffer
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		_ = html.Render(&b, c)
	}
	return strings.TrimSpace(b.String())
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}

func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

func removeAttr(n *html.Node, key string) {
	out := n.Attr[:0]
	for _, a := range n.Attr {
		if !(a.Namespace == "" && strings.EqualFold(a.Key, key)) {
			out = append(out, a)
		}
	}
	n.Attr = out
}
