package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// seedAll seeds the demo as `hubdesk demo` does: the shop, its Loop
// returns, its helpdesk.
func seedAll(t *testing.T, db *database.DB, now time.Time) (*Result, *HelpdeskResult) {
	t.Helper()
	ctx := context.Background()
	stores := testStores(t, db)
	seeded, err := Seed(ctx, stores, demoURL, now)
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox.New(sandbox.Options{NoSeed: true})
	t.Cleanup(sb.Close)
	loopSrv := httptest.NewServer(sb)
	t.Cleanup(loopSrv.Close)
	sb.SetBaseURL(loopSrv.URL)
	records := returns.NewRecords(db)
	log := audit.New(db)
	editor := settings.New(db, returns.NewStore(db), connection.NewStore(db, fixtures.Box(t)), log,
		settings.LoopKeyChecker{Client: loop.New(loop.Options{BaseURL: loopSrv.URL + "/api/v1"})})
	if err := ConnectLoop(ctx, sb, LoopStores{Settings: editor, Records: records}, seeded, now); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	hd, err := SeedHelpdesk(ctx, HelpdeskStores{DB: db, Users: stores.Users, Commerce: stores.Commerce, Audit: log, Returns: records}, seeded, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: the helpdesk seeded in %v", db.Dialect, time.Since(began).Round(time.Millisecond))
	return seeded, hd
}

// The demo's helpdesk has at least twenty tickets in each status, every
// one about the demo shop's own customers and orders, files that open,
// long threads, notes, tags, each kind of assignment, a spam ticket, a
// merged pair, the default macros and a few unread notifications for the
// agent, and the inbox's views show them. The same data on every run.
func TestDemoHelpdesk(t *testing.T) {
	now := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	var summaries []string
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		seeded, hd := seedAll(t, db, now)
		shopID := seeded.Shop.ID
		tickets := ticket.NewStore(db, nil)
		users := user.NewStore(db)
		orders := commerce.NewStore(db)
		agent, err := users.GetByEmail(ctx, AgentEmail)
		if err != nil {
			t.Fatal(err)
		}
		owner, err := users.GetByEmail(ctx, OwnerEmail)
		if err != nil {
			t.Fatal(err)
		}

		byStatus := map[ticket.Status]int{}
		byAssignee := map[int64]int{}
		tagged := map[string]int{}
		var long, notes, withOrder, aboutReturns int
		returned, err := returns.NewRecords(db).ForOrders(ctx, shopID, returns.OrderIDs(seeded.Orders))
		if err != nil {
			t.Fatal(err)
		}
		var summary strings.Builder
		for _, id := range hd.Tickets {
			tk, err := tickets.Get(ctx, shopID, id)
			if err != nil {
				t.Fatalf("ticket %d: %v", id, err)
			}
			if tk.SpamAt == nil && tk.MergedIntoID == 0 {
				byStatus[tk.Status]++
				byAssignee[tk.AssigneeID]++
			}
			if tk.CreatedAt.After(now) || tk.LastActivityAt.After(now) || tk.CreatedAt.Before(now.AddDate(0, 0, -30)) {
				t.Errorf("ticket %d: created %v, last activity %v: not in the weeks before %v", id, tk.CreatedAt, tk.LastActivityAt, now)
			}
			if _, err := orders.Customer(ctx, shopID, tk.CustomerID); err != nil {
				t.Errorf("ticket %d: customer %d is not the demo shop's: %v", id, tk.CustomerID, err)
			}
			if tk.OrderID != 0 {
				withOrder++
				o, err := orders.Order(ctx, shopID, tk.OrderID)
				if err != nil {
					t.Errorf("ticket %d: order %d is not the demo shop's: %v", id, tk.OrderID, err)
				} else if o.CustomerID != tk.CustomerID {
					t.Errorf("ticket %d: order %s is another customer's", id, o.Name)
				}
			}
			if tk.Status == ticket.StatusOpen && tk.SpamAt == nil && tk.MergedIntoID == 0 && tk.WaitingSince == nil {
				t.Errorf("ticket %d is open but nobody waits", id)
			}
			msgs, err := tickets.Messages(ctx, shopID, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) >= 10 && slices.ContainsFunc(msgs, func(m ticket.Message) bool { return strings.Contains(m.Body, "\n> ") }) {
				long++
			}
			for _, m := range msgs {
				if m.Kind == ticket.KindNote {
					notes++
				}
			}
			tags, err := tickets.TicketTags(ctx, shopID, id)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tg := range tags {
				tagged[tg.Name]++
				names = append(names, tg.Name)
				if tg.Name == "return" && len(returned[tk.OrderID]) > 0 {
					aboutReturns++
				}
			}
			fmt.Fprintf(&summary, "%s|%s|%d|%v|%d|%v\n", tk.Subject, tk.Status, len(msgs), names, tk.CreatedAt.Unix(), tk.WaitingSince != nil)
		}
		summaries = append(summaries, summary.String())
		t.Logf("%d tickets: by status %v, by assignee %v, tags %v, %d long threads, %d notes", len(hd.Tickets), byStatus, byAssignee, tagged, long, notes)
		for _, s := range []ticket.Status{ticket.StatusOpen, ticket.StatusPending, ticket.StatusClosed} {
			if byStatus[s] < 20 {
				t.Errorf("%d %s tickets, want at least 20 (%v)", byStatus[s], s, byStatus)
			}
		}
		for who, id := range map[string]int64{"the agent": agent.ID, "the owner": owner.ID, "nobody": 0} {
			if byAssignee[id] < 5 {
				t.Errorf("%d tickets assigned to %s, want several (%v)", byAssignee[id], who, byAssignee)
			}
		}
		for _, tag := range []string{"where-is-my-order", "return", "damaged", "vip"} {
			if tagged[tag] == 0 {
				t.Errorf("no ticket tagged %q (%v)", tag, tagged)
			}
		}
		if long < 2 || notes < 5 || withOrder < 60 || aboutReturns < 5 {
			t.Errorf("%d long threads with quoted history, %d notes, %d tickets about an order, %d about an order's return: want ≥ 2, ≥ 5, ≥ 60, ≥ 5",
				long, notes, withOrder, aboutReturns)
		}

		// Files open, with the bytes they were stored with.
		files := attachment.NewStore(db, nil)
		kinds := map[string]int{}
		for _, id := range hd.Attachments {
			f, err := files.Open(ctx, shopID, id)
			if err != nil {
				t.Fatalf("attachment %d: %v", id, err)
			}
			sum := sha256.Sum256(f.Data)
			if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(f.Data)) != f.Size {
				t.Errorf("attachment %d (%s): bytes do not match their checksum and size", id, f.Filename)
			}
			kinds[f.ContentType]++
		}
		if kinds["image/png"] == 0 || kinds["application/pdf"] == 0 {
			t.Errorf("attachments by type %v, want PNG photos and PDFs", kinds)
		}
		if png := demoPNG(); !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Error("the demo photo is not a PNG")
		}

		// Spam and the merged pair.
		if sp, err := tickets.Get(ctx, shopID, hd.Spam); err != nil || sp.SpamAt == nil {
			t.Errorf("spam ticket %d: %+v, %v", hd.Spam, sp, err)
		}
		if src, err := tickets.Get(ctx, shopID, hd.Merged[1]); err != nil || src.MergedIntoID != hd.Merged[0] {
			t.Errorf("merged ticket %d: %+v, %v, want merged into %d", hd.Merged[1], src, err, hd.Merged[0])
		}

		// The inbox's views, as the agent sees them.
		inView := func(v ticket.InboxView) []ticket.InboxRow {
			rows, _, err := tickets.Inbox(ctx, shopID, agent.ID, v, ticket.SortNewest, database.Page{Limit: database.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			return rows
		}
		all := inView(ticket.InboxView{Scope: ticket.ScopeAll})
		if want := len(hd.Tickets) - 2; len(all) != want { // neither the spam nor the merged-away ticket
			t.Errorf("the All view shows %d tickets, want %d", len(all), want)
		}
		for _, c := range []struct {
			name string
			view ticket.InboxView
			want func(ticket.InboxRow) bool
		}{
			{"mine", ticket.InboxView{Scope: ticket.ScopeMine}, func(r ticket.InboxRow) bool { return r.AssigneeID == agent.ID }},
			{"unassigned", ticket.InboxView{Scope: ticket.ScopeUnassigned}, func(r ticket.InboxRow) bool { return r.AssigneeID == 0 }},
			{"open", ticket.InboxView{Status: ticket.StatusOpen}, func(r ticket.InboxRow) bool { return r.Status == ticket.StatusOpen }},
			{"pending", ticket.InboxView{Status: ticket.StatusPending}, func(r ticket.InboxRow) bool { return r.Status == ticket.StatusPending }},
			{"closed", ticket.InboxView{Status: ticket.StatusClosed}, func(r ticket.InboxRow) bool { return r.Status == ticket.StatusClosed }},
			{"spam", ticket.InboxView{Scope: ticket.ScopeSpam}, func(r ticket.InboxRow) bool { return r.ID == hd.Spam }},
		} {
			rows := inView(c.view)
			if len(rows) == 0 {
				t.Errorf("the %s view is empty", c.name)
			}
			for _, r := range rows {
				if !c.want(r) {
					t.Errorf("the %s view shows ticket %d (%s, assignee %d)", c.name, r.ID, r.Status, r.AssigneeID)
				}
			}
		}
		if !slices.ContainsFunc(all, func(r ticket.InboxRow) bool { return len(r.Tags) > 0 && r.Preview != "" }) {
			t.Error("no inbox row shows tags and a preview")
		}

		unread, err := tickets.UnreadNotifications(ctx, shopID, agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		if unread < 2 || unread > 6 {
			t.Errorf("the agent has %d unread notifications, want a few", unread)
		}
		ms, err := macro.NewStore(db, nil).List(ctx, shopID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(macro.DefaultMacros()) {
			t.Errorf("%d macros, want the %d defaults", len(ms), len(macro.DefaultMacros()))
		}
	})
	if len(summaries) == 2 && summaries[0] != summaries[1] {
		t.Errorf("the two engines were seeded differently:\n%s\n----\n%s", summaries[0], summaries[1])
	}
}
