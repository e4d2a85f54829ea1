package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestManagerKeepsMacrosOnAPhone: on a 360 px screen an owner writes a
// macro on Settings → Macros, sees it listed with its placeholders, and
// neither that page nor the desk's shell around it (navigation, another
// settings page) scrolls sideways.
func TestManagerKeepsMacrosOnAPhone(t *testing.T) {
	demo := StartDemo(t)
	ctx := NewBrowser(t)
	LoginAs(t, ctx, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 780, chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	do(t, ctx,
		chromedp.Navigate(demo.BaseURL+"/settings/macros"),
		chromedp.WaitVisible(chromedp.ID("macro-name")),
	)
	assertNoHorizontalScroll(t, ctx, "macros page with the demo's macros")
	do(t, ctx, chromedp.Navigate(demo.BaseURL+"/settings/general"), chromedp.WaitVisible(chromedp.ID("storefront_domains")))
	assertNoHorizontalScroll(t, ctx, "general settings")
	do(t, ctx, chromedp.Navigate(demo.BaseURL+"/settings/macros"), chromedp.WaitVisible(chromedp.ID("macro-name")))
	do(t, ctx,
		chromedp.SendKeys(chromedp.ID("macro-name"), "Parcel delayed"),
		chromedp.SendKeys(chromedp.ID("macro-body"), "Hi {{customer.first_name|there}}, your order {{order.name}} ships with "+
			"{{order.tracking_url}} — a long line of text that has to wrap on a narrow phone screen without scrolling sideways."),
		chromedp.Click(chromedp.CSS(`#macro-form button[type=submit]`)),
		chromedp.WaitVisible(`//*[@role="status"][contains(., "Macro saved.")]`),
	)
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("macros")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(list, "Parcel delayed") || !strings.Contains(list, "{{order.tracking_url}}") {
		t.Errorf("the list shows:\n%s", list)
	}
	assertNoHorizontalScroll(t, ctx, "macros page")
	Screenshot(t, ctx, "settings-macros-mobile")
}
