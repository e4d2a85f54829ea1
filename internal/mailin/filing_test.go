package mailin_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mailin"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// mailWorld is a shop whose mail goes through the real intake, job
// queue and helpdesk.
type mailWorld struct {
	t       *testing.T
	db      *database.DB
	clock   *clock
	in      *intake.Intake
	hd      *helpdesk.Tickets
	tickets *ticket.Store
	files   *attachment.Store
	shop    int64
	other   int64
	n       int
}

func newMailWorld(t *testing.T, db *database.DB) *mailWorld {
	t.Helper()
	w := &mailWorld{t: t, db: db, clock: &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}}
	w.shop, w.other = fixtures.Shop(t, db, "a").ID, fixtures.Shop(t, db, "b").ID
	w.tickets = ticket.NewStore(db, w.clock.Now)
	w.files = attachment.NewStore(db, w.clock.Now)
	w.hd = helpdesk.New(helpdesk.Options{DB: db, Tickets: w.tickets, Commerce: commerce.NewStore(db), Users: user.NewStore(db),
		Audit: audit.New(db), Attachments: w.files})
	workers := river.NewWorkers()
	river.AddWorker(workers, &intake.ProcessWorker{DB: db, Now: w.clock.Now,
		Handlers: map[intake.Provider]intake.Handler{intake.ProviderEmail: mailin.Handler{Tickets: w.hd}}})
	q, err := jobs.New(db, jobs.Options{Workers: workers, FetchCooldown: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	jobstest.Work(t, q)
	w.in = intake.New(db, q, w.clock.Now)
	return w
}

// deliver hands raw mail to the intake as the SMTP listener does and
// waits until its job is done; it returns the stored event.
func (w *mailWorld) deliver(shopID int64, raw []byte) *intake.Event {
	w.t.Helper()
	w.n++
	r, err := w.in.Receive(context.Background(), intake.Delivery{ShopID: shopID, Provider: intake.ProviderEmail, Topic: "smtp",
		DeliveryID: fmt.Sprintf("test-%d", w.n), Body: raw})
	if err != nil {
		w.t.Fatal(err)
	}
	store := intake.NewStore(w.db)
	var ev *intake.Event
	jobstest.Eventually(w.t, "the mail's event processed or failed", func() bool {
		ev, err = store.Get(context.Background(), shopID, r.EventID)
		return err == nil && (ev.ProcessedAt != nil || ev.Error != "")
	})
	return ev
}

func (w *mailWorld) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *mailWorld) ticketsOf(shopID int64) []*ticket.Ticket {
	w.t.Helper()
	list, _, err := w.tickets.List(context.Background(), shopID, ticket.Filter{}, database.Page{})
	if err != nil {
		w.t.Fatal(err)
	}
	return list
}

func (w *mailWorld) messages(ticketID int64) []ticket.Message {
	w.t.Helper()
	msgs, err := w.tickets.Messages(context.Background(), w.shop, ticketID)
	if err != nil {
		w.t.Fatal(err)
	}
	return msgs
}

