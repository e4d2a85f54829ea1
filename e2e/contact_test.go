package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The shopper writes to the shop from an order page and is told it was
// sent. The owner switches the helpdesk off in Settings → General (the
// demo hub is live, so saving publishes): the shopper's order page has no
// contact form any more, and the desk's Tickets page says the helpdesk is
// off, still listing the shopper's ticket.
func TestShopperContactAndHelpdeskOff(t *testing.T) {
	demo := StartDemo(t)
	order := newestWithStatus(t, shopperOrders(t, demo), "in_transit")
	shopper := NewBrowser(t)
	consoleErrors := ConsoleErrors(t, shopper)
	contactForm := `//form[.//textarea[@name="message"]]`

	openHub(t, shopper, demo, "")
	openOrder(t, shopper, order.Name)
	message := "Could the parcel for " + order.Name + " go to my neighbour at number 12?"
	err := chromedp.Do(step(t, shopper),
		chromedp.WaitVisible(`//label[contains(., "Your message")]`),
		chromedp.SendKeys(`//textarea[@id=//label[contains(., "Your message")]/@for]`, message),
		chromedp.Click(`//button[contains(., "Send message")]`),
		chromedp.WaitVisible(`//*[@role="status" and contains(., "your message was sent")]`),
	)
	if err != nil {
		t.Fatalf("send a message from order %s: %v", order.Name, err)
	}
	Screenshot(t, shopper, "hub-contact-sent")

	admin := NewBrowser(t)
	LoginAs(t, admin, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	err = chromedp.Do(step(t, admin),
		chromedp.Navigate(demo.BaseURL+"/settings/general"),
		chromedp.WaitVisible(`//label[contains(., "Helpdesk on")]`),
		chromedp.Click(`//label[contains(., "Helpdesk on")]/input`),
		chromedp.Click(`//form[@action="/settings/general"]//button[contains(., "Save")]`),
		chromedp.WaitVisible(`//*[@role="status" and contains(., "Saved and published")]`),
	)
	if err != nil {
		t.Fatalf("switch the helpdesk off: %v", err)
	}
	if on, _ := chromedp.Run(admin, chromedp.Evaluate[bool](`document.querySelector("input[name=helpdesk_enabled]").checked`)); on {
		t.Fatal("after saving, the Helpdesk switch is still on")
	}
	Screenshot(t, admin, "settings-helpdesk-off")

	openHub(t, shopper, demo, "")
	openOrder(t, shopper, order.Name)
	if n := countMatches(t, shopper, contactForm); n != 0 {
		t.Fatalf("with the helpdesk off the order page still has %d contact forms", n)
	}
	if text := bodyText(t, shopper); strings.Contains(text, "Contact support") {
		t.Fatalf("with the helpdesk off the order page still offers Contact support:\n%s", text)
	}
	Screenshot(t, shopper, "hub-order-helpdesk-off")

	err = chromedp.Do(step(t, admin),
		chromedp.Navigate(demo.BaseURL+"/tickets"),
		chromedp.WaitVisible(`//*[@role="status" and contains(., "The helpdesk is off")]`),
	)
	if err != nil {
		t.Fatalf("the Tickets page does not say the helpdesk is off: %v", err)
	}
	text := bodyText(t, admin)
	for _, want := range []string{"shows no Contact support form", "Switch it back on in Settings → General",
		// The message is the newest ticket's preview (it may have joined a
		// conversation the shopper already had about the order).
		"go to my neighbour at number 12"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Tickets page lacks %q:\n%s", want, text)
		}
	}
	if n := countMatches(t, admin, `//*[@role="status"]//a[@href="/settings/general"]`); n != 1 {
		t.Errorf("the notice has %d links to Settings → General, want 1", n)
	}
	Screenshot(t, admin, "desk-tickets-helpdesk-off")

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}
