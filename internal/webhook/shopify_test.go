package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// delivery is one Shopify webhook as it goes over the wire.
type delivery struct {
	domain, topic, webhookID, eventID, body string
	signature                               string // "" signs with the shop's secret
	secret                                  string // "" is the shop's
}

func postShopify(t *testing.T, app *testapp.App, tn *testapp.Tenant, d delivery) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, app.URL+"/webhooks/shopify", strings.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	if d.domain == "" {
		d.domain = tn.Shop.Domain
	}
	if d.secret == "" {
		d.secret = tn.Shop.Name + "-client-secret"
	}
	if d.signature == "" {
		d.signature = shopify.SignWebhook([]byte(d.body), d.secret)
	}
	req.Header.Set("Content-Type", "application/json")
	if d.domain != "-" {
		req.Header.Set(shopify.HeaderShopDomain, d.domain)
	}
	if d.signature != "-" {
		req.Header.Set(shopify.HeaderHmac, d.signature)
	}
	req.Header.Set(shopify.HeaderTopic, d.topic)
	req.Header.Set(shopify.HeaderWebhookID, d.webhookID)
	req.Header.Set(shopify.HeaderEventID, d.eventID)
	req.Header.Set(shopify.HeaderAPIVersion, "2026-10")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("answered in %v: Shopify counts over 5 s as a failure", took)
	}
	return resp.StatusCode
}

func newShopifyApp(t *testing.T, db *database.DB) (*testapp.App, *testapp.Tenant) {
	app := testapp.New(t, db)
	tn := app.NewTenant("shopa")
	jobstest.Work(t, app.Server.Jobs)
	return app, tn
}

// waitProcessed waits until n Shopify events are processed or failed.
func waitProcessed(t *testing.T, db *database.DB, n int) {
	t.Helper()
	jobstest.Eventually(t, fmt.Sprintf("%d Shopify events handled", n), func() bool {
		return count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE provider = 'shopify' AND (processed_at IS NOT NULL OR error <> '')`) >= n
	})
}

func orderJSON(id, updated, financial string, fulfillments string) string {
	return `{"id":` + id + `,"admin_graphql_api_id":"gid://shopify/Order/` + id + `","name":"#` + id[len(id)-4:] + `","email":"ada@example.com",
"created_at":"2026-11-30T09:00:00-05:00","updated_at":"` + updated + `","cancelled_at":null,"currency":"EUR",
"financial_status":"` + financial + `","fulfillment_status":null,"subtotal_price":"40.00","total_price":"44.90","total_tax":"0.00",
"total_shipping_price_set":{"shop_money":{"amount":"4.90","currency_code":"EUR"}},
"shipping_address":{"first_name":"Ada","last_name":"Lovelace","address1":"1 Analytical St","city":"London","zip":"N1 9GU","country_code":"GB"},
"customer":{"id":7001,"email":"ada@example.com","first_name":"Ada","last_name":"Lovelace","updated_at":"2026-11-30T09:00:00-05:00",
 "default_address":{"first_name":"Ada","last_name":"Lovelace","address1":"1 Analytical St","city":"London","zip":"N1 9GU","country_code":"GB"}},
"line_items":[{"id":11,"variant_id":101,"title":"Tee","variant_title":"M","quantity":2,"current_quantity":2,"price":"10.00"},
 {"id":12,"variant_id":102,"title":"Mug","quantity":2,"price":"10.00"}],
"fulfillments":[` + fulfillments + `]}`
}

// Refused deliveries store nothing: an unknown or missing shop is 404, a
// signature that does not verify 401.
func TestShopifyDeliveriesThatCannotBeVerified(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		body := orderJSON("820982911946154508", "2026-12-01T10:00:00Z", "paid", "")
		for _, tc := range []struct {
			name string
			d    delivery
			want int
		}{
			{"unknown shop", delivery{domain: "nobody.myshopify.com", body: body}, http.StatusNotFound},
			{"no shop header", delivery{domain: "-", body: body}, http.StatusNotFound},
			{"no signature", delivery{signature: "-", body: body}, http.StatusUnauthorized},
			{"wrong secret", delivery{secret: "not-the-secret", body: body}, http.StatusUnauthorized},
			{"another shop's secret", delivery{secret: "shopb-client-secret", body: body}, http.StatusUnauthorized},
			{"tampered body", delivery{signature: shopify.SignWebhook([]byte(body), "shopa-client-secret"), body: strings.Replace(body, "44.90", "0.01", 1)}, http.StatusUnauthorized},
		} {
			tc.d.topic, tc.d.webhookID, tc.d.eventID = shopify.TopicOrdersCreate, "w-"+tc.name, "e-"+tc.name
			if code := postShopify(t, app, tn, tc.d); code != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events`); n != 0 {
			t.Fatalf("%d events stored from refused deliveries", n)
		}
	})
}

