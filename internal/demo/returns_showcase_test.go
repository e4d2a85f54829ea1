package demo_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// The showcase ticket's customer has returns in every state and orders
// for each answer of Initiate return: eligible (after a closed and a
// cancelled return, by Loop's answer), a return already open, outside
// the window, not delivered.
func TestReturnsShowcase(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sb := sandbox.New(sandbox.Options{NoSeed: true})
		srv := httptest.NewServer(sb)
		t.Cleanup(func() { srv.Close(); sb.Close() })
		sb.SetBaseURL(srv.URL)
		app := testapp.New(t, db, testapp.WithLoop(srv.URL+"/api/v1"))
		tn := app.NewTenant("shopa")
		app.UseLoop(tn, srv.URL)
		jobstest.Work(t, app.Server.Jobs)
		ticketID, err := demo.SeedReturnsShowcase(ctx, sb, demo.ShowcaseStores{Orders: app.Server.Ingest, Records: app.Server.Returns,
			Tickets: app.Server.Tickets}, tn.Shop.ID, app.URL, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tk, err := app.Server.Tickets.Get(ctx, tn.Shop.ID, ticketID)
		if err != nil {
			t.Fatal(err)
		}
		// A demo started again on its data finds the ticket for its banner;
		// another shop has none.
		if found, err := demo.ShowcaseTicket(ctx, db, tn.Shop.ID); err != nil || found != ticketID {
			t.Errorf("the showcase ticket found again: %d (%v), want %d", found, err, ticketID)
		}
		if found, err := demo.ShowcaseTicket(ctx, db, app.NewTenant("shopb").Shop.ID); err != nil || found != 0 {
			t.Errorf("another shop's showcase ticket: %d (%v)", found, err)
		}
		orders, _, err := app.Server.Commerce.ListOrders(ctx, tn.Shop.ID, commerce.OrderFilter{CustomerID: tk.CustomerID}, database.Page{Limit: 10})
		if err != nil || len(orders) != 5 {
			t.Fatalf("showcase orders: %d (%v), want 5 (the ticket's sidebar shows five)", len(orders), err)
		}
		var viewed []orderview.Order
		jobstest.Eventually(t, "Loop's answers cached", func() bool {
			if viewed, err = app.Server.Orders.Published(ctx, tn.Shop.ID, orders); err != nil {
				t.Fatal(err)
			}
			var pending int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'return_eligibility' AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&pending); err != nil {
				t.Fatal(err)
			}
			return pending == 0
		})
		states := map[returns.ReturnState]bool{}
		reasons := map[returns.NotEligible]int{}
		for _, o := range viewed {
			for _, r := range o.Returns {
				states[r.State] = true
			}
			reasons[o.Return.Reason]++
			if o.ID == tk.OrderID && !o.Return.Eligible() {
				t.Errorf("the ticket's order %s cannot start a return: %s", o.Name, o.Return.Reason)
			}
		}
		for _, s := range []returns.ReturnState{returns.StateOpen, returns.StateReview, returns.StateClosed, returns.StateCancelled, returns.StateExpired} {
			if !states[s] {
				t.Errorf("no %s return", s)
			}
		}
		for reason, want := range map[returns.NotEligible]int{"": 1, returns.ReturnOpen: 2, returns.OutsideWindow: 1, returns.NotDelivered: 1} {
			if reasons[reason] != want {
				t.Errorf("%d orders with reason %q, want %d (%v)", reasons[reason], reason, want, reasons)
			}
		}
	})
}
