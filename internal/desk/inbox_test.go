package desk_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// deskTicket opens a ticket and sets the columns the helpdesk's write use
// cases keep (assignee, waiting, times), straight in the table.
func deskTicket(t *testing.T, app *testapp.App, shopID int64, subject string, assignee *user.User, set string, args ...any) int64 {
	t.Helper()
	ctx := context.Background()
	tk, err := app.Server.Tickets.Create(ctx, shopID, ticket.NewTicket{Subject: subject, Channel: ticket.ChannelHub, Body: "About " + subject,
		RequesterEmail: strings.ToLower(strings.ReplaceAll(subject, " ", "")) + "@example.com", RequesterName: "Shopper " + subject})
	if err != nil {
		t.Fatal(err)
	}
	var a any
	if assignee != nil {
		a = assignee.ID
	}
	if _, err := app.DB.Exec(ctx, `UPDATE tickets SET assignee_id = ?, preview = ? WHERE id = ?`, a, "Preview of "+subject, tk.ID); err != nil {
		t.Fatal(err)
	}
	if set != "" {
		if _, err := app.DB.Exec(ctx, `UPDATE tickets SET `+set+` WHERE id = ?`, append(args, tk.ID)...); err != nil {
			t.Fatal(err)
		}
	}
	return tk.ID
}

var rowSubject = regexp.MustCompile(`class="inbox-subject" href="/tickets/\d+">([^<]+)</a>`)

func subjects(body string) []string {
	var out []string
	for _, m := range rowSubject.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// The inbox page: views, status, sort and paging through links the page
// itself gives; unread markers that clear when the ticket is opened and
// come back with "Mark as unread"; spam only for managers, on its own page.
func TestInboxPage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		now := time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)
		app := testapp.New(t, db, testapp.WithClock(func() time.Time { return now }))
		tn := app.NewTenant("shopa")
		other := app.NewTenant("shopb")
		at := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
		mine := deskTicket(t, app, tn.Shop.ID, "Mine waiting", tn.Agent, "waiting_since = ?, last_activity_at = ?", at(-3*time.Hour), at(-3*time.Hour))
		deskTicket(t, app, tn.Shop.ID, "Unassigned new", nil, "waiting_since = ?, last_activity_at = ?", at(-10*time.Minute), at(-10*time.Minute))
		deskTicket(t, app, tn.Shop.ID, "Pending one", tn.Manager, "status = 'pending', last_activity_at = ?", at(-time.Hour))
		deskTicket(t, app, tn.Shop.ID, "Spam offer", nil, "spam_at = ?, last_activity_at = ?", at(0), at(0))
		deskTicket(t, app, other.Shop.ID, "Elsewhere", nil, "")
		agent := app.LoginAs(tn.Agent)

		get := func(c *http.Client, path string) string {
			t.Helper()
			status, body, _ := app.Do(c, http.MethodGet, path, "", "")
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, status)
			}
			return body
		}
		body := get(agent, "/tickets")
		if got := subjects(body); strings.Join(got, "|") != "Unassigned new|Pending one|Mine waiting" {
			t.Errorf("all by newest: %v", got)
		}
		for _, want := range []string{"waiting 3 h", "waiting 10 min", "Preview of Mine waiting", "Shopper Mine waiting", `class="unread-dot"`,
			`href="/tickets?view=mine">Mine <span class="count" title="Open tickets">1</span>`, `>Pending <span class="count" title="Open tickets">1</span>`} {
			if !strings.Contains(body, want) {
				t.Errorf("the inbox lacks %q", want)
			}
		}
		if strings.Contains(body, "Spam offer") || strings.Contains(body, "Elsewhere") || strings.Contains(body, `href="/tickets/spam"`) {
			t.Error("the agent's inbox shows spam, another shop's ticket or the spam view")
		}
		if got := subjects(get(agent, "/tickets?view=mine")); strings.Join(got, "|") != "Mine waiting" {
			t.Errorf("mine: %v", got)
		}
		if got := subjects(get(agent, "/tickets?view=unassigned&sort=waiting")); strings.Join(got, "|") != "Unassigned new" {
			t.Errorf("unassigned: %v", got)
		}
		if got := subjects(get(agent, "/tickets?status=pending")); strings.Join(got, "|") != "Pending one" {
			t.Errorf("pending: %v", got)
		}
		// Pages of one, following the page's own "Next page" link, which
		// keeps the page size.
		path, paged := "/tickets?sort=waiting&limit=1", []string{}
		for range 5 {
			page := get(agent, path)
			paged = append(paged, subjects(page)...)
			m := regexp.MustCompile(`<div class="pager"><a class="button secondary" href="([^"]+)"`).FindStringSubmatch(page)
			if m == nil {
				break
			}
			path = strings.ReplaceAll(m[1], "&amp;", "&") // keeps limit=1
		}
		if strings.Join(paged, "|") != "Mine waiting|Unassigned new|Pending one" {
			t.Errorf("waiting longest, one per page: %v", paged)
		}

		// Opening the ticket reads it; "Mark as unread" undoes that.
		get(agent, fmt.Sprintf("/tickets/%d", mine))
		body = get(agent, "/tickets?view=mine")
		if strings.Contains(body, `class="unread-dot"`) || !strings.Contains(body, "Mark as unread") {
			t.Error("an opened ticket still shows unread")
		}
		status, _, hdr := app.Do(agent, http.MethodPost, fmt.Sprintf("/tickets/%d/unread", mine), "", "")
		if status != http.StatusSeeOther || hdr.Get("Location") != "/tickets" {
			t.Errorf("mark unread: %d to %q", status, hdr.Get("Location"))
		}
		if !strings.Contains(get(agent, "/tickets?view=mine"), `class="unread-dot"`) {
			t.Error("marked unread, yet no marker")
		}
		// Reading is the agent's own: the manager has not read it.
		manager := app.LoginAs(tn.Manager)
		get(agent, fmt.Sprintf("/tickets/%d", mine))
		if !strings.Contains(get(manager, "/tickets"), fmt.Sprintf(`<li class="inbox-row is-unread" data-ticket="%d">`, mine)) {
			t.Error("the manager sees the agent's read")
		}

		// Spam: managers only, on its own page.
		body = get(manager, "/tickets/spam")
		if got := subjects(body); strings.Join(got, "|") != "Spam offer" {
			t.Errorf("spam view: %v", got)
		}
		if status, _, _ := app.Do(agent, http.MethodGet, "/tickets/spam", "", ""); status != http.StatusForbidden {
			t.Errorf("agent on the spam view: %d", status)
		}
	})
}

