package hub

import (
	"net/http"

	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/web"
)

// goPage is a page whose body is written in Go (the order page,
// order_html.go). The layout around it is written in Go too — the markup
// of layout.html's "layout" and "layout-theme" with "hub-head", which
// TestGoLayoutMatchesTheTemplates holds it to — so rendering such a page
// walks no template at all.
type goPage interface {
	sizeHint() int
	writeHTML(w *htmlWriter, l *locale.Locale)
}

// writeGoPage answers with v's page whose body is p, in the store's theme
// (as Liquid source, every "{" neutralised like web.RenderLiquid does) or
// as a page of its own, with the headers web.Renderer gives every page.
func writeGoPage(w http.ResponseWriter, status int, v *view, theme bool, p goPage) {
	body := goPageHTML(v, theme, p)
	if theme {
		web.WritePage(w, status, "application/liquid", web.NeutraliseLiquid(body))
		return
	}
	web.WritePage(w, status, "text/html; charset=utf-8", body)
}

// goPageHTML is the whole page: the layout around p's body.
func goPageHTML(v *view, theme bool, p goPage) []byte {
	var w htmlWriter
	w.Grow(2000 + p.sizeHint())
	l := v.L
	if theme {
		w.raw(`<link rel="stylesheet" href="`)
		w.url(v.CSS)
		w.raw("\">\n<script src=\"")
		w.url(v.JS)
		w.raw("\" defer></script>\n<div class=\"hubdesk hubdesk-theme\" lang=\"")
		w.text(l.Lang)
		w.raw("\">\n")
		writeHubHead(&w, v)
		w.raw("\n<div id=\"main\" class=\"hub-main\" tabindex=\"-1\">\n")
		p.writeHTML(&w, l)
		w.raw("\n</div>\n</div>")
		return []byte(w.String())
	}
	w.raw("<!doctype html>\n<html lang=\"")
	w.text(l.Lang)
	w.raw("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n<title>")
	w.text(v.Title)
	if v.ShopName != "" {
		w.raw(` · `)
		w.text(v.ShopName)
	}
	w.raw("</title>\n<link rel=\"stylesheet\" href=\"")
	w.url(v.CSS)
	w.raw("\">\n<script src=\"")
	w.url(v.JS)
	w.raw("\" defer></script>\n</head>\n<body class=\"hubdesk\">\n<a class=\"skip\" href=\"#main\">")
	w.text(l.T("hub.skip"))
	w.raw("</a>\n")
	if v.Preview != nil {
		w.raw(`<div class="preview" role="note"><strong>`)
		w.text(l.T("preview.banner"))
		w.raw(`</strong> — `)
		w.text(l.T("preview.customer", "name", v.Preview.Name))
		w.raw(`</div>`)
	}
	w.raw("\n")
	if v.StoreURL != "" {
		w.raw(`<div class="storebar"><a class="shop" href="`)
		w.url(v.StoreURL)
		w.raw(`">`)
		w.text(v.ShopName)
		w.raw(`</a> <a class="back" href="`)
		w.url(v.StoreURL)
		w.raw(`">`)
		w.text(l.T("hub.back_to_store"))
		w.raw(`</a></div>`)
	}
	w.raw("\n")
	writeHubHead(&w, v)
	w.raw("\n<main id=\"main\" class=\"hub-main\" tabindex=\"-1\">\n")
	p.writeHTML(&w, l)
	w.raw("\n</main>\n</body>\n</html>")
	return []byte(w.String())
}

// writeHubHead is "hub-head": the hub's own header.
func writeHubHead(w *htmlWriter, v *view) {
	l := v.L
	w.raw("<header class=\"head\">\n")
	if v.Home != "" {
		w.raw(`<a class="home" href="`)
		w.url(v.Home)
		w.raw(`">`)
		w.text(l.T("hub.title"))
		w.raw(`</a>`)
	} else {
		w.raw(`<span class="home">`)
		w.text(l.T("hub.title"))
		w.raw(`</span>`)
	}
	w.raw("\n")
	if v.MessagesURL != "" {
		w.raw(`<a href="`)
		w.url(v.MessagesURL)
		w.raw(`">`)
		w.text(l.T("messages.title"))
		w.raw(`</a>`)
	}
	w.raw("\n")
	if v.AccountURL != "" {
		w.raw(`<a href="`)
		w.url(v.AccountURL)
		w.raw(`">`)
		w.text(l.T("account.tab"))
		w.raw(`</a>`)
	}
	w.raw("\n")
	if v.HelpURL != "" {
		w.raw(`<a href="`)
		w.url(v.HelpURL)
		w.raw(`" target="_blank" rel="noopener noreferrer">`)
		w.text(l.T("hub.help"))
		w.newTab(l)
		w.raw(`</a>`)
	}
	w.raw("\n</header>")
}
