package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// The merchant's side, by hand: GET /admin lists the newest orders with
// buttons to fulfil them, move their shipment along and cancel them, and a
// form to place an order for a customer. Each button posts to
// /admin/orders/…, which answers 303 back to /admin, or JSON
// ({"order_id", "fulfillment_id"}) for a client that asks for it (the
// `hubdesk sandbox shopify order …` commands). Each change goes out
// through Options.OnChange as Shopify's webhook would. Nothing here is
// authenticated, like the rest of the sandbox: keep it on loopback.

var adminPages = template.Must(template.New("admin").Parse(`
{{define "admin"}}
<section class="card"><h1>Shop admin (sandbox)</h1>
<p class="muted">{{.Data.Orders}} orders. Admin API: <code>POST {{.Data.GraphQL}}</code> with <code>X-Shopify-Access-Token</code>{{if .Data.Token}} (<code>{{.Data.Token}}</code>){{end}}.</p>
<form method="post" action="/admin/orders">
<label>Customer <select name="customer">{{range .Customers}}<option value="{{.ID}}">{{.Name}} ({{.Email}})</option>{{end}}
<option value="` + strconv.Itoa(firstCustomerID) + `">Generated customer ` + strconv.Itoa(firstCustomerID) + `</option></select></label>
<label>Quantity <input name="quantity" type="number" min="1" max="9" value="1"></label>
<button class="button" type="submit">Create order</button></form></section>
<section class="card"><h2>Newest orders</h2>
<table><thead><tr><th>Order</th><th>Customer</th><th>Created</th><th>Status</th><th></th></tr></thead><tbody>
{{range .Data.Rows}}<tr><td>{{.Name}} <span class="muted">{{.ID}}</span></td><td>{{.Email}}</td><td>{{.Created}}</td><td>{{.Status}}</td>
<td>{{$id := .ID}}{{range .Actions}}<form method="post" action="/admin/orders/{{$id}}/{{.Path}}" style="display:inline"><button class="linkbutton" type="submit">{{.Label}}</button></form> {{end}}</td></tr>
{{end}}</tbody></table></section>
{{end}}
`))

type adminRow struct {
	ID, Name, Email, Created, Status string
	Actions                          []adminAction
}

type adminAction struct{ Path, Label string }

func (s *Sandbox) adminPage(w http.ResponseWriter, r *http.Request) {
	s.dmu.Lock()
	d := s.data
	total := int(d.seeded) + len(d.created)
	var ids []int64
	for i := len(d.created) - 1; i >= 0 && len(ids) < 25; i-- {
		ids = append(ids, d.created[i])
	}
	for i := d.seeded - 1; i >= 0 && len(ids) < 25; i-- {
		ids = append(ids, firstOrderID+i)
	}
	rows := make([]adminRow, 0, len(ids))
	for _, id := range ids {
		o := d.orderByID(id)
		rows = append(rows, adminRow{ID: strconv.FormatInt(id, 10), Name: o.Name, Email: o.Email,
			Created: o.CreatedAt.UTC().Format("2006-01-02 15:04"), Status: orderSummary(o), Actions: actionsFor(o)})
	}
	s.dmu.Unlock()
	v := s.newView(r, "Admin")
	v.Data = map[string]any{"Orders": total, "Rows": rows, "GraphQL": s.BaseURL() + "/admin/api/" + shopify.DefaultAPIVersion + "/graphql.json",
		"Token": s.opts.AdminToken}
	var body bytes.Buffer
	if err := adminPages.ExecuteTemplate(&body, "admin", v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.Body = template.HTML(body.String())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = layout.Execute(w, v)
}

// orderSummary is one line saying where the order stands.
func orderSummary(o *shopify.Order) string {
	if o.CancelledAt != nil {
		return "cancelled"
	}
	parts := []string{strings.ToLower(o.DisplayFinancialStatus), strings.ToLower(o.DisplayFulfillmentStatus)}
	for _, f := range o.Fulfillments {
		parts = append(parts, "shipment "+strings.ToLower(f.DisplayStatus))
	}
	return strings.Join(parts, ", ")
}

// actionsFor are the changes the order's state allows.
func actionsFor(o *shopify.Order) []adminAction {
	if o.CancelledAt != nil {
		return nil
	}
	var out []adminAction
	if o.DisplayFulfillmentStatus != "FULFILLED" {
		out = append(out, adminAction{"fulfill", "Fulfill"})
	}
	if n := len(o.Fulfillments); n > 0 && o.Fulfillments[n-1].DisplayStatus != "DELIVERED" {
		out = append(out, adminAction{"in-transit", "In transit"}, adminAction{"out-for-delivery", "Out for delivery"}, adminAction{"delivered", "Delivered"})
	}
	if len(o.Fulfillments) == 0 {
		out = append(out, adminAction{"cancel", "Cancel"})
	}
	return out
}

// adminCreateOrder serves POST /admin/orders (customer, quantity).
func (s *Sandbox) adminCreateOrder(w http.ResponseWriter, r *http.Request) {
	qty, _ := strconv.Atoi(r.FormValue("quantity"))
	product, _ := strconv.Atoi(r.FormValue("product"))
	id, err := s.CreateOrder(r.FormValue("customer"), NewLine{Product: product, Quantity: max(qty, 1)})
	s.adminAnswer(w, r, id, "", err)
}

// adminChange serves POST /admin/orders/{id}/{action}.
func (s *Sandbox) adminChange(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	fid := r.FormValue("fulfillment")
	var err error
	var made string
	switch r.PathValue("action") {
	case "fulfill":
		made, err = s.Fulfill(id, r.FormValue("carrier"), r.FormValue("tracking_number"))
	case "in-transit":
		err = s.MarkInTransit(id, fid)
	case "out-for-delivery":
		err = s.MarkOutForDelivery(id, fid)
	case "delivered":
		err = s.MarkDelivered(id, fid)
	case "cancel":
		err = s.Cancel(id)
	default:
		http.NotFound(w, r)
		return
	}
	s.adminAnswer(w, r, id, made, err)
}

func (s *Sandbox) adminAnswer(w http.ResponseWriter, r *http.Request, orderID, fulfillmentID string, err error) {
	wantsJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrUnknown):
		status = http.StatusNotFound
	case errors.Is(err, ErrState):
		status = http.StatusConflict
	case err != nil:
		status = http.StatusInternalServerError
	}
	if wantsJSON {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		out := map[string]any{"order_id": orderID}
		if fulfillmentID != "" {
			out["fulfillment_id"] = fulfillmentID
		}
		if err != nil {
			out = map[string]any{"error": err.Error()}
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}
