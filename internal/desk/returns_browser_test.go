package desk_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// An agent opens the demo's returns ticket: the order cards show a badge
// for every return state and a carrier's tracking link; Initiate return
// on the eligible order opens its panel with Loop's deep link, which the
// agent copies and inserts into the reply, and its QR code. Then a return
// moves in Loop (the sandbox's admin endpoint, as `hubdesk sandbox loop
// advance` calls it): Loop's signed webhook reaches hubdesk, which stores
// it and tells the open page, whose card changes without a reload while
// the agent's reply stays as written.
func TestInitiateReturnInTheBrowser(t *testing.T) {
	ctx := chromium(t)
	db := dbtest.Open(t, database.SQLite)
	sb := sandbox.New(sandbox.Options{NoSeed: true})
	loopSrv := httptest.NewServer(sb)
	t.Cleanup(func() { loopSrv.Close(); sb.Close() })
	sb.SetBaseURL(loopSrv.URL)
	app := testapp.New(t, db, testapp.WithLoop(loopSrv.URL+"/api/v1"))
	tn := app.NewTenant("shopa")
	jobstest.Work(t, app.Server.Jobs)
	bg := context.Background()
	// Connected as a merchant does it: the key with Developer Tools and
	// Loop's webhook secret, so hubdesk subscribes to Loop's webhooks.
	actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
	rc := returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyFull, LoopWebhookSecret: sb.WebhookSecret(),
		LoopPortalURL: loopSrv.URL + "/portal/", LookupField: returns.LookupZip}
	if _, err := app.Server.Settings.SaveReturns(bg, tn.Shop.ID, rc, settings.SaveOptions{}, actor); err != nil {
		t.Fatal(err)
	}
	if err := app.Server.Settings.SetLive(bg, tn.Shop.ID, true, actor); err != nil {
		t.Fatal(err)
	}
	ticketID, err := demo.SeedReturnsShowcase(bg, sb, demo.ShowcaseStores{Orders: app.Server.Ingest, Records: app.Server.Returns,
		Tickets: app.Server.Tickets}, tn.Shop.ID, app.URL, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// The first view queues Loop's eligibility answers; the page shows
	// them once the jobs have run (the cards never wait for Loop).
	agent := app.LoginAs(tn.Agent)
	jobstest.Eventually(t, "Loop's answers cached", func() bool {
		resp, err := agent.Get(fmt.Sprintf("%s/tickets/%d", app.URL, ticketID))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("ticket page: %v", err)
		}
		resp.Body.Close()
		var pending int
		if err := db.QueryRow(bg, `SELECT COUNT(*) FROM river_job WHERE kind = 'return_eligibility' AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0
	})

	until := func(step, cond string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
				t.Fatalf("%s: %s never held (%v)\n%s", step, cond, err, page)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), tn.Agent.Email),
		chromedp.SendKeys(chromedp.ID("password"), testapp.Password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("aside.side")),
		chromedp.Navigate(fmt.Sprintf("%s/tickets/%d", app.URL, ticketID)),
		chromedp.WaitVisible(chromedp.CSS("[data-ticket-view]")),
	); err != nil {
		t.Fatal(err)
	}

	for _, state := range []string{"open", "review", "closed", "cancelled", "expired"} {
		until("a "+state+" badge", fmt.Sprintf(`!!document.querySelector("#ticket-side .badge--return-%s")`, state))
	}
	until("a carrier's tracking link", `!!document.querySelector('#ticket-side a.tracking-link[href^="https://tools.usps.com/"]')`)
	for _, reason := range []string{"A return is already open", "Outside the return window", "Not delivered yet"} {
		until("the reason "+reason, fmt.Sprintf(`Array.from(document.querySelectorAll("#ticket-side .return-reason")).some(e => e.textContent.includes(%q))`, reason))
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#ticket-side form[data-initiate-return]").length`)); err != nil || n != 1 {
		t.Fatalf("%d Initiate return buttons (%v), want 1: only the eligible order has one", n, err)
	}

	// The clipboard of a headless browser is not the test's to read:
	// record what the page hands it instead.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { window.copiedTexts = [];
		navigator.clipboard.writeText = t => { window.copiedTexts.push(t); return Promise.resolve(); }; return true })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#ticket-side form[data-initiate-return] button`))); err != nil {
		t.Fatal(err)
	}
	until("the Initiate return panel", `!!document.querySelector("[data-return-link-panel] input.return-link")`)
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("[data-return-link-panel] input.return-link").value`))
	if err != nil || !strings.HasPrefix(link, loopSrv.URL+"/portal/link/") {
		t.Fatalf("the panel's link is %q (%v), want Loop's deep link", link, err)
	}
	until("the QR code", `(() => { const q = document.querySelector("[data-return-link-panel] svg.qr"); return !!q && q.getBoundingClientRect().width > 50 })()`)

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-return-link-panel] button[data-copy-text]`))); err != nil {
		t.Fatal(err)
	}
	until("Copy link copies the link", fmt.Sprintf(`window.copiedTexts.length === 1 && window.copiedTexts[0] === %q`, link))
	until("Copy link says so", `document.querySelector("[data-return-link-panel] button[data-copy-text]").textContent === "Copied"`)

	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const b = document.getElementById("reply-body");
		b.value = "Hi Riley, start your return here:"; b.setSelectionRange(b.value.length, b.value.length); return true })()`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-return-link-panel] button[data-insert-reply]`))); err != nil {
		t.Fatal(err)
	}
	until("Insert into reply", fmt.Sprintf(`document.getElementById("reply-body").value === %q`, "Hi Riley, start your return here:\n"+link+"\n"))

	// The review return moves on in Loop: the page shows it open, live.
	jobstest.Eventually(t, "subscribed to Loop's webhooks", func() bool { return subscribed(t, sb, app.URL) })
	var inReview int64
	for _, r := range sb.Returns("#9003") {
		if r.State == loop.StateReview {
			inReview = r.ID
		}
	}
	if inReview == 0 {
		t.Fatal("the showcase has no return in review on #9003")
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	until("the review badge before", `!!document.querySelector("#ticket-side .badge--return-review")`)
	resp, err := http.Post(fmt.Sprintf("%s/_sandbox/returns/%d/advance", loopSrv.URL, inReview), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("advance the return in the sandbox: %d", resp.StatusCode)
	}
	until("the card shows the return open, live", `!document.querySelector("#ticket-side .badge--return-review") &&
		document.querySelectorAll("#ticket-side .badge--return-open").length === 2`)
	if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`window.notReloaded === true && document.getElementById("reply-body").value === %q`,
		"Hi Riley, start your return here:\n"+link+"\n"))); !ok {
		t.Error("the page reloaded or the reply was lost")
	}
}

// subscribed reports whether the sandbox's Loop delivers return webhooks
// to hubdesk at base.
func subscribed(t *testing.T, sb *sandbox.Sandbox, base string) bool {
	t.Helper()
	hooks, err := loop.New(loop.Options{APIKey: sandbox.KeyFull, BaseURL: sb.BaseURL(), MaxAttempts: 1}).ListWebhooks(context.Background())
	if err != nil {
		return false
	}
	for _, h := range hooks {
		if strings.HasPrefix(h.URL, base+"/webhooks/loop/") && h.Trigger == string(loop.TriggerReturnUpdated) && h.Status == loop.WebhookActive {
			return true
		}
	}
	return false
}
