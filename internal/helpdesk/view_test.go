package helpdesk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// TestViewerOpen: the ticket view's one batch reads what the separate
// reads did, opening writes the read marker once, and another shop's
// ticket is not found.
func TestViewerOpen(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent, manager := w.people["agent"], w.people["manager"]
		v := w.process().viewer
		tk := w.fromShopper(w.ada, "Where is my parcel")
		other := w.fromShopper(w.ada, "Another question")
		w.fromShopper(w.grace, "Not Ada's")
		if err := w.hd.Assign(ctx, manager, tk.ID, agent.ID); err != nil { // tells the agent
			t.Fatal(err)
		}
		if _, err := w.hd.SetTags(ctx, manager, tk.ID, []string{"vip"}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.hd.Reply(ctx, agent, tk.ID, "On its way"); err != nil {
			t.Fatal(err)
		}

		got, err := v.Open(ctx, agent, tk.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if got.Ticket.ID != tk.ID || len(got.Messages) != 2 || got.Messages[1].Body != "On its way" {
			t.Errorf("ticket %d with %d messages", got.Ticket.ID, len(got.Messages))
		}
		if got.Customer == nil || got.Customer.ID != w.ada.ID {
			t.Errorf("customer = %+v, want Ada", got.Customer)
		}
		if len(got.Related) != 1 || got.Related[0].ID != other.ID {
			t.Errorf("related = %v, want only ticket %d", got.Related, other.ID)
		}
		if len(got.Tags) != 1 || got.Tags[0].Name != "vip" || len(got.AllTags) != 1 {
			t.Errorf("tags = %v of %v", got.Tags, got.AllTags)
		}
		if got.Shop == nil || got.Shop.ID != w.shop || len(got.People) != 6 {
			t.Errorf("shop %+v, %d people", got.Shop, len(got.People))
		}
		if got.ReadCurrent || got.TicketNotifications != 1 || got.Notifications != 1 {
			t.Errorf("before reading: current %v, %d of %d notifications", got.ReadCurrent, got.TicketNotifications, got.Notifications)
		}

		got, err = v.Open(ctx, agent, tk.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ReadCurrent || got.Notifications != 0 {
			t.Errorf("opened: current %v, %d notifications shown", got.ReadCurrent, got.Notifications)
		}
		if n, err := w.tickets.UnreadNotifications(ctx, w.shop, agent.ID); err != nil || n != 0 {
			t.Errorf("unread notifications after opening = %d, %v", n, err)
		}
		got, err = v.Open(ctx, agent, tk.ID, true)
		if err != nil || !got.ReadCurrent {
			t.Errorf("opened again: current %v, %v", got != nil && got.ReadCurrent, err)
		}

		if _, err := v.Open(ctx, w.people["foreign"], tk.ID, true); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("another shop's agent opened the ticket: %v", err)
		}
		if _, err := v.Open(ctx, agent, tk.ID+1000, true); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("a missing ticket: %v", err)
		}
	})
}

// TestViewerBlockedSender: the block shows whatever the case of the
// sender's address, non-ASCII letters included (SQL's LOWER folds ASCII
// only).
func TestViewerBlockedSender(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent := w.people["agent"]
		v := w.process().viewer
		for _, email := range []string{"Spam@Example.com", "ÉLODIE@Example.com"} {
			tk, err := w.tickets.Create(ctx, w.shop, ticket.NewTicket{RequesterEmail: email, Subject: "Hi", Channel: ticket.ChannelHub,
				Author: ticket.AuthorCustomer, Body: "Buy now"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Open(ctx, agent, tk.ID, false)
			if err != nil || got.Blocked {
				t.Fatalf("%s before the block: blocked %v, %v", email, got != nil && got.Blocked, err)
			}
			if _, err := w.hd.BlockSender(ctx, agent, tk.ID); err != nil {
				t.Fatal(err)
			}
			if got, err = v.Open(ctx, agent, tk.ID, false); err != nil || !got.Blocked {
				t.Errorf("%s after the block: blocked %v, %v", email, got != nil && got.Blocked, err)
			}
		}
	})
}

// TestTicketOrdersRead: the ticket view's orders are the ticket's own and
// the customer's five latest, each once, with their items.
func TestTicketOrdersRead(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		var ids []int64
		for i := range 8 {
			o, _, err := w.commerce.UpsertOrder(ctx, w.shop, commerce.Order{ExternalID: fmt.Sprint(100 + i), CustomerID: w.ada.ID, Name: fmt.Sprintf("#%d", 1000+i),
				Currency: "EUR", CreatedAt: t0.Add(time.Duration(i) * time.Hour), UpdatedAt: t0,
				LineItems: []commerce.LineItem{{ExternalID: fmt.Sprint(i), Title: "Shirt", Quantity: 1}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, o.ID)
		}
		tk, err := w.hd.Create(ctx, w.people["agent"], helpdesk.NewTicket{Subject: "About an old order", CustomerEmail: w.ada.Email, Body: "Hi",
			OrderID: ids[0], Channel: ticket.ChannelDesk})
		if err != nil {
			t.Fatal(err)
		}
		var b database.Batch
		page, args := ticket.OrdersOf(w.shop, tk.ID, helpdesk.SidebarOrders)
		orders := commerce.ReadOrders(&b, w.shop, page, args)
		var count int
		customer, cargs := ticket.CustomerOf(w.shop, tk.ID)
		commerce.ReadOrderCount(&b, w.shop, customer, cargs, &count)
		if err := db.ReadBatch(ctx, &b); err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, o := range *orders {
			got = append(got, o.ID)
			if len(o.LineItems) != 1 {
				t.Errorf("order %s has %d items", o.Name, len(o.LineItems))
			}
		}
		want := []int64{ids[7], ids[6], ids[5], ids[4], ids[3], ids[0]}
		if !slices.Equal(got, want) || count != 8 {
			t.Errorf("orders = %v (of %d), want %v (of 8)", got, count, want)
		}
	})
}
