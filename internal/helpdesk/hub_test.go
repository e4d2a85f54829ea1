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

// A hub message joins the shopper's open or pending ticket about the same
// order (or about no order) like any message of theirs — waiting, preview,
// the assignee told, listeners told — and opens a new ticket for another
// order, for another shopper, or once the ticket is closed.
func TestContactFromHubJoinsOrOpens(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		send := func(c int64, order int64, body string) helpdesk.HubOutcome {
			t.Helper()
			w.clock.Add(time.Minute)
			out, err := w.hd.ContactFromHub(ctx, w.shop, helpdesk.HubContact{CustomerID: c, OrderID: order, Email: "ada@example.com",
				Name: "Ada", Subject: "About " + fmt.Sprint(order), Body: body})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		first := send(w.ada.ID, 0, "Do you ship abroad?")
		if first.Joined || first.Repeated {
			t.Fatalf("the first message: %+v", first)
		}
		agent := w.people["agent"]
		if err := w.hd.Assign(ctx, agent, first.Ticket.ID, agent.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.hd.Reply(ctx, agent, first.Ticket.ID, "Yes, to the EU."); err != nil {
			t.Fatal(err)
		}
		if err := w.hd.SetStatus(ctx, agent, first.Ticket.ID, ticket.StatusPending); err != nil {
			t.Fatal(err)
		}
		w.changes.take()

		joined := send(w.ada.ID, 0, "And to Norway?")
		if !joined.Joined || joined.Ticket.ID != first.Ticket.ID {
			t.Fatalf("a second message about no order while the ticket is pending: %+v", joined)
		}
		tk := w.get(first.Ticket.ID)
		if tk.Status != ticket.StatusOpen || tk.WaitingSince == nil || tk.Preview != "And to Norway?" {
			t.Fatalf("after joining: status %s, waiting %v, preview %q", tk.Status, tk.WaitingSince, tk.Preview)
		}
		if n := w.notifications(); !slices.Contains(n, fmt.Sprintf("%d/%d/%s", agent.ID, tk.ID, ticket.NotifyReply)) {
			t.Errorf("the assignee was not told: %v", n)
		}
		if ev := w.changes.take(); len(ev) != 1 || ev[0].What != helpdesk.ChangeMessage || ev[0].TicketID != tk.ID {
			t.Errorf("listeners heard %+v", ev)
		}

		// Another order, another shopper: new tickets.
		order := w.adaOrder()
		if out := send(w.ada.ID, order, "About my order"); out.Joined {
			t.Fatal("a message about an order joined the ticket about no order")
		}
		if out := send(w.grace.ID, 0, "Do you ship abroad?"); out.Joined {
			t.Fatal("another shopper's message joined Ada's ticket")
		}
		if ev := w.changes.take(); len(ev) != 2 || ev[0].What != helpdesk.ChangeCreated {
			t.Errorf("listeners heard %+v", ev)
		}

		// Closed: a new ticket.
		if err := w.hd.SetStatus(ctx, agent, first.Ticket.ID, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		if out := send(w.ada.ID, 0, "One more thing"); out.Joined || out.Ticket.ID == first.Ticket.ID {
			t.Fatalf("a message after the ticket was closed: %+v", out)
		}
		if w.get(first.Ticket.ID).Status != ticket.StatusClosed {
			t.Fatal("the closed ticket was reopened by the contact form")
		}
	})
}

// The limits count messages: joining an open ticket does not escape them,
// a blocked sender writes nothing, and a repeat adds nothing.
func TestContactFromHubLimitsAndRefusals(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		in := helpdesk.HubContact{CustomerID: w.ada.ID, Email: "ada@example.com", Subject: "Hi"}
		var id int64
		for i := range ticket.ShopperContactLimit {
			in.Body = fmt.Sprint("Message ", i)
			out, err := w.hd.ContactFromHub(ctx, w.shop, in)
			if err != nil {
				t.Fatal(err)
			}
			id = out.Ticket.ID
		}
		in.Body = "Message 0"
		if out, err := w.hd.ContactFromHub(ctx, w.shop, in); err != nil || !out.Repeated {
			t.Fatalf("a repeat: %+v, %v", out, err)
		}
		in.Body = "Over"
		var limit *ticket.LimitError
		if _, err := w.hd.ContactFromHub(ctx, w.shop, in); !errors.As(err, &limit) || limit.PerShop {
			t.Fatalf("over the shopper's limit: %v", err)
		}
		if _, err := w.hd.AnswerFromHub(ctx, w.shop, id, helpdesk.Sender{CustomerID: w.ada.ID, Email: "ada@example.com"}, "Over"); !errors.As(err, &limit) {
			t.Fatalf("an answer over the shopper's limit: %v", err)
		}
		msgs, _ := w.tickets.Messages(ctx, w.shop, id)
		if len(msgs) != ticket.ShopperContactLimit {
			t.Fatalf("%d messages, want %d", len(msgs), ticket.ShopperContactLimit)
		}

		w.clock.Add(ticket.ShopperContactWindow)
		if _, err := w.hd.BlockSender(ctx, w.people["agent"], id); err != nil {
			t.Fatal(err)
		}
		if _, err := w.hd.ContactFromHub(ctx, w.shop, in); !errors.Is(err, ticket.ErrBlockedSender) {
			t.Fatalf("a blocked sender: %v", err)
		}
		if _, err := w.hd.AnswerFromHub(ctx, w.shop, id, helpdesk.Sender{CustomerID: w.ada.ID, Email: "ada@example.com"}, "Hello?"); !errors.Is(err, ticket.ErrBlockedSender) {
			t.Fatalf("a blocked sender's answer: %v", err)
		}
		if _, err := w.hd.AnswerFromHub(ctx, w.shop, id, helpdesk.Sender{CustomerID: w.grace.ID, Email: "grace@example.com"}, "Hello?"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("another shopper's answer: %v", err)
		}
		if _, err := w.hd.AnswerFromHub(ctx, w.other, id, helpdesk.Sender{CustomerID: w.ada.ID, Email: "ada@example.com"}, "Hello?"); !errors.Is(err, ticket.ErrNotFound) {
			t.Fatalf("an answer through another shop: %v", err)
		}
		if msgs, _ := w.tickets.Messages(ctx, w.shop, id); len(msgs) != ticket.ShopperContactLimit {
			t.Fatalf("refused messages were written: %d", len(msgs))
		}
	})
}

