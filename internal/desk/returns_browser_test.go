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

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// An agent opens the demo's returns ticket: the order cards show a badge
// for every return state and a carrier's tracking link; Initiate return
// on the eligible order opens its panel with Loop's deep link, which the
// agent copies and inserts into the reply, and its QR code.
func TestInitiateReturnInTheBrowser(t *testing.T) {
	ctx := chromium(t)
	db := dbtest.Open(t, database.SQLite)
	sb := sandbox.New(sandbox.Options{NoSeed: true})
	loopSrv := httptest.NewServer(sb)
	t.Cleanup(func() { loopSrv.Close(); sb.Close() })
	sb.SetBaseURL(loopSrv.URL)
	app := testapp.New(t, db, testapp.WithLoop(loopSrv.URL+"/api/v1"))
	tn := app.NewTenant("shopa")
	app.UseLoop(tn, loopSrv.URL)
	jobstest.Work(t, app.Server.Jobs)
	bg := context.Background()
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
}
