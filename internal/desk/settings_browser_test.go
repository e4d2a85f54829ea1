package desk_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// A manager whose saved Loop key lacks scopes sees Loop's key check and
// its warnings on Settings → Returns only while Loop is the chosen
// provider: picking another provider, before saving, hides them, and
// picking Loop again shows them.
func TestLoopScopeWarningsFollowTheChosenProviderInTheBrowser(t *testing.T) {
	ctx := chromium(t)
	db := dbtest.Open(t, database.SQLite)
	sb := sandbox.New(sandbox.Options{NoSeed: true})
	loopSrv := httptest.NewServer(sb)
	t.Cleanup(func() { loopSrv.Close(); sb.Close() })
	app := testapp.New(t, db, testapp.WithLoop(loopSrv.URL+"/api/v1"))
	tn := app.NewTenant("shopa")
	actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
	rc := returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyOrders, LookupField: returns.LookupZip}
	if _, err := app.Server.Settings.SaveReturns(context.Background(), tn.Shop.ID, rc, settings.SaveOptions{}, actor); err != nil {
		t.Fatal(err)
	}
	visible := func(step string, want bool) {
		t.Helper()
		const js = `(() => { const w = Array.from(document.querySelectorAll(".alert.warn")).filter(e => !e.closest("dialog") && e.textContent.includes("lacks the Returns scope"));
			return w.length > 0 && w.every(e => e.offsetParent !== null); })()`
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err == nil && got == want {
				return
			}
			if time.Now().After(deadline) {
				page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText.slice(0, 1500)`))
				t.Fatalf("%s: the scope warning visible %v, want %v (%v)\n%s", step, got, want, err, page)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), tn.Manager.Email),
		chromedp.SendKeys(chromedp.ID("password"), testapp.Password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("aside.side")),
		chromedp.Navigate(app.URL+"/settings/returns"),
		chromedp.WaitVisible(chromedp.CSS("#returns-form")),
	); err != nil {
		t.Fatal(err)
	}
	visible("Loop saved", true)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name=provider][value=aftership]`))); err != nil {
		t.Fatal(err)
	}
	visible("AfterShip chosen", false)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`input[name=provider][value=loop]`))); err != nil {
		t.Fatal(err)
	}
	visible("Loop chosen again", true)
}