// mail is a small plain mail.
func mail(from, subject, messageID, inReplyTo, body string) []byte {
	h := "From: " + from + "\r\nTo: support@shop.test\r\nSubject: " + subject + "\r\nMessage-ID: <" + messageID + ">\r\n"
	if inReplyTo != "" {
		h += "In-Reply-To: <" + inReplyTo + ">\r\nReferences: <" + inReplyTo + ">\r\n"
	}
	return []byte(h + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
}

// A shopper's mail opens a ticket on the email channel for the customer
// with that address (created); the HTML is kept sanitised, the
// Message-ID stored; the answer to it threads onto the same ticket, and
// the same mail delivered again adds nothing.
func TestMailOpensATicketAndRepliesThread(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newMailWorld(t, db)
		ev := w.deliver(w.shop, readMail(t, "alternative.eml"))
		list := w.ticketsOf(w.shop)
		if len(list) != 1 {
			t.Fatalf("%d tickets, want 1 (event: %q %q)", len(list), ev.Outcome, ev.Error)
		}
		tk := list[0]
		if tk.Channel != ticket.ChannelEmail || tk.RequesterEmail != "ada@example.com" || tk.Subject != "Where is my order #1001?" ||
			tk.CustomerID == 0 || tk.Status != ticket.StatusOpen || tk.WaitingSince == nil {
			t.Errorf("ticket %+v", tk)
		}
		if ev.Outcome != fmt.Sprintf("opened ticket %d", tk.ID) {
			t.Errorf("outcome %q", ev.Outcome)
		}
		msgs := w.messages(tk.ID)
		if len(msgs) != 1 || msgs[0].MailMessageID != "alt-1@mail.example.com" || !strings.Contains(msgs[0].BodyHTML, "<b>#1001</b>") ||
			strings.Contains(msgs[0].BodyHTML, "<style") || msgs[0].AuthorKind != ticket.AuthorCustomer {
			t.Errorf("first message %+v", msgs)
		}

		// Our reply went out as <reply-1@shop.test> (the outbox stores its id).
		if _, err := db.Exec(context.Background(), `UPDATE ticket_messages SET mail_message_id = 'reply-1@shop.test'
			WHERE shop_id = ? AND ticket_id = ? AND id <> ?`, w.shop, tk.ID, msgs[0].ID); err != nil {
			t.Fatal(err)
		}
		agent, err := user.NewStore(db).Create(context.Background(), user.NewUser{ShopID: w.shop, Email: "agent@staff.test", Name: "Agent",
			Role: user.RoleAgent, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		reply, err := w.hd.Reply(context.Background(), agent, tk.ID, "It ships tomorrow.")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(context.Background(), `UPDATE ticket_messages SET mail_message_id = 'reply-1@shop.test' WHERE shop_id = ? AND id = ?`,
			w.shop, reply.ID); err != nil {
			t.Fatal(err)
		}
		// The answer comes from another address of hers, with a subject of its own: the thread decides.
		ev = w.deliver(w.shop, mail("Ada <ada@work.example>", "thanks", "answer-1@work.example", "reply-1@shop.test", "Great, thank you!"))
		if got := w.ticketsOf(w.shop); len(got) != 1 {
			t.Fatalf("%d tickets after the answer, want 1 (%q)", len(got), ev.Outcome)
		}
		if msgs := w.messages(tk.ID); len(msgs) != 3 || msgs[2].Body != "Great, thank you!" || msgs[2].MailMessageID != "answer-1@work.example" {
			t.Errorf("messages after the answer %+v", msgs)
		}
		if ev.Outcome != fmt.Sprintf("added to ticket %d", tk.ID) {
			t.Errorf("outcome %q", ev.Outcome)
		}

		// The same mail again (another delivery: IMAP and the webhook both had it).
		ev = w.deliver(w.shop, mail("Ada <ada@work.example>", "thanks", "answer-1@work.example", "reply-1@shop.test", "Great, thank you!"))
		if n := len(w.messages(tk.ID)); n != 3 || !strings.HasPrefix(ev.Outcome, "no ticket: already filed") {
			t.Errorf("a repeated Message-ID: %d messages, outcome %q", n, ev.Outcome)
		}
		// Our own reply coming back (a forwarding loop) files nothing.
		ev = w.deliver(w.shop, mail("support@shop.test", "Re: Where is my order", "reply-1@shop.test", "alt-1@mail.example.com", "It ships tomorrow."))
		if n := len(w.messages(tk.ID)); n != 3 || !strings.HasPrefix(ev.Outcome, "no ticket: our own mail came back") {
			t.Errorf("our own mail: %d messages, outcome %q", n, ev.Outcome)
		}
		// Another shop knows nothing of the thread: a ticket of its own.
		w.deliver(w.other, mail("Ada <ada@work.example>", "thanks", "answer-1@work.example", "reply-1@shop.test", "Great, thank you!"))
		if got := w.ticketsOf(w.other); len(got) != 1 {
			t.Errorf("other shop: %d tickets", len(got))
		}
	})
}

// "[#123]" in the subject joins that ticket only when its shopper sends
// it; a stranger naming it opens a ticket of their own.
func TestSubjectTagJoinsOnlyForTheTicketsShopper(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newMailWorld(t, db)
		w.deliver(w.shop, mail("Ada <ada@example.com>", "Broken lamp", "m1@example.com", "", "It is broken."))
		tk := w.ticketsOf(w.shop)[0]
		// Ada's open ticket is about no order, so a new mail of hers would
		// join it anyway; close it (recently) so only the tag can decide.
		if err := w.tickets.SetStatus(context.Background(), w.shop, tk.ID, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		tag := fmt.Sprintf("Re: Broken lamp [#%d]", tk.ID)

		ev := w.deliver(w.shop, mail("Mallory <mallory@evil.example>", tag, "m2@evil.example", "", "Refund me instead."))
		if n := len(w.messages(tk.ID)); n != 1 {
			t.Errorf("a stranger's tagged mail joined the ticket (%d messages, %q)", n, ev.Outcome)
		}
		if got := w.ticketsOf(w.shop); len(got) != 2 {
			t.Errorf("%d tickets, want the stranger's own", len(got))
		}
		ev = w.deliver(w.shop, mail("ADA@Example.com", tag, "m3@example.com", "", "Any news?"))
		if n := len(w.messages(tk.ID)); n != 2 || ev.Outcome != fmt.Sprintf("added to ticket %d", tk.ID) {
			t.Errorf("the shopper's tagged mail: %d messages, %q", n, ev.Outcome)
		}
		if got := w.get(tk.ID); got.Status != ticket.StatusOpen {
			t.Errorf("the closed ticket was not reopened: %s", got.Status)
		}
	})
}

