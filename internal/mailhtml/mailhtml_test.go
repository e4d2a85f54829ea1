package mailhtml_test

import (
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/mailhtml"
)

// Whatever a mail's HTML tries, what is shown carries no script, event
// handler, style, form, frame or javascript: link, even when stored HTML
// was never sanitised (Render sanitises again).
func TestRenderStripsActiveContent(t *testing.T) {
	evil := `<div onclick="x()">Hi<script>alert(1)</script><style>body{display:none}</style>
<img src=x onerror="alert(2)"><a href="javascript:alert(3)">a</a><a href="https://shop.example/x">b</a>
<iframe src="https://e.example"></iframe><form action="https://e.example"><input name=p></form>
<svg onload="alert(4)"></svg><object data="x"></object><p style="position:fixed">p</p><math><mi xlink:href="javascript:alert(5)">m</mi></math></div>`
	r := mailhtml.Render(evil, nil)
	out := strings.ToLower(string(r.Shown) + string(r.Quoted))
	for _, bad := range []string{"<script", "alert(", "onerror", "onclick", "onload", "<style", "style=", "<iframe", "<form", "<input", "javascript:", "<object", "<svg"} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered HTML has %q: %s", bad, out)
		}
	}
	if !strings.Contains(out, `<a href="https://shop.example/x" rel="nofollow noreferrer noopener" target="_blank">b</a>`) {
		t.Errorf("links do not open apart: %s", out)
	}
}

// Remote images are held back (data-remote-src, no src) and flagged; cid:
// images point at their stored file; an unknown cid and other schemes go.
func TestRenderImages(t *testing.T) {
	r := mailhtml.Render(`<p>x</p><img src="https://t.example/p.gif" alt="logo"><img src="cid:a1@x"><img src="cid:gone@x"><img src="data:image/png;base64,AAAA">`,
		map[string]string{"a1@x": "/tickets/1/attachments/2?inline=1"})
	out := string(r.Shown)
	if !r.RemoteImages || strings.Contains(out, ` src="https://t.example`) || !strings.Contains(out, `data-remote-src="https://t.example/p.gif"`) {
		t.Errorf("remote image not held back: %s", out)
	}
	if !strings.Contains(out, `src="/tickets/1/attachments/2?inline=1"`) || strings.Contains(out, "gone@x") || strings.Contains(out, "data:") {
		t.Errorf("inline images: %s", out)
	}
	if r := mailhtml.Render(`<p>no images</p>`, nil); r.RemoteImages {
		t.Error("RemoteImages without any")
	}
}

// The history Gmail, Outlook and Thunderbird quote is folded; an answer
// given between quotes keeps its quotes in place.
func TestRenderFoldsQuotedHistory(t *testing.T) {
	cases := []struct{ name, in, shown, quoted string }{
		{"gmail", `<div dir="ltr">Perfect.</div><br><div class="gmail_quote"><div class="gmail_attr">On Tue, Shop wrote:<br></div><blockquote class="gmail_quote">Approved.</blockquote></div>`,
			"Perfect.", "Approved."},
		{"outlook", `<div>Size M.</div><hr><div id="divRplyFwdMsg"><b>From:</b> Shop</div><div>Which size?</div>`, "Size M.", "Which size?"},
		{"blockquote at the end", `<p>Thanks!</p><p>On Mon, 1 Dec 2026, Shop wrote:</p><blockquote type="cite"><p>It ships.</p></blockquote>`,
			"Thanks!", "On Mon, 1 Dec 2026, Shop wrote:"},
		{"nested in a wrapper", `<div><p>Yes.</p><div class="gmail_quote">old</div><p>sig after</p></div>`, "Yes.", "sig after"},
	}
	for _, c := range cases {
		r := mailhtml.Render(c.in, nil)
		if !strings.Contains(string(r.Shown), c.shown) || !strings.Contains(string(r.Quoted), c.quoted) || strings.Contains(string(r.Shown), c.quoted) {
			t.Errorf("%s: shown %q, quoted %q", c.name, r.Shown, r.Quoted)
		}
	}
	inline := `<blockquote>Can you ship to Paris?</blockquote><p>Yes we can.</p><blockquote>And Lyon?</blockquote><p>Also.</p>`
	if r := mailhtml.Render(inline, nil); r.Quoted != "" || !strings.Contains(string(r.Shown), "Can you ship to Paris?") {
		t.Errorf("point-by-point answer folded: %+v", r)
	}
	if r := mailhtml.Render(`<blockquote>only a quote</blockquote>`, nil); !strings.Contains(string(r.Shown), "only a quote") || r.Quoted != "" {
		t.Errorf("a mail of nothing but a quote: %+v", r)
	}
}

func TestSplitText(t *testing.T) {
	shown, quoted := mailhtml.SplitText("Thanks!\n\nOn Mon, 30 Nov 2026, Shop <s@x> wrote:\n> It ships.\n>\n> Shop")
	if strings.Join(shown, "|") != "Thanks!" || strings.Join(quoted, "|") != "On Mon, 30 Nov 2026, Shop <s@x> wrote:|> It ships.|>|> Shop" {
		t.Errorf("shown %q quoted %q", shown, quoted)
	}
}

// FuzzRender: any HTML renders without panic to HTML without script.
func FuzzRender(f *testing.F) {
	for _, s := range []string{`<div class="gmail_quote"><blockquote>x</blockquote></div>`, `<img src="cid:a">`, `<p>a<blockquote>b</blockquote>`,
		`<div id="divRplyFwdMsg"></div><div>x</div>`, `<table><tr><td><blockquote>q</blockquote></td></tr></table>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := mailhtml.Render(in, map[string]string{"a": "/x"})
		out := strings.ToLower(string(r.Shown) + string(r.Quoted))
		if strings.Contains(out, "<script") || strings.Contains(out, " onerror=") {
			t.Fatalf("active content in %q", out)
		}
	})
}
