package hub_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// messagesURL is the signed App Proxy URL of a Messages page for a
// shopper, signed at the server's current time.
func (f *fixture) messagesURL(c *clock, customer, path string) string {
	return f.proxyURL("/hub/messages"+path, proxyReq{customer: customer, at: c.Now()})
}

// shopperTickets are the shop's tickets of one customer, most recent
// activity first.
func (f *fixture) shopperTickets(customerID int64) []*ticket.Ticket {
	f.t.Helper()
	list, _, err := f.app.Server.Tickets.List(context.Background(), f.acme.Shop.ID, ticket.Filter{CustomerID: customerID}, database.Page{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

func (f *fixture) messagesOf(ticketID int64) []ticket.Message {
	f.t.Helper()
	msgs, err := f.app.Server.Tickets.Messages(context.Background(), f.acme.Shop.ID, ticketID)
	if err != nil {
		f.t.Fatal(err)
	}
	return msgs
}

// The contact form joins the shopper's open ticket about the same order
// and opens a new one for another order or once the ticket is closed; the
// Messages tab lists her conversations in her words, the conversation
// shows the shop's replies but never staff notes, and her answer lands on
// the ticket the desk works.
func TestHubConversations(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		ctx := context.Background()
		hd := f.app.Server.Helpdesk
		send := func(order, msg string) {
			t.Helper()
			if res := f.do(http.MethodPost, f.contactURL(c, "1001", order, nil), url.Values{"message": {msg}}); res.status != http.StatusSeeOther {
				t.Fatalf("contact %s %q: %d\n%s", order, msg, res.status, res.body)
			}
			c.Add(time.Minute)
		}

		send("#1001", "Where is my parcel?")
		send("#1001", "It was due on Monday.")
		if list := f.shopperTickets(f.ada.ID); len(list) != 1 || len(f.messagesOf(list[0].ID)) != 2 {
			t.Fatalf("a second message about the same order: %d tickets, want 1 with 2 messages", len(list))
		}
		send("#1002", "Can I change the address?")
		list := f.shopperTickets(f.ada.ID)
		if len(list) != 2 {
			t.Fatalf("a message about another order: %d tickets, want 2", len(list))
		}
		addr, parcel := list[0], list[1]
		if parcel.OrderID != f.orders["#1001"].ID || addr.OrderID != f.orders["#1002"].ID {
			t.Fatalf("tickets are about orders %d and %d", parcel.OrderID, addr.OrderID)
		}

		// The shop answers the parcel question and notes something staff only.
		if _, err := hd.Reply(ctx, f.acme.Agent, parcel.ID, "It is with the carrier, arriving tomorrow."); err != nil {
			t.Fatal(err)
		}
		if _, err := hd.Note(ctx, f.acme.Agent, parcel.ID, "STAFF ONLY: carrier lost two parcels this week"); err != nil {
			t.Fatal(err)
		}
		c.Add(time.Minute)

		res := f.get(f.messagesURL(c, "1001", ""))
		if res.status != http.StatusOK {
			t.Fatalf("Messages: %d\n%s", res.status, res.body)
		}
		mustContain(t, res.body, "<h1>Messages</h1>", parcel.Subject, addr.Subject, "We replied", "Waiting for us", "New reply",
			`href="/apps/hub/messages/`+itoa(parcel.ID), `href="/apps/hub/messages/`+itoa(addr.ID))
		if strings.Count(res.body, "New reply") != 1 {
			t.Error("a conversation without a reply is marked as having a new one")
		}
		if strings.Index(res.body, parcel.Subject) > strings.Index(res.body, addr.Subject) {
			t.Error("the conversation with the latest activity is not listed first")
		}

		res = f.get(f.messagesURL(c, "1001", "/"+itoa(parcel.ID)))
		if res.status != http.StatusOK {
			t.Fatalf("conversation: %d\n%s", res.status, res.body)
		}
		mustContain(t, res.body, "Where is my parcel?", "It was due on Monday.", "It is with the carrier, arriving tomorrow.",
			"We replied", `for="reply-message"`, `action="/apps/hub/messages/`+itoa(parcel.ID))
		mustNotContain(t, res.body, "STAFF ONLY", f.acme.Agent.DisplayName())
		// Opened: the reply is no longer new.
		mustNotContain(t, f.get(f.messagesURL(c, "1001", "")).body, "New reply")

		// Her answer goes on the ticket, which waits for the shop again.
		res = f.do(http.MethodPost, f.messagesURL(c, "1001", "/"+itoa(parcel.ID)), url.Values{"message": {"Thanks, I'll be home."}})
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/apps/hub/messages/"+itoa(parcel.ID)+"?") {
			t.Fatalf("answer: %d to %q", res.status, res.header.Get("Location"))
		}
		c.Add(time.Minute)
		msgs := f.messagesOf(parcel.ID)
		if last := msgs[len(msgs)-1]; last.Body != "Thanks, I'll be home." || last.AuthorKind != ticket.AuthorCustomer {
			t.Fatalf("last message on the ticket: %+v", last)
		}
		if tk, _ := f.app.Server.Tickets.Get(ctx, f.acme.Shop.ID, parcel.ID); tk.WaitingSince == nil || tk.Status != ticket.StatusOpen {
			t.Fatalf("after her answer the ticket is %s, waiting since %v", tk.Status, tk.WaitingSince)
		}
		mustContain(t, f.get(f.messagesURL(c, "1001", "/"+itoa(parcel.ID))).body, "Waiting for us")
		// Pending: the shop waits for her.
		if err := hd.SetStatus(ctx, f.acme.Agent, addr.ID, ticket.StatusPending); err != nil {
			t.Fatal(err)
		}
		mustContain(t, f.get(f.messagesURL(c, "1001", "/"+itoa(addr.ID))).body, "We replied")

		// Closed: the contact form opens a new ticket; an answer within a
		// week reopens the closed one; later it starts a new one.
		if err := hd.SetStatus(ctx, f.acme.Agent, parcel.ID, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		send("#1001", "Another question about this order")
		if n := len(f.shopperTickets(f.ada.ID)); n != 3 {
			t.Fatalf("a message about an order whose ticket is closed: %d tickets, want 3", n)
		}
		mustContain(t, f.get(f.messagesURL(c, "1001", "/"+itoa(parcel.ID))).body, "Closed")
		c.Add(6 * 24 * time.Hour)
		if res := f.do(http.MethodPost, f.messagesURL(c, "1001", "/"+itoa(parcel.ID)), url.Values{"message": {"It never came."}}); res.status != http.StatusSeeOther {
			t.Fatalf("answer on a ticket closed 6 days ago: %d", res.status)
		}
		if tk, _ := f.app.Server.Tickets.Get(ctx, f.acme.Shop.ID, parcel.ID); tk.Status != ticket.StatusOpen {
			t.Fatalf("an answer within a week left the ticket %s", tk.Status)
		}
		if err := hd.SetStatus(ctx, f.acme.Agent, parcel.ID, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		c.Add(8 * 24 * time.Hour)
		mustContain(t, f.get(f.messagesURL(c, "1001", "/"+itoa(parcel.ID))).body, "more than a week ago")
		res = f.do(http.MethodPost, f.messagesURL(c, "1001", "/"+itoa(parcel.ID)), url.Values{"message": {"Still nothing."}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("answer on a ticket closed 8 days ago: %d", res.status)
		}
		if tk, _ := f.app.Server.Tickets.Get(ctx, f.acme.Shop.ID, parcel.ID); tk.Status != ticket.StatusClosed {
			t.Fatalf("an answer after a week reopened the ticket: %s", tk.Status)
		}
		newest := f.shopperTickets(f.ada.ID)[0]
		if newest.ID == parcel.ID || newest.OrderID != parcel.OrderID || newest.Subject != parcel.Subject ||
			!strings.Contains(res.header.Get("Location"), "/messages/"+itoa(newest.ID)) {
			t.Fatalf("the late answer went to ticket %d (order %d, %q), sent to %q", newest.ID, newest.OrderID, newest.Subject, res.header.Get("Location"))
		}
	})
}

// Another shopper's conversation, another shop's, a spam one: 404, and an
// answer to them writes nothing.
func TestHubConversationsAreTheShoppersOwn(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		ctx := context.Background()
		if res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1001", nil), url.Values{"message": {"Ada's secret question"}}); res.status != http.StatusSeeOther {
			t.Fatalf("contact: %d", res.status)
		}
		ada := f.shopperTickets(f.ada.ID)[0]
		olga := f.proxyURL("/hub/messages/"+itoa(ada.ID), proxyReq{shop: otherDomain, secret: otherSecret, customer: "1001", at: c.Now()})
		for name, u := range map[string]string{
			"another shopper": f.messagesURL(c, "2002", "/"+itoa(ada.ID)),
			"another shop":    olga,
			"no such ticket":  f.messagesURL(c, "1001", "/999999"),
		} {
			if res := f.get(u); res.status != http.StatusNotFound || strings.Contains(res.body, "secret question") {
				t.Errorf("%s, GET: %d", name, res.status)
			}
			if res := f.do(http.MethodPost, u, url.Values{"message": {"Hijack"}}); res.status != http.StatusNotFound {
				t.Errorf("%s, POST: %d", name, res.status)
			}
		}
		mustNotContain(t, f.get(f.messagesURL(c, "2002", "")).body, "secret question")
		if n := len(f.messagesOf(ada.ID)); n != 1 {
			t.Fatalf("Ada's ticket has %d messages, want 1", n)
		}

		if err := f.app.Server.Helpdesk.MarkSpam(ctx, f.acme.Agent, ada.ID); err != nil {
			t.Fatal(err)
		}
		if res := f.get(f.messagesURL(c, "1001", "/"+itoa(ada.ID))); res.status != http.StatusNotFound {
			t.Errorf("a spam ticket: %d", res.status)
		}
		mustNotContain(t, f.get(f.messagesURL(c, "1001", "")).body, "secret question")
	})
}

