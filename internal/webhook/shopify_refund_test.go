package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

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

// A merchant refunds one unit of a line in the Shopify sandbox's admin:
// its refunds/create reaches hubdesk over real HTTP and the refund shows
// wherever the order does — on the shopper's hub page (partially
// refunded, the amount and date, the item), on the desk's order page and
// in the API's order object.
func TestSandboxRefundShowsOnTheHubTheDeskAndTheAPI(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		const customer = "7000000100"
		const secret = "shopa-client-secret"
		sb := sandbox.New(sandbox.Options{Shop: tn.Shop.Domain, ClientSecret: secret,
			Customers:  []sandbox.Customer{{ID: customer, Email: "olivia@example.com", FirstName: "Olivia"}},
			WebhookURL: app.URL + "/webhooks/shopify"})
		srv := httptest.NewServer(sb)
		t.Cleanup(func() { srv.Close(); sb.Close() })
		sb.SetBaseURL(srv.URL)
		orderID, err := sb.CreateOrder(customer, sandbox.NewLine{Product: 0, Quantity: 2}, sandbox.NewLine{Product: 1, Quantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		mug := sb.Order(orderID).LineItems.Nodes[0]
		form := url.Values{"line": {shopify.LegacyID(mug.ID)}, "quantity": {"1"}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/admin/orders/"+orderID+"/refund", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the sandbox's refund: %d", resp.StatusCode)
		}
		ctx := context.Background()
		var o *commerce.Order
		jobstest.Eventually(t, "the refund applied in hubdesk", func() bool {
			o, err = app.Server.Commerce.OrderByExternalID(ctx, tn.Shop.ID, orderID)
			return err == nil && len(o.Refunds) == 1 && o.FinancialStatus == commerce.FinancialPartiallyRefunded
		})
		if r := o.Refunds[0]; r.AmountMinor != 2400 || len(r.Lines) != 1 || r.Lines[0].LineItemID != shopify.LegacyID(mug.ID) || r.Lines[0].Quantity != 1 {
			t.Fatalf("refund stored %+v", r)
		}
		day := o.Refunds[0].CreatedAt.Format("January 2, 2006")
		page := func(c *http.Client, path string) string {
			t.Helper()
			code, body, _ := app.Do(c, http.MethodGet, path, "", "")
			if code != http.StatusOK {
				t.Fatalf("%s: %d\n%s", path, code, body)
			}
			return body
		}
		wants := func(where, body string, want ...string) {
			t.Helper()
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("%s lacks %q:\n%s", where, w, body)
				}
			}
		}
		// The shopper, through the App Proxy.
		q := shopify.SignedProxyQuery(nil, shopify.ProxyParams{Shop: tn.Shop.Domain, LoggedInCustomerID: customer, PathPrefix: "/apps/hub", Timestamp: time.Now()}, secret)
		hub := page(nil, "/hub/orders/"+strconv.FormatInt(o.ID, 10)+"?"+q.Encode())
		wants("the hub's order page", hub, `<span class="badge partially_refunded">Partially refunded</span>`,
			"Refunded $24.00 on "+day, "<li>1 × Ceramic Mug (Sand / 350 ml)</li>", "1 refunded")
		// The agent.
		desk := page(app.LoginAs(tn.Agent), "/orders/"+strconv.FormatInt(o.ID, 10))
		wants("the desk's order page", desk, "<h2>Refunds</h2>", `<li class="refund-row">Refunded <strong>$24.00</strong> on `+day+`: 1 × Ceramic Mug`,
			`id="order-refunded">$24.00</dd>`, "Partially refunded")
		// The API.
		code, body, _ := app.Do(nil, http.MethodGet, "/api/v1/orders/"+strconv.FormatInt(o.ID, 10), app.Token(tn.Agent), "")
		var api struct {
			FinancialStatus string `json:"financial_status"`
			Refunded        string `json:"refunded"`
			Refunds         []struct {
				ID     string `json:"id"`
				Amount string `json:"amount"`
				Lines  []struct {
					LineItemID string `json:"line_item_id"`
					Quantity   int    `json:"quantity"`
					Subtotal   string `json:"subtotal"`
				} `json:"lines"`
			} `json:"refunds"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &api) != nil {
			t.Fatalf("API: %d %s", code, body)
		}
		if api.FinancialStatus != "partially_refunded" || api.Refunded != "24.00" || len(api.Refunds) != 1 || api.Refunds[0].Amount != "24.00" ||
			len(api.Refunds[0].Lines) != 1 || api.Refunds[0].Lines[0].Quantity != 1 || api.Refunds[0].Lines[0].Subtotal != "24.00" {
			t.Errorf("API order: %s", body)
		}
	})
}
