package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// The merchant's side, by hand: GET /admin lists the newest orders with
// buttons to fulfil them, move their shipment along, cancel or refund
// them (units of a line, an amount, or both), and a form to place an order
// for a customer. Each button posts to
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
<td>{{$id := .ID}}{{range .Actions}}<form method="post" action="/admin/orders/{{$id}}/{{.Path}}" style="display:inline"><button class="linkbutton" type="submit">{{.Label}}</button></form> {{end}}
{{if .Refundable}}<form method="post" action="/admin/orders/{{$id}}/refund" class="refund"><select name="line" aria-label="Line to refund">{{range .Lines}}<option value="{{.Path}}">{{.Label}}</option>{{end}}<option value="">No item (an amount only)</option></select>
<input name="quantity" type="number" min="0" max="99" value="1" aria-label="Units"> <input name="amount" inputmode="decimal" placeholder="amount (default: the items' worth)" aria-label="Amount">
<label><input type="checkbox" name="restock" value="1"> restock</label> <button class="linkbutton" type="submit">Refund</button></form>{{end}}</td></tr>
{{end}}</tbody></table></section>
{{end}}
`))

type adminRow struct {
	ID, Name, Email, Created, Status string
	Actions                          []adminAction
	// Refundable: money is left to give back; Lines are those with units
	// left to refund.
	Refundable bool
	Lines      []adminAction
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
		row := adminRow{ID: strconv.FormatInt(id, 10), Name: o.Name, Email: o.Email,
			Created: o.CreatedAt.UTC().Format("2006-01-02 15:04"), Status: orderSummary(o), Actions: actionsFor(o),
			Refundable: cents(&o.TotalPriceSet) > d.refunded[id].cents}
		for _, li := range o.LineItems.Nodes {
			if li.CurrentQuantity > 0 {
				row.Lines = append(row.Lines, adminAction{shopify.LegacyID(li.ID), li.Title + " × " + strconv.Itoa(li.CurrentQuantity)})
			}
		}
		rows = append(rows, row)
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
	case "refund":
		req, perr := refundForm(r)
		if perr != nil {
			http.Error(w, perr.Error(), http.StatusBadRequest)
			return
		}
		made, err = s.Refund(id, req)
	default:
		http.NotFound(w, r)
		return
	}
	s.adminAnswer(w, r, id, made, err)
}

// refundForm reads a refund: line and quantity pairs (line may repeat),
// an amount ("12.50", empty for the lines' worth) and restock.
func refundForm(r *http.Request) (RefundRequest, error) {
	if err := r.ParseForm(); err != nil {
		return RefundRequest{}, err
	}
	var req RefundRequest
	lines, qtys := r.Form["line"], r.Form["quantity"]
	for i, l := range lines {
		if l == "" || i >= len(qtys) {
			continue
		}
		q, err := strconv.Atoi(qtys[i])
		if err != nil || q < 0 {
			return req, errors.New("quantity: a whole number of units")
		}
		req.Lines = append(req.Lines, RefundLine{LineItemID: l, Quantity: q})
	}
	if a := strings.TrimSpace(r.Form.Get("amount")); a != "" {
		f, err := strconv.ParseFloat(a, 64)
		if err != nil || f < 0 || f > 1e9 {
			return req, errors.New("amount: a sum such as 12.50")
		}
		req.AmountCents = int64(math.Round(f * 100))
	}
	req.Restock = r.Form.Get("restock") != ""
	return req, nil
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
			out[madeKey(r)] = fulfillmentID
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

// madeKey names what a change made in its JSON answer: the refund's id
// for a refund, else the fulfillment's.
func madeKey(r *http.Request) string {
	if r.PathValue("action") == "refund" {
		return "refund_id"
	}
	return "fulfillment_id"
}
