package helpdesk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

var t0 = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

// clock is the ticket store's time, stepped by the test.
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

// changeEvent is one change a recorder was told of.
type changeEvent struct {
	ShopID, TicketID int64
	What             helpdesk.Change
}

// recorder is a helpdesk.Changes that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	events []changeEvent
}

func (r *recorder) TicketChanged(_ context.Context, shopID, ticketID int64, what helpdesk.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, changeEvent{ShopID: shopID, TicketID: ticketID, What: what})
}

func (r *recorder) take() []changeEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

type world struct {
	t        *testing.T
	db       *database.DB
	clock    *clock
	changes  *recorder
	hd       *helpdesk.Tickets
	tickets  *ticket.Store
	commerce *commerce.Store
	users    *user.Store
	shop     int64
	other    int64 // another shop
	// People of the shop by name: agent, agent2, manager, admin, owner,
	// disabled (an agent), and foreign (an agent of the other shop).
	people map[string]*user.User
	ada    *commerce.Customer // a customer with an order
	grace  *commerce.Customer
}

func newWorld(t *testing.T, db *database.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, db: db, clock: &clock{now: t0}, changes: &recorder{}, people: map[string]*user.User{}}
	w.shop, w.other = fixtures.Shop(t, db, "a").ID, fixtures.Shop(t, db, "b").ID
	w.tickets = ticket.NewStore(db, w.clock.Now)
	w.commerce = commerce.NewStore(db)
	w.users = user.NewStore(db)
	w.hd = helpdesk.New(helpdesk.Options{DB: db, Tickets: w.tickets, Commerce: w.commerce, Users: w.users, Audit: audit.New(db), Changes: w.changes})
	for _, p := range []struct {
		name string
		role user.Role
		shop int64
	}{{"agent", user.RoleAgent, w.shop}, {"agent2", user.RoleAgent, w.shop}, {"manager", user.RoleManager, w.shop},
		{"admin", user.RoleAdmin, w.shop}, {"owner", user.RoleOwner, w.shop}, {"disabled", user.RoleAgent, w.shop},
		{"foreign", user.RoleAgent, w.other}} {
		u, err := w.users.Create(ctx, user.NewUser{ShopID: p.shop, Email: p.name + "@staff.test", Name: strings.ToUpper(p.name[:1]) + p.name[1:],
			Role: p.role, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		w.people[p.name] = u
	}
	if err := w.users.SetDisabled(ctx, w.shop, w.people["disabled"].ID, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dst   **commerce.Customer
		ext   string
		email string
	}{{&w.ada, "c-ada", "ada@example.com"}, {&w.grace, "c-grace", "grace@example.com"}} {
		stored, _, err := w.commerce.UpsertCustomer(ctx, w.shop, commerce.Customer{ExternalID: c.ext, Email: c.email, FirstName: c.ext[2:]})
		if err != nil {
			t.Fatal(err)
		}
		*c.dst = stored
	}
	return w
}

// fromShopper opens a ticket the way the hub does: the shopper's message.
func (w *world) fromShopper(c *commerce.Customer, subject string) *ticket.Ticket {
	w.t.Helper()
	tk, err := w.tickets.Create(context.Background(), w.shop, ticket.NewTicket{CustomerID: c.ID, RequesterEmail: c.Email, RequesterName: c.FirstName,
		Subject: subject, Channel: ticket.ChannelHub, Author: ticket.AuthorCustomer, Body: "Where is my parcel?"})
	if err != nil {
		w.t.Fatal(err)
	}
	return tk
}

func (w *world) get(id int64) *ticket.Ticket {
	w.t.Helper()
	tk, err := w.tickets.Get(context.Background(), w.shop, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return tk
}

// notifications lists (user, ticket, kind) rows of the shop's desk
// notifications.
func (w *world) notifications() []string {
	w.t.Helper()
	rows, err := w.db.Query(context.Background(), `SELECT user_id, ticket_id, kind FROM desk_notifications WHERE shop_id = ? ORDER BY id`, w.shop)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u, tk int64
		var kind string
		if err := rows.Scan(&u, &tk, &kind); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d/%d/%s", u, tk, kind))
	}
	return out
}

// auditActions lists the shop's audit actions, oldest first.
func (w *world) auditActions() []string {
	w.t.Helper()
	entries, _, err := audit.New(w.db).List(context.Background(), w.shop, audit.Filter{}, database.Page{Limit: 200})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for i := len(entries) - 1; i >= 0; i-- {
		out = append(out, entries[i].Action)
	}
	return out
}

func TestCreateMatchesOrCreatesTheCustomer(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent := w.people["agent"]

		known, err := w.hd.Create(ctx, agent, helpdesk.NewTicket{Subject: "Your order", CustomerEmail: " ADA@Example.com ", Body: "Hello Ada", Channel: ticket.ChannelDesk})
		if err != nil {
			t.Fatal(err)
		}
		if known.CustomerID != w.ada.ID || known.RequesterEmail != "ada@example.com" || known.AssigneeID != agent.ID || known.Channel != ticket.ChannelDesk {
			t.Errorf("ticket for a known address = %+v, want Ada's, assigned to its author", known)
		}
		if known.FirstResponseAt == nil || known.WaitingSince != nil || known.Preview != "Hello Ada" {
			t.Errorf("an agent-opened ticket: first response %v, waiting %v, preview %q", known.FirstResponseAt, known.WaitingSince, known.Preview)
		}
		msgs, _ := w.tickets.Messages(ctx, w.shop, known.ID)
		if len(msgs) != 1 || msgs[0].ConversationKind() != ticket.Reply || msgs[0].AuthorUserID != agent.ID || msgs[0].AuthorName != agent.DisplayName() {
			t.Errorf("first message = %+v, want the agent's reply", msgs)
		}

		fresh, err := w.hd.Create(ctx, agent, helpdesk.NewTicket{Subject: "Welcome", CustomerEmail: "new@example.com", CustomerName: "Nora Newman", Body: "Hi", Channel: ticket.ChannelAPI})
		if err != nil {
			t.Fatal(err)
		}
		c, err := w.commerce.Customer(ctx, w.shop, fresh.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		if c.ExternalID != commerce.EmailKey("new@example.com") || c.FirstName != "Nora" || c.LastName != "Newman" {
			t.Errorf("created customer = %+v", c)
		}
		// The platform reports the same shopper later: one customer, the
		// platform's id and data, the ticket still theirs.
		adopted, res, err := w.commerce.UpsertCustomer(ctx, w.shop, commerce.Customer{ExternalID: "shopify-77", Email: "New@Example.com",
			FirstName: "Nora", LastName: "N.", UpdatedAt: t0.Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if adopted.ID != c.ID || adopted.ExternalID != "shopify-77" || adopted.LastName != "N." || res != commerce.Updated {
			t.Errorf("platform import = %+v (%v), want customer %d taken over", adopted, res, c.ID)
		}
		if same, _ := w.commerce.CustomersByEmail(ctx, w.shop, "new@example.com"); len(same) != 1 {
			t.Errorf("%d customers with the address, want 1", len(same))
		}

		for name, in := range map[string]helpdesk.NewTicket{
			"no email":      {Subject: "s", Body: "b"},
			"bad email":     {Subject: "s", Body: "b", CustomerEmail: "nobody"},
			"no subject":    {Body: "b", CustomerEmail: "ada@example.com"},
			"no body":       {Subject: "s", CustomerEmail: "ada@example.com"},
			"foreign order": {Subject: "s", Body: "b", CustomerEmail: "ada@example.com", OrderID: 999999},
		} {
			var ve *ticket.ValidationError
			if _, err := w.hd.Create(ctx, agent, in); !errors.As(err, &ve) {
				t.Errorf("%s: err = %v, want a validation error", name, err)
			}
		}
		if got := w.changes.take(); len(got) != 2 || got[0].What != helpdesk.ChangeCreated {
			t.Errorf("changes = %v, want two creations (none for the refused)", got)
		}
	})
}

func TestConversationBookkeeping(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent := w.people["agent"]
		tk := w.fromShopper(w.ada, "Parcel")
		if tk.WaitingSince == nil || !tk.WaitingSince.Equal(t0) || tk.FirstResponseAt != nil {
			t.Fatalf("new shopper ticket: waiting %v, first response %v", tk.WaitingSince, tk.FirstResponseAt)
		}

		w.clock.Add(time.Hour)
		if _, err := w.hd.Note(ctx, agent, tk.ID, "Checking with the warehouse"); err != nil {
			t.Fatal(err)
		}
		got := w.get(tk.ID)
		if got.FirstResponseAt != nil || got.WaitingSince == nil || got.Preview != "Where is my parcel?" || !got.LastActivityAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("after a note: first response %v, waiting %v, preview %q, activity %v", got.FirstResponseAt, got.WaitingSince, got.Preview, got.LastActivityAt)
		}

		w.clock.Add(time.Hour)
		if _, err := w.hd.Reply(ctx, agent, tk.ID, "It ships tomorrow."); err != nil {
			t.Fatal(err)
		}
		got = w.get(tk.ID)
		if got.FirstResponseAt == nil || !got.FirstResponseAt.Equal(t0.Add(2*time.Hour)) || got.WaitingSince != nil || got.Preview != "It ships tomorrow." {
			t.Errorf("after the reply: first response %v, waiting %v, preview %q", got.FirstResponseAt, got.WaitingSince, got.Preview)
		}
		if d, ok := got.FirstResponseTime(); !ok || d != 2*time.Hour {
			t.Errorf("first response time = %v %v, want 2h", d, ok)
		}

		w.clock.Add(time.Hour)
		if _, err := w.hd.Reply(ctx, agent, tk.ID, "Tracking: 1Z999"); err != nil {
			t.Fatal(err)
		}
		if got = w.get(tk.ID); !got.FirstResponseAt.Equal(t0.Add(2 * time.Hour)) {
			t.Errorf("a second reply moved the first response to %v", got.FirstResponseAt)
		}

		w.clock.Add(time.Hour)
		if err := w.hd.SetStatus(ctx, agent, tk.ID, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		got = w.get(tk.ID)
		if d, ok := got.ResolutionTime(); !ok || d != 4*time.Hour {
			t.Errorf("resolution = %v %v, want 4h", d, ok)
		}

		for i, status := range []ticket.Status{ticket.StatusClosed, ticket.StatusPending} {
			if err := w.hd.SetStatus(ctx, agent, tk.ID, status); err != nil {
				t.Fatal(err)
			}
			w.clock.Add(time.Hour)
			if _, err := w.hd.CustomerMessage(ctx, w.shop, tk.ID, helpdesk.Sender{CustomerID: w.ada.ID, Email: w.ada.Email}, fmt.Sprintf("Still nothing (%d)", i)); err != nil {
				t.Fatal(err)
			}
			got = w.get(tk.ID)
			if got.Status != ticket.StatusOpen || got.ClosedAt != nil || got.WaitingSince == nil || got.Preview != fmt.Sprintf("Still nothing (%d)", i) {
				t.Errorf("shopper wrote on a %s ticket: status %s, closed %v, waiting %v, preview %q", status, got.Status, got.ClosedAt, got.WaitingSince, got.Preview)
			}
		}
		firstWait := *got.WaitingSince
		w.clock.Add(time.Hour)
		if _, err := w.hd.CustomerMessage(ctx, w.shop, tk.ID, helpdesk.Sender{CustomerID: w.ada.ID}, "Hello?"); err != nil {
			t.Fatal(err)
		}
		if got = w.get(tk.ID); !got.WaitingSince.Equal(firstWait) {
			t.Errorf("a second unanswered message moved the wait from %v to %v", firstWait, got.WaitingSince)
		}
		// Another customer cannot write into Ada's ticket.
		if _, err := w.hd.CustomerMessage(ctx, w.shop, tk.ID, helpdesk.Sender{CustomerID: w.grace.ID}, "Hi"); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("Grace wrote into Ada's ticket: %v", err)
		}
		// Another shop's ticket id is not found.
		if _, err := w.hd.Reply(ctx, w.people["foreign"], tk.ID, "x"); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("another shop's agent replied: %v", err)
		}
		msgs, _ := w.tickets.Messages(ctx, w.shop, tk.ID)
		var kinds []string
		for _, m := range msgs {
			kinds = append(kinds, string(m.ConversationKind()))
		}
		if want := "inbound note reply reply inbound inbound inbound"; strings.Join(kinds, " ") != want {
			t.Errorf("conversation kinds = %v, want %s", kinds, want)
		}
		// Closed, then pending (closing the closed ticket again changed
		// nothing); the shopper's reopening is no staff action.
		if a := w.auditActions(); !slices.Equal(a, []string{"ticket.status", "ticket.status"}) {
			t.Errorf("audit = %v, want the two status changes only (messages are not audited)", a)
		}
	})
}

