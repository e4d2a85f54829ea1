package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// An agent answers a shopper in the demo; the reply shows as sent on the
// message, and the demo mailbox (linked from the desk's navigation) shows
// the mail the shopper got: subject with the ticket's reference, threading
// headers, and the branded HTML in a sandboxed frame.
func TestDemoMailboxShowsTheReply(t *testing.T) {
	demo := StartDemo(t)
	if !strings.Contains(demo.Banner, "/demo/mailbox") {
		t.Errorf("the banner does not name the mailbox:\n%s", demo.Banner)
	}
	_, orderID, _ := newestDeliveredOrder(t, demo)
	agent := NewBrowser(t)
	LoginAs(t, agent, demo.BaseURL, "agent@demo.hubdesk.dev", "demo")
	do(t, agent,
		chromedp.Navigate(fmt.Sprintf("%s/tickets/new?order=%d", demo.BaseURL, orderID)),
		chromedp.WaitVisible(chromedp.ID("subject")),
		chromedp.SetValue(chromedp.ID("subject"), "Your sizes"),
		chromedp.SendKeys(chromedp.ID("body"), "Hello Olivia,\nhow does it fit?"),
		chromedp.Click(chromedp.ID("open-ticket")),
		chromedp.WaitVisible(chromedp.ID("reply-body")),
		chromedp.SendKeys(chromedp.ID("reply-body"), "Exchanges are free <within> 30 days."),
		chromedp.Click(chromedp.ID("send-reply")),
		chromedp.WaitVisible(`//li[contains(@class, "message--reply")][contains(., "Exchanges are free <within> 30 days.")]`),
	)
	// The mail leaves in the background: the message says so once it has.
	deadline := time.Now().Add(30 * time.Second)
	for {
		do(t, agent, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("reply-body")))
		sent, _ := chromedp.Run(agent, chromedp.Evaluate[bool](`[...document.querySelectorAll("li.message--reply")].some(li => li.innerText.includes("Exchanges are free") && li.querySelector('[data-delivery="sent"]'))`))
		if sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reply never showed as sent")
		}
		time.Sleep(300 * time.Millisecond)
	}

	do(t, agent,
		chromedp.Click(`//nav//a[@href="/demo/mailbox"]`),
		chromedp.WaitVisible(`//h2[@id="mail-subject"][contains(., "Re: Your sizes [#")]`),
		chromedp.WaitVisible(`//iframe[@sandbox][contains(@src, "/html")]`),
	)
	page, err := chromedp.Run(agent, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Message-Id", "References"} {
		if !strings.Contains(page, want) {
			t.Errorf("the mailbox lacks %q:\n%s", want, page)
		}
	}
	if text, _ := chromedp.Run(agent, chromedp.Evaluate[string](`document.querySelector("pre.mail-text").textContent`)); !strings.Contains(text, "Exchanges are free <within> 30 days.") {
		t.Errorf("the mail's text is not the reply:\n%s", text)
	}
	src, err := chromedp.Run(agent, chromedp.Evaluate[string](`document.querySelector("iframe.mail-frame").src`))
	if err != nil {
		t.Fatal(err)
	}
	// The frame's document cannot be looked into (it is sandboxed, of an
	// origin of its own); it is opened on its own below. The pause only
	// lets it paint for the screenshot.
	time.Sleep(time.Second)
	Screenshot(t, agent, "demo-mailbox")
	do(t, agent, chromedp.Navigate(src), chromedp.WaitVisible(`//p[contains(., "Exchanges are free <within> 30 days.")]`))
	html, err := chromedp.Run(agent, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil || !strings.Contains(html, "Demo Outfitters") {
		t.Errorf("the mail's HTML lacks the shop's name (%v):\n%s", err, html)
	}
}
