package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
)

// startDemoWithMail runs the demo sending its mail to a real SMTP server
// on loopback.
func startDemoWithMail(t *testing.T) (*Demo, *mailtest.Server) {
	smtp := mailtest.Start(t)
	demo := StartDemo(t, "HUBDESK_SMTP_URL="+smtp.URL(), "HUBDESK_MAIL_FROM=hubdesk <desk@demo.hubdesk.dev>")
	return demo, smtp
}

// setPassword fills the password form a mailed link opens and lands in
// the desk.
func setPassword(t *testing.T, ctx context.Context, link, password string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("aside.side")),
	)
	if err != nil {
		t.Fatalf("set a password at %s: %v", link, err)
	}
}

// The owner invites an agent on the Staff page; the invitation arrives
// by mail, the agent opens its link, chooses a password and lands in the
// desk signed in.
func TestOwnerInvitesAnAgentByMail(t *testing.T) {
	demo, smtp := startDemoWithMail(t)
	const email = "nell@example.com"
	owner := NewBrowser(t)
	LoginAs(t, owner, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	err := chromedp.Do(owner,
		chromedp.Navigate(demo.BaseURL+"/settings/staff"),
		chromedp.WaitVisible(chromedp.ID("invite-email")),
		chromedp.SendKeys(chromedp.ID("invite-email"), email),
		chromedp.SendKeys(chromedp.ID("invite-name"), "Nell Agent"),
		chromedp.SetValue(chromedp.ID("invite-role"), "agent"),
		chromedp.Submit(chromedp.ID("invite-email")),
		chromedp.WaitVisible(chromedp.ID("new-link")),
	)
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	shown, _ := chromedp.Run(owner, chromedp.Value(chromedp.ID("new-link")))
	notice, _ := chromedp.Run(owner, chromedp.Text(chromedp.ID("shown-link")))
	if !strings.Contains(notice, "Invitation emailed to "+email) {
		t.Errorf("the notice: %q", notice)
	}
	pending, _ := chromedp.Run(owner, chromedp.Text(chromedp.CSS("#staff-invitations")))
	if !strings.Contains(pending, email) || !strings.Contains(pending, "Resend") {
		t.Errorf("pending invitations: %q", pending)
	}
	Screenshot(t, owner, "desk-staff-invited")

	msg := smtp.WaitFor(t, email, 1)
	link := msg.Link(t, "/invite/")
	if link != shown || !strings.HasPrefix(link, demo.BaseURL+"/invite/") {
		t.Errorf("mailed %q, shown %q", link, shown)
	}
	agent := NewBrowser(t)
	setPassword(t, agent, link, "nell's new password")
	who, _ := chromedp.Run(agent, chromedp.Text(chromedp.CSS("aside .who")))
	if !strings.Contains(who, "Nell Agent") || !strings.Contains(who, "Agent") {
		t.Errorf("signed in as %q", who)
	}
	if loc, _ := chromedp.Run(agent, chromedp.Location()); !strings.HasPrefix(loc, demo.BaseURL+"/customers") {
		t.Errorf("landed on %s", loc)
	}
	// The link works once.
	err = chromedp.Do(agent, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("h1")))
	if heading, _ := chromedp.Run(agent, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(heading, "not valid any more") {
		t.Errorf("the link opened again: %q %v", heading, err)
	}
}

// Forgot password from the login page through to signing in with the new
// password.
func TestForgotPasswordByMail(t *testing.T) {
	demo, smtp := startDemoWithMail(t)
	const email = "agent@demo.hubdesk.dev"
	ctx := NewBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(demo.BaseURL+"/login"),
		chromedp.WaitVisible(chromedp.ID("forgot-password")),
		chromedp.Click(chromedp.ID("forgot-password")),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.Submit(chromedp.ID("email")),
		chromedp.WaitVisible(chromedp.ID("reset-sent")),
	)
	if err != nil {
		t.Fatalf("ask for a reset: %v", err)
	}
	msg := smtp.WaitFor(t, email, 1)
	if !strings.Contains(msg.Subject, "Reset your") {
		t.Errorf("subject %q", msg.Subject)
	}
	setPassword(t, ctx, msg.Link(t, "/reset/"), "a fresh password")

	again := NewBrowser(t)
	LoginAs(t, again, demo.BaseURL, email, "a fresh password")
}
