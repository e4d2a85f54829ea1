package hub

import (
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/orderview"
)

// thumbnailsPerRow is how many item images an order row shows.
const thumbnailsPerRow = 3

// orderRow is one line of the orders tab.
type orderRow struct {
	Name, URL   string
	Placed      string
	Total       string
	Status      commerce.Status
	StatusLabel string
	Thumbs      []thumb
	MoreItems   string
	TotalLabel  string // for screen readers
}

// writeHTML renders the row. The orders tab is the hub's hottest page and a
// row has a dozen values; written here they cost one template action per
// row instead of one reflective escaper call per value, which is most of
// the page's CPU time at 50 rows. Every value is escaped for the context
// it lands in: element text or a double-quoted attribute (html.EscapeString
// escapes both quote kinds), and the URLs are hub paths built by link or
// absolute http(s) URLs checked by safeURL.
func (r *orderRow) writeHTML(b *strings.Builder) {
	esc := html.EscapeString
	b.WriteString(`<li>`)
	b.WriteString(`<a class="order" href="`)
	b.WriteString(esc(r.URL))
	b.WriteString(`"><span><span class="name">`)
	b.WriteString(esc(r.Name))
	b.WriteString(`</span><span class="sr-only">, </span><br><span class="muted">`)
	b.WriteString(esc(r.Placed))
	b.WriteString(`</span></span><span class="total"><span class="sr-only">`)
	b.WriteString(esc(r.TotalLabel))
	b.WriteString(`: </span>`)
	b.WriteString(esc(r.Total))
	b.WriteString(`<br><span class="badge `)
	b.WriteString(esc(string(r.Status)))
	b.WriteString(`">`)
	b.WriteString(esc(r.StatusLabel))
	b.WriteString(`</span></span>`)
	if len(r.Thumbs) > 0 || r.MoreItems != "" {
		b.WriteString(`<span class="thumbs">`)
		for _, t := range r.Thumbs {
			b.WriteString(`<img src="`)
			b.WriteString(esc(t.URL))
			b.WriteString(`" alt="`)
			b.WriteString(esc(t.Alt))
			b.WriteString(`" width="44" height="44" loading="lazy">`)
		}
		if r.MoreItems != "" {
			b.WriteString(`<span>`)
			b.WriteString(esc(r.MoreItems))
			b.WriteString(`</span>`)
		}
		b.WriteString(`</span>`)
	}
	b.WriteString(`</a></li>
`)
}

type thumb struct{ URL, Alt string }

type ordersPage struct {
	Greeting string
	Rows     template.HTML // the list items, see orderRow.writeHTML
	Older    string        // link to the next page; "" on the last
	Newest   string        // link back to the first page; "" on it
}

// Orders is the orders tab: the shopper's orders, newest first, a page at
// a time.
func (h *Hub) Orders(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	data := ordersPage{}
	if s.customer != nil {
		data.Greeting = s.customer.FirstName
		p, bad := httpkit.ParsePage(r)
		if bad != nil {
			h.Refuse(w, r, http.StatusBadRequest)
			return
		}
		if p.Limit == 0 {
			p.Limit = h.opts.PageSize
		}
		list, next, err := h.opts.Commerce.ListOrders(r.Context(), s.shop.ID, commerce.OrderFilter{CustomerID: s.customer.ID}, p)
		if err != nil {
			h.serverError(w, r, s, err)
			return
		}
		viewed, err := h.opts.Orders.Orders(r.Context(), s.shop.ID, s.cfg, list)
		if err != nil {
			h.serverError(w, r, s, err)
			return
		}
		var b strings.Builder
		b.Grow(len(list) * 700)
		for i := range viewed {
			row := h.row(s, &viewed[i])
			row.writeHTML(&b)
		}
		data.Rows = template.HTML(b.String())
		if next != "" {
			data.Older = s.link("", url.Values{"cursor": {next}})
		}
		if p.After != nil {
			data.Newest = s.link("", nil)
		}
	}
	h.page(w, s, http.StatusOK, "orders", s.loc.T("orders.title"), data)
}

func (h *Hub) row(s *session, o *orderview.Order) orderRow {
	status := o.Status
	row := orderRow{
		Name: o.Name, URL: s.link("/orders/"+itoa(o.ID), nil),
		Placed: s.loc.T("orders.placed", "date", s.loc.Date(o.CreatedAt)), Total: s.loc.Money(o.TotalMinor, o.Currency),
		Status: status, StatusLabel: s.loc.T("status." + string(status)), TotalLabel: s.loc.T("orders.total"),
	}
	more := 0
	for _, li := range o.LineItems {
		if len(row.Thumbs) < thumbnailsPerRow {
			if img := safeURL(li.ImageURL); img != "" {
				row.Thumbs = append(row.Thumbs, thumb{URL: img, Alt: li.Title})
				continue
			}
		}
		more++
	}
	if more > 0 {
		row.MoreItems = s.loc.N("orders.more_items", more)
	}
	return row
}
