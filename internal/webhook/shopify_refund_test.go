package webhook_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// refunds/create applies the refund: the money its successful refund
// transactions gave back, the lines and quantities, and the order's
// financial status (partially refunded, then refunded once the total is
// back). The same refund delivered again counts once, and an order update
// older than the refund does not undo it.
func TestShopifyRefundsAreApplied(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		ctx := context.Background()
		const id = "7770001"
		post := func(topic, webhookID, body string) {
			t.Helper()
			if code := postShopify(t, app, tn, delivery{topic: topic, webhookID: webhookID, eventID: webhookID, body: body}); code != 200 {
				t.Fatalf("%s: %d", topic, code)
			}
		}
		post(shopify.TopicOrdersCreate, "o1", orderJSON(id, "2026-12-01T10:00:00Z", "paid", ""))
		waitProcessed(t, db, 1)
		first := `{"id":901,"order_id":` + id + `,"created_at":"2026-12-02T10:00:00Z","processed_at":"2026-12-02T10:00:00Z","note":"Ada's mug broke",
			"refund_line_items":[{"id":61,"line_item_id":12,"quantity":1,"restock_type":"return","subtotal":10.0,
				"subtotal_set":{"shop_money":{"amount":"10.00","currency_code":"EUR"}}}],
			"transactions":[{"id":71,"kind":"refund","status":"success","amount":"10.00","currency":"EUR"},
				{"id":72,"kind":"refund","status":"failure","amount":"5.00","currency":"EUR"}]}`
		post(shopify.TopicRefundsCreate, "r1", first)
		post(shopify.TopicRefundsCreate, "r1-again", first) // the same refund, another delivery
		waitProcessed(t, db, 3)
		o, err := app.Server.Commerce.OrderByExternalID(ctx, tn.Shop.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		refunds, sum, err := app.Server.Commerce.Refunds(ctx, tn.Shop.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if o.FinancialStatus != "partially_refunded" || sum != 1000 || len(refunds) != 1 {
			t.Fatalf("after one refund: %s, %d refunded in %d refunds; want partially_refunded, 1000 in 1", o.FinancialStatus, sum, len(refunds))
		}
		r := refunds[0]
		if r.ExternalID != "901" || r.AmountMinor != 1000 || len(r.Lines) != 1 || r.Lines[0].LineItemID != "12" || r.Lines[0].Quantity != 1 ||
			r.Lines[0].SubtotalMinor != 1000 || r.Lines[0].RestockType != "return" {
			t.Fatalf("refund = %+v", r)
		}
		// An order update from before the refund, delivered late.
		post(shopify.TopicOrdersUpdated, "o0", orderJSON(id, "2026-12-01T12:00:00Z", "paid", ""))
		waitProcessed(t, db, 4)
		if o, _ = app.Server.Commerce.OrderByExternalID(ctx, tn.Shop.ID, id); o.FinancialStatus != "partially_refunded" {
			t.Fatalf("an update older than the refund set the order %s", o.FinancialStatus)
		}
		post(shopify.TopicRefundsCreate, "r2", `{"id":902,"order_id":`+id+`,"created_at":"2026-12-03T09:00:00Z",
			"refund_line_items":[{"id":62,"line_item_id":11,"quantity":2,"restock_type":"no_restock","subtotal":"20.00"}],
			"transactions":[{"id":73,"kind":"refund","status":"success","amount":"34.90","currency":"EUR"}]}`)
		waitProcessed(t, db, 5)
		o, _ = app.Server.Commerce.OrderByExternalID(ctx, tn.Shop.ID, id)
		refunds, sum, _ = app.Server.Commerce.Refunds(ctx, tn.Shop.ID, o.ID)
		if o.FinancialStatus != "refunded" || sum != 4490 || len(refunds) != 2 || refunds[1].Lines[0].Quantity != 2 || refunds[1].Lines[0].SubtotalMinor != 2000 {
			t.Fatalf("after both refunds: %s, %d refunded, %+v; want refunded, 4490", o.FinancialStatus, sum, refunds)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE provider = 'shopify' AND outcome LIKE '%applied already%'`); n != 1 {
			t.Errorf("%d deliveries of the repeated refund said it was applied already, want 1", n)
		}
		// The refund's note names the shopper's mishap: it is not kept.
		if n := count(t, db, `SELECT COUNT(*) FROM orders WHERE refunds LIKE '%broke%'`); n != 0 {
			t.Errorf("the refund's note was stored")
		}
	})
}

// An order cancelled in the Shopify sandbox is refunded in full there;
// its refunds/create reaches hubdesk over real HTTP (each delivery sent
// twice) and the order is refunded once, every line and the total.
func TestSandboxCancellationRefundsTheOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		const customer = "7000000100"
		sb := sandbox.New(sandbox.Options{Shop: tn.Shop.Domain, ClientSecret: "shopa-client-secret",
			Customers:  []sandbox.Customer{{ID: customer, Email: "olivia@example.com", FirstName: "Olivia"}},
			WebhookURL: app.URL + "/webhooks/shopify", WebhookDuplicates: true})
		srv := httptest.NewServer(sb)
		t.Cleanup(func() { srv.Close(); sb.Close() })
		sb.SetBaseURL(srv.URL)
		orderID, err := sb.CreateOrder(customer, sandbox.NewLine{Product: 1, Quantity: 2}, sandbox.NewLine{Product: 3, Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := sb.Cancel(orderID); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var o *commerce.Order
		jobstest.Eventually(t, "the cancelled order refunded in hubdesk", func() bool {
			o, err = app.Server.Commerce.OrderByExternalID(ctx, tn.Shop.ID, orderID)
			if err != nil {
				return false
			}
			_, sum, _ := app.Server.Commerce.Refunds(ctx, tn.Shop.ID, o.ID)
			return o.CancelledAt != nil && sum > 0
		})
		refunds, sum, err := app.Server.Commerce.Refunds(ctx, tn.Shop.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		waitProcessed(t, db, 6) // every delivery, twice
		if o, _ = app.Server.Commerce.OrderByExternalID(ctx, tn.Shop.ID, orderID); o.FinancialStatus != "refunded" || sum != o.TotalMinor ||
			len(refunds) != 1 || len(refunds[0].Lines) != 2 {
			t.Fatalf("order %s, refunded %d of %d in %+v; want refunded in full, once, both lines", o.FinancialStatus, sum, o.TotalMinor, refunds)
		}
		for i, l := range refunds[0].Lines {
			if li := o.LineItems[i]; l.LineItemID != li.ExternalID || l.Quantity != li.Quantity || l.SubtotalMinor != li.PriceMinor*int64(li.Quantity) {
				t.Errorf("refund line %d: %+v for line %+v", i, l, li)
			}
		}
	})
}