func TestAssignRules(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		p := w.people
		cases := []struct {
			actor, current, to string // "" is nobody
			want               error
		}{
			{"agent", "", "agent", nil},                          // take it
			{"agent", "agent", "", nil},                          // unassign me
			{"agent", "agent2", "agent", helpdesk.ErrNotAllowed}, // take a colleague's
			{"agent", "agent2", "", helpdesk.ErrNotAllowed},      // unassign a colleague
			{"agent", "", "agent2", helpdesk.ErrNotAllowed},      // assign a colleague
			{"agent", "agent2", "agent2", nil},                   // no change, nothing to refuse
			{"manager", "", "agent", nil},
			{"manager", "agent", "agent2", nil},
			{"manager", "agent", "", nil},
			{"admin", "", "owner", nil},
			{"owner", "", "manager", nil},
			{"manager", "", "disabled", &ticket.ValidationError{}},
			{"manager", "", "foreign", &ticket.ValidationError{}},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s moves %s to %s", c.actor, or(c.current), or(c.to)), func(t *testing.T) {
				tk := w.fromShopper(w.ada, "Assign me")
				if c.current != "" {
					if err := w.tickets.SetAssignee(ctx, w.shop, tk.ID, p[c.current].ID); err != nil {
						t.Fatal(err)
					}
				}
				to := int64(0)
				if c.to != "" {
					to = p[c.to].ID
				}
				err := w.hd.Assign(ctx, p[c.actor], tk.ID, to)
				var ve *ticket.ValidationError
				switch {
				case c.want == nil && err != nil:
					t.Fatalf("refused: %v", err)
				case c.want == nil:
					if got := w.get(tk.ID).AssigneeID; got != to {
						t.Errorf("assignee = %d, want %d", got, to)
					}
				case errors.As(c.want, &ve):
					if !errors.As(err, &ve) || ve.Field != "assignee_id" {
						t.Errorf("err = %v, want a validation error on assignee_id", err)
					}
				case !errors.Is(err, c.want):
					t.Errorf("err = %v, want %v", err, c.want)
				}
				if c.want != nil {
					want := int64(0)
					if c.current != "" {
						want = p[c.current].ID
					}
					if got := w.get(tk.ID).AssigneeID; got != want {
						t.Errorf("a refused assignment changed the assignee to %d", got)
					}
				}
			})
		}
	})
}