// The same event three times — the same delivery again, and the same
// Event-Id under a new Webhook-Id — and a retry carrying an older payload
// leave one order, the newest.
func TestShopifyReplaysLeaveOneCorrectOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		const id = "820982911946154508"
		older := orderJSON(id, "2026-12-01T10:00:00Z", "pending", "")
		newer := orderJSON(id, "2026-12-01T12:00:00Z", "paid", `{"id":31,"order_id":`+id+`,"status":"success","shipment_status":"in_transit",
			"tracking_company":"UPS","tracking_number":"1Z999","created_at":"2026-12-01T11:00:00Z","updated_at":"2026-12-01T12:00:00Z",
			"line_items":[{"id":11,"quantity":1}]}`)
		send := func(webhookID, eventID, body string) {
			t.Helper()
			if code := postShopify(t, app, tn, delivery{topic: shopify.TopicOrdersUpdated, webhookID: webhookID, eventID: eventID, body: body}); code != 200 {
				t.Fatalf("delivery %s/%s: %d, want 200", webhookID, eventID, code)
			}
		}
		send("w-1", "e-2", newer)
		send("w-1", "e-2", newer) // Shopify's retry of the same delivery
		send("w-2", "e-2", newer) // the same event under a new webhook id
		waitProcessed(t, db, 2)
		send("w-0", "e-1", older) // a retry of an earlier event, arriving late
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE provider = 'shopify'`); n != 3 {
			t.Fatalf("%d events stored, want 3 (the exact repeat adds none)", n)
		}
		waitProcessed(t, db, 3)
		if n := count(t, db, `SELECT COUNT(*) FROM orders`); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
		o, err := app.Server.Commerce.OrderByExternalID(context.Background(), tn.Shop.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if o.FinancialStatus != "paid" || len(o.Fulfillments) != 1 || o.TotalMinor != 4490 || o.ShippingMinor != 490 {
			t.Fatalf("order = %s, %d fulfillments, total %d, shipping %d; want the newer version", o.FinancialStatus, len(o.Fulfillments), o.TotalMinor, o.ShippingMinor)
		}
		f := o.Fulfillments[0]
		if len(f.LineItems) != 1 || f.LineItems[0].LineItemID != "11" || f.LineItems[0].Quantity != 1 {
			t.Fatalf("shipment carries %+v, want one of line 11", f.LineItems)
		}
		c, err := app.Server.Commerce.CustomerByExternalID(context.Background(), tn.Shop.ID, "7001")
		if err != nil {
			t.Fatal(err)
		}
		if c.DefaultAddress.Zip != "N1 9GU" || c.DefaultAddress.Name != "Ada Lovelace" {
			t.Fatalf("default address = %+v", c.DefaultAddress)
		}
		outcomes := map[string]string{}
		rows, err := db.Query(context.Background(), `SELECT delivery_id, outcome FROM webhook_events WHERE provider = 'shopify'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var d, o string
			rows.Scan(&d, &o)
			outcomes[d] = o
		}
		rows.Close()
		// Whichever of the two is processed first applies; the other is a
		// duplicate.
		a, b := outcomes["w:w-1 e:e-2"], outcomes["w:w-2 e:e-2"]
		if strings.HasPrefix(a, "duplicate") == strings.HasPrefix(b, "duplicate") {
			t.Errorf("the same event under two webhook ids: %q and %q, want one applied and one duplicate", a, b)
		}
		if o := outcomes["w:w-0 e:e-1"]; !strings.Contains(o, "stale") {
			t.Errorf("the older payload: %q, want stale", o)
		}
	})
}

