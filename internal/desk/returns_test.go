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

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
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

// A return Loop named only by an order number two orders carry waits
// unattached — and is shown where staff look: both orders' pages say a
// return names their number, the Orders page tells a manager how many
// wait, and "Returns needing an order" lists it with both orders. A
// manager links it to the right one (audited); it then shows on that
// order's page and ticket, not on the other, and a later report naming
// only the number keeps the link. Agents can neither see the list nor
// link; an order of another number is refused.
func TestManagerLinksAReturnWithAnAmbiguousOrderName(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		olivia := app.NamedOrder(tn, "5001032", "#1032", "olivia@example.com")
		noah := app.NamedOrder(tn, "5009032", "#1032", "noah@example.com")
		other := app.NamedOrder(tn, "5001040", "#1040", "ada@example.com")
		report := returns.Return{Provider: returns.ProviderLoop, ExternalID: "48210002", OrderName: "#1032", State: returns.StateOpen,
			Carrier: "UPS", TrackingNumber: "1ZNAMEONLY", UpdatedAt: time.Now().Add(-time.Hour)}
		if _, err := app.Server.Returns.Upsert(ctx, tn.Shop.ID, report); err != nil {
			t.Fatal(err)
		}
		stored, err := app.Server.Returns.Get(ctx, tn.Shop.ID, returns.ProviderLoop, "48210002")
		if err != nil || !stored.OrderAmbiguous {
			t.Fatalf("stored: %+v %v", stored, err)
		}

		agent, manager := app.LoginAs(tn.Agent), app.LoginAs(tn.Manager)
		for _, o := range []*commerce.Order{olivia, noah} {
			_, page, _ := app.Do(agent, "GET", fmt.Sprintf("/orders/%d", o.ID), "", "")
			if !strings.Contains(page, `id="unlinked-returns-notice"`) || !strings.Contains(page, "1 Loop return name order #1032") {
				t.Errorf("order %s's page does not say a return names its number", o.ExternalID)
			}
		}
		if _, page, _ := app.Do(agent, "GET", fmt.Sprintf("/orders/%d", other.ID), "", ""); strings.Contains(page, "unlinked-returns-notice") {
			t.Error("an order of another number tells of the return")
		}
		if _, page, _ := app.Do(agent, "GET", "/orders", "", ""); strings.Contains(page, "unlinked-returns-notice") {
			t.Error("the Orders page offers agents a list they cannot open")
		}
		if _, page, _ := app.Do(manager, "GET", "/orders", "", ""); !strings.Contains(page, `href="/returns/unlinked"`) {
			t.Error("the Orders page does not lead a manager to the returns needing an order")
		}
		if status, _, _ := app.Do(agent, "GET", "/returns/unlinked", "", ""); status != http.StatusForbidden {
			t.Errorf("an agent opens the list: %d", status)
		}
		status, page, _ := app.Do(manager, "GET", "/returns/unlinked", "", "")
		for _, want := range []string{"48210002", "#1032", fmt.Sprintf(`name="order" value="%d"`, olivia.ID), fmt.Sprintf(`name="order" value="%d"`, noah.ID),
			"olivia@example.com", "noah@example.com", "Link to this order"} {
			if status != http.StatusOK || !strings.Contains(page, want) {
				t.Errorf("the list: %d, lacks %s", status, want)
			}
		}
		if strings.Contains(page, "ada@example.com") {
			t.Error("the list offers an order of another number")
		}

		link := fmt.Sprintf("/returns/%d/link", stored.ID)
		if status, _, _ := post(t, app, agent, link, url.Values{"order": {fmt.Sprint(olivia.ID)}}); status != http.StatusForbidden {
			t.Errorf("an agent links: %d", status)
		}
		if status, _, _ := post(t, app, manager, link, url.Values{"order": {fmt.Sprint(other.ID)}}); status != http.StatusUnprocessableEntity {
			t.Errorf("linked to an order of another number: %d", status)
		}
		status, _, h := post(t, app, manager, link, url.Values{"order": {fmt.Sprint(olivia.ID)}})
		if status != http.StatusSeeOther || h.Get("Location") != fmt.Sprintf("/returns/unlinked?linked=%d", olivia.ID) {
			t.Fatalf("link: %d %s", status, h.Get("Location"))
		}
		if status, _, _ := post(t, app, manager, link, url.Values{"order": {fmt.Sprint(noah.ID)}}); status != http.StatusConflict {
			t.Errorf("linked twice: %d", status)
		}
		// Loop reports it again, still by the number alone.
		report.State, report.UpdatedAt = returns.StateReview, time.Now()
		if _, err := app.Server.Returns.Upsert(ctx, tn.Shop.ID, report); err != nil {
			t.Fatal(err)
		}
		_, page, _ = app.Do(agent, "GET", fmt.Sprintf("/orders/%d", olivia.ID), "", "")
		for _, want := range []string{"48210002", "1ZNAMEONLY"} {
			if !strings.Contains(page, want) {
				t.Errorf("Olivia's order page lacks the linked return's %s", want)
			}
		}
		if strings.Contains(page, "unlinked-returns-notice") {
			t.Error("the notice stays once the return is linked")
		}
		_, page, _ = app.Do(agent, "GET", fmt.Sprintf("/orders/%d", noah.ID), "", "")
		if strings.Contains(page, "1ZNAMEONLY") || strings.Contains(page, "unlinked-returns-notice") {
			t.Error("Noah's order page shows the return linked to Olivia's order")
		}
		if _, page, _ := app.Do(manager, "GET", "/returns/unlinked", "", ""); strings.Contains(page, "48210002") {
			t.Error("the linked return is still listed")
		}
		entries, _, err := app.Server.Audit.List(ctx, tn.Shop.ID, audit.Filter{Action: audit.ActionReturnLinked}, database.Page{Limit: 10})
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit: %v %v", entries, err)
		}
		if e := entries[0]; e.Actor.Label != tn.Manager.Email || e.Subject != "#1032" || e.Details["return"] != "48210002" ||
			e.Details["order_id"] != fmt.Sprint(olivia.ID) {
			t.Errorf("audit entry: %+v", e)
		}
	})
}