func (w *mailWorld) get(id int64) *ticket.Ticket {
	w.t.Helper()
	tk, err := w.tickets.Get(context.Background(), w.shop, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return tk
}

// A new mail from a shopper with an open ticket joins it; one closed
// longer than the reopen window is not revived: the answer to it opens a
// new ticket.
func TestMailJoinsTheOpenTicketAndLeavesOldClosedOnes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newMailWorld(t, db)
		w.deliver(w.shop, mail("ada@example.com", "First", "a1@example.com", "", "One."))
		w.deliver(w.shop, mail("ada@example.com", "Second", "a2@example.com", "", "Two."))
		list := w.ticketsOf(w.shop)
		if len(list) != 1 || len(w.messages(list[0].ID)) != 2 {
			t.Fatalf("%d tickets, want one with both mails", len(list))
		}
		tk := list[0]
		if err := w.tickets.SetStatus(context.Background(), w.shop, tk.ID, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		w.clock.Add(ticket.ReopenWindow + time.Hour)
		w.deliver(w.shop, mail("ada@example.com", "Re: First", "a3@example.com", "a1@example.com", "Three."))
		list = w.ticketsOf(w.shop)
		if len(list) != 2 || list[0].ID == tk.ID || list[0].Subject != "First" || list[0].CustomerID != tk.CustomerID {
			t.Errorf("tickets %+v, want a new one after the old closed one", list)
		}
	})
}

// Auto-replies, bounces and bulk mail open no ticket, and the event says
// why; a blocked sender's mail neither.
func TestMachinesAndBlockedSendersFileNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newMailWorld(t, db)
		for file, reason := range map[string]string{"autoreply.eml": "auto-submitted", "bounce.eml": "auto-submitted",
			"bounce_plain.eml": "bounce", "precedence_bulk.eml": "precedence bulk"} {
			ev := w.deliver(w.shop, readMail(t, file))
			if ev.ProcessedAt == nil || !strings.HasPrefix(ev.Outcome, "no ticket: sent by a machine: "+reason) {
				t.Errorf("%s: processed %v, outcome %q", file, ev.ProcessedAt, ev.Outcome)
			}
		}
		if err := w.tickets.BlockSender(context.Background(), w.shop, "spam@example.com"); err != nil {
			t.Fatal(err)
		}
		ev := w.deliver(w.shop, mail("Spam <SPAM@example.com>", "Buy", "s1@example.com", "", "Buy now"))
		if ev.Outcome != "no ticket: the sender is blocked" {
			t.Errorf("blocked sender: outcome %q", ev.Outcome)
		}
		if n := w.count(`SELECT COUNT(*) FROM tickets`); n != 0 {
			t.Errorf("%d tickets, want none", n)
		}
		if n := w.count(`SELECT COUNT(*) FROM customers`); n != 0 {
			t.Errorf("%d customers created, want none", n)
		}
	})
}

