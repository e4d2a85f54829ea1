package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// An admin switches the returns provider Loop → AfterShip → Disabled. While
// the hub is not live the changes show only in the admin's preview; going
// live publishes them to the shopper's hub; while live, a save publishes at
// once. An agent cannot reach the page.
func TestReturnsSettingsDraftLiveAndPreview(t *testing.T) {
	demo := StartDemo(t)
	shopperID, orderID, orderName := newestDeliveredOrder(t, demo)

	// The agent: no menu item, and the page itself is refused.
	agent := NewBrowser(t)
	LoginAs(t, agent, demo.BaseURL, "agent@demo.hubdesk.dev", "demo")
	nav, _ := chromedp.Run(agent, chromedp.Text(chromedp.CSS("aside nav")))
	if strings.Contains(nav, "Settings") {
		t.Fatalf("an agent sees the Settings menu: %q", nav)
	}
	chromedp.Do(agent, chromedp.Navigate(demo.BaseURL+"/settings/returns"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if h1, _ := chromedp.Run(agent, chromedp.Text(chromedp.CSS("h1"))); h1 != "Forbidden" {
		t.Fatalf("agent on the settings page sees %q", h1)
	}

	admin := NewBrowser(t)
	LoginAs(t, admin, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	shopper := NewBrowser(t)
	do(t, shopper, chromedp.Navigate(demo.ShopperHubURL), chromedp.WaitVisible(chromedp.CSS("main")))

	// 1. Take the hub out of Live mode with the switch (it says its
	// state): the published settings stay Loop.
	do(t, admin,
		chromedp.Navigate(demo.BaseURL+"/settings/general"),
		chromedp.WaitVisible(chromedp.CSS(`#live-switch[aria-checked=true]`)),
		chromedp.Click(chromedp.CSS(`#live-switch`)),
		chromedp.WaitVisible(chromedp.CSS(`#live-switch[aria-checked=false]`)),
		chromedp.WaitVisible(`//*[contains(., "Not live.")]`),
	)

	// 2. Draft AfterShip, pointing at a loopback page so the click lands.
	portal := demo.LoopURL + "/"
	do(t, admin,
		chromedp.Navigate(demo.BaseURL+"/settings/returns"),
		chromedp.WaitVisible(chromedp.CSS("#returns-form")),
		chromedp.Click(chromedp.CSS(`input[name=provider][value=aftership]`)),
		chromedp.SendKeys(chromedp.ID("portal_url"), portal),
	)
	waitForPreview(t, admin, func(p string) bool { return strings.Contains(p, "order_number=") })
	do(t, admin, chromedp.Submit(chromedp.ID("portal_url")), chromedp.WaitVisible(`//*[contains(., "Saved as draft")]`))
	Screenshot(t, admin, "settings-returns-draft")

	// The admin's preview uses the draft: AfterShip with order and email.
	do(t, admin,
		chromedp.Navigate(fmt.Sprintf("%s/settings/hub-preview/orders/%d?customer=%d", demo.BaseURL, orderID, shopperID)),
		chromedp.WaitVisible(chromedp.CSS("#return form button")),
		chromedp.Click(chromedp.CSS("#return form button")),
	)
	landed := waitForURL(t, admin, demo.LoopURL+"/?")
	assertPortalParams(t, landed, orderName)

	// The shopper still gets the published Loop deep link.
	startReturn(t, shopper, demo, orderID)
	if got := waitForURL(t, shopper, demo.LoopURL+"/portal/"); !strings.Contains(got, "/portal/link/") {
		t.Fatalf("published hub went to %s, want Loop's deep link", got)
	}

	// 3. Going live first lists what will change for shoppers; Cancel
	// publishes nothing, Publish publishes the draft: now the shopper
	// lands on AfterShip.
	do(t, admin,
		chromedp.Navigate(demo.BaseURL+"/settings/returns"),
		chromedp.WaitVisible(chromedp.CSS(`#live-switch[aria-checked=false]`)),
		chromedp.Click(chromedp.CSS(`#live-switch`)),
		chromedp.WaitVisible(chromedp.ID("live-confirm")),
	)
	changes, _ := chromedp.Run(admin, chromedp.Text(chromedp.ID("live-changes")))
	if !strings.Contains(changes, "Start a return will go to AfterShip Returns instead of Loop.") {
		t.Fatalf("the go-live confirmation lists %q", changes)
	}
	Screenshot(t, admin, "settings-go-live-confirmation")
	do(t, admin, chromedp.Click(chromedp.ID("live-cancel")), chromedp.WaitNotVisible(chromedp.ID("live-confirm")))
	startReturn(t, shopper, demo, orderID)
	if got := waitForURL(t, shopper, demo.LoopURL+"/portal/"); !strings.Contains(got, "/portal/link/") {
		t.Fatalf("after Cancel the hub went to %s, want Loop's deep link", got)
	}
	do(t, admin,
		chromedp.Click(chromedp.CSS(`#live-switch`)),
		chromedp.WaitVisible(chromedp.ID("live-confirm")),
		chromedp.Click(chromedp.ID("live-publish")),
		chromedp.WaitVisible(chromedp.CSS(`#live-switch[aria-checked=true]`)),
		chromedp.WaitVisible(`//*[contains(., "Live.")]`),
	)
	startReturn(t, shopper, demo, orderID)
	assertPortalParams(t, waitForURL(t, shopper, demo.LoopURL+"/?"), orderName)

	// 4. While live, Disabled publishes at once: no button anywhere.
	do(t, admin,
		chromedp.Navigate(demo.BaseURL+"/settings/returns"),
		chromedp.WaitVisible(chromedp.CSS("#returns-form")),
		chromedp.Click(chromedp.CSS(`input[name=provider][value=disabled]`)),
		chromedp.Click(chromedp.CSS(`#returns-form button[type=submit]`)),
		chromedp.WaitVisible(`//*[contains(., "Saved and published")]`),
	)
	do(t, shopper, chromedp.Navigate(fmt.Sprintf("%s/apps/hub/orders/%d", demo.StorefrontURL, orderID)), chromedp.WaitVisible(chromedp.CSS("h1")))
	if n, _ := chromedp.Run(shopper, chromedp.Evaluate[int](`document.querySelectorAll("#return form").length`)); n != 0 {
		t.Fatal("the published hub still offers Start a return after Disabled")
	}
	do(t, admin, chromedp.Navigate(fmt.Sprintf("%s/settings/hub-preview/orders/%d?customer=%d", demo.BaseURL, orderID, shopperID)), chromedp.WaitVisible(chromedp.CSS("h1")))
	if n, _ := chromedp.Run(admin, chromedp.Evaluate[int](`document.querySelectorAll("#return form").length`)); n != 0 {
		t.Fatal("the preview still offers Start a return after Disabled")
	}

	// 5. A Loop webhook secret is saved, then removed: the box asks for a
	// confirmation, declining keeps the secret, accepting removes it.
	do(t, admin,
		chromedp.Navigate(demo.BaseURL+"/settings/returns"),
		chromedp.WaitVisible(chromedp.CSS("#returns-form")),
		chromedp.Click(chromedp.CSS(`input[name=provider][value=loop]`)),
		chromedp.SendKeys(chromedp.ID("loop_webhook_secret"), "whsec-e2e-5c7d"),
		chromedp.Click(chromedp.CSS(`#returns-form button[type=submit]`)),
		// The page after the save, not the one still showing the old
		// secret's box while the form is posted.
		chromedp.WaitVisible(`//input[@id="loop_webhook_secret" and contains(@placeholder, "5c7d")]`),
		chromedp.WaitVisible(chromedp.ID("loop_webhook_secret_remove")),
	)
	placeholder := func() string {
		p, err := chromedp.Run(admin, chromedp.Evaluate[string](`document.getElementById("loop_webhook_secret").placeholder`))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := placeholder(); !strings.Contains(p, "Saved secret ending in 5c7d") {
		t.Fatalf("after saving the secret the field says %q", p)
	}
	confirmAnswers := func(answer bool) {
		if _, err := chromedp.Run(admin, chromedp.Evaluate[bool](fmt.Sprintf(
			`window.confirm = function (m) { window.confirmAsked = m; return %t; }; true`, answer))); err != nil {
			t.Fatal(err)
		}
	}
	confirmAnswers(false)
	do(t, admin, chromedp.Click(chromedp.ID("loop_webhook_secret_remove")), chromedp.Click(chromedp.CSS(`#returns-form button[type=submit]`)))
	if asked, _ := chromedp.Run(admin, chromedp.Evaluate[string](`window.confirmAsked || ""`)); !strings.Contains(asked, "deliveries will be refused") {
		t.Fatalf("removing the secret did not ask for a confirmation (asked %q)", asked)
	}
	if p := placeholder(); !strings.Contains(p, "Saved secret ending in 5c7d") {
		t.Fatalf("declining the confirmation changed the page: %q", p)
	}
	confirmAnswers(true)
	do(t, admin,
		chromedp.Click(chromedp.CSS(`#returns-form button[type=submit]`)),
		chromedp.WaitNotPresent(chromedp.ID("loop_webhook_secret_remove")),
		chromedp.WaitVisible(chromedp.CSS("#returns-form")),
	)
	if p := placeholder(); strings.Contains(p, "Saved secret") {
		t.Fatalf("after removing the secret the field says %q", p)
	}
	Screenshot(t, admin, "settings-returns-webhook-secret-removed")

	// Every change is in the audit log.
	do(t, admin, chromedp.Navigate(demo.BaseURL+"/audit?action=settings."), chromedp.WaitVisible(chromedp.CSS("table")))
	rows, _ := chromedp.Run(admin, chromedp.Evaluate[int](`document.querySelectorAll("table tbody tr").length`))
	if rows < 5 {
		t.Fatalf("audit log shows %d settings entries, want at least 5", rows)
	}
}

// An admin picks parcelLab with a hosted portal's fragment URL and the
// postal code: the preview, built by the server as she types, shows the
// query before the "#"; after saving, Start a return in the admin's hub
// preview lands on exactly that URL.
func TestReturnsSettingsParcelLabPreview(t *testing.T) {
	demo := StartDemo(t)
	admin := NewBrowser(t)
	LoginAs(t, admin, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	do(t, admin,
		chromedp.Navigate(demo.BaseURL+"/settings/returns"),
		chromedp.WaitVisible(chromedp.CSS("#returns-form")),
		chromedp.Click(chromedp.CSS(`input[name=provider][value=parcellab]`)),
		chromedp.Click(chromedp.CSS(`input[name=portal_lookup][value=zip]`)),
	)
	// The sample order is a delivered one; its page in the hub preview is
	// linked from the preview line.
	sampleLink, err := chromedp.Run(admin, chromedp.Evaluate[string](`document.getElementById("sample-order").getAttribute("href")`))
	if err != nil || !strings.HasPrefix(sampleLink, "/settings/hub-preview/orders/") {
		t.Fatalf("sample order link %q: %v", sampleLink, err)
	}
	orderID := strings.TrimPrefix(sampleLink[:strings.Index(sampleLink, "?")], "/settings/hub-preview/orders/")
	var order struct {
		Name            string `json:"name"`
		ShippingAddress struct {
			Zip string `json:"zip"`
		} `json:"shipping_address"`
	}
	apiGet(t, demo, "/api/v1/orders/"+orderID, &order)
	if order.ShippingAddress.Zip == "" {
		t.Fatalf("sample order %s has no postal code", order.Name)
	}
	query := "?orderNo=" + url.QueryEscape(order.Name) + "&zip=" + url.QueryEscape(order.ShippingAddress.Zip)

	// Typing the portal's address, then its fragment: the preview follows.
	do(t, admin, chromedp.SendKeys(chromedp.ID("portal_url"), demo.LoopURL+"/"))
	waitForPreview(t, admin, func(p string) bool { return p == demo.LoopURL+"/"+query })
	do(t, admin, chromedp.SendKeys(chromedp.ID("portal_url"), "#/returns"))
	want := demo.LoopURL + "/" + query + "#/returns"
	waitForPreview(t, admin, func(p string) bool { return p == want })
	Screenshot(t, admin, "settings-returns-parcellab-preview")

	// Saved: the page rendered by the server shows the same URL.
	do(t, admin, chromedp.Submit(chromedp.ID("portal_url")), chromedp.WaitVisible(`//*[@role="status"][contains(., "Saved")]`))
	if saved, _ := chromedp.Run(admin, chromedp.Text(chromedp.ID("preview-url"))); saved != want {
		t.Fatalf("after saving the preview shows %q, want %q", saved, want)
	}
	Screenshot(t, admin, "settings-returns-parcellab-saved")

	do(t, admin,
		chromedp.Navigate(demo.BaseURL+sampleLink),
		chromedp.WaitVisible(chromedp.CSS("#return form button")),
		chromedp.Click(chromedp.CSS("#return form button")),
	)
	if landed := waitForURL(t, admin, demo.LoopURL+"/?"); landed != want {
		t.Fatalf("Start a return landed on %s, the preview said %s", landed, want)
	}
	Screenshot(t, admin, "settings-returns-parcellab-landed")
}

// waitForPreview waits until the settings page's preview line satisfies ok
// (the server answers a moment after the typing stops).
func waitForPreview(t *testing.T, ctx context.Context, ok func(string) bool) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got, _ = chromedp.Run(ctx, chromedp.Text(chromedp.ID("preview-url")))
		if ok(got) {
			return
		}
	}
	t.Fatalf("the preview shows %q", got)
}

// An admin lists the shop's storefront domains on Settings → General: a
// URL is refused with the reason, a list is saved lower-cased and
// de-duplicated, shown again after a reload, and audited.
func TestGeneralSettingsStorefrontDomains(t *testing.T) {
	demo := StartDemo(t)
	admin := NewBrowser(t)
	LoginAs(t, admin, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	field := chromedp.ID("storefront_domains")
	save := chromedp.CSS(`form[action="/settings/general"] button[type=submit]`)

	do(t, admin,
		chromedp.Navigate(demo.BaseURL+"/settings/general"),
		chromedp.WaitVisible(field),
		chromedp.SendKeys(field, "https://shop.example.com/"),
		chromedp.Click(save),
		chromedp.WaitVisible(chromedp.CSS(`[role=alert]`)),
	)
	alert, _ := chromedp.Run(admin, chromedp.Text(chromedp.CSS(`[role=alert]`)))
	if !strings.Contains(alert, "Storefront domains:") || !strings.Contains(alert, "leave out https://") {
		t.Fatalf("refusal: %q", alert)
	}
	if invalid, _ := chromedp.Run(admin, chromedp.Evaluate[string](`document.getElementById("storefront_domains").getAttribute("aria-invalid") || ""`)); invalid != "true" {
		t.Fatalf("the refused field is not marked invalid: %q", invalid)
	}

	do(t, admin,
		chromedp.Clear(field),
		chromedp.SendKeys(field, "Shop.Example.com\nwww.shop.example.com\nshop.example.com"),
		chromedp.Click(save),
		chromedp.WaitVisible(`//*[@role="status"][contains(., "Saved")]`),
		chromedp.Navigate(demo.BaseURL+"/settings/general"),
		chromedp.WaitVisible(field),
	)
	got, err := chromedp.Run(admin, chromedp.Value(field))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(got) != "shop.example.com\nwww.shop.example.com" {
		t.Fatalf("after reload the field holds %q", got)
	}
	Screenshot(t, admin, "settings-general-storefront-domains")

	do(t, admin, chromedp.Navigate(demo.BaseURL+"/audit?action=settings."), chromedp.WaitVisible(chromedp.CSS("table")))
	if audit, _ := chromedp.Run(admin, chromedp.Text(chromedp.CSS("table"))); !strings.Contains(audit, "Fields: Storefront domains") {
		t.Fatalf("the audit log does not name the field:\n%s", audit)
	}
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func startReturn(t *testing.T, ctx context.Context, demo *Demo, orderID int64) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(fmt.Sprintf("%s/apps/hub/orders/%d", demo.StorefrontURL, orderID)),
		chromedp.WaitVisible(chromedp.CSS("#return form button")),
		chromedp.Click(chromedp.CSS("#return form button")),
	)
}

// waitForURL waits until the tab's location starts with prefix.
func waitForURL(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err == nil && strings.HasPrefix(loc, prefix) {
			return loc
		}
		time.Sleep(100 * time.Millisecond)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("the browser is at %s, want %s…", loc, prefix)
	return ""
}

func assertPortalParams(t *testing.T, landed, orderName string) {
	t.Helper()
	u, err := url.Parse(landed)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Query().Get("order_number"); got != orderName {
		t.Fatalf("order_number = %q in %s, want %q", got, landed, orderName)
	}
	if got := u.Query().Get("email"); got != "olivia.johnson@example.com" {
		t.Fatalf("email = %q in %s", got, landed)
	}
}

// newestDeliveredOrder finds the demo shopper and her newest delivered
// order (the one without a return) through the REST API.
func newestDeliveredOrder(t *testing.T, demo *Demo) (customerID, orderID int64, name string) {
	t.Helper()
	var customers struct {
		Items []struct{ ID int64 } `json:"items"`
	}
	apiGet(t, demo, "/api/v1/customers?q=olivia.johnson", &customers)
	if len(customers.Items) != 1 {
		t.Fatalf("demo shopper not found: %+v", customers)
	}
	var orders struct {
		Items []struct {
			ID     int64
			Name   string
			Status string
		} `json:"items"`
	}
	apiGet(t, demo, fmt.Sprintf("/api/v1/customers/%d/orders", customers.Items[0].ID), &orders)
	for _, o := range orders.Items {
		if o.Status == "delivered" {
			return customers.Items[0].ID, o.ID, o.Name
		}
	}
	t.Fatal("the demo shopper has no delivered order")
	return 0, 0, ""
}
