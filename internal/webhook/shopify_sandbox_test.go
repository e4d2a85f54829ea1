package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// What the demo wires: the Shopify sandbox sends its changes, signed, to
// hubdesk's POST /webhooks/shopify over real HTTP — duplicated and
// reordered here — and an order created, fulfilled and delivered in the
// sandbox shows up in hubdesk's commerce data, once, delivered, with the
// lines its shipment carries; the desk's order page shows it.
func TestSandboxOrderReachesHubdesk(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		const customer = "7000000100"
		sb := sandbox.New(sandbox.Options{Shop: tn.Shop.Domain, ShopName: "Shop A", ClientSecret: "shopa-client-secret",
			ProxyTarget: app.URL + "/hub", Customers: []sandbox.Customer{{ID: customer, Email: "olivia@example.com", FirstName: "Olivia", LastName: "Okafor"}},
			WebhookURL: app.URL + "/webhooks/shopify", WebhookDuplicates: true, WebhookReorder: true})
		srv := httptest.NewServer(sb)
		t.Cleanup(func() { srv.Close(); sb.Close() })
		sb.SetBaseURL(srv.URL)

		orderID, err := sb.CreateOrder(customer, sandbox.NewLine{Product: 1, Quantity: 2})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Fulfill(orderID, "UPS", "1Z0001"); err != nil {
			t.Fatal(err)
		}
		if err := sb.MarkOutForDelivery(orderID, ""); err != nil {
			t.Fatal(err)
		}
		if err := sb.MarkDelivered(orderID, ""); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var o *commerce.Order
		jobstest.Eventually(t, "the sandbox's order delivered in hubdesk", func() bool {
			o, err = app.Server.Commerce.OrderByExternalID(ctx, tn.Shop.ID, orderID)
			if errors.Is(err, commerce.ErrNotFound) {
				return false
			}
			if err != nil {
				t.Fatal(err)
			}
			// Every change applied, whatever order the deliveries took.
			return len(o.Fulfillments) == 1 && o.Fulfillments[0].Delivered() && o.Fulfillments[0].DeliveredAt != nil &&
				o.Fulfillments[0].OutForDeliveryAt != nil
		})
		if n := count(t, db, `SELECT COUNT(*) FROM orders`); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
		f := o.Fulfillments[0]
		if f.TrackingNumber != "1Z0001" || len(f.LineItems) == 0 || f.OutForDeliveryAt == nil {
			t.Fatalf("shipment: %+v", f)
		}
		if commerce.DeriveStatus(o, commerce.NoReturn) != commerce.StatusDelivered {
			t.Fatalf("status %s, want delivered", commerce.DeriveStatus(o, commerce.NoReturn))
		}
		c, err := app.Server.Commerce.CustomerByExternalID(ctx, tn.Shop.ID, customer)
		if err != nil || c.Email != "olivia@example.com" {
			t.Fatalf("customer: %+v, %v", c, err)
		}
		code, page, _ := app.Do(app.LoginAs(tn.Agent), http.MethodGet, "/orders", "", "")
		if code != 200 || !strings.Contains(page, o.Name) {
			t.Fatalf("the desk's orders (%d) do not list %s", code, o.Name)
		}
	})
}
