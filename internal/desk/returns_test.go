package desk_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
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

// The ticket's order cards and the order page show each return's items
// and Loop's processing failure with its message; while Loop is down the
// returns stay as last known, with their age, under a plain notice, and
// the rest of the page works; once Loop answers again the notice goes.
func TestCardsShowItemsProcessingFailureAndLoopHealth(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sb := sandbox.New(sandbox.Options{NoSeed: true})
		loopSrv := httptest.NewServer(sb)
		t.Cleanup(func() { loopSrv.Close(); sb.Close() })
		sb.SetBaseURL(loopSrv.URL)
		app := testapp.New(t, db, testapp.WithLoop(loopSrv.URL))
		tn := app.NewTenant("shopa")
		app.UseLoop(tn, loopSrv.URL)
		o := app.SeedLoopOrder(tn, sb, testapp.LoopOrder{Name: "#4101", DeliveredAgo: 2 * 24 * time.Hour, Items: 2, Return: returns.StateOpen})
		if _, err := app.Server.LoopSync.RefreshOrder(ctx, tn.Shop.ID, o.ID); err != nil {
			t.Fatal(err)
		}
		stored, err := app.Server.Returns.ForOrders(ctx, tn.Shop.ID, []int64{o.ID})
		if err != nil || len(stored[o.ID]) != 1 {
			t.Fatalf("stored: %v %v", stored, err)
		}
		if err := app.Server.Returns.MarkProcessingFailed(ctx, tn.Shop.ID, returns.ProviderLoop, stored[o.ID][0].ExternalID, "Refund failed: <card> expired"); err != nil {
			t.Fatal(err)
		}
		tk, err := app.Server.Helpdesk.Create(ctx, tn.Agent, helpdesk.NewTicket{Subject: "My refund", CustomerEmail: o.Email, Body: "Where is it?",
			OrderID: o.ID, Channel: ticket.ChannelDesk})
		if err != nil {
			t.Fatal(err)
		}
		agent := app.LoginAs(tn.Agent)
		pages := map[string]string{"ticket": fmt.Sprintf("/tickets/%d", tk.ID), "order": fmt.Sprintf("/orders/%d", o.ID)}
		for name, path := range pages {
			status, page, _ := app.Do(agent, "GET", path, "", "")
			for _, want := range []string{`class="small return-items"`, "1 × Classic Tee 1", "· TEE-2", "Processing failed</strong>: Refund failed: &lt;card&gt; expired"} {
				if status != http.StatusOK || !strings.Contains(page, want) {
					t.Errorf("%s page: %d, lacks %s", name, status, want)
				}
			}
			if strings.Contains(page, "data-returns-health") {
				t.Errorf("%s page: a health notice while Loop answers", name)
			}
		}

		sb.SetFaults(sandbox.Faults{Outage: true})
		if _, err := app.Server.LoopSync.RefreshOrder(ctx, tn.Shop.ID, o.ID); err == nil {
			t.Fatal("the refresh succeeded with Loop down")
		}
		for name, path := range pages {
			status, page, _ := app.Do(agent, "GET", path, "", "")
			for _, want := range []string{`data-returns-health>Loop is not answering since just now.`, "(Loop last answered just now)",
				"badge--return-open", "1 × Classic Tee 1", "updated just now"} {
				if status != http.StatusOK || !strings.Contains(page, want) {
					t.Errorf("%s page with Loop down: %d, lacks %s", name, status, want)
				}
			}
		}
		// The ticket still takes a reply.
		if status, _, _ := post(t, app, agent, fmt.Sprintf("/tickets/%d/reply", tk.ID), url.Values{"body": {"Looking into it."}}); status != http.StatusSeeOther {
			t.Errorf("reply with Loop down: %d", status)
		}
	})
}
