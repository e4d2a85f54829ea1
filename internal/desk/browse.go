package desk

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
)

// Customers lists and searches the shop's customers.
func (d *Desk) Customers(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	q := r.URL.Query()
	list, next, err := d.Commerce.ListCustomers(r.Context(), u.ShopID, q.Get("q"), commerce.Page{Cursor: q.Get("cursor"), Limit: 50})
	if errors.Is(err, commerce.ErrBadCursor) {
		d.Error(w, r, http.StatusBadRequest, "That page link is not valid any more. Start from the first page.")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "customers", "Customers", struct {
		Query, Next string
		Customers   []*commerce.Customer
	}{q.Get("q"), next, list})
}

// Customer shows one customer with their orders.
func (d *Desk) Customer(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return
	}
	c, err := d.Commerce.Customer(r.Context(), u.ShopID, id)
	if isNotFound(err) {
		d.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	orders, next, err := d.Commerce.ListOrders(r.Context(), u.ShopID, commerce.OrderFilter{CustomerID: c.ID},
		commerce.Page{Cursor: r.URL.Query().Get("cursor"), Limit: 50})
	if err != nil && !errors.Is(err, commerce.ErrBadCursor) {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "customer", c.Name(), struct {
		Customer *commerce.Customer
		Orders   []*commerce.Order
		Next     string
	}{c, orders, next})
}

// Orders lists and searches the shop's orders.
func (d *Desk) Orders(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	q := r.URL.Query()
	list, next, err := d.Commerce.ListOrders(r.Context(), u.ShopID, commerce.OrderFilter{Search: q.Get("q")},
		commerce.Page{Cursor: q.Get("cursor"), Limit: 50})
	if errors.Is(err, commerce.ErrBadCursor) {
		d.Error(w, r, http.StatusBadRequest, "That page link is not valid any more. Start from the first page.")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "orders", "Orders", struct {
		Query, Next string
		Orders      []*commerce.Order
	}{q.Get("q"), next, list})
}

// Order shows one order: items, shipments, customer.
func (d *Desk) Order(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return
	}
	o, err := d.Commerce.Order(r.Context(), u.ShopID, id)
	if isNotFound(err) {
		d.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	var c *commerce.Customer
	if o.CustomerID != 0 {
		c, _ = d.Commerce.Customer(r.Context(), u.ShopID, o.CustomerID)
	}
	d.page(w, r, http.StatusOK, "order", "Order "+o.Name, struct {
		Order    *commerce.Order
		Customer *commerce.Customer
	}{o, c})
}
