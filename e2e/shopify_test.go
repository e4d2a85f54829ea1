package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The merchant places an order for the demo shopper in the Shopify
// sandbox's admin, sends it out for delivery and refunds one item;
// Shopify's signed webhooks carry each change to hubdesk, and the order
// shows on the desk's customer page, on a ticket of hers and in her hub,
// out for delivery and partially refunded.
func TestShopifyOrderReachesTheDeskAndTheHub(t *testing.T) {
	demo := StartDemo(t)
	ctx := NewBrowser(t)
	consoleErrors := ConsoleErrors(t, ctx)

	// The sandbox's admin: the shopper is the first customer offered.
	err := chromedp.Do(step(t, ctx),
		chromedp.Navigate(demo.StorefrontURL+"/admin"),
		chromedp.WaitVisible(`//button[normalize-space(.)="Create order"]`),
		chromedp.Click(`//button[normalize-space(.)="Create order"]`),
		chromedp.WaitVisible(`//table//tr[td]//button[normalize-space(.)="Fulfill"]`),
	)
	if err != nil {
		t.Fatalf("create an order in the sandbox's admin: %v", err)
	}
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("table tbody tr:first-child td:first-child")))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^(#\d+)\s+(\d+)`).FindStringSubmatch(strings.TrimSpace(first))
	if m == nil {
		t.Fatalf("the sandbox's newest order reads %q", first)
	}
	name, id := m[1], m[2]
	row := `//table//tr[td[1][contains(., "` + id + `")]]`
	for _, change := range []struct{ action, status string }{{"Fulfill", "shipment confirmed"}, {"Out for delivery", "shipment out_for_delivery"}} {
		err := chromedp.Do(step(t, ctx),
			chromedp.WaitVisible(row+`//button[normalize-space(.)="`+change.action+`"]`),
			chromedp.Click(row+`//button[normalize-space(.)="`+change.action+`"]`),
		)
		if err != nil {
			t.Fatalf("%s order %s in the sandbox: %v", change.action, name, err)
		}
		// The click posts and comes back to the admin page.
		var status string
		for deadline := time.Now().Add(15 * time.Second); !strings.Contains(status, change.status); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after %s the sandbox shows order %s as %q", change.action, name, status)
			}
			status, _ = chromedp.Run(step(t, ctx), chromedp.Text(row+`/td[4]`, chromedp.AtLeast(0)))
		}
	}

	// A refund of one unit of the order's first line.
	err = chromedp.Do(step(t, ctx),
		chromedp.Click(row+`//form[contains(@class, "refund")]//button[normalize-space(.)="Refund"]`),
	)
	if err != nil {
		t.Fatalf("refund order %s in the sandbox: %v", name, err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, _ := chromedp.Run(step(t, ctx), chromedp.Text(row+`/td[4]`, chromedp.AtLeast(0)))
		if strings.Contains(status, "partially_refunded") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the refund the sandbox shows order %s as %q", name, status)
		}
	}

	// The desk: the shopper's customer page lists the order.
	// The banner's demo shopper line names her desk record after her hub link.
	shopper := regexp.MustCompile(`Demo shopper\s+http://\S+\s.*http://\S+/customers/(\d+)\)`).FindStringSubmatch(demo.Banner)
	if shopper == nil {
		t.Fatalf("no demo shopper in the banner:\n%s", demo.Banner)
	}
	LoginAs(t, ctx, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	waitForText(t, ctx, demo.BaseURL+"/customers/"+shopper[1], name, "the order on the desk's customer page")
	err = chromedp.Do(step(t, ctx),
		chromedp.Click(`//main//a[normalize-space(.)="`+name+`"]`),
		chromedp.WaitVisible(`//h1[contains(., "`+name+`")]`),
	)
	if err != nil {
		t.Fatalf("open order %s on the desk: %v", name, err)
	}
	if text := bodyText(t, ctx); !strings.Contains(strings.ToLower(text), "out for delivery") {
		t.Errorf("the desk's order page does not say out for delivery:\n%.2000s", text)
	}
	waitForText(t, ctx, demo.BaseURL+"/orders/"+orderIDOf(t, ctx), "Refunded $", "the refund on the desk's order page")

	// A ticket of hers shows the order among her orders.
	ticketID := createTicket(t, demo, "olivia.johnson@example.com", "Where is my new order?")
	waitForText(t, ctx, demo.BaseURL+"/tickets/"+ticketID, name, "the order on her ticket")
	Screenshot(t, ctx, "desk-ticket-shopify-order")

	// Her hub, through the storefront's App Proxy.
	openHub(t, ctx, demo, "")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if countMatches(t, ctx, orderLink(name)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s is not in the hub:\n%.2000s", name, bodyText(t, ctx))
		}
		openHub(t, ctx, demo, "")
	}
	openOrder(t, ctx, name)
	if text := bodyText(t, ctx); !strings.Contains(strings.ToLower(text), "out for delivery") {
		t.Errorf("the hub's order page does not say out for delivery:\n%.2000s", text)
	}
	if text := bodyText(t, ctx); !strings.Contains(text, "Partially refunded") || !regexp.MustCompile(`Refunded \$[0-9.]+ on `).MatchString(text) {
		t.Errorf("the hub's order page does not show the refund:\n%.3000s", text)
	}
	Screenshot(t, ctx, "hub-shopify-order")
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// orderIDOf is the desk order id in the page's address (/orders/ID).
func orderIDOf(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`/orders/(\d+)`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("not an order page: %s", loc)
	}
	return m[1]
}

// waitForText opens url until its page shows text (webhooks are applied
// by a job, seconds after the change).
func waitForText(t *testing.T, ctx context.Context, url, text, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if err := chromedp.Do(step(t, ctx), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
		body := bodyText(t, ctx)
		if strings.Contains(body, text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s (%s) within 30 s:\n%.2000s", what, text, body)
		}
	}
}

// createTicket opens a ticket from email through the API and returns its id.
func createTicket(t *testing.T, demo *Demo, email, subject string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"subject": subject, "customer_email": email, "body": "Hello, any news about it?"})
	req, _ := http.NewRequest("POST", demo.BaseURL+"/api/v1/tickets", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+demo.APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID json.Number `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode/100 != 2 || out.ID == "" {
		t.Fatalf("create a ticket: %d %v", resp.StatusCode, err)
	}
	return out.ID.String()
}
