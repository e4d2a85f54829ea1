package desk_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// An admin connects the shop on Settings → Shopify in the browser: first
// with a pasted admin token lacking scopes (the page names them), then by
// installing hubdesk's app — through Shopify's approval page and back —
// after which the page shows the connection, the token's expiry and the
// webhooks registered.
func TestConnectShopifyInTheBrowser(t *testing.T) {
	ctx := chromium(t)
	db := dbtest.Open(t, database.SQLite)
	sb := sandbox.New(sandbox.Options{ClientID: "app-id", ClientSecret: "app-secret"})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	sb.SetBaseURL(srv.URL)
	app := testapp.New(t, db, testapp.WithShopifyApp(shopifyconnect.App{ClientID: "app-id", ClientSecret: "app-secret"}, srv.URL))
	jobstest.Work(t, app.Server.Jobs)
	tn := app.NewTenant(strings.TrimSuffix(sb.Shop(), ".myshopify.com"))
	token := sb.IssueAccessToken([]string{"read_orders"}, 0)

	until := func(step, cond string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
				t.Fatalf("%s: %s never held (%v)\n%s", step, cond, err, page)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	text := func(id string) string {
		return `((document.getElementById("` + id + `") || {}).textContent || "")`
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), tn.Admin.Email),
		chromedp.SendKeys(chromedp.ID("password"), testapp.Password),
		chromedp.Submit(chromedp.ID("password")),
		// The signed-in page's side bar (the sign-in page has a main
		// too): navigating on before the sign-in answered aborts it.
		chromedp.WaitVisible(chromedp.CSS("aside.side")),
		chromedp.Navigate(app.URL+"/settings/shopify"),
		chromedp.WaitVisible(chromedp.ID("shopify-state")),
	); err != nil {
		t.Fatal(err)
	}
	until("not connected", text("shopify-state")+`.includes("Not connected")`)

	// A pasted token of an admin-created app that lacks scopes.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("shopify-access-token"), token),
		chromedp.SendKeys(chromedp.ID("shopify-admin-secret"), "admin-app-secret"),
		chromedp.Click(chromedp.ID("shopify-connect-admin-token")),
	); err != nil {
		t.Fatal(err)
	}
	until("connected with missing scopes", text("shopify-missing")+`.includes("read_customers")`)
	until("the scope table", `document.querySelector('#shopify-scopes tr[data-scope="read_orders"]').textContent.includes("Yes")`)
	until("the token is not on the page", `!document.documentElement.outerHTML.includes(`+jsString(token)+`)`)

	// The public app's install, through Shopify's approval page.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("shopify-install"))); err != nil {
		t.Fatal(err)
	}
	until("Shopify's approval page", `location.href.startsWith(`+jsString(srv.URL+"/admin/oauth/authorize")+`) && !!document.getElementById("install")`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("install"))); err != nil {
		t.Fatal(err)
	}
	until("back at hubdesk, installed", text("install-done")+`.includes(`+jsString(sb.Shop())+`)`)
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/settings/shopify"), chromedp.WaitVisible(chromedp.ID("shopify-state"))); err != nil {
		t.Fatal(err)
	}
	until("connected through the app", text("shopify-state")+`.trim() === "Connected" && `+text("shopify-status")+`.includes("hubdesk's Shopify app")`)
	until("the token's expiry", `!!document.getElementById("shopify-expiry")`)
	// The subscriptions are made by a job; the page shows them once checked.
	jobstest.Eventually(t, "the subscriptions", func() bool { return len(sb.WebhookSubscriptions()) == len(shopifyconnect.Topics) })
	jobstest.Eventually(t, "their health recorded", func() bool {
		st, err := app.Server.ShopifyConnect.Status(context.Background(), tn.Shop.ID)
		return err == nil && st.SubscriptionsHealthy
	})
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("shopify-state"))); err != nil {
		t.Fatal(err)
	}
	until("webhooks in place", text("shopify-webhooks-health")+`.includes("All subscriptions are in place")`)
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
