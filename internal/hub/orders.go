package hub

import (
	"errors"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/web"
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

// markup is HTML written by this file. Only constants convert to it
// implicitly, so a value from the database cannot reach rowWriter.markup
// without an explicit conversion a reviewer would see.
type markup string

// rowWriter is the one place the hand-built order rows are escaped:
// markup writes the file's own HTML, text escapes every value for element
// text and double-quoted attributes alike (html.EscapeString escapes <, >,
// &, ' and ").
type rowWriter struct{ b *strings.Builder }

func (w rowWriter) markup(m markup) { w.b.WriteString(string(m)) }
func (w rowWriter) text(s string)   { w.b.WriteString(html.EscapeString(s)) }

// writeHTML renders the row. The orders tab is the hub's hottest page and a
// row has a dozen values; written here they cost one template action per
// row instead of one reflective escaper call per value, which is most of
// the page's CPU time at 50 rows. The URLs are hub paths built by link or
// absolute http(s) URLs checked by safeURL, so escaping them as attribute
// text is all they need.
func (r *orderRow) writeHTML(b *strings.Builder) {
	w := rowWriter{b}
	w.markup(`<li><a class="order" href="`)
	w.text(r.URL)
	w.markup(`"><span><span class="name">`)
	w.text(r.Name)
	w.markup(`</span><span class="sr-only">, </span><br><span class="muted">`)
	w.text(r.Placed)
	w.markup(`</span></span><span class="total"><span class="sr-only">`)
	w.text(r.TotalLabel)
	w.markup(`: </span>`)
	w.text(r.Total)
	w.markup(`<br><span class="badge `)
	w.text(string(r.Status))
	w.markup(`">`)
	w.text(r.StatusLabel)
	w.markup(`</span></span>`)
	if len(r.Thumbs) > 0 || r.MoreItems != "" {
		w.markup(`<span class="thumbs">`)
		for _, t := range r.Thumbs {
			w.markup(`<img src="`)
			w.text(t.URL)
			w.markup(`" alt="`)
			w.text(t.Alt)
			w.markup(`" width="44" height="44" loading="lazy">`)
		}
		if r.MoreItems != "" {
			w.markup(`<span>`)
			w.text(r.MoreItems)
			w.markup(`</span>`)
		}
		w.markup(`</span>`)
	}
	w.markup("</a></li>\n")
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
	key, keep := "", false
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
		// The version is read before the orders: a write that lands in
		// between is then in the page but not in its key, and the next
		// request renders again rather than keeping a stale page.
		version, err := h.opts.Commerce.OrdersVersion(r.Context(), s.shop.ID, s.customer.ID)
		if err != nil && !errors.Is(err, commerce.ErrNotFound) {
			h.serverError(w, r, s, err)
			return
		}
		if err == nil {
			key, keep = h.ordersPageKey(s, p, version)
		}
		if keep {
			if cached, ok := h.pages.get(key, h.opts.Now()); ok {
				h.pageHeaders(w, s)
				web.WritePage(w, http.StatusOK, cached.contentType, cached.body)
				return
			}
		}
		viewed, next, err := h.opts.Orders.List(r.Context(), s.shop.ID, s.cfg, commerce.OrderFilter{CustomerID: s.customer.ID}, p)
		if err != nil {
			h.serverError(w, r, s, err)
			return
		}
		var b strings.Builder
		b.Grow(len(viewed) * 700)
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
	if !keep {
		h.page(w, s, http.StatusOK, "orders", s.loc.T("orders.title"), data)
		return
	}
	c := &capture{ResponseWriter: w}
	h.page(c, s, http.StatusOK, "orders", s.loc.T("orders.title"), data)
	if c.status == http.StatusOK {
		h.pages.put(key, cachedPage{body: c.body, contentType: w.Header().Get("Content-Type")})
	}
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
