package desk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// Order names repeat: a return shows on the one order it was reported for,
// never on another customer's order that shares the name, and a return
// known only by an ambiguous name shows on neither.
func TestReturnShowsOnlyOnItsOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		olivia := app.NamedOrder(tn, "5001032", "#1032", "olivia@example.com")
		noah := app.NamedOrder(tn, "5009032", "#1032", "noah@example.com")
		put := func(r returns.Return) {
			t.Helper()
			r.Provider, r.State = returns.ProviderLoop, returns.StateOpen
			if _, err := app.Server.Returns.Upsert(ctx, tn.Shop.ID, r); err != nil {
				t.Fatal(err)
			}
		}
		put(returns.Return{ExternalID: "48210001", OrderName: "#1032", OrderExternalID: olivia.ExternalID, Carrier: "USPS", TrackingNumber: "9400OLIVIA"})
		put(returns.Return{ExternalID: "48210002", OrderName: "#1032", Carrier: "UPS", TrackingNumber: "1ZNAMEONLY"})

		c := app.LoginAs(tn.Agent)
		_, page, _ := app.Do(c, "GET", fmt.Sprintf("/orders/%d", olivia.ID), "", "")
		for _, want := range []string{"Return in progress", "48210001", "USPS", "9400OLIVIA"} {
			if !strings.Contains(page, want) {
				t.Errorf("Olivia's order page lacks %q", want)
			}
		}
		if strings.Contains(page, "1ZNAMEONLY") {
			t.Error("a return known only by a shared name was attached to Olivia's order")
		}
		_, page, _ = app.Do(c, "GET", fmt.Sprintf("/orders/%d", noah.ID), "", "")
		for _, unwanted := range []string{"Return in progress", "48210001", "9400OLIVIA", "48210002", "1ZNAMEONLY"} {
			if strings.Contains(page, unwanted) {
				t.Errorf("Noah's order page shows %q", unwanted)
			}
		}
		_, list, _ := app.Do(c, "GET", "/orders", "", "")
		if n := strings.Count(list, "Return in progress"); n != 1 {
			t.Errorf("the order list shows %d orders with a return in progress, want 1", n)
		}
		_, page, _ = app.Do(c, "GET", fmt.Sprintf("/customers/%d", noah.CustomerID), "", "")
		if strings.Contains(page, "Return in progress") {
			t.Error("Noah's customer page shows Olivia's return")
		}
	})
}