func or(name string) string {
	if name == "" {
		return "nobody"
	}
	return name
}

func TestNotificationsNeverToTheActor(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent, manager := w.people["agent"], w.people["manager"]
		tk := w.fromShopper(w.ada, "Notify")
		if err := w.hd.Assign(ctx, agent, tk.ID, agent.ID); err != nil { // takes it: nobody told
			t.Fatal(err)
		}
		if n := w.notifications(); len(n) != 0 {
			t.Errorf("taking a ticket notified %v", n)
		}
		if err := w.hd.Assign(ctx, manager, tk.ID, w.people["agent2"].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.hd.CustomerMessage(ctx, w.shop, tk.ID, helpdesk.Sender{CustomerID: w.ada.ID}, "Any news?"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.hd.Reply(ctx, w.people["agent2"], tk.ID, "Yes"); err != nil { // the assignee's own reply: nobody told
			t.Fatal(err)
		}
		a2 := w.people["agent2"].ID
		want := []string{fmt.Sprintf("%d/%d/assigned", a2, tk.ID), fmt.Sprintf("%d/%d/reply", a2, tk.ID)}
		if got := w.notifications(); !slices.Equal(got, want) {
			t.Errorf("notifications = %v, want %v", got, want)
		}
		unassigned := w.fromShopper(w.grace, "Nobody's")
		if _, err := w.hd.CustomerMessage(ctx, w.shop, unassigned.ID, helpdesk.Sender{}, "Hello?"); err != nil {
			t.Fatal(err)
		}
		if got := w.notifications(); len(got) != 2 {
			t.Errorf("a message on an unassigned ticket notified: %v", got)
		}
	})
}

