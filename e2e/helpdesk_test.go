package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An agent opens a ticket for a demo shopper about their order, writes an
// internal note, replies, sets the ticket pending and assigns it to
// themselves; the ticket view shows it all, with the shopper's order card
// beside the conversation — and below it on a 360 px phone.
func TestAgentWorksATicket(t *testing.T) {
	demo := StartDemo(t)
	_, orderID, orderName := newestDeliveredOrder(t, demo)
	agent := NewBrowser(t)
	LoginAs(t, agent, demo.BaseURL, "agent@demo.hubdesk.dev", "demo")

	do(t, agent,
		chromedp.Navigate(fmt.Sprintf("%s/tickets/new?order=%d", demo.BaseURL, orderID)),
		chromedp.WaitVisible(chromedp.ID("body")),
		chromedp.SendKeys(chromedp.ID("body"), "Hello Olivia,\nyour parcel has arrived — how does it fit?"),
		chromedp.Click(chromedp.ID("open-ticket")),
		chromedp.WaitVisible(chromedp.ID("reply-body")),
	)
	// The agent who opens a ticket holds it; they give it up, then take
	// it back as any agent takes an unassigned ticket.
	do(t, agent,
		chromedp.Click(chromedp.ID("unassign-me")),
		chromedp.WaitVisible(chromedp.ID("take-it")),
		chromedp.SendKeys(chromedp.ID("reply-body"), "Asked the warehouse about sizes."),
		chromedp.Click(chromedp.ID("add-note")),
		chromedp.WaitVisible(`//li[contains(@class, "message--note")][contains(., "Asked the warehouse about sizes.")]`),
		chromedp.SendKeys(chromedp.ID("reply-body"), "Exchanges are free within 30 days."),
		chromedp.Click(chromedp.ID("send-reply")),
		chromedp.WaitVisible(`//li[contains(@class, "message--reply")][contains(., "Exchanges are free within 30 days.")]`),
		chromedp.SetValue(chromedp.ID("status"), "pending"),
		chromedp.Click(chromedp.ID("set-status")),
		chromedp.WaitVisible(`//h1[@id="ticket-subject"]//span[contains(@class, "badge--ticket-pending")]`),
		chromedp.Click(chromedp.ID("take-it")),
		chromedp.WaitVisible(chromedp.ID("unassign-me")),
	)
	page, err := chromedp.Run(agent, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Hello Olivia,\nyour parcel has arrived", "Asked the warehouse about sizes.", "Exchanges are free within 30 days.",
		"Internal note", "Reply", "Pending", "Olivia Johnson", orderName, "First response"} {
		if !strings.Contains(page, want) {
			t.Errorf("the ticket view lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "Not answered yet") {
		t.Error("the first response is not shown after the reply")
	}
	if who, _ := chromedp.Run(agent, chromedp.Text(chromedp.ID("assignee-name"))); who != "Arjun Agent" {
		t.Errorf("the assignee shown is %q, want the agent", who)
	}
	if selected, _ := chromedp.Run(agent, chromedp.Evaluate[string](`document.getElementById("status").value`)); selected != "pending" {
		t.Errorf("the status control shows %q", selected)
	}
	Screenshot(t, agent, "desk-ticket")

	do(t, agent, chromedp.EmulateViewport(360, 780, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("reply-body")))
	assertNoHorizontalScroll(t, agent, "ticket view")
	below, err := chromedp.Run(agent, chromedp.Evaluate[bool](
		`document.querySelector(".ticket-side").getBoundingClientRect().top >= document.querySelector(".conversation").getBoundingClientRect().bottom`))
	if err != nil || !below {
		t.Errorf("on a phone the sidebar is not below the conversation (%v)", err)
	}
	Screenshot(t, agent, "desk-ticket-mobile")
}
