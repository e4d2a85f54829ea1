package hub_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// Ada and Bob each have an order named #1032; Ada's has an open return.
// Bob sees neither its status nor its link, in his list or on his order.
func TestNamesakeOrderDoesNotShowAnotherShoppersReturn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		namesake := func(externalID string, c *commerce.Customer) *commerce.Order {
			t.Helper()
			return f.app.Ingest(f.acme.Shop.ID, commerce.Order{
				ExternalID: externalID, Name: "#1032", Email: c.Email, Currency: "EUR", TotalMinor: 1800,
				CreatedAt: f.now.Add(-time.Hour), UpdatedAt: f.now.Add(-time.Hour),
				LineItems: []commerce.LineItem{{ExternalID: externalID + "-1", Title: "Merino Socks", Quantity: 1, CurrentQuantity: 1, PriceMinor: 1800}},
			}, c)
		}
		adas := namesake("5001032", f.ada)
		bobs := namesake("5009032", f.bob)
		statusPage := f.loopURL + "/portal/return/ada-1032"
		if _, err := f.app.Server.Returns.Upsert(ctx, f.acme.Shop.ID, returns.Return{Provider: returns.ProviderLoop,
			ExternalID: "48210001", OrderName: "#1032", OrderExternalID: adas.ExternalID, State: returns.StateOpen,
			StatusPageURL: statusPage, UpdatedAt: f.now}); err != nil {
			t.Fatal(err)
		}

		res := f.get(f.adaURL("/hub/orders/" + id(adas)))
		if res.status != http.StatusOK {
			t.Fatalf("Ada's order: %d", res.status)
		}
		mustContain(t, res.body, "Return in progress", statusPage)

		bob := proxyReq{customer: "2002"}
		res = f.get(f.proxyURL("/hub/orders/"+id(bobs), bob))
		if res.status != http.StatusOK {
			t.Fatalf("Bob's order: %d", res.status)
		}
		mustNotContain(t, res.body, "Return in progress", statusPage)
		res = f.get(f.proxyURL("/hub", bob))
		mustContain(t, res.body, "#1032")
		mustNotContain(t, res.body, "Return in progress")
	})
}
