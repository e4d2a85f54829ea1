package hub

import (
	"html/template"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/locale"
)

// The order page's body is written in Go — the markup of the reference
// template orderPageTemplate (order_html_test.go, with parts.html's
// "contact"), byte for byte, which TestOrderPageMatchesTheTemplate holds
// it to with hostile values in every branch. Through html/template the
// page cost some 250 µs of reflective escaping and locale calls per
// view: two thirds of a view that was not kept (the first one, and the
// first after any change). Values are escaped exactly as html/template
// escapes them in the same places: element text, attribute values and
// URL attributes (htmlWriter). The layout around it is Go-written too
// (layout_html.go); order.html's "page" still calls HTML, so the page
// renders through the templates alike.

// HTML is the page's body, the order page template's "page".
func (p orderPage) HTML(l *locale.Locale) template.HTML {
	var w htmlWriter
	w.Grow(p.sizeHint())
	p.writeHTML(&w, l)
	return template.HTML(w.String()) // every value was escaped on the way in
}

// sizeHint is about how many bytes the body takes.
func (p *orderPage) sizeHint() int {
	return 6000 + 400*(len(p.Items)+len(p.Shipments)+len(p.Return.Returns)+len(p.Refunds))
}

// writeHTML writes the body into w.
func (p *orderPage) writeHTML(w *htmlWriter, l *locale.Locale) {
	w.raw("\n")
	if p.Back != "" { // a guest's order page has no orders list to go back to
		w.raw("<p><a href=\"")
		w.url(p.Back)
		w.raw(`">← `)
		w.text(l.T("order.back"))
		w.raw("</a></p>")
	}
	w.raw("\n<h1>")
	w.text(l.T("order.title", "name", p.Name))
	w.raw(` <span class="badge `)
	w.text(string(p.Status))
	w.raw(`">`)
	w.text(l.T("status." + string(p.Status)))
	w.raw(`</span>`)
	if p.Payment != "" {
		w.raw(` <span class="badge `)
		w.text(p.Payment)
		w.raw(`">`)
		w.text(l.T("payment." + p.Payment))
		w.raw(`</span>`)
	}
	w.raw("</h1>\n<p class=\"muted\">")
	w.text(l.T("order.placed", "date", l.Date(p.CreatedAt)))
	w.raw("</p>\n\n<section class=\"card\" aria-labelledby=\"timeline-title\">\n<h2 id=\"timeline-title\">")
	w.text(l.T("timeline.title"))
	w.raw("</h2>\n<ol class=\"steps\">\n")
	for _, st := range p.Timeline {
		w.raw(`<li class="`)
		w.text(st.Key)
		if st.Done {
			w.raw(` done`)
		}
		if st.Current {
			w.raw(` current`)
		}
		w.raw(`"`)
		if st.Current {
			w.raw(` aria-current="step"`)
		}
		w.raw(`>`)
		w.text(l.T("timeline." + st.Key))
		w.raw(`<span class="sr-only"> (`)
		switch {
		case st.Current:
			w.text(l.T("timeline.current"))
		case st.Done:
			w.text(l.T("timeline.done"))
		default:
			w.text(l.T("timeline.todo"))
		}
		w.raw(`)</span>`)
		if st.At != nil {
			w.raw(`<time datetime="`)
			w.text(l.ISODate(*st.At))
			w.raw(`">`)
			w.text(l.Date(*st.At))
			w.raw(`</time>`)
		}
		w.raw("</li>\n")
	}
	w.raw("</ol>\n</section>\n\n")
	p.writeReturns(w, l)
	w.raw("\n\n<section class=\"card\" aria-labelledby=\"items-title\">\n<h2 id=\"items-title\">")
	w.text(l.T("items.title"))
	w.raw("</h2>\n<ul class=\"items\">\n")
	for _, it := range p.Items {
		w.raw("<li>\n")
		if it.Image != "" {
			w.raw(`<img src="`)
			w.url(it.Image)
			w.raw(`" alt="" width="56" height="56" loading="lazy">`)
		} else {
			w.raw(`<span class="ph"></span>`)
		}
		w.raw("\n<span")
		if it.Removed || it.AllRefunded {
			w.raw(` class="removed"`)
		}
		w.raw(`><strong>`)
		w.text(it.Title)
		w.raw(`</strong>`)
		if it.VariantTitle != "" {
			w.raw(`<br><span class="muted">`)
			w.text(it.VariantTitle)
			w.raw(`</span>`)
		}
		w.raw(`<br><span class="muted">`)
		w.text(l.T("items.quantity", "n", it.Quantity))
		w.raw(`</span>`)
		if it.Removed {
			w.raw(`<br><span class="sr-only">`)
			w.text(l.T("items.removed"))
			w.raw(`</span>`)
		}
		if it.Refunded != 0 && !it.AllRefunded {
			w.raw(`<br><span class="muted refunded">`)
			w.text(l.T("items.refunded_n", "n", it.Refunded))
			w.raw(`</span>`)
		}
		w.raw("</span>\n<span class=\"num\">")
		switch {
		case it.Removed:
			w.raw(`<span class="muted">`)
			w.text(l.T("items.removed"))
			w.raw(`</span>`)
		case it.AllRefunded:
			w.raw(`<span class="muted">`)
			w.text(l.T("items.refunded"))
			w.raw(`</span>`)
		default:
			w.text(l.Money(it.LineTotal, p.Currency))
		}
		w.raw("</span>\n</li>")
	}
	w.raw("\n</ul>\n<dl class=\"totals\">\n<dt>")
	w.text(l.T("totals.subtotal"))
	w.raw(`</dt><dd>`)
	w.text(l.Money(p.Subtotal, p.Currency))
	w.raw("</dd>\n<dt>")
	w.text(l.T("totals.shipping"))
	w.raw(`</dt><dd>`)
	w.text(l.Money(p.Shipping, p.Currency))
	w.raw("</dd>\n")
	if p.Tax != 0 {
		w.raw(`<dt>`)
		w.text(l.T("totals.tax"))
		w.raw(`</dt><dd>`)
		w.text(l.Money(p.Tax, p.Currency))
		w.raw(`</dd>`)
	}
	w.raw("\n<dt class=\"grand\">")
	w.text(l.T("totals.total"))
	w.raw(`</dt><dd class="grand">`)
	w.text(l.Money(p.Total, p.Currency))
	w.raw("</dd>\n")
	if p.Refunded != 0 {
		w.raw(`<dt>`)
		w.text(l.T("totals.refunded"))
		w.raw(`</dt><dd>−`)
		w.text(l.Money(p.Refunded, p.Currency))
		w.raw(`</dd>`)
	}
	w.raw("\n</dl>\n")
	if p.ReorderURL != "" {
		w.raw(`<div class="actions reorder"><a class="btn secondary" href="`)
		w.url(p.ReorderURL)
		w.raw(`" target="_top">`)
		w.text(l.T("reorder.button"))
		w.raw(`</a><span class="muted">`)
		w.text(l.T("reorder.hint"))
		w.raw(`</span></div>`)
	}
	w.raw("\n")
	if len(p.NotReordered) > 0 {
		w.raw(`<div class="not-reordered"><p class="muted small">`)
		if p.ReorderURL != "" {
			w.text(l.T("reorder.left_out"))
		} else {
			w.text(l.T("reorder.none"))
		}
		w.raw(`</p><ul class="ship-items">`)
		for _, n := range p.NotReordered {
			w.raw(`<li>`)
			w.text(n.Title)
			if n.VariantTitle != "" {
				w.raw(` (`)
				w.text(n.VariantTitle)
				w.raw(`)`)
			}
			w.raw(` — `)
			w.text(l.T("reorder." + n.Reason))
			w.raw(`</li>`)
		}
		w.raw(`</ul></div>`)
	}
	w.raw("\n</section>\n\n")
	if len(p.Refunds) > 0 {
		w.raw("<section class=\"card\" id=\"refunds\" aria-labelledby=\"refunds-title\">\n<h2 id=\"refunds-title\">")
		w.text(l.T("refunds.title"))
		w.raw("</h2>\n")
		for _, r := range p.Refunds {
			w.raw("<div class=\"refund\">\n<p>")
			w.text(l.T("refunds.refunded", "amount", l.Money(r.Amount, p.Currency), "date", l.Date(r.At)))
			w.raw("</p>\n")
			w.shipItems(r.Items)
			w.raw("\n</div>")
		}
		w.raw("\n</section>")
	}
	w.raw("\n\n<div class=\"cols\">\n<section class=\"card\" aria-labelledby=\"tracking-title\">\n<h2 id=\"tracking-title\">")
	w.text(l.T("shipments.title"))
	w.raw("</h2>\n")
	for i, s := range p.Shipments {
		w.raw("<div class=\"ship\">\n<h3 class=\"sr-only\">")
		w.text(l.T("shipments.shipment", "n", i+1))
		w.raw("</h3>\n<strong>")
		w.text(l.T(s.StatusKey))
		w.raw("</strong>\n<dl>\n")
		if s.Carrier != "" {
			w.raw(`<dt>`)
			w.text(l.T("shipments.carrier"))
			w.raw(`</dt><dd>`)
			w.text(s.Carrier)
			w.raw(`</dd>`)
		}
		w.raw("\n")
		if s.Number != "" {
			w.raw(`<dt>`)
			w.text(l.T("shipments.number"))
			w.raw(`</dt><dd>`)
			if s.URL != "" {
				w.raw(`<a href="`)
				w.url(s.URL)
				w.raw(`" target="_blank" rel="noopener noreferrer">`)
				w.text(s.Number)
				w.newTab(l)
				w.raw(`</a>`)
			} else {
				w.text(s.Number)
			}
			w.raw(`</dd>`)
		}
		w.raw("\n</dl>\n")
		if len(s.Items) > 0 {
			w.raw(`<p class="muted small">`)
			w.text(l.T("shipments.items"))
			w.raw(`</p>`)
			w.shipItems(s.Items)
		}
		w.raw("\n")
		if s.DeliveredAt != nil {
			w.raw(`<p class="muted">`)
			w.text(l.T("shipments.delivered_on", "date", l.Date(*s.DeliveredAt)))
			w.raw(`</p>`)
		}
		w.raw("\n")
		if s.ETA != nil {
			w.raw(`<p class="muted">`)
			w.text(l.T("shipments.eta", "date", l.Date(*s.ETA)))
			w.raw(`</p>`)
		}
		w.raw("\n")
		if s.URL != "" && s.Number == "" {
			w.raw(`<p><a href="`)
			w.url(s.URL)
			w.raw(`" target="_blank" rel="noopener noreferrer">`)
			w.text(l.T("shipments.track"))
			w.newTab(l)
			w.raw(`</a></p>`)
		}
		w.raw("\n</div>")
	}
	if len(p.Shipments) == 0 {
		w.raw(`<p class="muted">`)
		w.text(l.T("shipments.none"))
		w.raw(`</p>`)
	}
	w.raw("\n")
	if len(p.Unshipped) > 0 {
		w.raw(`<div class="ship unshipped"><strong>`)
		w.text(l.T("shipments.not_shipped"))
		w.raw("</strong>\n")
		w.shipItems(p.Unshipped)
		w.raw(`</div>`)
	}
	w.raw("\n</section>\n")
	if len(p.Address) > 0 {
		w.raw("<section class=\"card\" aria-labelledby=\"address-title\">\n<h2 id=\"address-title\">")
		w.text(l.T("address.title"))
		w.raw("</h2>\n<address>")
		for _, a := range p.Address {
			w.text(a)
			w.raw(`<br>`)
		}
		w.raw("</address>\n</section>")
	}
	w.raw("\n</div>\n\n")
	p.writeContact(w, l)
	w.raw("\n")
}

