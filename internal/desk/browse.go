package desk

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/user"
)

// The data of the customers and orders pages.
type (
	customersPage struct {
		Query, Next string
		Customers   []commerce.CustomerRow
		Sort        listSort
		// Headers are the sortable columns' headers by sort key.
		Headers map[string]sortHeader
	}
	customerPage struct {
		Customer *commerce.Customer
		Orders   []orderview.Order
		Next     string
		// Headers is nil: a customer's orders are listed newest first.
		Headers map[string]sortHeader
	}
	ordersPage struct {
		Query, Next string
		Orders      []orderview.Order
		Sort        listSort
		// Headers are the sortable columns' headers by sort key.
		Headers map[string]sortHeader
		// Unlinked counts the returns waiting for a manager to link them
		// to their order (Manager and up; 0 for agents).
		Unlinked int
	}
	orderPage struct {
		Order    orderview.Order
		Customer *commerce.Customer
		// Initiate offers Initiate return (orderview.CanInitiate).
		Initiate bool
		// Health is how calls to the returns platform fare: the notice
		// on the returns section while they fail.
		Health returns.SyncHealth
		// Unlinked counts the returns that name this order's name, which
		// several orders carry: they wait for a manager to link them.
		Unlinked int
		// CanLink: the viewer may link them (Manager and up).
		CanLink bool
	}
)

// Customers lists and searches the shop's customers.
func (d *Desk) Customers(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	q := r.URL.Query()
	p, ok := d.listPage(w, r)
	if !ok {
		return
	}
	sort := parseListSort(q, customerSorts)
	list, next, err := d.Commerce.ListCustomersSorted(r.Context(), u.ShopID,
		commerce.CustomerQuery{Search: q.Get("q"), Sort: commerce.CustomerSort(sort.Key), Ascending: sort.Ascending}, p)
	if errors.Is(err, database.ErrBadCursor) {
		d.Error(w, r, http.StatusBadRequest, badCursorMessage)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "customers", "Customers", customersPage{Query: q.Get("q"), Next: next, Customers: list,
		Sort: sort, Headers: sortHeaders(staffLocale, "/customers", q.Get("q"), sort, customerSorts)})
}

// customerSorts are the customers list's sortable columns, the default
// first.
var customerSorts = []sortColumn{
	{Key: string(commerce.CustomersByCreated), LabelKey: "customers.col.created"},
	{Key: string(commerce.CustomersByName), LabelKey: "customers.col.name", Ascending: true},
	{Key: string(commerce.CustomersByLastOrder), LabelKey: "customers.col.last_order"},
}

// orderSorts are the orders list's sortable columns, the default first.
var orderSorts = []sortColumn{
	{Key: string(commerce.OrdersByCreated), LabelKey: "orders.col.date"},
	{Key: string(commerce.OrdersByTotal), LabelKey: "orders.col.total", Num: true},
}

// orderPage loads the page of orders the request's cursor names, with
// their statuses, answering a bad cursor (400) or a failure (500) itself.
func (d *Desk) orderPage(w http.ResponseWriter, r *http.Request, shopID int64, f commerce.OrderFilter) ([]orderview.Order, string, bool) {
	p, ok := d.listPage(w, r)
	if !ok {
		return nil, "", false
	}
	list, next, err := d.Commerce.ListOrders(r.Context(), shopID, f, p)
	if errors.Is(err, database.ErrBadCursor) {
		d.Error(w, r, http.StatusBadRequest, badCursorMessage)
		return nil, "", false
	}
	if err != nil {
		d.serverError(w, r, err)
		return nil, "", false
	}
	rows, err := d.OrderView.Published(r.Context(), shopID, list)
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

// Card is the order's returns section on its page.
func (p orderPage) Card() orderCard {
	return orderCard{Order: p.Order, Initiate: p.Initiate, Health: p.Health}
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
	d.page(w, r, http.StatusOK, "customer", c.Name(), customerPage{Customer: c, Orders: rows, Next: next})
}

// Orders lists and searches the shop's orders.
func (d *Desk) Orders(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	q := r.URL.Query()
	sort := parseListSort(q, orderSorts)
	rows, next, ok := d.orderPage(w, r, u.ShopID, commerce.OrderFilter{Search: q.Get("q"), Sort: commerce.OrderSort(sort.Key), Ascending: sort.Ascending})
	if !ok {
		return
	}
	d.page(w, r, http.StatusOK, "orders", "Orders", ordersPage{Query: q.Get("q"), Next: next, Orders: rows, Sort: sort,
		Headers: sortHeaders(staffLocale, "/orders", q.Get("q"), sort, orderSorts), Unlinked: d.unlinkedCount(r.Context(), u)})
}

// Order shows one order: items, shipments, customer.
func (d *Desk) Order(w http.ResponseWriter, r *http.Request) {
	ao, ok := loadByID(d, w, r, func(ctx context.Context, shopID, id int64) (*orderview.AgentOrder, error) {
		ao, err := d.OrderView.ForAgent(ctx, shopID, id)
		return &ao, err
	})
	if !ok {
		return
	}
	u := auth.UserFrom(r.Context())
	d.page(w, r, http.StatusOK, "order", "Order "+ao.Order.Name, orderPage{Order: ao.Order, Customer: ao.Customer,
		Initiate: orderview.CanInitiate(ao.Config, ao.Order), Health: ao.Health,
		Unlinked: d.unlinkedNaming(r.Context(), u.ShopID, ao.Order.Name), CanLink: u.Role.AtLeast(user.RoleManager)})
}