// A blocked sender's answer is refused with the reason and the text kept;
// answers count against the contact limit; the preview shows the
// conversation but never sends.
func TestHubAnswerRefusals(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		ctx := context.Background()
		if res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1001", nil), url.Values{"message": {"First"}}); res.status != http.StatusSeeOther {
			t.Fatalf("contact: %d", res.status)
		}
		tk := f.shopperTickets(f.ada.ID)[0]
		answer := func(msg string) response {
			c.Add(time.Minute)
			return f.do(http.MethodPost, f.messagesURL(c, "1001", "/"+itoa(tk.ID)), url.Values{"message": {msg}})
		}

		// Preview: shown, never sent.
		manager := f.app.LoginAs(f.acme.Manager)
		status, body, _ := f.app.Do(manager, http.MethodGet, "/settings/hub-preview/messages/"+itoa(tk.ID)+"?customer="+itoa(f.ada.ID), "", "")
		if status != http.StatusOK {
			t.Fatalf("preview: %d", status)
		}
		mustContain(t, body, "First", "Messages are not sent from the preview.", `href="/settings/hub-preview/messages?customer=`)
		res := send(t, manager, http.MethodPost, f.app.URL+"/settings/hub-preview/messages/"+itoa(tk.ID)+"?customer="+itoa(f.ada.ID),
			url.Values{"message": {"From the admin"}}, "Origin", f.app.URL)
		if res.status != http.StatusUnprocessableEntity || len(f.messagesOf(tk.ID)) != 1 {
			t.Fatalf("preview answer: %d", res.status)
		}

		// Limit: the contact form's message and the answers count together.
		for i := 1; i < ticket.ShopperContactLimit; i++ {
			if res := answer("Answer " + itoa(int64(i))); res.status != http.StatusSeeOther {
				t.Fatalf("answer %d: %d", i, res.status)
			}
		}
		res = answer("One too many")
		if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" {
			t.Fatalf("answer over the limit: %d", res.status)
		}
		mustContain(t, res.body, "sent several messages", ">One too many</textarea>")
		if n := len(f.messagesOf(tk.ID)); n != ticket.ShopperContactLimit {
			t.Fatalf("%d messages after the refusal, want %d", n, ticket.ShopperContactLimit)
		}
		c.Add(ticket.ShopperContactWindow)

		// Blocked.
		if _, err := f.app.Server.Helpdesk.BlockSender(ctx, f.acme.Agent, tk.ID); err != nil {
			t.Fatal(err)
		}
		res = answer("Let me in")
		if res.status != http.StatusForbidden {
			t.Fatalf("a blocked sender's answer: %d", res.status)
		}
		mustContain(t, res.body, "not accepting messages from your address", ">Let me in</textarea>")
		if n := len(f.messagesOf(tk.ID)); n != ticket.ShopperContactLimit {
			t.Fatalf("the blocked answer was written: %d messages", n)
		}
	})
}

// A message that quotes the history under it (mail answers do) shows the
// history folded behind a toggle, in the shopper's language.
func TestHubConversationFoldsQuotedHistory(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		body := "Thanks, I'll be home.\n\nOn Mon, 30 Nov 2026, Shop <help@shop.test> wrote:\n> It is with the carrier.\n> Shop"
		if res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1001", nil), url.Values{"message": {body}}); res.status != http.StatusSeeOther {
			t.Fatalf("contact: %d\n%s", res.status, res.body)
		}
		list := f.shopperTickets(f.ada.ID)
		if len(list) != 1 {
			t.Fatalf("%d tickets", len(list))
		}
		res := f.get(f.messagesURL(c, "1001", "/"+itoa(list[0].ID)))
		if res.status != http.StatusOK {
			t.Fatalf("conversation: %d", res.status)
		}
		shown := res.body[:strings.Index(res.body, `<details class="quoted">`)+1]
		mustContain(t, res.body, `<details class="quoted"><summary>Show quoted text</summary>`, "&gt; It is with the carrier.")
		mustContain(t, shown, "Thanks, I&#39;ll be home.")
		mustNotContain(t, shown, "It is with the carrier.")
	})
}