// writeReturns is the Returns section: the returns to follow, then what
// the shopper may do next.
func (p *orderPage) writeReturns(w *htmlWriter, l *locale.Locale) {
	b := &p.Return
	if !b.Show {
		return
	}
	w.raw("\n<section class=\"card\" id=\"return\" aria-labelledby=\"return-title\">\n<h2 id=\"return-title\">")
	w.text(l.T("return.title"))
	w.raw("</h2>\n")
	for _, r := range b.Returns {
		w.raw("<div class=\"return-follow\">\n<p><strong>")
		if r.Open {
			w.text(l.T("return.in_progress"))
		} else {
			w.text(l.T("return.closed"))
		}
		w.raw(`</strong> — `)
		w.text(l.T("return.state", "state", l.T("return.state."+string(r.State))))
		w.raw("</p>\n")
		if r.OutcomeKey != "" {
			w.raw(`<p>`)
			w.text(l.T("return.outcome", "outcome", l.T(r.OutcomeKey)))
			w.raw(`</p>`)
		}
		w.raw("\n")
		if len(r.Items) > 0 {
			w.raw(`<p class="muted small">`)
			w.text(l.T("return.items"))
			w.raw(`</p><ul class="ship-items">`)
			for _, it := range r.Items {
				w.raw(`<li>`)
				w.int(it.Quantity)
				w.raw(` × `)
				w.text(it.Title)
				if it.Variant != "" {
					w.raw(` (`)
					w.text(it.Variant)
					w.raw(`)`)
				}
				w.raw(`</li>`)
			}
			w.raw(`</ul>`)
		}
		w.raw("\n")
		if r.Number != "" {
			w.raw(`<p>`)
			w.text(l.T("return.tracking"))
			w.raw(` `)
			if r.Carrier != "" {
				w.text(r.Carrier)
				w.raw(` `)
			}
			if r.TrackingURL != "" {
				w.raw(`<a href="`)
				w.url(r.TrackingURL)
				w.raw(`" target="_blank" rel="noopener noreferrer">`)
				w.text(r.Number)
				w.newTab(l)
				w.raw(`</a>`)
			} else {
				w.text(r.Number)
			}
			w.raw(`</p>`)
		}
		w.raw("\n")
		if r.Open && r.LabelURL != "" {
			w.raw(`<p><a href="`)
			w.url(r.LabelURL)
			w.raw(`" target="_blank" rel="noopener noreferrer">`)
			w.text(l.T("return.label"))
			w.newTab(l)
			w.raw(`</a></p>`)
		}
		w.raw("\n")
		w.statusPage(l, r.StatusPage)
		w.raw("\n</div>")
	}
	w.raw("\n")
	switch {
	case b.Active != nil:
		if len(b.Returns) == 0 {
			w.raw("\n<p><strong>")
			w.text(l.T("return.in_progress"))
			w.raw(`</strong> — `)
			w.text(l.T("return.state", "state", l.T("return.state."+string(b.Active.State))))
			w.raw("</p>\n")
			w.statusPage(l, b.StatusPage)
			w.raw("\n")
		}
	case b.Returned:
		w.raw("\n")
		if len(b.Returns) == 0 {
			w.raw(`<p>`)
			w.text(l.T("return.returned"))
			w.raw(`</p>`)
		}
		w.raw("\n")
	case b.CanStart:
		w.raw("\n<form method=\"post\" action=\"")
		w.url(p.ReturnAction)
		w.raw("\" target=\"_top\">\n<p class=\"muted\">")
		w.text(l.T("return.hint"))
		if b.Until != nil {
			w.raw(` `)
			w.text(l.T("return.until", "date", l.Date(*b.Until)))
		}
		w.raw("</p>\n<button class=\"btn\" type=\"submit\">")
		w.text(l.T("return.start"))
		w.raw("</button>\n</form>\n")
	case b.WindowEnded != nil:
		w.raw("\n<p>")
		w.text(l.T("return.window_closed", "date", l.DatePtr(b.WindowEnded)))
		w.raw("</p>\n")
	case b.NotYet:
		w.raw("\n<p class=\"muted\">")
		w.text(l.T("return.after_delivery"))
		w.raw("</p>\n")
	}
	w.raw("\n</section>\n")
}