func TestTags(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent, manager := w.people["agent"], w.people["manager"]
		tk := w.fromShopper(w.ada, "Tags")
		w.clock.Add(time.Hour)
		if _, err := w.hd.SetTags(ctx, agent, tk.ID, []string{"vip"}); !errors.Is(err, helpdesk.ErrNotAllowed) {
			t.Errorf("an agent created a tag: %v", err)
		}
		names, err := w.hd.SetTags(ctx, manager, tk.ID, []string{" VIP ", "refund", "vip"})
		if err != nil || !slices.Equal(names, []string{"refund", "vip"}) {
			t.Fatalf("manager's tags = %v, %v", names, err)
		}
		if got := w.get(tk.ID).UpdatedAt; !got.Equal(t0.Add(time.Hour)) {
			t.Errorf("tagging left updated_at at %v", got)
		}
		if _, err := w.hd.SetTags(ctx, agent, tk.ID, []string{"Refund"}); err != nil {
			t.Errorf("an agent could not use an existing tag: %v", err)
		}
		got, _ := w.tickets.TicketTags(ctx, w.shop, tk.ID)
		if len(got) != 1 || got[0].Name != "refund" {
			t.Errorf("tags = %v, want refund", got)
		}
		var ve *ticket.ValidationError
		if _, err := w.hd.SetTags(ctx, manager, tk.ID, []string{strings.Repeat("x", ticket.MaxTagRunes+1)}); !errors.As(err, &ve) {
			t.Errorf("an overlong tag: %v", err)
		}
		if a := w.auditActions(); !slices.Equal(a, []string{"ticket.tags", "ticket.tags"}) {
			t.Errorf("audit = %v", a)
		}
	})
}