// Files and inline images are stored with the message (the inline one
// with its Content-ID); 8-bit ISO-8859-1 mail is kept byte for byte on the
// event and read as text.
func TestMailFilesAndCharsets(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newMailWorld(t, db)
		w.deliver(w.shop, readMail(t, "inline_image.eml"))
		w.deliver(w.shop, readMail(t, "attachments.eml"))
		tk := w.ticketsOf(w.shop)[0]
		msgs := w.messages(tk.ID)
		ids := []int64{}
		for _, m := range msgs {
			ids = append(ids, m.ID)
		}
		files, err := w.files.ForMessages(context.Background(), w.shop, ids)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range msgs {
			for _, f := range files[m.ID] {
				got = append(got, f.Filename+"|"+f.ContentType+"|"+f.ContentID)
			}
		}
		want := "error.png|image/png|img1@example.com lamp.png|image/png| receipt.pdf|application/pdf|"
		if strings.Join(got, " ") != want {
			t.Errorf("files %q, want %q", got, want)
		}

		raw := readMail(t, "latin1.eml")
		ev := w.deliver(w.shop, raw)
		if string(ev.Body) != string(raw) {
			t.Error("the raw ISO-8859-1 mail was not kept byte for byte")
		}
		var latin *ticket.Ticket
		for _, tk := range w.ticketsOf(w.shop) {
			if tk.RequesterEmail == "francois@example.fr" {
				latin = tk
			}
		}
		if latin == nil || latin.Subject != "Problème de livraison" || latin.RequesterName != "François Dupré" ||
			!strings.Contains(w.messages(latin.ID)[0].Body, "arrivé abîmé") {
			t.Errorf("latin-1 ticket %+v", latin)
		}
	})
}

// Mail that cannot be read fails its event with the reason, at once and
// for good (its job is cancelled, listed with the dead ones); the raw
// mail stays, and the next mail is filed as usual.
func TestMalformedMailFailsItsEventWithTheReason(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newMailWorld(t, db)
		ev := w.deliver(w.shop, readMail(t, "malformed_no_from.eml"))
		if ev.ProcessedAt != nil || !strings.Contains(ev.Error, "mail cannot be read: no From address") {
			t.Errorf("event processed %v, error %q", ev.ProcessedAt, ev.Error)
		}
		jobstest.Eventually(t, "the job cancelled", func() bool {
			return w.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process' AND state = 'cancelled'`) == 1
		})
		w.deliver(w.shop, readMail(t, "alternative.eml"))
		if n := len(w.ticketsOf(w.shop)); n != 1 {
			t.Errorf("%d tickets after a malformed mail and a good one", n)
		}
	})
}

// A mail naming one of the shopper's orders ("#1001") joins their open
// ticket about that order — the hub's join rule — and a mail naming an
// order that is not theirs opens a ticket about no order.
func TestMailJoinsTheOpenTicketAboutTheSameOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newMailWorld(t, db)
		ctx := context.Background()
		now := w.clock.Now()
		order, _, err := commerce.NewStore(db).UpsertOrder(ctx, w.shop, commerce.Order{ExternalID: "5001", Name: "#1001", Currency: "USD",
			TotalMinor: 100, CreatedAt: now, UpdatedAt: now}, &commerce.Customer{ExternalID: "c-ada", Email: "ada@example.com", FirstName: "Ada"})
		if err != nil {
			t.Fatal(err)
		}
		hub, err := w.tickets.Create(ctx, w.shop, ticket.NewTicket{CustomerID: order.CustomerID, OrderID: order.ID, RequesterEmail: "ada@example.com",
			RequesterName: "Ada", Subject: "Parcel", Channel: ticket.ChannelHub, Author: ticket.AuthorCustomer, Body: "Where is it?"})
		if err != nil {
			t.Fatal(err)
		}
		ev := w.deliver(w.shop, readMail(t, "alternative.eml")) // "Where is my order #1001?" from ada@example.com
		if ev.Outcome != fmt.Sprintf("added to ticket %d", hub.ID) {
			t.Errorf("outcome %q, want the hub ticket about #1001 joined", ev.Outcome)
		}
		ev = w.deliver(w.shop, mail("grace@example.com", "About #1001", "g1@example.com", "", "Is this mine?"))
		var got *ticket.Ticket
		for _, tk := range w.ticketsOf(w.shop) {
			if tk.RequesterEmail == "grace@example.com" {
				got = tk
			}
		}
		if got == nil || got.OrderID != 0 || got.ID == hub.ID {
			t.Errorf("another shopper naming #1001: %+v (%q)", got, ev.Outcome)
		}
	})
}