// writeContact is parts.html's "contact" for the order page.
func (p *orderPage) writeContact(w *htmlWriter, l *locale.Locale) {
	c := &p.Contact
	if !c.Show {
		return
	}
	w.raw("\n<section class=\"card\" id=\"contact\" aria-labelledby=\"contact-title\">\n<h2 id=\"contact-title\">")
	w.text(l.T("contact.title"))
	w.raw("</h2>\n")
	if c.Sent {
		w.raw(`<p class="note ok" role="status" tabindex="-1" data-focus>`)
		if c.Guest {
			w.text(l.T("contact.sent_guest"))
		} else {
			w.text(l.T("contact.sent"))
		}
		w.raw(`</p>`)
	}
	w.raw("\n")
	if c.Error != "" {
		w.raw(`<p class="note error" id="contact-error" role="alert" tabindex="-1" data-focus><span class="sr-only">`)
		w.text(l.T("contact.error_prefix"))
		w.raw(` </span>`)
		w.text(c.Error)
		w.raw(`</p>`)
	}
	w.raw("\n")
	if c.Notice != "" {
		w.raw(`<p class="note info">`)
		w.text(c.Notice)
		w.raw(`</p>`)
	}
	w.raw("\n<p class=\"muted\">")
	if c.Guest {
		w.text(l.T("contact.intro_guest"))
	} else {
		w.text(l.T("contact.intro"))
	}
	w.raw("</p>\n<form method=\"post\" action=\"")
	w.url(c.Action)
	w.raw("\">\n<label for=\"contact-message\">")
	w.text(l.T("contact.label"))
	w.raw("</label>\n<textarea id=\"contact-message\" name=\"message\" maxlength=\"5000\" required")
	if c.Error != "" {
		w.raw(` aria-invalid="true" aria-describedby="contact-error"`)
	}
	w.raw(`>`)
	w.text(c.Message)
	w.raw("</textarea>\n<button class=\"btn\" type=\"submit\"")
	if c.Disabled {
		w.raw(` disabled`)
	}
	w.raw(`>`)
	w.text(l.T("contact.send"))
	w.raw("</button>\n</form>\n</section>")
}

