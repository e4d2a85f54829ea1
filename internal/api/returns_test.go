package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// Two orders share a name; the API names "Return in progress" only for the
// one the return was reported for, on the order and in the lists.
func TestReturnStatusOnlyForItsOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		olivia := app.NamedOrder(tn, "5001032", "#1032", "olivia@example.com")
		noah := app.NamedOrder(tn, "5009032", "#1032", "noah@example.com")
		if _, err := app.Server.Returns.Upsert(context.Background(), tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop,
			ExternalID: "48210001", OrderName: "#1032", OrderExternalID: olivia.ExternalID, State: returns.StateOpen}); err != nil {
			t.Fatal(err)
		}
		token := app.Token(tn.Agent)
		for _, c := range []struct {
			path, want string
		}{
			{fmt.Sprintf("/api/v1/orders/%d", olivia.ID), `"status":"return_in_progress"`},
			{fmt.Sprintf("/api/v1/orders/%d", noah.ID), `"status":"processing"`},
			{fmt.Sprintf("/api/v1/customers/%d/orders", noah.CustomerID), `"status":"processing"`},
		} {
			if status, body, _ := app.Do(nil, "GET", c.path, token, ""); status != 200 || !strings.Contains(body, c.want) {
				t.Errorf("GET %s: %d %s, want %s", c.path, status, body, c.want)
			}
		}
		_, list, _ := app.Do(nil, "GET", "/api/v1/orders", token, "")
		if n := strings.Count(list, `"status":"return_in_progress"`); n != 1 {
			t.Errorf("the order list names %d orders with a return in progress, want 1: %s", n, list)
		}
	})
}

// The API says whether each order can start a return and why not, by the
// hub's rule and the published settings.
func TestReturnEligibilityInTheAPI(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		olivia := app.NamedOrder(tn, "5001032", "#1032", "olivia@example.com")
		noah := app.NamedOrder(tn, "5009032", "#1033", "noah@example.com")
		if _, err := app.Server.Returns.Upsert(ctx, tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop,
			ExternalID: "48210001", OrderName: "#1032", OrderExternalID: olivia.ExternalID, State: returns.StateOpen}); err != nil {
			t.Fatal(err)
		}
		token := app.Token(tn.Agent)
		expect := func(id int64, want string) {
			t.Helper()
			if status, body, _ := app.Do(nil, "GET", fmt.Sprintf("/api/v1/orders/%d", id), token, ""); status != 200 || !strings.Contains(body, want) {
				t.Errorf("order %d: %d %s, want %s", id, status, body, want)
			}
		}
		expect(olivia.ID, `"return_eligibility":{"eligible":false,"reason":"return_open","window_ends_at":null}`)
		expect(noah.ID, `"return_eligibility":{"eligible":false,"reason":"provider_disabled","window_ends_at":null}`)

		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderNarvar, PortalURL: "https://returns.narvar.com/acme/returns"}
		actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
		if _, err := app.Server.Settings.Save(ctx, tn.Shop.ID, cfg, actor); err != nil {
			t.Fatal(err)
		}
		expect(noah.ID, `"reason":"provider_disabled"`) // a draft changes nothing
		if err := app.Server.Settings.SetLive(ctx, tn.Shop.ID, true, actor); err != nil {
			t.Fatal(err)
		}
		expect(noah.ID, `"return_eligibility":{"eligible":false,"reason":"not_delivered","window_ends_at":null}`)
	})
}