func TestMerge(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent := w.people["agent"]
		target := w.fromShopper(w.ada, "First")
		w.clock.Add(time.Minute)
		source := w.fromShopper(w.ada, "Second")
		w.clock.Add(time.Minute)
		if _, err := w.hd.Reply(ctx, agent, target.ID, "Answer to the first"); err != nil {
			t.Fatal(err)
		}
		graces := w.fromShopper(w.grace, "Grace's")
		if err := w.hd.Merge(ctx, agent, source.ID, graces.ID); !errors.Is(err, helpdesk.ErrDifferentCustomers) {
			t.Errorf("merge across customers: %v", err)
		}
		w.clock.Add(time.Minute)
		if err := w.hd.Merge(ctx, agent, source.ID, target.ID); err != nil {
			t.Fatal(err)
		}
		msgs, _ := w.tickets.Messages(ctx, w.shop, target.ID)
		var seq []string
		for _, m := range msgs {
			seq = append(seq, string(m.ConversationKind())+":"+m.CreatedAt.Sub(t0).String())
		}
		if want := "inbound:0s inbound:1m0s reply:2m0s note:3m0s"; strings.Join(seq, " ") != want {
			t.Errorf("merged conversation = %v, want %s", seq, want)
		}
		src := w.get(source.ID)
		if src.MergedIntoID != target.ID || src.Status != ticket.StatusClosed {
			t.Errorf("source after merge = %+v", src)
		}
		if left, _ := w.tickets.Messages(ctx, w.shop, source.ID); len(left) != 1 || left[0].AuthorKind != ticket.AuthorSystem || left[0].Kind != ticket.KindNote {
			t.Errorf("source keeps %v, want hubdesk's note only", left)
		}
		if err := w.hd.Merge(ctx, agent, source.ID, target.ID); !errors.Is(err, helpdesk.ErrMerged) {
			t.Errorf("merging a merged ticket again: %v", err)
		}
		// A shopper answering the merged ticket lands in the target.
		m, err := w.hd.CustomerMessage(ctx, w.shop, source.ID, helpdesk.Sender{CustomerID: w.ada.ID}, "Thanks")
		if err != nil || m.TicketID != target.ID {
			t.Errorf("message to the merged ticket went to %v (%v), want %d", m, err, target.ID)
		}
		if a := w.auditActions(); !slices.Equal(a, []string{"ticket.merged"}) {
			t.Errorf("audit = %v", a)
		}
	})
}

