package desk

import (
	"html/template"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// The ticket view's order cards (status, items, shipments, refunds and the returns
// section of each of the customer's latest orders) are written in Go —
// the same markup as ticket.html's cards with the "order-returns" and
// "returns-health" partials of parts.html, which
// TestOrderCardsMatchTheTemplates holds them to — for the reason the
// conversation is (ticket_html.go): they were a quarter of the ticket
// view's rendering. The order page still renders its returns section
// from the partial. Links from the store's platforms go through
// htmlWriter.url, which refuses other schemes as html/template does.

// OrderCards are the side panel's cards of the customer's orders.
func (v ticketPage) OrderCards() template.HTML {
	return orderCardsHTML(staffLocale, &v, v.writtenAt())
}

func orderCardsHTML(l *locale.Locale, v *ticketPage, now time.Time) template.HTML {
	var w htmlWriter
	w.Grow(1500 * len(v.Orders))
	for _, o := range v.Orders {
		w.raw(`
    <section class="card order-card" aria-label="Order `)
		w.text(o.Name)
		w.raw(`">
      <div><a href="/orders/`)
		w.int(o.ID)
		w.raw(`"><strong>`)
		w.text(o.Name)
		w.raw(`</strong></a> `)
		w.badge(newBadge(l, "order", o.Status))
		w.raw(`</div>
      <div class="muted small">`)
		w.text(l.Date(o.CreatedAt))
		w.raw(` · `)
		w.text(l.Money(o.TotalMinor, o.Currency))
		w.raw(`</div>
      <ul class="items">`)
		for _, li := range o.LineItems {
			w.raw(`<li>`)
			w.int(int64(li.CurrentQuantity))
			w.raw(` × `)
			w.text(li.Title)
			if li.VariantTitle != "" {
				w.raw(` <span class="muted">· `)
				w.text(li.VariantTitle)
				w.raw(`</span>`)
			}
			w.raw(`</li>`)
		}
		w.raw(`</ul>
      `)
		for _, f := range o.Fulfillments {
			w.raw(`<div class="small">`)
			w.text(or(f.Carrier, "Shipment"))
			w.raw(`: `)
			if f.TrackingURL != "" {
				w.raw(`<a href="`)
				w.url(f.TrackingURL)
				w.raw(`" target="_blank" rel="noopener noreferrer">`)
				w.text(or(f.TrackingNumber, "track"))
				w.raw(`</a>`)
			} else {
				w.text(or(f.TrackingNumber, "—"))
			}
			w.raw(` · `)
			if f.ShipmentStatus != "" {
				w.text(label(l, "shipment", f.ShipmentStatus))
			} else {
				w.text(label(l, "fulfillment", f.Status))
			}
			w.raw(`</div>`)
		}
		w.raw(`
      `)
		orderRefundsHTML(&w, l, o.Order)
		w.raw(`
      `)
		orderReturnsHTML(&w, l, v.Card(o), now)
		w.raw(`
    </section>
    `)
	}
	return w.html()
}

// orderRefundsHTML writes the order's refunds, the "order-refunds"
// partial: amount, date and the items each gave back.
func orderRefundsHTML(w *htmlWriter, l *locale.Locale, o *commerce.Order) {
	if len(o.Refunds) == 0 {
		return
	}
	w.raw(`<ul class="small order-refunds">`)
	for _, r := range o.Refunds {
		w.raw(`<li class="refund-row">Refunded <strong>`)
		w.text(l.Money(r.AmountMinor, o.Currency))
		w.raw(`</strong> on `)
		w.text(l.Date(r.CreatedAt))
		if items := o.RefundedItems(r); len(items) > 0 {
			w.raw(`: `)
			for i, it := range items {
				if i > 0 {
					w.raw(`, `)
				}
				w.int(int64(it.Quantity))
				w.raw(` × `)
				w.text(it.Title)
				if it.VariantTitle != "" {
					w.raw(` <span class="muted">· `)
					w.text(it.VariantTitle)
					w.raw(`</span>`)
				}
			}
		}
		w.raw(`</li>`)
	}
	w.raw(`</ul>`)
}

// orderReturnsHTML writes an order card's returns section, the
// "order-returns" partial.
func orderReturnsHTML(w *htmlWriter, l *locale.Locale, card orderCard, now time.Time) {
	o := card.Order
	w.raw(`<div class="order-returns" id="order-returns-`)
	w.int(o.ID)
	w.raw(`" data-order-returns="`)
	w.int(o.ID)
	w.raw(`">
  `)
	returnsHealthHTML(w, l, card.Health, now)
	w.raw(`
  `)
	for _, r := range o.Returns {
		w.raw(`<div class="return-row" data-return="`)
		w.text(r.ExternalID)
		w.raw(`">
    <div>`)
		w.badge(newBadge(l, "return", r.State))
		w.raw(` <span class="muted small">`)
		w.text(label(l, "provider", r.Provider))
		w.raw(` return `)
		w.text(r.ExternalID)
		if r.Outcome != "" {
			w.raw(` · `)
			w.text(label(l, "return.outcome", r.Outcome))
		}
		w.raw(`</span></div>
    <div class="small">`)
		w.text(or(r.Carrier, "Return carrier not known"))
		w.raw(`: `)
		if tracking := r.Tracking(); tracking != "" {
			w.raw(`<a class="tracking-link" href="`)
			w.url(tracking)
			w.raw(`" target="_blank" rel="noopener noreferrer">`)
			w.text(r.TrackingNumber)
			w.raw(`</a>`)
		} else if r.HasTrackingNumber() {
			w.text(r.TrackingNumber)
		} else {
			w.raw(`<span class="muted">no tracking number yet</span>`)
		}
		if r.LabelStatus != "" {
			w.raw(` · `)
			w.text(label(l, "return.label", r.LabelStatus))
		}
		w.raw(`</div>
    `)
		if r.ProcessingFailed {
			w.raw(`<div class="small return-failed" role="status"><strong>Processing failed</strong>`)
			if r.ProcessingError != "" {
				w.raw(`: `)
				w.text(r.ProcessingError)
			} else {
				w.raw(`: Loop gave no message`)
			}
			w.raw(`</div>`)
		}
		w.raw(`
    `)
		if len(r.LineItems) > 0 {
			w.raw(`<ul class="small return-items">`)
			for _, it := range r.LineItems {
				w.raw(`<li>`)
				w.int(int64(it.Quantity))
				w.raw(` × `)
				w.text(it.Title)
				if it.Variant != "" {
					w.raw(` <span class="muted">· `)
					w.text(it.Variant)
					w.raw(`</span>`)
				}
				if it.Reason != "" {
					w.raw(` <span class="muted">— `)
					w.text(it.Reason)
					w.raw(`</span>`)
				}
				w.raw(`</li>`)
			}
			w.raw(`</ul>`)
		}
		w.raw(`
    `)
		if link := r.LabelLink(); link != "" {
			w.raw(`<div class="small return-label-actions"><button type="button" class="link-button" data-copy-text="`)
			w.text(link)
			w.raw(`">Copy label link</button>`)
			if card.Ticket != 0 {
				w.raw(` <button type="button" class="link-button" data-insert-reply="`)
				w.text(link)
				w.raw(`">Insert into reply</button>`)
			}
			w.raw(`</div>`)
		}
		w.raw(`
    <div class="muted small">updated `)
		w.text(ago(now, r.SyncedAt))
		w.raw(`</div>
  </div>`)
	}
	w.raw(`
  `)
	if card.Initiate {
		w.raw(`<form method="post" action="/orders/`)
		w.int(o.ID)
		w.raw(`/return-link" data-initiate-return>`)
		if card.Ticket != 0 {
			w.raw(`<input type="hidden" name="ticket" value="`)
			w.int(card.Ticket)
			w.raw(`">`)
		}
		w.raw(`<button type="submit" class="secondary small-button">Initiate return</button></form>
  <div data-return-panel aria-live="polite"></div>
  `)
	} else if !o.Return.Eligible() {
		w.raw(`<div class="muted small return-reason">Return: `)
		w.text(label(l, "return.eligibility", o.Return.Reason))
		w.raw(`</div>`)
	}
	w.raw(`
</div>`)
}

// returnsHealthHTML writes the notice that calls to the returns platform
// fail, the "returns-health" partial; nothing while they succeed.
func returnsHealthHTML(w *htmlWriter, l *locale.Locale, h returns.SyncHealth, now time.Time) {
	if !h.Failing() {
		return
	}
	w.raw(`<p class="notice small returns-health" role="status" data-returns-health>`)
	w.text(label(l, "return.sync", h.Problem))
	w.raw(` since `)
	w.text(ago(now, h.FailingSince))
	w.raw(`. Returns are shown as last known`)
	if !h.LastOK.IsZero() {
		w.raw(` (Loop last answered `)
		w.text(ago(now, h.LastOK))
		w.raw(`)`)
	}
	w.raw(` and update when Loop answers again.</p>`)
}

// badge writes the "badge" partial.
func (w *htmlWriter) badge(b badge) {
	w.raw(`<span class="badge `)
	w.text(b.Class)
	w.raw(`">`)
	w.text(b.Label)
	w.raw(`</span>`)
}

// url writes a link into a double-quoted href as html/template does: a
// scheme other than http, https or mailto becomes "#ZgotmplZ" (so a
// platform's javascript: link is never clickable), bytes a URL may not
// hold are percent-encoded, and the result is escaped for the attribute.
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
			// A valid escape is kept (as html/template does, which
			// wants a byte after it too).
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

// or is the template's "or" of two strings: a, or b when a is empty.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