// Shipments arrive on their own and are walked by carrier events: the
// lines each carries, out for delivery and delivered with their dates,
// and a late in-transit step moves nothing back.
func TestShopifyShipmentsAndCarrierSteps(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		const id = "5550001"
		post := func(topic, webhookID, body string) {
			t.Helper()
			if code := postShopify(t, app, tn, delivery{topic: topic, webhookID: webhookID, eventID: webhookID, body: body}); code != 200 {
				t.Fatalf("%s: %d", topic, code)
			}
		}
		post(shopify.TopicOrdersCreate, "o1", orderJSON(id, "2026-12-01T10:00:00Z", "paid", ""))
		waitProcessed(t, db, 1)
		post(shopify.TopicFulfillmentsCreate, "f1", `{"id":41,"order_id":`+id+`,"status":"success","tracking_company":"DHL","tracking_numbers":["JD1"],
			"created_at":"2026-12-02T08:00:00Z","updated_at":"2026-12-02T08:00:00Z","line_items":[{"id":11,"quantity":2},{"id":12,"quantity":1}]}`)
		post(shopify.TopicFulfillmentsCreate, "f2", `{"id":42,"order_id":`+id+`,"status":"success","created_at":"2026-12-02T09:00:00Z",
			"updated_at":"2026-12-02T09:00:00Z","line_items":[{"id":12,"quantity":1}]}`)
		waitProcessed(t, db, 3)
		post(shopify.TopicFulfillmentEventsCreate, "ev1", `{"id":1,"fulfillment_id":41,"order_id":`+id+`,"status":"out_for_delivery","happened_at":"2026-12-03T07:30:00Z"}`)
		post(shopify.TopicFulfillmentEventsCreate, "ev2", `{"id":2,"fulfillment_id":41,"order_id":`+id+`,"status":"delivered","happened_at":"2026-12-03T14:05:00Z"}`)
		waitProcessed(t, db, 5)
		post(shopify.TopicFulfillmentEventsCreate, "ev0", `{"id":0,"fulfillment_id":41,"order_id":`+id+`,"status":"in_transit","happened_at":"2026-12-02T18:00:00Z"}`)
		// A retry of the fulfillment's creation, carrying its first state.
		post(shopify.TopicFulfillmentsUpdate, "f1-retry", `{"id":41,"order_id":`+id+`,"status":"success","tracking_company":"DHL",
			"created_at":"2026-12-02T08:00:00Z","updated_at":"2026-12-02T08:00:00Z","line_items":[{"id":11,"quantity":2},{"id":12,"quantity":1}]}`)
		waitProcessed(t, db, 7)
		o, err := app.Server.Commerce.OrderByExternalID(context.Background(), tn.Shop.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Fulfillments) != 2 {
			t.Fatalf("%d shipments, want 2", len(o.Fulfillments))
		}
		f := o.Fulfillments[0]
		if f.ShipmentStatus != "delivered" || f.DeliveredAt == nil || f.DeliveredAt.Format(time.RFC3339) != "2026-12-03T14:05:00Z" {
			t.Fatalf("shipment 41: %q delivered at %v", f.ShipmentStatus, f.DeliveredAt)
		}
		if f.OutForDeliveryAt == nil || f.OutForDeliveryAt.Format(time.RFC3339) != "2026-12-03T07:30:00Z" {
			t.Fatalf("out for delivery at %v", f.OutForDeliveryAt)
		}
		if f.InTransitAt == nil || f.TrackingNumber != "JD1" || len(f.LineItems) != 2 || o.Fulfillments[1].LineItems[0].Quantity != 1 {
			t.Fatalf("shipments: %+v", o.Fulfillments)
		}
		// The API names the lines each shipment carries and the dates.
		code, body, _ := app.Do(nil, http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", o.ID), app.Token(tn.Agent), "")
		if code != 200 {
			t.Fatalf("GET order: %d %s", code, body)
		}
		var got struct {
			Fulfillments []struct {
				OutForDeliveryAt *time.Time `json:"out_for_delivery_at"`
				LineItems        []struct {
					LineItemID string `json:"line_item_id"`
					Quantity   int    `json:"quantity"`
				} `json:"line_items"`
			} `json:"fulfillments"`
		}
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Fulfillments) != 2 || got.Fulfillments[0].OutForDeliveryAt == nil || len(got.Fulfillments[0].LineItems) != 2 {
			t.Fatalf("API order: %s", body)
		}
	})
}

// A body that is not JSON, correctly signed, is stored and fails its event
// for good with the reason: listed with the dead jobs, never retried.
func TestShopifyMalformedBodyFailsForGood(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		if code := postShopify(t, app, tn, delivery{topic: shopify.TopicOrdersUpdated, webhookID: "bad", eventID: "bad", body: `{"id": 12, "name": `}); code != 200 {
			t.Fatalf("signed malformed body: %d, want 200 (stored)", code)
		}
		jobstest.Eventually(t, "the job cancelled", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process' AND state = 'cancelled'`) == 1
		})
		var reason string
		if err := db.QueryRow(context.Background(), `SELECT error FROM webhook_events WHERE provider = 'shopify'`).Scan(&reason); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(reason, "cannot be read") {
			t.Fatalf("the event's reason: %q", reason)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL`); n != 0 {
			t.Fatal("the malformed event was marked processed")
		}
		code, page, _ := app.Do(app.LoginAs(tn.Manager), http.MethodGet, "/settings/jobs", "", "")
		if code != 200 || !strings.Contains(page, "cannot be read") {
			t.Fatalf("Settings → Jobs (%d) does not show the reason", code)
		}
	})
}