// The notification badge counts on every page, the page lists and links
// them, opening the ticket or "Mark all read" clears them.
func TestNotificationsInTheDesk(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		ctx := context.Background()
		first := deskTicket(t, app, tn.Shop.ID, "Broken zip", tn.Agent, "")
		second := deskTicket(t, app, tn.Shop.ID, "Late parcel", tn.Agent, "")
		for _, n := range []struct {
			id   int64
			kind ticket.NotificationKind
		}{{first, ticket.NotifyAssigned}, {second, ticket.NotifyAssigned}, {second, ticket.NotifyReply}} {
			if err := app.Server.Tickets.Notify(ctx, tn.Shop.ID, tn.Agent.ID, n.id, n.kind); err != nil {
				t.Fatal(err)
			}
		}
		agent, manager := app.LoginAs(tn.Agent), app.LoginAs(tn.Manager)
		badge := func(c *http.Client) string {
			_, body, _ := app.Do(c, http.MethodGet, "/customers", "", "")
			m := regexp.MustCompile(`<span class="count" id="notification-count"[^>]*>(\d+)</span>`).FindStringSubmatch(body)
			if m == nil {
				return ""
			}
			return m[1]
		}
		if got := badge(agent); got != "3" {
			t.Errorf("agent's badge = %q, want 3", got)
		}
		if got := badge(manager); got != "" {
			t.Errorf("manager's badge = %q, want none", got)
		}
		_, body, _ := app.Do(agent, http.MethodGet, "/notifications", "", "")
		for _, want := range []string{"Assigned to you", "The customer replied", fmt.Sprintf(`href="/tickets/%d">Late parcel`, second), "Mark all read"} {
			if !strings.Contains(body, want) {
				t.Errorf("notifications page lacks %q", want)
			}
		}
		app.Do(agent, http.MethodGet, fmt.Sprintf("/tickets/%d", second), "", "")
		if got := badge(agent); got != "1" {
			t.Errorf("after opening the ticket the badge = %q, want 1", got)
		}
		status, _, hdr := app.Do(agent, http.MethodPost, "/notifications/read", "", "")
		if status != http.StatusSeeOther || hdr.Get("Location") != "/notifications" {
			t.Errorf("mark all read: %d %q", status, hdr.Get("Location"))
		}
		if got := badge(agent); got != "" {
			t.Errorf("after mark all read the badge = %q", got)
		}
	})
}

// Tickets agents open themselves (in the desk or through the API) have
// their first response set at creation: they count as opened but stay out
// of the first-response figures, which measure how long shoppers wait.
func TestReportFirstResponseLeavesOutAgentOpenedTickets(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		now := time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)
		app := testapp.New(t, db, testapp.WithClock(func() time.Time { return now }))
		tn := app.NewTenant("shopa")
		created := now.Add(-24 * time.Hour).UnixMilli()
		deskTicket(t, app, tn.Shop.ID, "From the hub", tn.Agent, "created_at = ?, first_response_at = ?", created, created+time.Hour.Milliseconds())
		for _, channel := range []ticket.Channel{ticket.ChannelDesk, ticket.ChannelAPI} {
			deskTicket(t, app, tn.Shop.ID, "Opened by "+string(channel), tn.Agent, "channel = ?, created_at = ?, first_response_at = ?",
				string(channel), created, created)
		}

		rep, err := app.Server.Tickets.Report(context.Background(), tn.Shop.ID, 7)
		if err != nil {
			t.Fatal(err)
		}
		if s := rep.Shop; s.Opened != 3 || s.Responded != 1 || s.FirstResponseAvg != time.Hour || s.FirstResponse != time.Hour {
			t.Errorf("shop = %+v, want 3 opened, 1 responded in 1 h", s)
		}
		if len(rep.Agents) != 1 || rep.Agents[0].Responded != 1 || rep.Agents[0].FirstResponseAvg != time.Hour {
			t.Errorf("agents = %+v", rep.Agents)
		}
	})
}