// htmlWriter builds Go-written markup. raw writes the file's own markup;
// every other value goes through text (element text, textarea content and
// quoted attribute values) or url (href, src and action values), which
// escape exactly as html/template does there.
type htmlWriter struct{ strings.Builder }

func (w *htmlWriter) raw(s string) { w.WriteString(s) }

func (w *htmlWriter) int(n int) { w.WriteString(strconv.Itoa(n)) }

// text is html/template's HTML escaper: <, >, &, ', ", + and NUL; other
// bytes, invalid UTF-8 among them, pass as they are.
func (w *htmlWriter) text(s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		w.WriteString(s[written:i])
		w.WriteString(repl)
		written = i + 1
	}
	w.WriteString(s[written:])
}

// url is html/template's handling of a URL attribute's whole value: a
// scheme other than http, https or mailto is refused (#ZgotmplZ), bytes
// a URL may not carry are percent-encoded (valid escapes kept), and the
// result is escaped as attribute text.
func (w *htmlWriter) url(s string) {
	if protocol, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(protocol, "/") &&
		!strings.EqualFold(protocol, "http") && !strings.EqualFold(protocol, "https") && !strings.EqualFold(protocol, "mailto") {
		w.raw("#ZgotmplZ")
		return
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
		written = i + 1
	}
	if written > 0 {
		b.WriteString(s[written:])
		s = b.String()
	}
	w.text(s)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// newTab is the screen reader's note after a link that opens a new tab.
func (w *htmlWriter) newTab(l *locale.Locale) {
	w.raw(`<span class="sr-only"> `)
	w.text(l.T("hub.new_tab"))
	w.raw(`</span>`)
}

// statusPage is the link to a return's status page, when there is one.
func (w *htmlWriter) statusPage(l *locale.Locale, url string) {
	if url == "" {
		return
	}
	w.raw(`<p><a href="`)
	w.url(url)
	w.raw(`" target="_blank" rel="noopener noreferrer">`)
	w.text(l.T("return.status_page"))
	w.newTab(l)
	w.raw(`</a></p>`)
}

// shipItems is a list of lines with how many of each, "" when there are
// none.
func (w *htmlWriter) shipItems(items []shipItem) {
	if len(items) == 0 {
		return
	}
	w.raw(`<ul class="ship-items">`)
	for _, it := range items {
		w.raw(`<li>`)
		w.int(it.Quantity)
		w.raw(` × `)
		w.text(it.Title)
		if it.VariantTitle != "" {
			w.raw(` (`)
			w.text(it.VariantTitle)
			w.raw(`)`)
		}
		w.raw(`</li>`)
	}
	w.raw(`</ul>`)
}
