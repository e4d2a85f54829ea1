package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The Customer Hub as the demo shopper meets it: through the storefront
// sandbox's App Proxy, in a real browser, against the real `hubdesk demo`.

// apiOrder is what these tests need of an order from the REST API, which
// says which of the shopper's orders is in which state without depending
// on the demo's order numbers.
type apiOrder struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Email  string `json:"email"`
	Status string `json:"status"`
}

// apiGet decodes a GET of the demo's REST API with its token.
func apiGet(t *testing.T, demo *Demo, path string, into any) {
	t.Helper()
	req, _ := http.NewRequest("GET", demo.BaseURL+path, nil)
	req.Header.Set("Authorization", "Bearer "+demo.APIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// shopperOrders are the demo shopper's orders, newest first.
func shopperOrders(t *testing.T, demo *Demo) []apiOrder {
	t.Helper()
	var customers struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	apiGet(t, demo, "/api/v1/customers?q=olivia.johnson", &customers)
	if len(customers.Items) != 1 {
		t.Fatalf("the demo shopper is not in the API: %+v", customers)
	}
	var orders struct {
		Items []apiOrder `json:"items"`
	}
	apiGet(t, demo, fmt.Sprintf("/api/v1/customers/%d/orders?limit=50", customers.Items[0].ID), &orders)
	return orders.Items
}

// newestWithStatus is the shopper's newest order in that status.
func newestWithStatus(t *testing.T, orders []apiOrder, status string) apiOrder {
	t.Helper()
	for _, o := range orders {
		if o.Status == status {
			return o
		}
	}
	t.Fatalf("the demo shopper has no %s order: %+v", status, orders)
	return apiOrder{}
}

// ConsoleErrors collects the page's console errors (failed loads, CSP
// violations, exceptions) from now until the test ends.
func ConsoleErrors(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	messages := chromedp.Console(ctx)
	var mu sync.Mutex
	var errs []string
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError || m.IsException()) && !ignoredConsoleError(m) {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s (%s)", m, m.URL))
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

// ignoredConsoleError tells apart messages that say nothing about the
// pages under test.
func ignoredConsoleError(m chromedp.ConsoleMessage) bool {
	// Favicons are the browser's own request, not the page's.
	return strings.Contains(m.URL, "/favicon.ico")
}

// XPath helpers: the hub's markup is the hub's business; these find
// things the way a person does, by what they say.
func orderLink(name string) string {
	return fmt.Sprintf(`//main//a[contains(normalize-space(.), %q) or contains(@aria-label, %q)]`, name, name)
}

func orderHeading(name string) string {
	return fmt.Sprintf(`//h1[contains(., %q)]`, name)
}

func startReturnControl(label string) string {
	return fmt.Sprintf(`//*[(self::button or self::a or self::input) and (contains(normalize-space(.), %q) or @value=%q)]`, label, label)
}

// step bounds one group of browser actions, so a page that never shows
// what a test waits for fails that step in seconds instead of using up
// the whole browser's time.
func step(t *testing.T, ctx context.Context) context.Context {
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	t.Cleanup(cancel)
	return sctx
}

// openOrder clicks the order's row in the hub's order list and waits for
// its page.
func openOrder(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	err := chromedp.Do(step(t, ctx),
		chromedp.WaitVisible(orderLink(name)),
		chromedp.Click(orderLink(name)),
		chromedp.WaitVisible(orderHeading(name)),
	)
	if err != nil {
		t.Fatalf("open order %s from the list: %v", name, err)
	}
}

// openHub logs the demo shopper in on the storefront and lands on the hub.
func openHub(t *testing.T, ctx context.Context, demo *Demo, query string) {
	t.Helper()
	u := demo.ShopperHubURL
	if query != "" {
		u = strings.Replace(u, "return_to=/apps/hub", "return_to="+url.QueryEscape("/apps/hub?"+query), 1)
	}
	if err := chromedp.Do(step(t, ctx), chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("main h1"))); err != nil {
		t.Fatalf("open the hub as the demo shopper: %v", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, demo.StorefrontURL+"/apps/hub") {
		t.Fatalf("the hub is at %s, want it under the storefront's %s/apps/hub", loc, demo.StorefrontURL)
	}
}

// waitForLocation waits until the page's URL starts with prefix: the
// page that was there before a click may look like the one expected.
// It returns the URL, or "" when it never got there.
func waitForLocation(t *testing.T, ctx context.Context, prefix string) string {
	t.Helper()
	var loc string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		loc, _ = chromedp.Run(step(t, ctx), chromedp.Location())
		if strings.HasPrefix(loc, prefix) {
			return loc
		}
	}
	t.Logf("still at %s", loc)
	return ""
}

func bodyText(t *testing.T, ctx context.Context) string {
	t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func countMatches(t *testing.T, ctx context.Context, xpath string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(
		`document.evaluate(%q, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null).snapshotLength`, xpath)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A shopper who is not logged in is sent to the storefront's login from
// the hub, logs in there and comes back to her orders.
func TestShopperLogsInFromTheHub(t *testing.T) {
	demo := StartDemo(t)
	ctx := NewBrowser(t)
	consoleErrors := ConsoleErrors(t, ctx)
	err := chromedp.Do(step(t, ctx),
		chromedp.Navigate(demo.StorefrontURL+"/apps/hub"),
		chromedp.WaitVisible(`//a[contains(., "Log in to see your orders")]`),
		chromedp.Click(`//a[contains(., "Log in to see your orders")]`),
		chromedp.WaitVisible(`//button[contains(., "Log in as Olivia")]`),
		chromedp.Click(`//button[contains(., "Log in as Olivia")]`),
		chromedp.WaitVisible(`//h1[contains(., "Olivia")]`),
	)
	if err != nil {
		t.Fatalf("log in from the hub: %v", err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.HasPrefix(loc, demo.StorefrontURL+"/apps/hub") {
		t.Fatalf("after logging in the shopper is at %s, want the hub", loc)
	}
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// Start a return sends the shopper to the configured provider with the
// order identified: Loop (the demo's default) through a deep link to the
// Loop sandbox's portal, then AfterShip through its portal URL with the
// order number and email. An order whose return is under way, or that is
// not delivered yet, offers none.
func TestShopperStartsAReturn(t *testing.T) {
	demo := StartDemo(t)
	orders := shopperOrders(t, demo)
	delivered := newestWithStatus(t, orders, "delivered")
	inTransit := newestWithStatus(t, orders, "in_transit")
	ctx := NewBrowser(t)
	consoleErrors := ConsoleErrors(t, ctx)
	openHub(t, ctx, demo, "")

	t.Run("loop", func(t *testing.T) {
		openOrder(t, ctx, delivered.Name)
		if err := chromedp.Do(step(t, ctx), chromedp.Click(startReturnControl("Start a return"))); err != nil {
			t.Fatalf("Start a return with Loop: %v", err)
		}
		if loc := waitForLocation(t, ctx, demo.LoopURL+"/portal/"); loc == "" {
			t.Fatalf("Start a return did not land on the Loop sandbox's portal %s/portal/", demo.LoopURL)
		}
		if err := chromedp.Do(step(t, ctx), chromedp.WaitVisible(orderHeading("Order "+delivered.Name))); err != nil {
			t.Fatalf("the Loop portal page does not name order %s: %v", delivered.Name, err)
		}
		Screenshot(t, ctx, "loop-portal")
	})

	t.Run("aftership", func(t *testing.T) {
		// A loopback stand-in for the merchant's AfterShip portal: the
		// network is closed, and http is allowed for loopback portals.
		arrived := make(chan url.Values, 1)
		portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case arrived <- r.URL.Query():
			default:
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, `<!doctype html><title>Returns</title><h1>AfterShip returns portal</h1>`)
		}))
		defer portal.Close()
		putReturnsSettings(t, demo, map[string]any{"provider": "aftership", "portal_url": portal.URL + "/"})

		openHub(t, ctx, demo, "")
		openOrder(t, ctx, delivered.Name)
		err := chromedp.Do(step(t, ctx),
			chromedp.Click(startReturnControl("Start a return")),
			chromedp.WaitVisible(`//h1[contains(., "AfterShip returns portal")]`),
		)
		if err != nil {
			t.Fatalf("Start a return with AfterShip: %v", err)
		}
		var q url.Values
		select {
		case q = <-arrived:
		case <-time.After(5 * time.Second):
			t.Fatal("the browser never reached the AfterShip portal")
		}
		if q.Get("order_number") != delivered.Name || q.Get("email") != delivered.Email {
			t.Fatalf("AfterShip portal got order_number=%q email=%q, want %q and %q", q.Get("order_number"), q.Get("email"), delivered.Name, delivered.Email)
		}
	})

	t.Run("return in progress", func(t *testing.T) {
		// The REST API's status does not count returns, so the order is
		// found by what the hub's list says about it.
		openHub(t, ctx, demo, "")
		row := `//main//a[contains(normalize-space(.), "Return in progress")]`
		err := chromedp.Do(step(t, ctx), chromedp.Click(row), chromedp.WaitVisible(`//h1[contains(., "Order #")]`))
		if err != nil {
			t.Fatalf("open the order with a return in progress: %v", err)
		}
		if n := countMatches(t, ctx, startReturnControl("Start a return")); n != 0 {
			t.Fatalf("an order with a return in progress shows %d Start a return controls", n)
		}
		if text := bodyText(t, ctx); !strings.Contains(text, "Return in progress") {
			t.Fatalf("the order does not say its return is in progress:\n%s", text)
		}
	})

	t.Run("not delivered", func(t *testing.T) {
		openHub(t, ctx, demo, "")
		openOrder(t, ctx, inTransit.Name)
		if n := countMatches(t, ctx, startReturnControl("Start a return")); n != 0 {
			t.Fatalf("order %s is in transit but shows %d Start a return controls", inTransit.Name, n)
		}
	})
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// putReturnsSettings changes the demo shop's returns provider through the
// REST API, as an admin's script would; the demo hub is live, so the
// change is published at once.
func putReturnsSettings(t *testing.T, demo *Demo, body map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("PUT", demo.BaseURL+"/api/v1/settings/returns", strings.NewReader(string(raw)))
	req.Header.Set("Authorization", "Bearer "+demo.APIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Provider  string `json:"provider"`
		Published bool   `json:"published"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Provider != body["provider"] || !out.Published {
		t.Fatalf("PUT /api/v1/settings/returns: %s %s", resp.Status, b)
	}
}

var germanDate = regexp.MustCompile(`\b\d{1,2}\. (Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember) \d{4}\b`)

// hubLocales are the hub's languages and a phrase each shows on the
// orders tab and on a delivered order.
var hubLocales = []struct{ lang, ordersTitle, startReturn string }{
	{"en", "Your orders", "Start a return"},
	{"de", "Ihre Bestellungen", "Rücksendung starten"},
	{"es", "Tus pedidos", "Iniciar una devolución"},
	{"fr", "Vos commandes", "Faire un retour"},
	{"nl", "Je bestellingen", "Retour starten"},
}

// The storefront's locale parameter switches the hub's language, dates
// and money, and the choice survives following the hub's own links. Every
// language is photographed, and the hub at phone width and the drawer on
// the storefront too.
func TestHubLanguagesAndScreenshots(t *testing.T) {
	demo := StartDemo(t)
	delivered := newestWithStatus(t, shopperOrders(t, demo), "delivered")
	ctx := NewBrowserFor(t, 5*time.Minute)
	consoleErrors := ConsoleErrors(t, ctx)

	t.Run("german", func(t *testing.T) {
		openHub(t, ctx, demo, "locale=de")
		text := bodyText(t, ctx)
		for _, want := range []string{"Ihre Bestellungen", "Zugestellt"} {
			if !strings.Contains(text, want) {
				t.Errorf("German orders tab lacks %q:\n%s", want, text)
			}
		}
		if !germanDate.MatchString(text) {
			t.Errorf("German orders tab has no German date (like 3. November 2026):\n%s", text)
		}
		if regexp.MustCompile(`\b(January|February|March|April|June|July|October|December) \d`).MatchString(text) {
			t.Errorf("German orders tab shows an English date:\n%s", text)
		}
		if !regexp.MustCompile(`\d,\d\d\x{00a0}\$`).MatchString(text) {
			t.Errorf("German orders tab has no German money (like 69,95 $):\n%s", text)
		}
		openOrder(t, ctx, delivered.Name)
		text = bodyText(t, ctx)
		if !strings.Contains(text, "Bestellung "+delivered.Name) || !strings.Contains(text, "Rücksendung starten") || !germanDate.MatchString(text) {
			t.Errorf("the order page reached from the German list is not German:\n%s", text)
		}
	})

	for _, l := range hubLocales {
		t.Run("screenshots "+l.lang, func(t *testing.T) {
			openHub(t, ctx, demo, "locale="+l.lang)
			if lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(".hubdesk-theme") || document.documentElement).lang`)); !strings.HasPrefix(lang, l.lang) {
				t.Errorf("the hub's lang is %q, want %s", lang, l.lang)
			}
			if text := bodyText(t, ctx); !strings.Contains(text, l.ordersTitle) {
				t.Errorf("orders tab lacks %q:\n%s", l.ordersTitle, text)
			}
			Screenshot(t, ctx, "hub-orders-"+l.lang)
			AuditAccessibility(t, ctx, "hub orders in "+l.lang)
			openOrder(t, ctx, delivered.Name)
			if n := countMatches(t, ctx, startReturnControl(l.startReturn)); n == 0 {
				t.Errorf("order %s in %s has no %q", delivered.Name, l.lang, l.startReturn)
			}
			Screenshot(t, ctx, "hub-order-"+l.lang)
			AuditAccessibility(t, ctx, "hub order in "+l.lang)
		})
	}

	t.Run("drawer", func(t *testing.T) {
		openStorefront(t, ctx, demo)
		Screenshot(t, ctx, "storefront")
		openDrawer(t, ctx, demo)
		ViewportScreenshot(t, ctx, "storefront-drawer")
	})

	t.Run("phone width", func(t *testing.T) {
		if err := chromedp.Do(step(t, ctx), chromedp.EmulateViewport(360, 780, chromedp.EmulateMobile)); err != nil {
			t.Fatal(err)
		}
		openHub(t, ctx, demo, "")
		assertNoHorizontalScroll(t, ctx, "orders tab")
		Screenshot(t, ctx, "hub-orders-mobile")
		openOrder(t, ctx, delivered.Name)
		assertNoHorizontalScroll(t, ctx, "order page")
		Screenshot(t, ctx, "hub-order-mobile")
		openDrawer(t, ctx, demo)
		ViewportScreenshot(t, ctx, "storefront-drawer-mobile")
	})

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("browser console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// assertNoHorizontalScroll fails when the page is wider than the screen,
// the usual way a layout breaks on a phone.
func assertNoHorizontalScroll(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if over > 0 {
		t.Errorf("the %s is %d px wider than a 360 px screen", what, over)
	}
}

// openStorefront opens the storefront's product page as the logged-in
// shopper.
func openStorefront(t *testing.T, ctx context.Context, demo *Demo) {
	t.Helper()
	home := strings.Replace(demo.ShopperHubURL, "return_to=/apps/hub", "return_to=/", 1)
	err := chromedp.Do(step(t, ctx),
		chromedp.Navigate(home),
		chromedp.WaitVisible(`//h1[contains(., "Merino Hiking Socks")]`),
	)
	if err != nil {
		t.Fatalf("open the storefront: %v", err)
	}
}

// openDrawer opens the hub's drawer on the storefront's product page from
// the embedded script's button.
func openDrawer(t *testing.T, ctx context.Context, demo *Demo) {
	t.Helper()
	openStorefront(t, ctx, demo)
	// The launcher is what the embed script adds to the page: a button
	// straight in <body> that opens a dialog.
	launcher := `/html/body/button[@aria-haspopup="dialog"]`
	if err := chromedp.Do(step(t, ctx), chromedp.WaitVisible(launcher), chromedp.Click(launcher)); err != nil {
		t.Fatalf("the hub's drawer launcher did not appear on the storefront: %v", err)
	}
	if err := chromedp.Do(step(t, ctx), chromedp.WaitVisible(`//*[@role="dialog"]//iframe`)); err != nil {
		t.Fatalf("the drawer did not open: %v", err)
	}
	// The drawer frames the storefront's own App Proxy path, so the page
	// inside is same-origin and readable: wait until it greets the shopper.
	var heading string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		heading, _ = chromedp.Run(step(t, ctx), chromedp.Evaluate[string](
			`(document.querySelector('[role=dialog] iframe').contentDocument?.querySelector('main h1')?.textContent || "").trim()`))
		if strings.Contains(heading, "Olivia") {
			return
		}
	}
	t.Fatalf("the drawer's hub never greeted the shopper (heading %q)", heading)
}

// Outside the store's theme (the admin preview here, a headless storefront
// alike) the hub has a header of its own: the shop's name and Back to
// store, both leading to the store.
func TestHubStandaloneLinksBackToStore(t *testing.T) {
	demo := StartDemo(t)
	shopperID, _, _ := newestDeliveredOrder(t, demo)
	admin := NewBrowser(t)
	LoginAs(t, admin, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	do(t, admin, chromedp.Navigate(fmt.Sprintf("%s/settings/hub-preview?customer=%d", demo.BaseURL, shopperID)),
		chromedp.WaitVisible(chromedp.CSS(".storebar .back")))
	links, err := chromedp.Run(admin, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll(".storebar a")).map(a => a.textContent.trim() + " " + a.href)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || links[0] != "Demo Outfitters https://demo-shop.myshopify.com/" || links[1] != "Back to store https://demo-shop.myshopify.com/" {
		t.Fatalf("the standalone hub's header links %q", links)
	}
	Screenshot(t, admin, "hub-standalone-preview")
}
