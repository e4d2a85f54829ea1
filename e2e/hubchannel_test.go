package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The shopper writes from an order on the storefront; an agent answers in
// the desk (the helpdesk's Reply); the reply shows under the hub's
// Messages, marked new, in a conversation that keeps the storefront's
// /apps/hub prefix; the shopper answers there and the answer is on the
// ticket in the desk, which waits for the shop again.
func TestShopperReadsTheReplyAndAnswersInTheHub(t *testing.T) {
	demo := StartDemo(t)
	order := newestWithStatus(t, shopperOrders(t, demo), "in_transit")
	shopper := NewBrowser(t)
	consoleErrors := ConsoleErrors(t, shopper)

	openHub(t, shopper, demo, "")
	openOrder(t, shopper, order.Name)
	question := "Can the parcel for " + order.Name + " be left at the back door?"
	err := chromedp.Do(step(t, shopper),
		chromedp.SendKeys(`//textarea[@id=//label[contains(., "Your message")]/@for]`, question),
		chromedp.Click(`//button[contains(., "Send message")]`),
		chromedp.WaitVisible(`//*[@role="status" and contains(., "Our reply will appear under Messages")]`),
	)
	if err != nil {
		t.Fatalf("send a message from order %s: %v", order.Name, err)
	}

	agent := NewBrowser(t)
	LoginAs(t, agent, demo.BaseURL, "agent@demo.hubdesk.dev", "demo")
	// The message may join a conversation the shopper already has about
	// this order (the demo has some), so the ticket is found by its
	// latest message, not its subject.
	subject := `//li[contains(@class, "inbox-row")][.//*[contains(@class, "inbox-preview")][contains(., "be left at the back door")]]//a[contains(@class, "inbox-subject")]`
	reply := "Yes — we have told the carrier about the back door."
	do(t, agent,
		chromedp.Navigate(demo.BaseURL+"/tickets?view=all"),
		chromedp.WaitVisible(subject),
		chromedp.Click(subject),
		chromedp.WaitVisible(chromedp.ID("reply-body")),
		chromedp.SendKeys(chromedp.ID("reply-body"), "Carrier ticket 5531, internal only."),
		chromedp.Click(chromedp.ID("add-note")),
		chromedp.WaitVisible(`//li[contains(@class, "message--note")][contains(., "Carrier ticket 5531")]`),
		chromedp.SendKeys(chromedp.ID("reply-body"), reply),
		chromedp.Click(chromedp.ID("send-reply")),
		chromedp.WaitVisible(`//li[contains(@class, "message--reply")][contains(., "told the carrier")]`),
	)

	// Newest activity first: the conversation just answered.
	conversation := `(//ul[contains(@class, "conversations")]//a)[1]`
	err = chromedp.Do(step(t, shopper),
		chromedp.Click(`//header//a[normalize-space(.)="Messages"]`),
		chromedp.WaitVisible(conversation),
	)
	if err != nil {
		t.Fatalf("open Messages: %v", err)
	}
	if loc := waitForLocation(t, shopper, demo.StorefrontURL+"/apps/hub/messages"); loc == "" {
		t.Fatal("Messages is not under the storefront's /apps/hub")
	}
	list := bodyText(t, shopper)
	for _, want := range []string{"We replied", "New reply"} {
		if !strings.Contains(list, want) {
			t.Errorf("Messages lacks %q:\n%s", want, list)
		}
	}
	Screenshot(t, shopper, "hub-messages")
	// A conversation's last words are plain muted text, not dressed as
	// the admin preview's banner.
	if bg, _ := chromedp.Run(shopper, chromedp.Evaluate[string](
		`getComputedStyle(document.querySelector(".conversations li .muted:last-of-type")).backgroundColor`)); bg != "rgba(0, 0, 0, 0)" {
		t.Errorf("a conversation's last words have the background %q, the preview banner's", bg)
	}
	answer := "Thank you, the back door is open all day."
	err = chromedp.Do(step(t, shopper),
		chromedp.Click(conversation),
		chromedp.WaitVisible(`//ol[contains(@class, "thread")]//li[contains(., "told the carrier")]`),
	)
	if err != nil {
		t.Fatalf("open the conversation: %v", err)
	}
	if text := bodyText(t, shopper); strings.Contains(text, "Carrier ticket 5531") || !strings.Contains(text, question) {
		t.Fatalf("the conversation shows a staff note or lacks the question:\n%s", text)
	}
	err = chromedp.Do(step(t, shopper),
		chromedp.SendKeys(`//textarea[@id=//label[contains(., "Your answer")]/@for]`, answer),
		chromedp.Click(`//button[contains(., "Send answer")]`),
		chromedp.WaitVisible(`//*[@role="status" and contains(., "your answer was sent")]`),
		chromedp.WaitVisible(`//ol[contains(@class, "thread")]//li[contains(., "back door is open all day")]`),
	)
	if err != nil {
		t.Fatalf("answer in the hub: %v", err)
	}
	if loc := waitForLocation(t, shopper, demo.StorefrontURL+"/apps/hub/messages/"); loc == "" {
		t.Fatal("the answer did not come back to the conversation under /apps/hub")
	}
	Screenshot(t, shopper, "hub-conversation-answered")

	do(t, agent,
		chromedp.Reload(),
		chromedp.WaitVisible(`//li[contains(@class, "message--inbound")][contains(., "back door is open all day")]`),
	)
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}
