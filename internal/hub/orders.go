package hub

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// thumbnailsPerRow is how many item images an order row shows.
const thumbnailsPerRow = 3

// orderRow is one line of the orders tab.
type orderRow struct {
	Name      string
	URL       string
	CreatedAt time.Time
	Status    commerce.Status
	Total     int64
	Currency  string
	Thumbs    []thumb
	MoreItems int
}

type thumb struct{ URL, Alt string }

type ordersPage struct {
	Greeting string
	Rows     []orderRow
	Older    string // link to the next page; "" on the last
	Newest   string // link back to the first page; "" on it
}

// Orders is the orders tab: the shopper's orders, newest first, a page at
// a time.
func (h *Hub) Orders(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	data := ordersPage{}
	if s.customer != nil {
		data.Greeting = s.customer.FirstName
		cursor := r.URL.Query().Get("cursor")
		list, next, err := h.opts.Commerce.ListOrders(r.Context(), s.shop.ID, commerce.OrderFilter{CustomerID: s.customer.ID},
			commerce.Page{Cursor: cursor, Limit: h.opts.PageSize})
		if errors.Is(err, commerce.ErrBadCursor) {
			// A mangled page link: show the first page rather than an error.
			cursor = ""
			list, next, err = h.opts.Commerce.ListOrders(r.Context(), s.shop.ID, commerce.OrderFilter{CustomerID: s.customer.ID},
				commerce.Page{Limit: h.opts.PageSize})
		}
		if err != nil {
			h.serverError(w, r, s, err)
			return
		}
		byOrder, err := h.returnsFor(r, s, list)
		if err != nil {
			h.serverError(w, r, s, err)
			return
		}
		for _, o := range list {
			data.Rows = append(data.Rows, h.row(s, o, byOrder[o.Name]))
		}
		if next != "" {
			data.Older = s.link("", url.Values{"cursor": {next}})
		}
		if cursor != "" {
			data.Newest = s.link("", nil)
		}
	}
	h.page(w, s, http.StatusOK, "orders", s.loc.T("orders.title"), data)
}

func (h *Hub) returnsFor(r *http.Request, s *session, list []*commerce.Order) (map[string][]returns.Return, error) {
	names := make([]string, 0, len(list))
	for _, o := range list {
		names = append(names, o.Name)
	}
	return h.opts.Returns.ForOrders(r.Context(), s.shop.ID, names)
}

func (h *Hub) row(s *session, o *commerce.Order, rets []returns.Return) orderRow {
	row := orderRow{
		Name: o.Name, URL: s.link("/orders/"+itoa(o.ID), nil), CreatedAt: o.CreatedAt,
		Status: commerce.DeriveStatus(o, returns.Progress(rets)), Total: o.TotalMinor, Currency: o.Currency,
	}
	for _, li := range o.LineItems {
		if img := safeURL(li.ImageURL); img != "" && len(row.Thumbs) < thumbnailsPerRow {
			row.Thumbs = append(row.Thumbs, thumb{URL: img, Alt: li.Title})
		} else {
			row.MoreItems++
		}
	}
	return row
}
