package ticket_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// seedTicket is a ticket as the inbox sees it, written straight into the
// table (the helpdesk's write use cases keep these columns in real use).
type seedTicket struct {
	name     string
	status   ticket.Status
	assignee *user.User
	activity int64  // last_activity_at, ms
	waiting  *int64 // waiting_since, ms
	spam     bool
	merged   bool
	tags     []string
	id       int64
}

func ms(v int64) *int64 { return &v }

type inboxWorld struct {
	db        *database.DB
	store     *ticket.Store
	shop      int64
	other     int64 // another shop
	me, agent *user.User
	tickets   []*seedTicket
	tags      map[string]int64
}

func (w *inboxWorld) insert(t *testing.T, shopID int64, s *seedTicket) {
	t.Helper()
	ctx := context.Background()
	tk, err := w.store.Create(ctx, shopID, ticket.NewTicket{Subject: s.name, Channel: ticket.ChannelHub, Body: "About " + s.name,
		RequesterEmail: s.name + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	s.id = tk.ID
	var assignee, waiting, spam any
	if s.assignee != nil {
		assignee = s.assignee.ID
	}
	if s.waiting != nil {
		waiting = *s.waiting
	}
	if s.spam {
		spam = int64(1)
	}
	if s.status == "" {
		s.status = ticket.StatusOpen
	}
	_, err = w.db.Exec(ctx, `UPDATE tickets SET status = ?, assignee_id = ?, last_activity_at = ?, waiting_since = ?, spam_at = ?, preview = ?
		WHERE id = ?`, string(s.status), assignee, s.activity, waiting, spam, "Preview of "+s.name, s.id)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range s.tags {
		id, ok := w.tags[name]
		if !ok {
			if err := w.db.ExecReturning(ctx, `INSERT INTO tags (shop_id, name, created_at) VALUES (?, ?, 0) RETURNING id`, shopID, name).Scan(&id); err != nil {
				t.Fatal(err)
			}
			w.tags[name] = id
		}
		if _, err := w.db.Exec(ctx, `INSERT INTO ticket_tags (shop_id, ticket_id, tag_id) VALUES (?, ?, ?)`, shopID, s.id, id); err != nil {
			t.Fatal(err)
		}
	}
}

// newInboxWorld seeds tickets that tie on both sort keys, spam, a merged
// ticket and another shop's ticket.
func newInboxWorld(t *testing.T, db *database.DB) *inboxWorld {
	t.Helper()
	ctx := context.Background()
	w := &inboxWorld{db: db, store: ticket.NewStore(db, nil), tags: map[string]int64{}}
	a, b := fixtures.Shop(t, db, "a"), fixtures.Shop(t, db, "b")
	w.shop, w.other = a.ID, b.ID
	users := user.NewStore(db)
	var err error
	if w.me, err = users.Create(ctx, user.NewUser{ShopID: a.ID, Email: "me@a.test", Name: "Me", Role: user.RoleAgent, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if w.agent, err = users.Create(ctx, user.NewUser{ShopID: a.ID, Email: "grace@a.test", Role: user.RoleAgent, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	w.tickets = []*seedTicket{
		{name: "t1", assignee: w.me, activity: 100, waiting: ms(10), tags: []string{"vip", "damaged"}},
		{name: "t2", activity: 100, waiting: ms(10)},
		{name: "t3", status: ticket.StatusPending, assignee: w.agent, activity: 200},
		{name: "t4", status: ticket.StatusClosed, assignee: w.me, activity: 50, tags: []string{"vip"}},
		{name: "t5", activity: 300, waiting: ms(5)},
		{name: "spam", activity: 400, waiting: ms(1), spam: true},
		{name: "merged", activity: 500, waiting: ms(2), merged: true},
		{name: "t8", assignee: w.me, activity: 100},
		{name: "t9", status: ticket.StatusPending, activity: 100, tags: []string{"vip"}},
		{name: "t10", assignee: w.agent, activity: 300, waiting: ms(5)},
	}
	for _, s := range w.tickets {
		w.insert(t, a.ID, s)
	}
	merged, into := w.byName("merged"), w.byName("t5")
	if _, err := db.Exec(ctx, `UPDATE tickets SET merged_into_id = ? WHERE id = ?`, into.id, merged.id); err != nil {
		t.Fatal(err)
	}
	elsewhere := &seedTicket{name: "elsewhere", activity: 1000, waiting: ms(1)}
	saved := w.tags
	w.tags = map[string]int64{}
	w.insert(t, b.ID, elsewhere)
	w.tags = saved
	return w
}

func (w *inboxWorld) byName(name string) *seedTicket {
	for _, s := range w.tickets {
		if s.name == name {
			return s
		}
	}
	panic(name)
}

// want is the view's tickets in the sort's order, worked out here from the
// seed rather than by the store's SQL.
func (w *inboxWorld) want(v ticket.InboxView, sort ticket.InboxSort) []string {
	var in []*seedTicket
	for _, s := range w.tickets {
		switch {
		case s.merged:
			continue
		case v.Scope == ticket.ScopeSpam && !s.spam, v.Scope != ticket.ScopeSpam && s.spam:
			continue
		case v.Scope == ticket.ScopeMine && s.assignee != w.me, v.Scope == ticket.ScopeUnassigned && s.assignee != nil:
			continue
		case v.Status != "" && s.status != v.Status:
			continue
		case v.TagID != 0 && !slices.ContainsFunc(s.tags, func(n string) bool { return w.tags[n] == v.TagID }):
			continue
		}
		in = append(in, s)
	}
	slices.SortFunc(in, func(a, b *seedTicket) int {
		if sort == ticket.SortWaiting {
			ka, kb := int64(math.MaxInt64), int64(math.MaxInt64)
			if a.waiting != nil {
				ka = *a.waiting
			}
			if b.waiting != nil {
				kb = *b.waiting
			}
			if ka != kb {
				return cmpInt(ka, kb)
			}
			return cmpInt(a.id, b.id)
		}
		if a.activity != b.activity {
			return cmpInt(b.activity, a.activity)
		}
		return cmpInt(b.id, a.id)
	})
	var names []string
	for _, s := range in {
		names = append(names, s.name)
	}
	return names
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// page walks every page of a view, two tickets at a time, so ties on the
// sort key fall across page boundaries.
func (w *inboxWorld) walk(t *testing.T, userID int64, v ticket.InboxView, sort ticket.InboxSort) ([]string, []ticket.InboxRow) {
	t.Helper()
	var names []string
	var all []ticket.InboxRow
	p := database.Page{Limit: 2}
	for range 20 {
		rows, next, err := w.store.Inbox(context.Background(), w.shop, userID, v, sort, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			names = append(names, r.Subject)
		}
		all = append(all, rows...)
		if next == "" {
			return names, all
		}
		if p.After, err = database.DecodeCursor(next); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the pages do not end")
	return nil, nil
}

// Every view × sort lists the right tickets in the right order across
// pages of two, ties included; spam and merged tickets never show outside
// the spam view, and another shop's never.
func TestInboxViewsAndSorts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newInboxWorld(t, db)
		vip := w.tags["vip"]
		views := []ticket.InboxView{
			{Scope: ticket.ScopeAll}, {Scope: ticket.ScopeMine}, {Scope: ticket.ScopeUnassigned}, {Scope: ticket.ScopeSpam},
			{Scope: ticket.ScopeAll, Status: ticket.StatusOpen}, {Scope: ticket.ScopeAll, Status: ticket.StatusPending},
			{Scope: ticket.ScopeAll, Status: ticket.StatusClosed}, {Scope: ticket.ScopeMine, Status: ticket.StatusOpen},
			{Scope: ticket.ScopeAll, TagID: vip}, {Scope: ticket.ScopeUnassigned, TagID: vip}, {Scope: ticket.ScopeMine, Status: ticket.StatusClosed, TagID: vip},
		}
		for _, v := range views {
			for _, sort := range []ticket.InboxSort{ticket.SortWaiting, ticket.SortNewest} {
				got, _ := w.walk(t, w.me.ID, v, sort)
				if want := w.want(v, sort); !slices.Equal(got, want) {
					t.Errorf("%+v by %s: %v, want %v", v, sort, got, want)
				}
			}
		}
		// Spelled out, so the expectation above is not only the test's own
		// reading of the rules.
		fixed := []struct {
			v    ticket.InboxView
			sort ticket.InboxSort
			want []string
		}{
			{ticket.InboxView{}, ticket.SortWaiting, []string{"t5", "t10", "t1", "t2", "t3", "t4", "t8", "t9"}},
			{ticket.InboxView{}, ticket.SortNewest, []string{"t10", "t5", "t3", "t9", "t8", "t2", "t1", "t4"}},
		}
		for _, f := range fixed {
			if got, _ := w.walk(t, w.me.ID, f.v, f.sort); !slices.Equal(got, f.want) {
				t.Errorf("all by %s: %v, want %v", f.sort, got, f.want)
			}
		}
		_, rows := w.walk(t, w.me.ID, ticket.InboxView{Scope: ticket.ScopeMine}, ticket.SortWaiting)
		t1 := rows[0]
		if t1.Subject != "t1" || !slices.Equal(t1.Tags, []string{"damaged", "vip"}) || t1.AssigneeName != "Me" || t1.Preview != "Preview of t1" ||
			t1.WaitingSince == nil || t1.WaitingSince.UnixMilli() != 10 || !t1.Unread || t1.RequesterEmail != "t1@example.com" {
			t.Errorf("mine's first row = %+v", t1)
		}
	})
}

// A ticket is unread until the agent opens it, unread again after new
// activity or when marked unread, and reading is per agent. Opening a
// ticket reads its notifications.
func TestUnreadMarkers(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newInboxWorld(t, db)
		ctx := context.Background()
		now := time.UnixMilli(1000).UTC()
		store := ticket.NewStore(db, func() time.Time { return now })
		t1 := w.byName("t1")
		unread := func(u *user.User) bool {
			t.Helper()
			_, rows := w.walk(t, u.ID, ticket.InboxView{Scope: ticket.ScopeAll}, ticket.SortNewest)
			for _, r := range rows {
				if r.ID == t1.id {
					return r.Unread
				}
			}
			t.Fatal("t1 not listed")
			return false
		}
		if !unread(w.me) {
			t.Error("never opened, yet read")
		}
		if err := store.Notify(ctx, w.shop, w.me.ID, t1.id, ticket.NotifyAssigned); err != nil {
			t.Fatal(err)
		}
		if err := store.MarkRead(ctx, w.shop, w.me.ID, t1.id); err != nil {
			t.Fatal(err)
		}
		if unread(w.me) {
			t.Error("opened, yet unread")
		}
		if !unread(w.agent) {
			t.Error("another agent's read counts for this one")
		}
		if n, _ := store.UnreadNotifications(ctx, w.shop, w.me.ID); n != 0 {
			t.Errorf("opening the ticket left %d notifications unread", n)
		}
		// Opening it again with nothing new writes nothing.
		now = now.Add(time.Minute)
		if err := store.MarkRead(ctx, w.shop, w.me.ID, t1.id); err != nil {
			t.Fatal(err)
		}
		var readAt int64
		if err := db.QueryRow(ctx, `SELECT read_at FROM ticket_reads WHERE user_id = ? AND ticket_id = ?`, w.me.ID, t1.id).Scan(&readAt); err != nil || readAt != 1000 {
			t.Errorf("a re-read rewrote read_at: %d, %v", readAt, err)
		}
		now = now.Add(-time.Minute)
		// Activity after the read makes it unread again.
		if _, err := db.Exec(ctx, `UPDATE tickets SET last_activity_at = ? WHERE id = ?`, 1001, t1.id); err != nil {
			t.Fatal(err)
		}
		if !unread(w.me) {
			t.Error("new activity, yet read")
		}
		now = now.Add(time.Second)
		if err := store.MarkRead(ctx, w.shop, w.me.ID, t1.id); err != nil {
			t.Fatal(err)
		}
		if unread(w.me) {
			t.Error("read again, yet unread")
		}
		if err := store.MarkUnread(ctx, w.shop, w.me.ID, t1.id); err != nil {
			t.Fatal(err)
		}
		if !unread(w.me) {
			t.Error("marked unread, yet read")
		}
		// Another shop's ticket: nothing changes, and MarkUnread says not found.
		if err := store.MarkUnread(ctx, w.other, w.me.ID, t1.id); err != ticket.ErrNotFound {
			t.Errorf("mark another shop's ticket unread: %v", err)
		}
		if err := store.MarkRead(ctx, w.other, w.me.ID, t1.id); err != nil {
			t.Fatal(err)
		}
		if !unread(w.me) {
			t.Error("a read through another shop counted")
		}
	})
}

// The counts beside the views: open tickets by view, pending ones; spam,
// merged, closed and other shops' tickets are not counted.
func TestInboxNavCounts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newInboxWorld(t, db)
		nav, err := w.store.Nav(context.Background(), w.shop, w.me.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := ticket.InboxCounts{Mine: 2, Unassigned: 2, All: 5, Open: 5, Pending: 2}
		if nav.Counts != want {
			t.Errorf("counts = %+v, want %+v", nav.Counts, want)
		}
		var tags []string
		for _, tg := range nav.Tags {
			tags = append(tags, tg.Name)
		}
		if !slices.Equal(tags, []string{"damaged", "vip"}) {
			t.Errorf("tags = %v", tags)
		}
		page, err := w.store.InboxWithNav(context.Background(), w.shop, w.me.ID, ticket.InboxView{Scope: ticket.ScopeMine}, ticket.SortWaiting, database.Page{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if page.Nav.Counts != want || len(page.Rows) != 2 || page.Next == "" || page.Rows[0].Subject != "t1" {
			t.Errorf("inbox with nav = %+v", page)
		}
	})
}

// Notifications: counted until read, listed newest first with their
// ticket, all marked read at once; per agent and per shop.
func TestNotifications(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newInboxWorld(t, db)
		ctx := context.Background()
		t1, t5 := w.byName("t1"), w.byName("t5")
		for _, n := range []struct {
			ticket *seedTicket
			kind   ticket.NotificationKind
		}{{t1, ticket.NotifyAssigned}, {t5, ticket.NotifyAssigned}, {t5, ticket.NotifyReply}} {
			if err := w.store.Notify(ctx, w.shop, w.me.ID, n.ticket.id, n.kind); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.store.Notify(ctx, w.shop, w.agent.ID, t1.id, ticket.NotifyReply); err != nil {
			t.Fatal(err)
		}
		if err := w.store.Notify(ctx, w.shop, w.me.ID, t1.id, "ping"); err == nil {
			t.Error("an unknown kind was stored")
		}
		if err := w.store.Notify(ctx, w.other, w.me.ID, t1.id, ticket.NotifyReply); err == nil {
			t.Error("a notification across shops was stored")
		}
		count := func(u *user.User) int {
			n, err := w.store.UnreadNotifications(ctx, w.shop, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if count(w.me) != 3 || count(w.agent) != 1 {
			t.Errorf("unread = %d and %d, want 3 and 1", count(w.me), count(w.agent))
		}
		list, next, err := w.store.Notifications(ctx, w.shop, w.me.ID, database.Page{Limit: 2})
		if err != nil || len(list) != 2 || next == "" {
			t.Fatalf("first page: %v %v %q", list, err, next)
		}
		if list[0].Kind != ticket.NotifyReply || list[0].Subject != "t5" || list[1].Kind != ticket.NotifyAssigned || list[1].TicketID != t5.id {
			t.Errorf("first page = %+v", list)
		}
		after, _ := database.DecodeCursor(next)
		rest, next, err := w.store.Notifications(ctx, w.shop, w.me.ID, database.Page{Limit: 2, After: after})
		if err != nil || len(rest) != 1 || next != "" || rest[0].TicketID != t1.id {
			t.Errorf("second page: %+v %v %q", rest, err, next)
		}
		if err := w.store.MarkAllNotificationsRead(ctx, w.shop, w.me.ID); err != nil {
			t.Fatal(err)
		}
		if count(w.me) != 0 || count(w.agent) != 1 {
			t.Errorf("after mark all read: %d and %d, want 0 and 1", count(w.me), count(w.agent))
		}
		if n, _ := w.store.UnreadNotifications(ctx, w.other, w.agent.ID); n != 0 {
			t.Errorf("another shop counts %d", n)
		}
	})
}
