package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSandboxChangesEmitRESTWebhooks(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	type got struct {
		topic string
		body  map[string]any
	}
	var changes []got
	sb := New(Options{Orders: 20, Now: func() time.Time { return now }, Customers: []Customer{olivia},
		OnChange: func(topic string, payload []byte) {
			var m map[string]any
			if err := json.Unmarshal(payload, &m); err != nil {
				t.Fatalf("%s: %v", topic, err)
			}
			changes = append(changes, got{topic, m})
		}})
	id, err := sb.CreateOrder(olivia.ID, NewLine{Product: 1, Quantity: 2}, NewLine{Product: 2, Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	if changes[0].topic != "orders/create" || changes[0].body["admin_graphql_api_id"] != "gid://shopify/Order/"+id ||
		changes[0].body["customer"].(map[string]any)["email"] != olivia.Email || changes[0].body["fulfillment_status"] != nil {
		t.Fatalf("create: %+v", changes[0])
	}
	created := changes[0].body["updated_at"].(string)
	if _, err := sb.Fulfill(id, "UPS", "1ZTEST"); err != nil {
		t.Fatal(err)
	}
	if err := sb.MarkOutForDelivery(id, ""); err != nil {
		t.Fatal(err)
	}
	if err := sb.MarkDelivered(id, ""); err != nil {
		t.Fatal(err)
	}
	if err := sb.Cancel(id); !errors.Is(err, ErrState) {
		t.Errorf("cancel a shipped order: %v", err)
	}
	var topics []string
	for _, c := range changes {
		topics = append(topics, c.topic)
	}
	want := []string{"orders/create", "orders/paid", "fulfillments/create", "orders/updated", "orders/fulfilled",
		"fulfillments/update", "fulfillment_events/create", "orders/updated",
		"fulfillments/update", "fulfillment_events/create", "orders/updated"}
	if len(topics) != len(want) {
		t.Fatalf("topics %v", topics)
	}
	for i := range want {
		if topics[i] != want[i] {
			t.Fatalf("topics %v, want %v", topics, want)
		}
	}
	last := changes[len(changes)-1].body
	if last["updated_at"].(string) <= created {
		t.Errorf("updated_at did not move: %v", last["updated_at"])
	}
	f := last["fulfillments"].([]any)[0].(map[string]any)
	if f["shipment_status"] != "delivered" || f["tracking_number"] != "1ZTEST" || len(f["line_items"].([]any)) != 2 {
		t.Errorf("fulfillment: %+v", f)
	}
	ev := changes[len(changes)-2].body
	if ev["status"] != "delivered" {
		t.Errorf("event: %+v", ev)
	}
	o := sb.Order(id)
	if o.Fulfillments[0].DeliveredAt == nil || o.DisplayFulfillmentStatus != "FULFILLED" {
		t.Errorf("order: %+v", o)
	}
	if err := sb.UpdateCustomer(olivia.ID, CustomerUpdate{Email: "liv@example.com"}); err != nil {
		t.Fatal(err)
	}
	if c := changes[len(changes)-1]; c.topic != "customers/update" || c.body["email"] != "liv@example.com" {
		t.Errorf("customer: %+v", c)
	}
	if got := sb.CustomerOrderIDs(olivia.ID); got[0] != id {
		t.Errorf("her newest order %v", got)
	}
}

func TestParseOperation(t *testing.T) {
	for _, tc := range []struct {
		doc, kind string
		fields    []string
	}{
		{`{ shop { name } }`, "query", []string{"shop"}},
		{`query Q($id: ID!) { customer(id: $id) { orders(first: 10) { nodes { id } } } } # shop`, "query", []string{"customer"}},
		{`mutation { a: webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: {uri: "x{"}) { userErrors { message } } b: shop { id } }`, "mutation", []string{"webhookSubscriptionCreate", "shop"}},
		{`query { node(id: "gid://x") { ... on BulkOperation { id } } }`, "query", []string{"node"}},
	} {
		op, ok := parseOperation(tc.doc)
		if !ok || op.kind != tc.kind || len(op.fields) != len(tc.fields) {
			t.Errorf("%s: %+v", tc.doc, op)
			continue
		}
		for i := range tc.fields {
			if op.fields[i] != tc.fields[i] {
				t.Errorf("%s: %+v", tc.doc, op)
			}
		}
	}
}

func TestAdminPageChangesOrders(t *testing.T) {
	var topics []string
	sb := New(Options{Orders: 5, Customers: []Customer{olivia}, OnChange: func(topic string, _ []byte) { topics = append(topics, topic) }})
	post := func(path string, form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, req)
		return rec
	}
	rec := post("/admin/orders", url.Values{"customer": {olivia.ID}, "quantity": {"2"}})
	var out struct {
		OrderID string `json:"order_id"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.OrderID == "" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	for _, action := range []string{"fulfill", "in-transit", "out-for-delivery", "delivered"} {
		if rec := post("/admin/orders/"+out.OrderID+"/"+action, nil); rec.Code != 200 {
			t.Fatalf("%s: %d %s", action, rec.Code, rec.Body)
		}
	}
	if rec := post("/admin/orders/"+out.OrderID+"/cancel", nil); rec.Code != 409 {
		t.Errorf("cancel a delivered order: %d", rec.Code)
	}
	if rec := post("/admin/orders/1/fulfill", nil); rec.Code != 404 {
		t.Errorf("unknown order: %d", rec.Code)
	}
	if o := sb.Order(out.OrderID); o.Fulfillments[0].DeliveredAt == nil {
		t.Errorf("order = %+v", o)
	}
	rec = httptest.NewRecorder()
	sb.ServeHTTP(rec, httptest.NewRequest("GET", "/admin", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "#1006") || !strings.Contains(rec.Body.String(), "shipment delivered") ||
		!strings.Contains(rec.Body.String(), `action="/admin/orders/`+out.OrderID+`/refund"`) {
		t.Errorf("admin page: %d %s", rec.Code, rec.Body)
	}
	if len(topics) < 8 {
		t.Errorf("changes: %v", topics)
	}
}

// Changes reach the webhook URL and the app's subscriptions signed as
// Shopify signs them; a failed delivery is retried with the same event
// id; duplicates on request.
func TestWebhooksSignedRetriedDuplicated(t *testing.T) {
	type got struct{ topic, event, webhook, hmac, shop string }
	var mu sync.Mutex
	var seen []got
	fails := 1
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(body)
		ok := hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("X-Shopify-Hmac-Sha256")))
		mu.Lock()
		defer mu.Unlock()
		if !ok {
			t.Errorf("bad signature on %s", r.Header.Get("X-Shopify-Topic"))
		}
		seen = append(seen, got{r.Header.Get("X-Shopify-Topic"), r.Header.Get("X-Shopify-Event-Id"), r.Header.Get("X-Shopify-Webhook-Id"),
			r.Header.Get("X-Shopify-Hmac-Sha256"), r.Header.Get("X-Shopify-Shop-Domain")})
		if fails > 0 {
			fails--
			w.WriteHeader(500)
			return
		}
	}))
	t.Cleanup(app.Close)
	sb := New(Options{ClientSecret: "s3cret", Customers: []Customer{olivia}, WebhookURL: app.URL, WebhookDuplicates: true,
		WebhookBackoff: 10 * time.Millisecond})
	t.Cleanup(func() { sb.Close() })
	if _, err := sb.CreateOrder(olivia.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sb.WebhooksDelivered() < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	// orders/create and orders/paid, each twice, plus one retry.
	if len(seen) != 5 {
		t.Fatalf("deliveries: %+v", seen)
	}
	events := map[string]map[string]bool{}
	for _, g := range seen {
		if g.shop != DefaultShop || g.webhook == "" {
			t.Errorf("headers: %+v", g)
		}
		if events[g.event] == nil {
			events[g.event] = map[string]bool{}
		}
		events[g.event][g.webhook] = true
	}
	if len(events) != 2 {
		t.Errorf("events: %v", events)
	}
	for _, hooks := range events {
		if len(hooks) < 2 {
			t.Errorf("a duplicate or retry reused a webhook id: %v", hooks)
		}
	}
}

// A refund from the admin page gives back units of a line and their worth
// as Shopify's refunds/create does, then orders/updated with the order
// partially refunded; an amount alone refunds the rest, and nothing is
// left after that. More units than a line has are refused.
func TestAdminRefundsEmitRefundsCreate(t *testing.T) {
	type got struct {
		topic string
		body  map[string]any
	}
	var changes []got
	sb := New(Options{Orders: 5, Customers: []Customer{olivia}, OnChange: func(topic string, payload []byte) {
		var m map[string]any
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		changes = append(changes, got{topic, m})
	}})
	id, err := sb.CreateOrder(olivia.ID, NewLine{Product: 0, Quantity: 2}, NewLine{Product: 1, Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := sb.Order(id)
	mug := o.LineItems.Nodes[0]
	post := func(form url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/admin/orders/"+id+"/refund", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, req)
		return rec
	}
	if rec := post(url.Values{"line": {"gid://shopify/LineItem/1"}, "quantity": {"1"}}); rec.Code != 409 {
		t.Errorf("a line the order does not have: %d %s", rec.Code, rec.Body)
	}
	if rec := post(url.Values{"line": {mug.ID}, "quantity": {"3"}}); rec.Code != 409 {
		t.Errorf("three of two mugs: %d %s", rec.Code, rec.Body)
	}
	before := len(changes)
	rec := post(url.Values{"line": {mug.ID}, "quantity": {"1"}, "restock": {"1"}})
	var out struct {
		RefundID string `json:"refund_id"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.RefundID == "" {
		t.Fatalf("refund one mug: %d %s", rec.Code, rec.Body)
	}
	if len(changes) != before+2 || changes[before].topic != "refunds/create" || changes[before+1].topic != "orders/updated" {
		t.Fatalf("changes %+v", changes[before:])
	}
	r := changes[before].body
	lines := r["refund_line_items"].([]any)
	tx := r["transactions"].([]any)
	if r["order_id"].(float64) != float64(num(o.ID)) || len(lines) != 1 || len(tx) != 1 ||
		lines[0].(map[string]any)["quantity"].(float64) != 1 || lines[0].(map[string]any)["restock_type"] != "return" ||
		lines[0].(map[string]any)["subtotal"] != "24.00" || tx[0].(map[string]any)["amount"] != "24.00" || tx[0].(map[string]any)["kind"] != "refund" {
		t.Errorf("refund body %+v", r)
	}
	upd := changes[before+1].body
	if upd["financial_status"] != "partially_refunded" {
		t.Errorf("order after a partial refund: %v", upd["financial_status"])
	}
	if o := sb.Order(id); o.LineItems.Nodes[0].CurrentQuantity != 1 || o.DisplayFinancialStatus != "PARTIALLY_REFUNDED" {
		t.Errorf("order: %+v", o)
	}
	left := cents(&o.TotalPriceSet) - 2400
	rest := money(left).ShopMoney.Amount
	if rec := post(url.Values{"amount": {money(left + 1).ShopMoney.Amount}}); rec.Code != 409 {
		t.Errorf("more than is left: %d %s", rec.Code, rec.Body)
	}
	if rec := post(url.Values{"amount": {rest}}); rec.Code != 200 {
		t.Fatalf("the rest: %d %s", rec.Code, rec.Body)
	}
	if r := changes[len(changes)-2].body; len(r["refund_line_items"].([]any)) != 0 || r["transactions"].([]any)[0].(map[string]any)["amount"] != rest {
		t.Errorf("money-only refund %+v", r)
	}
	if o := sb.Order(id); o.DisplayFinancialStatus != "REFUNDED" {
		t.Errorf("after the rest: %s", o.DisplayFinancialStatus)
	}
	if rec := post(url.Values{"amount": {"1.00"}}); rec.Code != 409 {
		t.Errorf("a refund of a refunded order: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	sb.ServeHTTP(rec, httptest.NewRequest("GET", "/admin", nil))
	if strings.Contains(rec.Body.String(), `/admin/orders/`+id+`/refund`) {
		t.Errorf("a refunded order still offers a refund")
	}
}