// The report's figures on tickets with known times: counts, averages and
// medians of first response and resolution, per agent; spam and tickets
// outside the period left out.
func TestReportFigures(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		now := time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)
		app := testapp.New(t, db, testapp.WithClock(func() time.Time { return now }))
		tn := app.NewTenant("shopa")
		other := app.NewTenant("shopb")
		ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
		type spec struct {
			assignee              *user.User
			created               time.Duration // before now
			firstResponse, closed time.Duration // after created; 0: none
			spam                  bool
		}
		day := 24 * time.Hour
		for i, s := range []spec{
			{tn.Agent, 2 * day, 30 * time.Minute, 2 * time.Hour, false},
			{tn.Agent, 1 * day, 90 * time.Minute, 0, false},
			{tn.Agent, 3 * day, time.Hour, 10 * time.Hour, false},
			{tn.Manager, 5 * day, 10 * time.Minute, day, false},
			{nil, time.Hour, 0, 0, false},
			{nil, 40 * day, 2 * time.Hour, 5 * day, false},
			{nil, day, time.Minute, 2 * time.Minute, true},
		} {
			created := ms(-s.created)
			set, args := "created_at = ?", []any{created}
			if s.firstResponse != 0 {
				set += ", first_response_at = ?"
				args = append(args, created+s.firstResponse.Milliseconds())
			}
			if s.closed != 0 {
				set += ", status = 'closed', closed_at = ?"
				args = append(args, created+s.closed.Milliseconds())
			}
			if s.spam {
				set += ", spam_at = ?"
				args = append(args, created)
			}
			deskTicket(t, app, tn.Shop.ID, fmt.Sprintf("T%d", i+1), s.assignee, set, args...)
		}
		deskTicket(t, app, other.Shop.ID, "Elsewhere", nil, "first_response_at = created_at + 1000")

		rep, err := app.Server.Tickets.Report(context.Background(), tn.Shop.ID, 7)
		if err != nil {
			t.Fatal(err)
		}
		want := ticket.ReportFigures{Opened: 5, Closed: 3, Responded: 4, FirstResponseAvg: 47*time.Minute + 30*time.Second, FirstResponse: 45 * time.Minute,
			ResolutionAvg: 12 * time.Hour, Resolution: 10 * time.Hour}
		if rep.Shop != want {
			t.Errorf("shop, 7 days = %+v\nwant %+v", rep.Shop, want)
		}
		agents := map[int64]ticket.ReportFigures{}
		for _, a := range rep.Agents {
			agents[a.AgentID] = a
		}
		if a := agents[tn.Agent.ID]; a.Opened != 3 || a.Closed != 2 || a.FirstResponseAvg != time.Hour || a.FirstResponse != time.Hour ||
			a.ResolutionAvg != 6*time.Hour || a.Resolution != 6*time.Hour || a.AgentName != tn.Agent.Email {
			t.Errorf("agent = %+v", a)
		}
		if m := agents[tn.Manager.ID]; m.Opened != 1 || m.Closed != 1 || m.FirstResponse != 10*time.Minute || m.Resolution != day {
			t.Errorf("manager = %+v", m)
		}
		if u := agents[0]; u.Opened != 1 || u.Closed != 0 || u.Responded != 0 || len(rep.Agents) != 3 || rep.Agents[2].AgentID != 0 {
			t.Errorf("unassigned = %+v, agents %+v", u, rep.Agents)
		}
		rep90, err := app.Server.Tickets.Report(context.Background(), tn.Shop.ID, 90)
		if err != nil {
			t.Fatal(err)
		}
		if rep90.Shop.Opened != 6 || rep90.Shop.Closed != 4 || rep90.Shop.Resolution != (10*time.Hour+day)/2 {
			t.Errorf("90 days = %+v", rep90.Shop)
		}

		status, body, _ := app.Do(app.LoginAs(tn.Manager), http.MethodGet, "/reports?days=7", "", "")
		if status != http.StatusOK {
			t.Fatalf("reports: %d", status)
		}
		for _, want := range []string{`id="report-opened">5<`, `id="report-closed">3<`, `id="report-first-response">45 min<`,
			`id="report-resolution">10 h<`, "Average 48 min", "Average 12 h", tn.Agent.Email, "1 d 0 h"} {
			if !strings.Contains(body, want) {
				t.Errorf("the reports page lacks %q", want)
			}
		}
	})
}
