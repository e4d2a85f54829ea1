package desk

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// orderRow is an order with its status derived from its returns too; the
// field shadows nothing the templates need from the order itself.
type orderRow struct {
	*commerce.Order
	Status  commerce.Status
	Returns []returns.Return
}

// The data of the customers and orders pages.
type (
	customersPage struct {
		Query, Next string
		Customers   []*commerce.Customer
	}
	customerPage struct {
		Customer *commerce.Customer
		Orders   []orderRow
		Next     string
	}
	ordersPage struct {
		Query, Next string
		Orders      []orderRow
	}
	orderPage struct {
		Order    orderRow
		Customer *commerce.Customer
	}
)

// withStatuses pairs orders with their statuses (returns.Records.Statuses,
// the one way every surface names them).
func (d *Desk) withStatuses(ctx context.Context, shopID int64, orders []*commerce.Order) ([]orderRow, error) {
	statuses, byOrder, err := d.Returns.Statuses(ctx, shopID, orders)
	if err != nil {
		return nil, err
	}
	rows := make([]orderRow, len(orders))
	for i, o := range orders {
		rows[i] = orderRow{Order: o, Status: statuses[o.ID], Returns: byOrder[o.ID]}
	}
	return rows, nil
}

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
	d.page(w, r, http.StatusOK, "customers", "Customers", customersPage{q.Get("q"), next, list})
}

// orderPage loads the page of orders the request's cursor names, with
// their statuses, answering a bad cursor (400) or a failure (500) itself.
func (d *Desk) orderPage(w http.ResponseWriter, r *http.Request, shopID int64, f commerce.OrderFilter) ([]orderRow, string, bool) {
	list, next, err := d.Commerce.ListOrders(r.Context(), shopID, f, commerce.Page{Cursor: r.URL.Query().Get("cursor"), Limit: 50})
	if errors.Is(err, commerce.ErrBadCursor) {
		d.Error(w, r, http.StatusBadRequest, "That page link is not valid any more. Start from the first page.")
		return nil, "", false
	}
	if err != nil {
		d.serverError(w, r, err)
		return nil, "", false
	}
	rows, err := d.withStatuses(r.Context(), shopID, list)
	if err != nil {
		d.serverError(w, r, err)
		return nil, "", false
	}
	return rows, next, true
}

// loadByID fetches the record named by the {id} path value from the
// signed-in user's shop. A malformed id, a missing record and another
// shop's record all answer the same 404; other failures a 500.
func loadByID[T any](d *Desk, w http.ResponseWriter, r *http.Request, get func(ctx context.Context, shopID, id int64) (*T, error)) (*T, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return nil, false
	}
	v, err := get(r.Context(), auth.UserFrom(r.Context()).ShopID, id)
	if errors.Is(err, database.ErrNotFound) {
		d.NotFound(w, r)
		return nil, false
	}
	if err != nil {
		d.serverError(w, r, err)
		return nil, false
	}
	return v, true
}

// Customer shows one customer with their orders.
func (d *Desk) Customer(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	c, ok := loadByID(d, w, r, d.Commerce.Customer)
	if !ok {
		return
	}
	rows, next, ok := d.orderPage(w, r, u.ShopID, commerce.OrderFilter{CustomerID: c.ID})
	if !ok {
		return
	}
	d.page(w, r, http.StatusOK, "customer", c.Name(), customerPage{c, rows, next})
}

// Orders lists and searches the shop's orders.
func (d *Desk) Orders(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	q := r.URL.Query()
	rows, next, ok := d.orderPage(w, r, u.ShopID, commerce.OrderFilter{Search: q.Get("q")})
	if !ok {
		return
	}
	d.page(w, r, http.StatusOK, "orders", "Orders", ordersPage{q.Get("q"), next, rows})
}

// Order shows one order: items, shipments, customer.
func (d *Desk) Order(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	o, ok := loadByID(d, w, r, d.Commerce.Order)
	if !ok {
		return
	}
	var c *commerce.Customer
	if o.CustomerID != 0 {
		c, _ = d.Commerce.Customer(r.Context(), u.ShopID, o.CustomerID)
	}
	rows, err := d.withStatuses(r.Context(), u.ShopID, []*commerce.Order{o})
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "order", "Order "+o.Name, orderPage{rows[0], c})
}
