package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The demo owner signs in, opens the customers page, finds the demo
// shopper and opens one of her orders.
func TestOwnerFindsACustomersOrder(t *testing.T) {
	demo := StartDemo(t)
	ctx := NewBrowser(t)
	LoginAs(t, ctx, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")

	err := chromedp.Do(ctx,
		chromedp.Navigate(demo.BaseURL+"/customers"),
		chromedp.WaitVisible(chromedp.CSS("table")),
		chromedp.SendKeys(chromedp.ID("q"), "olivia"),
		chromedp.Submit(chromedp.ID("q")),
	)
	if err != nil {
		t.Fatal(err)
	}
	// The list before the search shows her too: wait for the search's
	// page, or the click lands on a link that is going away.
	waitForURL(t, ctx, demo.BaseURL+"/customers?q=olivia")
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(`//a[contains(., "Olivia Johnson")]`),
		chromedp.Click(`//a[contains(., "Olivia Johnson")]`),
		chromedp.WaitVisible(`//h2[contains(., "Orders")]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || heading != "Olivia Johnson" {
		t.Fatalf("customer page heading = %q (%v)", heading, err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("table tbody tr").length`))
	if err != nil || rows < 8 {
		t.Fatalf("demo shopper shows %d orders (%v), want at least 8", rows, err)
	}
	Screenshot(t, ctx, "desk-customer")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("table tbody tr:first-child a")),
		chromedp.WaitVisible(`//h2[contains(., "Shipments")]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	orderHeading, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if !strings.HasPrefix(orderHeading, "Order #") {
		t.Fatalf("order page heading = %q", orderHeading)
	}
	Screenshot(t, ctx, "desk-order")

	// The same customer through the API with the demo's token.
	req, _ := http.NewRequest("GET", demo.BaseURL+"/api/v1/customers?q=olivia", nil)
	req.Header.Set("Authorization", "Bearer "+demo.APIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Items []struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Items) != 1 {
		t.Fatalf("API search: %v %+v", err, list)
	}
}

// A wrong password keeps the visitor on the login page with a message.
func TestWrongPasswordIsRefused(t *testing.T) {
	demo := StartDemo(t)
	ctx := NewBrowser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(demo.BaseURL+"/login"),
		chromedp.SendKeys(chromedp.ID("email"), "agent@demo.hubdesk.dev"),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("[role=alert]")),
	)
	if err != nil {
		t.Fatal(err)
	}
	alert, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("[role=alert]")))
	if !strings.Contains(alert, "incorrect") {
		t.Fatalf("alert = %q", alert)
	}
}

// The demo's banner names the returns showcase ticket: the agent opens it
// from there and finds a return in every state on its order cards.
func TestBannerLeadsToTheReturnsTicket(t *testing.T) {
	demo := StartDemo(t)
	if !strings.HasPrefix(demo.ReturnsTicketURL, demo.BaseURL+"/tickets/") {
		t.Fatalf("the banner's returns ticket is %q", demo.ReturnsTicketURL)
	}
	ctx := NewBrowser(t)
	LoginAs(t, ctx, demo.BaseURL, "agent@demo.hubdesk.dev", "demo")
	if err := chromedp.Do(ctx, chromedp.Navigate(demo.ReturnsTicketURL), chromedp.WaitVisible(chromedp.CSS("[data-ticket-view]"))); err != nil {
		t.Fatal(err)
	}
	subject, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("ticket-subject")))
	if err != nil || !strings.Contains(subject, "Returning part of my orders") {
		t.Fatalf("the banner's ticket is %q (%v)", subject, err)
	}
	for _, state := range []string{"open", "review", "closed", "cancelled", "expired"} {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector("#ticket-side .badge--return-`+state+`")`)); err != nil || !ok {
			t.Errorf("no %s return on the showcase ticket (%v)", state, err)
		}
	}
}
