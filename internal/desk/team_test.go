package desk_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/user"
)

var shownLink = regexp.MustCompile(`id="new-link" type="text" readonly value="([^"]+)"`)

// pathOf is a link's path, to request from the test's server.
func pathOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// TestInvitationMailedOverSMTP: the owner invites someone; the mail goes
// out through a real SMTP server on loopback (signed in with the URL's
// credentials), worded with the shop's name; its link opens the page
// where the person chooses a password and lands signed in, once.
func TestInvitationMailedOverSMTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		smtp := mailtest.Start(t)
		app := testapp.New(t, db, testapp.WithMail(smtp.URL()))
		jobstest.Work(t, app.Server.Jobs)
		tn := app.NewTenant("shopa")
		owner := app.LoginAs(tn.Owner)

		status, page, _ := post(t, app, owner, "/settings/staff/invitations", url.Values{"email": {"nell@example.com"}, "name": {"Nell <b>"}, "role": {"manager"}})
		m := shownLink.FindStringSubmatch(page)
		if status != http.StatusOK || m == nil || !strings.Contains(page, "Invitation emailed to nell@example.com") {
			t.Fatalf("invite: %d\n%s", status, page)
		}
		shown := html.UnescapeString(m[1])
		if strings.Contains(page, "Email is not set up") {
			t.Error("the page says mail is not set up")
		}

		msg := smtp.WaitFor(t, "nell@example.com", 1)
		if msg.From != "desk@hubdesk.test" || !strings.Contains(msg.Header.Get("From"), tn.Shop.Name) || !strings.Contains(msg.Subject, tn.Shop.Name) {
			t.Errorf("sender %q (%q), subject %q", msg.From, msg.Header.Get("From"), msg.Subject)
		}
		link := msg.Link(t, "/invite/")
		if link != shown || !strings.HasPrefix(link, app.URL+"/invite/") {
			t.Errorf("mailed link %q, shown %q", link, shown)
		}
		if !strings.Contains(msg.HTML, `href="`+link+`"`) || !strings.Contains(msg.HTML, "Nell &lt;b&gt;") || !strings.Contains(msg.Text, "as Manager") {
			t.Errorf("the message:\n%s\n%s", msg.Text, msg.HTML)
		}
		// The job's stored arguments hold the token sealed, never in clear.
		token := strings.TrimPrefix(link, app.URL+"/invite/")
		var stored int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE CAST(args AS TEXT) LIKE ?`, "%"+token+"%").Scan(&stored); err != nil || stored != 0 {
			t.Errorf("jobs holding the token in clear: %d %v", stored, err)
		}

		nell := app.Browser()
		status, form, _ := app.Do(nell, "GET", pathOf(t, link), "", "")
		if status != http.StatusOK || !strings.Contains(form, "nell@example.com") || !strings.Contains(form, "Join "+tn.Shop.Name) {
			t.Fatalf("the invitation page: %d\n%s", status, form)
		}
		status, _, h := post(t, app, nell, pathOf(t, link), url.Values{"name": {"Nell"}, "password": {"short"}})
		if status != http.StatusUnprocessableEntity {
			t.Errorf("a short password: %d %s", status, h.Get("Location"))
		}
		status, _, h = post(t, app, nell, pathOf(t, link), url.Values{"name": {"Nell"}, "password": {"nell's long password"}})
		if status != http.StatusSeeOther || h.Get("Location") != "/" {
			t.Fatalf("accept: %d %s", status, h.Get("Location"))
		}
		if status, body, _ := app.Do(nell, "GET", "/customers", "", ""); status != http.StatusOK || !strings.Contains(body, "Nell") {
			t.Errorf("Nell in the desk: %d", status)
		}
		if status, _, _ := post(t, app, app.Browser(), pathOf(t, link), url.Values{"password": {"another long password"}}); status != http.StatusNotFound {
			t.Errorf("the link used again: %d", status)
		}
		if status, _, _ := post(t, app, app.Browser(), "/login", url.Values{"email": {"nell@example.com"}, "password": {"nell's long password"}}); status != http.StatusSeeOther {
			t.Errorf("Nell signs in: %d", status)
		}
		_, log, _ := app.Do(owner, "GET", "/audit", "", "")
		for _, want := range []string{"Person invited", "Invitation accepted", "nell@example.com"} {
			if !strings.Contains(log, want) {
				t.Errorf("the audit log lacks %q", want)
			}
		}
		if strings.Contains(log, token) {
			t.Error("the audit log shows the token")
		}
	})
}

// TestMailThatFailsIsRetriedAndShown: while the mail server refuses, the
// mail job waits for its retry and shows on Settings → Jobs; retried
// once the server accepts, the mail arrives.
func TestMailThatFailsIsRetriedAndShown(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		smtp := mailtest.Start(t)
		smtp.SetFailing(true)
		app := testapp.New(t, db, testapp.WithMail(smtp.URL()))
		jobstest.Work(t, app.Server.Jobs)
		tn := app.NewTenant("shopa")
		owner := app.LoginAs(tn.Owner)
		if status, _, _ := post(t, app, owner, "/settings/staff/invitations", url.Values{"email": {"nell@example.com"}, "role": {"agent"}}); status != http.StatusOK {
			t.Fatalf("invite: %d", status)
		}
		var failed []jobs.Job
		jobstest.Eventually(t, "the mail job failed", func() bool {
			failed, _, _ = app.Server.Jobs.List(context.Background(), tn.Shop.ID, jobs.Failed, database.Page{Limit: 10})
			return len(failed) == 1
		})
		_, page, _ := app.Do(owner, "GET", "/settings/jobs", "", "")
		if !strings.Contains(page, "Email to staff") || !strings.Contains(page, "try again later") {
			t.Errorf("Settings → Jobs does not show the failed mail:\n%s", page)
		}
		smtp.SetFailing(false)
		if status, _, _ := post(t, app, owner, fmt.Sprintf("/settings/jobs/%d/retry", failed[0].ID), nil); status != http.StatusSeeOther {
			t.Fatalf("retry: %d", status)
		}
		smtp.WaitFor(t, "nell@example.com", 1)
	})
}

// TestForgotPasswordOverSMTP: the login page's "Forgot your password?"
// mails a link when the email is an active user's, answers the same when
// it is not, is limited per email and per address; the link sets a new
// password, ends the person's other sessions and signs them in.
func TestForgotPasswordOverSMTP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		smtp := mailtest.Start(t)
		app := testapp.New(t, db, testapp.WithMail(smtp.URL()))
		jobstest.Work(t, app.Server.Jobs)
		tn := app.NewTenant("shopa")
		ctx := context.Background()
		if err := app.Server.Staff.SetDisabled(ctx, tn.Owner, tn.Manager.ID, true); err != nil {
			t.Fatal(err)
		}
		agentSession := app.LoginAs(tn.Agent)

		if _, login, _ := app.Do(nil, "GET", "/login", "", ""); !strings.Contains(login, `href="/forgot-password"`) {
			t.Error("the login page has no Forgot your password? link")
		}
		answer := func(email string) (int, string) {
			status, body, _ := post(t, app, app.Browser(), "/forgot-password", url.Values{"email": {email}})
			return status, strings.ReplaceAll(body, html.EscapeString(email), "EMAIL")
		}
		wantStatus, want := answer(tn.Agent.Email)
		if wantStatus != http.StatusOK || !strings.Contains(want, "a reset link is on its way") {
			t.Fatalf("forgot password: %d\n%s", wantStatus, want)
		}
		for _, email := range []string{"nobody@example.com", tn.Manager.Email} {
			if status, body := answer(email); status != wantStatus || body != want {
				t.Errorf("the answer for %s differs from an active user's", email)
			}
		}
		msg := smtp.WaitFor(t, tn.Agent.Email, 1)
		if !strings.Contains(msg.Subject, tn.Shop.Name) {
			t.Errorf("subject %q", msg.Subject)
		}
		// Three mails an hour per email; a fourth ask is answered alike but
		// sends nothing.
		answer(tn.Agent.Email)
		answer(tn.Agent.Email)
		if status, body := answer(tn.Agent.Email); status != wantStatus || body != want {
			t.Error("the answer past the per-email limit differs")
		}
		entries, _, _ := app.Server.Audit.List(ctx, tn.Shop.ID, audit.Filter{Action: audit.ActionPasswordResetRequested}, database.Page{Limit: 50})
		if len(entries) != 3 {
			t.Errorf("%d resets requested, want 3 (the per-email limit)", len(entries))
		}
		// Ten asks an hour per address, whatever the email.
		for i := 0; i < 4; i++ {
			answer(fmt.Sprintf("someone%d@example.com", i))
		}
		if status, body := answer("someone@example.com"); status != http.StatusTooManyRequests || !strings.Contains(body, "Too many reset requests") {
			t.Errorf("the eleventh ask from one address: %d", status)
		}

		link := smtp.WaitFor(t, tn.Agent.Email, 3).Link(t, "/reset/")
		agent := app.Browser()
		if status, page, _ := app.Do(agent, "GET", pathOf(t, link), "", ""); status != http.StatusOK || !strings.Contains(page, tn.Agent.Email) {
			t.Fatalf("the reset page: %d", status)
		}
		status, _, h := post(t, app, agent, pathOf(t, link), url.Values{"password": {"a brand new password"}})
		if status != http.StatusSeeOther || h.Get("Location") != "/" {
			t.Fatalf("reset: %d %s", status, h.Get("Location"))
		}
		if status, _, _ := app.Do(agent, "GET", "/customers", "", ""); status != http.StatusOK {
			t.Errorf("signed in after the reset: %d", status)
		}
		if status, _, _ := app.Do(agentSession, "GET", "/customers", "", ""); status != http.StatusSeeOther {
			t.Errorf("the session from before the reset: %d", status)
		}
		if status, _, _ := post(t, app, app.Browser(), "/login", url.Values{"email": {tn.Agent.Email}, "password": {"a brand new password"}}); status != http.StatusSeeOther {
			t.Errorf("sign in with the new password: %d", status)
		}
		// Every link of the person is used up by the reset.
		for n := 1; n <= 3; n++ {
			l := smtp.WaitFor(t, tn.Agent.Email, n).Link(t, "/reset/")
			if status, _, _ := app.Do(app.Browser(), "GET", pathOf(t, l), "", ""); status != http.StatusNotFound {
				t.Errorf("reset link %d after the reset: %d", n, status)
			}
		}
		if len(smtp.Messages()) != 3 {
			t.Errorf("%d messages, want 3 (none for unknown or disabled people)", len(smtp.Messages()))
		}
	})
}

// TestWithoutMailTheDeskSays: without a mail server, the invitation is
// shown to copy with the notice, and "Forgot your password?" sends people
// to an owner or admin, who makes a reset link on the Staff page.
func TestWithoutMailTheDeskSays(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn, other := app.NewTenant("shopa"), app.NewTenant("shopb")
		admin := app.LoginAs(tn.Admin)
		if _, page, _ := app.Do(admin, "GET", "/settings/staff", "", ""); !strings.Contains(page, "Email is not set up") {
			t.Error("the Staff page does not say mail is not set up")
		}
		status, page, _ := post(t, app, admin, "/settings/staff/invitations", url.Values{"email": {"nell@example.com"}, "role": {"agent"}})
		if status != http.StatusOK || !strings.Contains(page, "Email is not set up: copy the link") || shownLink.FindStringSubmatch(page) == nil {
			t.Errorf("invite without mail: %d", status)
		}
		for _, c := range []struct {
			form url.Values
			want int
			says string
		}{
			{url.Values{"email": {"boss@example.com"}, "role": {"owner"}}, http.StatusForbidden, "Only an owner can make someone an owner."},
			{url.Values{"email": {"nell@example.com"}, "role": {"agent"}}, http.StatusConflict, "already has a pending invitation"},
			{url.Values{"email": {tn.Agent.Email}, "role": {"agent"}}, http.StatusConflict, "already has an account"},
			{url.Values{"email": {"not an email"}, "role": {"agent"}}, http.StatusUnprocessableEntity, "Enter the email address"},
		} {
			if status, body, _ := post(t, app, admin, "/settings/staff/invitations", c.form); status != c.want || !strings.Contains(body, c.says) {
				t.Errorf("invite %v: %d", c.form, status)
			}
		}
		if _, page, _ := app.Do(nil, "GET", "/forgot-password", "", ""); !strings.Contains(page, "ask an owner or admin of your shop for a reset link") || strings.Contains(page, `action="/forgot-password"`) {
			t.Error("the forgot-password page does not send people to an owner or admin")
		}
		status, page, _ = post(t, app, admin, fmt.Sprintf("/settings/staff/%d/reset-link", tn.Agent.ID), nil)
		m := shownLink.FindStringSubmatch(page)
		if status != http.StatusOK || m == nil || !strings.Contains(page, "Password reset link for "+tn.Agent.Email) {
			t.Fatalf("reset link: %d", status)
		}
		link := html.UnescapeString(m[1])
		// A role change, audited; another shop's people are not found.
		if status, _, _ := post(t, app, admin, fmt.Sprintf("/settings/staff/%d/role", tn.Agent.ID), url.Values{"role": {"manager"}}); status != http.StatusSeeOther {
			t.Errorf("change role: %d", status)
		}
		if got, _ := app.Server.Users.Get(context.Background(), tn.Shop.ID, tn.Agent.ID); got.Role != user.RoleManager {
			t.Errorf("role %s", got.Role)
		}
		if status, body, _ := post(t, app, admin, fmt.Sprintf("/settings/staff/%d/role", tn.Owner.ID), url.Values{"role": {"agent"}}); status != http.StatusForbidden || !strings.Contains(body, "Only an owner can change an owner") {
			t.Errorf("an admin demotes the owner: %d", status)
		}
		owner := app.LoginAs(tn.Owner)
		if status, body, _ := post(t, app, owner, fmt.Sprintf("/settings/staff/%d/role", tn.Owner.ID), url.Values{"role": {"admin"}}); status != http.StatusConflict || !strings.Contains(body, "last owner") {
			t.Errorf("the last owner demotes themselves: %d", status)
		}
		for _, path := range []string{fmt.Sprintf("/settings/staff/%d/role", other.Agent.ID), fmt.Sprintf("/settings/staff/%d/reset-link", other.Agent.ID)} {
			if status, _, _ := post(t, app, admin, path, url.Values{"role": {"agent"}}); status != http.StatusNotFound {
				t.Errorf("%s of another shop: %d", path, status)
			}
		}
		_, log, _ := app.Do(admin, "GET", "/audit", "", "")
		for _, want := range []string{"Role changed", "Previous role: Agent", "Password reset link made", "link handed over by staff"} {
			if !strings.Contains(log, want) {
				t.Errorf("the audit log lacks %q", want)
			}
		}
		// A disabled person cannot use the reset link made for them.
		if err := app.Server.Staff.SetDisabled(context.Background(), tn.Owner, tn.Agent.ID, true); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := app.Do(app.Browser(), "GET", pathOf(t, link), "", ""); status != http.StatusNotFound {
			t.Errorf("a disabled person's reset link: %d", status)
		}
	})
}