func TestSpamAndBlockedSenders(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent := w.people["agent"]
		spam := w.fromShopper(w.grace, "Buy now")
		kept := w.fromShopper(w.ada, "Real question")
		if err := w.hd.MarkSpam(ctx, agent, spam.ID); err != nil {
			t.Fatal(err)
		}
		if err := w.hd.MarkSpam(ctx, agent, spam.ID); err != nil { // again: nothing new
			t.Fatal(err)
		}
		for name, list := range map[string]func() ([]*ticket.Ticket, string, error){
			"list": func() ([]*ticket.Ticket, string, error) {
				return w.tickets.List(ctx, w.shop, ticket.Filter{}, database.Page{})
			},
			"status": func() ([]*ticket.Ticket, string, error) {
				return w.tickets.List(ctx, w.shop, ticket.Filter{Status: ticket.StatusOpen}, database.Page{})
			},
			"search": func() ([]*ticket.Ticket, string, error) {
				return w.tickets.Search(ctx, w.shop, "e", ticket.Filter{}, database.Page{})
			},
		} {
			got, _, err := list()
			if err != nil || len(got) != 1 || got[0].ID != kept.ID {
				t.Errorf("%s after marking spam = %v (%v), want only ticket %d", name, got, err, kept.ID)
			}
		}

		email, err := w.hd.BlockSender(ctx, agent, spam.ID)
		if err != nil || email != "grace@example.com" {
			t.Fatalf("block = %q, %v", email, err)
		}
		if _, err := w.hd.CustomerMessage(ctx, w.shop, spam.ID, helpdesk.Sender{CustomerID: w.grace.ID, Email: "Grace@Example.com"}, "Buy more"); !errors.Is(err, ticket.ErrBlockedSender) {
			t.Errorf("a blocked sender's message: %v", err)
		}
		_, _, err = w.tickets.OpenFromHub(ctx, w.shop, ticket.NewTicket{CustomerID: w.grace.ID, RequesterEmail: "GRACE@example.com", Subject: "Hi", Body: "Hello"})
		if !errors.Is(err, ticket.ErrBlockedSender) {
			t.Errorf("a blocked sender opened a hub ticket: %v", err)
		}
		if _, err := w.hd.CustomerMessage(ctx, w.shop, kept.ID, helpdesk.Sender{CustomerID: w.ada.ID, Email: w.ada.Email}, "Still here"); err != nil {
			t.Errorf("another sender was refused: %v", err)
		}
		if _, _, err := w.tickets.OpenFromHub(ctx, w.other, ticket.NewTicket{CustomerID: w.grace.ID, RequesterEmail: "grace@example.com", Subject: "Hi", Body: "Hello"}); errors.Is(err, ticket.ErrBlockedSender) {
			t.Error("the block reached another shop")
		}
		if a := w.auditActions(); !slices.Equal(a, []string{"ticket.spam", "sender.blocked"}) {
			t.Errorf("audit = %v", a)
		}
	})
}

// TestAuditCommitsWithTheChange: a use case whose audit entry cannot be
// written changes nothing, and nobody hears of it.
func TestAuditCommitsWithTheChange(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		manager := w.people["manager"]
		tk := w.fromShopper(w.ada, "Audit")
		if err := w.hd.SetStatus(ctx, manager, tk.ID, ticket.StatusPending); err != nil {
			t.Fatal(err)
		}
		if got := w.changes.take(); len(got) != 1 || got[0] != (changeEvent{ShopID: w.shop, TicketID: tk.ID, What: helpdesk.ChangeStatus}) {
			t.Errorf("changes = %v", got)
		}
		if _, err := db.Exec(ctx, `ALTER TABLE audit_log RENAME TO audit_log_away`); err != nil {
			t.Fatal(err)
		}
		steps := map[string]func() error{
			"status": func() error { return w.hd.SetStatus(ctx, manager, tk.ID, ticket.StatusClosed) },
			"assign": func() error { return w.hd.Assign(ctx, manager, tk.ID, w.people["agent"].ID) },
			"tags":   func() error { _, err := w.hd.SetTags(ctx, manager, tk.ID, []string{"new"}); return err },
			"spam":   func() error { return w.hd.MarkSpam(ctx, manager, tk.ID) },
			"block":  func() error { _, err := w.hd.BlockSender(ctx, manager, tk.ID); return err },
		}
		for name, step := range steps {
			if err := step(); err == nil {
				t.Errorf("%s succeeded without its audit entry", name)
			}
		}
		got := w.get(tk.ID)
		if got.Status != ticket.StatusPending || got.AssigneeID != 0 || got.SpamAt != nil {
			t.Errorf("a failed audit left the change: %+v", got)
		}
		if tags, _ := w.tickets.Tags(ctx, w.shop); len(tags) != 0 {
			t.Errorf("a failed audit left tags %v", tags)
		}
		if blocked, _ := w.tickets.SenderBlocked(ctx, w.shop, w.ada.Email); blocked {
			t.Error("a failed audit left the sender blocked")
		}
		if n := w.notifications(); len(n) != 0 {
			t.Errorf("a failed assignment notified %v", n)
		}
		if got := w.changes.take(); len(got) != 0 {
			t.Errorf("rolled-back changes were published: %v", got)
		}
	})
}