// adaOrder stores an order of Ada's and returns its id.
func (w *world) adaOrder() int64 {
	w.t.Helper()
	o, _, err := w.commerce.UpsertOrder(context.Background(), w.shop, commerce.Order{ExternalID: "o-ada", Name: "#1001", Currency: "EUR",
		CreatedAt: t0, UpdatedAt: t0}, w.ada)
	if err != nil {
		w.t.Fatal(err)
	}
	return o.ID
}

// A guest's message (an order opened with a guest link, the order without
// a customer) is filed under the customer of the order's email: the
// existing one when the address is known, else one made for it; without
// Guest, no customer is still refused.
func TestContactFromHubAsAGuest(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		if _, err := w.hd.ContactFromHub(ctx, w.shop, helpdesk.HubContact{Email: "ada@example.com", Subject: "Hi", Body: "Hello"}); err == nil {
			t.Fatal("a message without a customer and not a guest's was taken")
		}
		known, err := w.hd.ContactFromHub(ctx, w.shop, helpdesk.HubContact{Guest: true, Email: "ADA@example.com", Subject: "Socks", Body: "Where are they?"})
		if err != nil {
			t.Fatal(err)
		}
		if known.Ticket.CustomerID != w.ada.ID {
			t.Errorf("a known address's guest message went to customer %d, not Ada (%d)", known.Ticket.CustomerID, w.ada.ID)
		}
		fresh, err := w.hd.ContactFromHub(ctx, w.shop, helpdesk.HubContact{Guest: true, Email: "newcomer@example.com", Name: "Nia New",
			Subject: "Hat", Body: "Which size?"})
		if err != nil {
			t.Fatal(err)
		}
		if fresh.Ticket.CustomerID == 0 || fresh.Ticket.CustomerID == w.ada.ID || fresh.Ticket.RequesterEmail != "newcomer@example.com" {
			t.Errorf("a new address's ticket: %+v", fresh.Ticket)
		}
	})
}
