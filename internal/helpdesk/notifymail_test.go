package helpdesk_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// notificationMailJobs are the shop's notification emails waiting or done.
func notificationMailJobs(t *testing.T, app *testapp.App, shopID int64) []jobs.Job {
	t.Helper()
	states := append(append([]rivertype.JobState(nil), jobs.Queued...), jobs.Done...)
	list, _, err := app.Server.Jobs.List(context.Background(), shopID, states, database.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var out []jobs.Job
	for _, j := range list {
		if j.Kind == (helpdesk.NotificationMailArgs{}).Kind() {
			out = append(out, j)
		}
	}
	return out
}

// runNow runs a scheduled job at once instead of NotificationMailDelay
// later, and waits until it is done.
func runNow(t *testing.T, app *testapp.App, shopID int64, job jobs.Job) {
	t.Helper()
	ctx := context.Background()
	if _, err := app.Server.Jobs.Retry(ctx, shopID, job.ID); err != nil {
		t.Fatal(err)
	}
	jobstest.Eventually(t, "the notification mail job is done", func() bool {
		done, _, err := app.Server.Jobs.List(ctx, shopID, jobs.Done, database.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range done {
			if j.ID == job.ID {
				return true
			}
		}
		return false
	})
}

// openTicket has manager open a ticket for Ada (assigned to manager, who
// is told nothing: it is their own action).
func openTicket(t *testing.T, app *testapp.App, manager *user.User, subject string) *ticket.Ticket {
	t.Helper()
	tk, err := app.Server.Helpdesk.Create(context.Background(), manager, helpdesk.NewTicket{Subject: subject,
		CustomerEmail: "ada@example.com", CustomerName: "Ada Lovelace", Body: "Hello Ada"})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestAgentsAreEmailedAboutTheirNotifications: a ticket assigned to an
// agent, and the shopper's reply on a manager's ticket, each enqueue one
// email two minutes later, which arrives at the mail server with the
// shop's name, what happened, the start of the shopper's latest message as
// text, and the link to the ticket in the desk. The acting agent gets
// none.
func TestAgentsAreEmailedAboutTheirNotifications(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		smtp := mailtest.Start(t)
		app := testapp.New(t, db, testapp.WithMail(smtp.URL()))
		jobstest.Work(t, app.Server.Jobs)
		tn := app.NewTenant("shopa")

		tk := openTicket(t, app, tn.Manager, "Where is my parcel?")
		long := "<b>Hi</b> & " + strings.Repeat("é", 600)
		before := time.Now()
		if _, err := app.Server.Helpdesk.CustomerMessage(ctx, tn.Shop.ID, tk.ID, helpdesk.Sender{Email: "ada@example.com", Name: "Ada Lovelace"}, long); err != nil {
			t.Fatal(err)
		}
		if err := app.Server.Helpdesk.Assign(ctx, tn.Manager, tk.ID, tn.Agent.ID); err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		// The agent takes an unassigned ticket: their own action, no email.
		own := openTicket(t, app, tn.Manager, "Refund")
		if err := app.Server.Helpdesk.Assign(ctx, tn.Manager, own.ID, 0); err != nil {
			t.Fatal(err)
		}
		if err := app.Server.Helpdesk.Assign(ctx, tn.Agent, own.ID, tn.Agent.ID); err != nil {
			t.Fatal(err)
		}

		queued := notificationMailJobs(t, app, tn.Shop.ID)
		if len(queued) != 2 {
			t.Fatalf("%d notification mail jobs, want 2 (the manager's reply, the agent's assignment)", len(queued))
		}
		for _, j := range queued {
			lo, hi := before.Add(helpdesk.NotificationMailDelay-time.Second), after.Add(helpdesk.NotificationMailDelay+time.Second)
			if j.ScheduledAt.Before(lo) || j.ScheduledAt.After(hi) {
				t.Errorf("job %d scheduled at %v, want two minutes after the notification (%v–%v)", j.ID, j.ScheduledAt, lo, hi)
			}
			runNow(t, app, tn.Shop.ID, j)
		}

		link := app.URL + "/tickets/" + strconv.FormatInt(tk.ID, 10)
		assigned := smtp.WaitFor(t, tn.Agent.Email, 1)
		if want := "[" + tn.Shop.Name + "] Assigned to you: Where is my parcel?"; assigned.Subject != want {
			t.Errorf("subject %q, want %q", assigned.Subject, want)
		}
		if got := assigned.Link(t, "/tickets/"); got != link {
			t.Errorf("link %q, want %q", got, link)
		}
		if !strings.Contains(assigned.HTML, `href="`+link+`"`) || !strings.Contains(assigned.HTML, "&lt;b&gt;Hi&lt;/b&gt; &amp; ") ||
			strings.Contains(assigned.HTML, "<b>Hi") {
			t.Errorf("the HTML body does not quote the shopper's message as text:\n%s", assigned.HTML)
		}
		excerpt := "<b>Hi</b> & " + strings.Repeat("é", 500-utf8.RuneCountInString("<b>Hi</b> & ")) + "…"
		if !strings.Contains(assigned.Text, excerpt) || strings.Contains(assigned.Text, excerpt[:len(excerpt)-len("…")]+"é") ||
			!strings.Contains(assigned.Text, "Ada Lovelace") {
			t.Errorf("the text body lacks the first 500 characters of the shopper's message or their name:\n%s", assigned.Text)
		}
		replied := smtp.WaitFor(t, tn.Manager.Email, 1)
		if want := "[" + tn.Shop.Name + "] Ada Lovelace replied: Where is my parcel?"; replied.Subject != want {
			t.Errorf("subject %q, want %q", replied.Subject, want)
		}
		if replied.Link(t, "/tickets/") != link {
			t.Errorf("reply mail link %q", replied.Link(t, "/tickets/"))
		}
		for _, m := range smtp.Messages() {
			// The shopper gets the tickets' first messages; agents get
			// nothing about their own action.
			if m.To != "ada@example.com" && strings.Contains(m.Subject, "Refund") {
				t.Errorf("an email about the agent's own action: %q to %s", m.Subject, m.To)
			}
		}
	})
}

// TestNotificationMailSkipsWhatWasSeen: an agent who opened the ticket
// before the email's time, or who turned these emails off on their
// account page (before or after the notification), or who was disabled,
// gets no email; turned on again, they do.
func TestNotificationMailSkipsWhatWasSeen(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		smtp := mailtest.Start(t)
		app := testapp.New(t, db, testapp.WithMail(smtp.URL()))
		jobstest.Work(t, app.Server.Jobs)
		tn := app.NewTenant("shopa")
		agent := app.LoginAs(tn.Agent)
		setMail := func(value string) {
			t.Helper()
			resp, err := agent.PostForm(app.URL+"/account/notifications", url.Values{"mail": {value}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("mail=%s: status %d", value, resp.StatusCode)
			}
		}
		assign := func(subject string) (*ticket.Ticket, []jobs.Job) {
			t.Helper()
			tk := openTicket(t, app, tn.Manager, subject)
			if err := app.Server.Helpdesk.Assign(ctx, tn.Manager, tk.ID, tn.Agent.ID); err != nil {
				t.Fatal(err)
			}
			return tk, notificationMailJobs(t, app, tn.Shop.ID)
		}

		// Read in the desk before the email's time: none is sent.
		seen, queued := assign("Seen already")
		if len(queued) != 1 {
			t.Fatalf("%d jobs", len(queued))
		}
		if status, _, _ := app.Do(agent, "GET", "/tickets/"+strconv.FormatInt(seen.ID, 10), "", ""); status != http.StatusOK {
			t.Fatalf("open the ticket: %d", status)
		}
		runNow(t, app, tn.Shop.ID, queued[0])

		// Turned off after the notification: the job finds it off.
		_, queued = assign("Off since")
		setMail("off")
		runNow(t, app, tn.Shop.ID, queued[0])
		if status, page, _ := app.Do(agent, "GET", "/account/notifications", "", ""); status != http.StatusOK ||
			!strings.Contains(page, `value="off" checked`) {
			t.Errorf("account page: %d\n%s", status, page)
		}
		// Off before: nothing is even enqueued.
		if _, queued = assign("While off"); len(queued) != 2 {
			t.Errorf("%d jobs while the agent has emails off, want still 2", len(queued))
		}

		// A disabled agent gets no email.
		setMail("on")
		_, queued = assign("Disabled since")
		if err := app.Server.Staff.SetDisabled(ctx, tn.Owner, tn.Agent.ID, true); err != nil {
			t.Fatal(err)
		}
		runNow(t, app, tn.Shop.ID, queued[0])
		if err := app.Server.Staff.SetDisabled(ctx, tn.Owner, tn.Agent.ID, false); err != nil {
			t.Fatal(err)
		}

		// On again: the next one arrives, and it is the only one.
		_, queued = assign("On again")
		runNow(t, app, tn.Shop.ID, queued[0])
		got := smtp.WaitFor(t, tn.Agent.Email, 1)
		if !strings.HasSuffix(got.Subject, "Assigned to you: On again") {
			t.Errorf("the first email the agent got is %q", got.Subject)
		}
		toAgents := 0
		for _, m := range smtp.Messages() {
			if m.To != "ada@example.com" { // the shopper gets the tickets' first messages
				toAgents++
			}
		}
		if toAgents != 1 {
			t.Errorf("%d emails sent to agents, want 1", toAgents)
		}
	})
}

// TestNoNotificationMailWithoutMail: without a mail server nothing is
// enqueued; the desk notification is still written.
func TestNoNotificationMailWithoutMail(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		tk := openTicket(t, app, tn.Manager, "No mail here")
		if err := app.Server.Helpdesk.Assign(ctx, tn.Manager, tk.ID, tn.Agent.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := app.Server.Tickets.UnreadNotifications(ctx, tn.Shop.ID, tn.Agent.ID); err != nil || n != 1 {
			t.Fatalf("desk notifications %d %v", n, err)
		}
		if queued := notificationMailJobs(t, app, tn.Shop.ID); len(queued) != 0 {
			t.Errorf("%d notification mail jobs without mail", len(queued))
		}
	})
}
