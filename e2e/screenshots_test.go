package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ScreenshotsEnv names the directory TestScreenshots writes the
// documentation's screenshots to, relative to the repository's root:
//
//	HUBDESK_SCREENSHOTS=docs/screenshots go test ./e2e -run TestScreenshots
//
// Unset, the test does not run: tracked files are rewritten only when
// someone asks.
const ScreenshotsEnv = "HUBDESK_SCREENSHOTS"

// screenshotClock is the instant the demo's clock stands at, so that
// every regeneration shows the same dates, ages and return windows.
const screenshotClock = "2026-11-20T15:00:00Z"

// TestScreenshots regenerates docs/screenshots: every hub page of a
// signed-in shopper (orders, an order, messages, a conversation, the
// account) in its five languages and at 360 px, the hub in its drawer and outside the store's
// theme, the desk's main pages and the go-live confirmation, each a PNG of
// what a 1280×800 window (or a 360 px phone) shows, from a demo whose
// clock stands still and whose times are in UTC.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv(ScreenshotsEnv)
	if dir == "" {
		t.Skip(ScreenshotsEnv + " names the directory to write the screenshots to (docs/screenshots)")
	}
	if !filepath.IsAbs(dir) {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	demo := StartDemoWith(t, []string{"--clock", screenshotClock}, "TZ=UTC")
	delivered := newestWithStatus(t, shopperOrders(t, demo), "delivered")
	shoot := func(ctx context.Context, name string) {
		t.Helper()
		// Let fonts and late images settle, then take what the window shows.
		do(t, ctx, chromedp.Sleep(300*time.Millisecond))
		// Loopback ports differ from run to run: a page showing one
		// would never read the same.
		if text := bodyText(t, ctx); strings.Contains(text, "127.0.0.1:") {
			t.Fatalf("%s shows a loopback address, which changes with every run:\n%s", name, text)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	window := func(ctx context.Context, width, height int64, phone bool) {
		t.Helper()
		opts := []chromedp.EmulateViewportOption{}
		if phone {
			opts = append(opts, chromedp.EmulateMobile)
		}
		do(t, ctx, chromedp.EmulateViewport(width, height, opts...))
	}
	firstConversation := `(//ul[contains(@class, "conversations")]//a)[1]`

	// The hub, as the demo shopper sees it through the storefront.
	shopper := NewBrowserFor(t, 5*time.Minute)
	hubPages := func(suffix, query string) {
		t.Helper()
		openHub(t, shopper, demo, query)
		shoot(shopper, "hub-orders-"+suffix)
		openOrder(t, shopper, delivered.Name)
		shoot(shopper, "hub-order-"+suffix)
		messages := fmt.Sprintf("%s/apps/hub/messages", demo.StorefrontURL)
		if query != "" {
			messages += "?" + query
		}
		do(t, step(t, shopper), chromedp.Navigate(messages), chromedp.WaitVisible(firstConversation))
		shoot(shopper, "hub-messages-"+suffix)
		do(t, step(t, shopper), chromedp.Click(firstConversation), chromedp.WaitVisible(`//ol[contains(@class, "thread")]`))
		shoot(shopper, "hub-conversation-"+suffix)
		account := fmt.Sprintf("%s/apps/hub/account", demo.StorefrontURL)
		if query != "" {
			account += "?" + query
		}
		do(t, step(t, shopper), chromedp.Navigate(account), chromedp.WaitVisible(`//section[@aria-labelledby="profile-title"]`))
		shoot(shopper, "hub-account-"+suffix)
	}
	window(shopper, 1280, 800, false)
	for _, l := range hubLocales {
		hubPages(l.lang, "locale="+l.lang)
	}
	openDrawer(t, shopper, demo)
	shoot(shopper, "hub-drawer")
	window(shopper, 360, 780, true)
	hubPages("phone", "")

	// The desk, as the owner works it.
	owner := NewBrowserFor(t, 5*time.Minute)
	window(owner, 1280, 800, false)
	LoginAs(t, owner, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	do(t, owner, chromedp.Navigate(demo.BaseURL+"/tickets"), chromedp.WaitVisible(chromedp.CSS(".inbox-search")))
	shoot(owner, "desk-inbox")
	// Tall enough for the customer's order cards beside the conversation.
	window(owner, 1280, 1400, false)
	do(t, owner, chromedp.Navigate(demo.ReturnsTicketURL), chromedp.WaitVisible(chromedp.ID("reply-body")))
	shoot(owner, "desk-ticket")
	window(owner, 1280, 800, false)
	do(t, owner, chromedp.Navigate(demo.BaseURL+"/customers?q=olivia.johnson"), chromedp.WaitVisible(`//a[contains(., "Olivia Johnson")]`),
		chromedp.Click(`//a[contains(., "Olivia Johnson")]`), chromedp.WaitVisible(`//h2[contains(., "Orders")]`))
	shoot(owner, "desk-customer")
	do(t, owner, chromedp.Navigate(fmt.Sprintf("%s/orders/%d", demo.BaseURL, delivered.ID)), chromedp.WaitVisible(`//h2[contains(., "Shipments")]`))
	shoot(owner, "desk-order")
	// Settings → Returns shows the Loop sandbox's and the desk's
	// addresses, which change with every run; General does not.
	do(t, owner, chromedp.Navigate(demo.BaseURL+"/settings/general"), chromedp.WaitVisible(chromedp.CSS(`#live-switch`)))
	shoot(owner, "desk-settings")
	// The hub outside the store's theme: a page of its own.
	do(t, owner,
		chromedp.Click(chromedp.CSS(`input[name=in_theme]`)),
		chromedp.Submit(chromedp.ID("help_centre_url")),
		chromedp.WaitVisible(`//*[contains(., "Saved and published")]`),
	)
	window(shopper, 1280, 800, false)
	openHub(t, shopper, demo, "")
	openOrder(t, shopper, delivered.Name)
	shoot(shopper, "hub-standalone")
	// Going live again asks first, listing what shoppers will see change.
	do(t, owner,
		chromedp.Click(chromedp.CSS(`#live-switch`)),
		chromedp.WaitVisible(chromedp.CSS(`#live-switch[aria-checked=false]`)),
		chromedp.SendKeys(chromedp.ID("help_centre_url"), "https://help.demo-outfitters.example/"),
		chromedp.Submit(chromedp.ID("help_centre_url")),
		chromedp.WaitVisible(`//*[contains(., "Saved as draft")]`),
		chromedp.Click(chromedp.CSS(`#live-switch`)),
		chromedp.WaitVisible(chromedp.ID("live-confirm")),
	)
	shoot(owner, "settings-go-live-confirmation")
	do(t, owner, chromedp.Click(chromedp.ID("live-cancel")), chromedp.WaitNotVisible(chromedp.ID("live-confirm")))

	agent := NewBrowserFor(t, 2*time.Minute)
	window(agent, 360, 780, true)
	LoginAs(t, agent, demo.BaseURL, "agent@demo.hubdesk.dev", "demo")
	do(t, agent, chromedp.Navigate(demo.ReturnsTicketURL), chromedp.WaitVisible(chromedp.ID("reply-body")))
	shoot(agent, "desk-ticket-phone")

	written, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	t.Logf("%d screenshots in %s", len(written), dir)
	if testing.Verbose() {
		t.Log(strings.Join(written, "\n"))
	}
}
