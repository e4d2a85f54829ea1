package desk_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// chromium starts headless Chromium ($HUBDESK_CHROMIUM or
// /usr/bin/chromium), skipping without one unless CI=true, as the e2e
// harness does.
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, c := range []string{os.Getenv("HUBDESK_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if c != "" {
			if _, err := os.Stat(c); err == nil {
				path = c
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("required in CI: browser tests need Chromium (or HUBDESK_CHROMIUM)")
		}
		t.Skip("browser tests need Chromium (apt-get install chromium, or set HUBDESK_CHROMIUM)")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-background-networking", true), chromedp.WindowSize(1280, 900))
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// An agent filters the inbox (Mine, Unassigned, a status, a tag), pages
// through it, moves with j/k and opens a ticket with Enter, and finds its
// unread marker gone on the way back; ? lists the shortcuts; at 360 px the
// page does not scroll sideways.
func TestInboxInTheBrowser(t *testing.T) {
	ctx := chromium(t)
	db := dbtest.Open(t, database.SQLite)
	now := time.Now().UTC()
	app := testapp.New(t, db)
	tn := app.NewTenant("shopa")
	at := func(minutes int) int64 { return now.Add(-time.Duration(minutes) * time.Minute).UnixMilli() }
	// Newest activity first: A1, U1, A2, P1, U2, A3.
	a1 := deskTicket(t, app, tn.Shop.ID, "A1 mine newest", tn.Agent, "last_activity_at = ?, waiting_since = ?", at(1), at(1))
	deskTicket(t, app, tn.Shop.ID, "U1 unassigned", nil, "last_activity_at = ?, waiting_since = ?", at(2), at(2))
	a2 := deskTicket(t, app, tn.Shop.ID, "A2 mine tagged", tn.Agent, "last_activity_at = ?, waiting_since = ?", at(3), at(3))
	deskTicket(t, app, tn.Shop.ID, "P1 pending", tn.Manager, "last_activity_at = ?, status = 'pending'", at(4))
	deskTicket(t, app, tn.Shop.ID, "U2 unassigned", nil, "last_activity_at = ?, waiting_since = ?", at(5), at(5))
	deskTicket(t, app, tn.Shop.ID, "A3 mine closed", tn.Agent, "last_activity_at = ?, status = 'closed'", at(6))
	var tag int64
	if err := db.ExecReturning(context.Background(), `INSERT INTO tags (shop_id, name, created_at) VALUES (?, 'vip', 0) RETURNING id`, tn.Shop.ID).Scan(&tag); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), `INSERT INTO ticket_tags (shop_id, ticket_id, tag_id) VALUES (?, ?, ?)`, tn.Shop.ID, a2, tag); err != nil {
		t.Fatal(err)
	}

	listed := func(step string) []string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll("[data-inbox] .inbox-subject")).map(a => a.textContent)`))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return got
	}
	expect := func(step string, want ...string) {
		t.Helper()
		if got := listed(step); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: %v, want %v", step, got, want)
		}
	}
	// click follows a link of the inbox and waits for the page it leads
	// to: the page it leaves has an inbox too, so waiting for one is not
	// enough (a busy machine answers after the list was read).
	click := func(step, xpath string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.leaving = true`)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(xpath)); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			arrived, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!window.leaving && document.readyState === "complete" && !!document.querySelector(".inbox-layout")`))
			if err == nil && arrived {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the inbox the link leads to never came (%v)", step, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), tn.Agent.Email),
		chromedp.SendKeys(chromedp.ID("password"), testapp.Password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("aside.side")),
		chromedp.Navigate(app.URL+"/tickets"),
	)
	if err != nil {
		t.Fatal(err)
	}
	expect("all", "A1 mine newest", "U1 unassigned", "A2 mine tagged", "P1 pending", "U2 unassigned", "A3 mine closed")
	click("mine", `//nav[@class="inbox-nav"]//a[starts-with(normalize-space(.), "Mine")]`)
	expect("mine", "A1 mine newest", "A2 mine tagged", "A3 mine closed")
	click("mine, open", `//nav[@class="inbox-nav"]//a[starts-with(normalize-space(.), "Open")]`)
	expect("mine, open", "A1 mine newest", "A2 mine tagged")
	click("mine, open, vip", `//nav[@class="inbox-nav"]//a[normalize-space(.)="vip"]`)
	expect("mine, open, vip", "A2 mine tagged")
	click("unassigned", `//nav[@class="inbox-nav"]//a[starts-with(normalize-space(.), "Unassigned")]`)
	expect("unassigned, open, vip")
	click("any tag", `//nav[@class="inbox-nav"]//a[normalize-space(.)="Any tag"]`)
	expect("unassigned, open", "U1 unassigned", "U2 unassigned")
	click("pending", `//nav[@class="inbox-nav"]//a[starts-with(normalize-space(.), "Pending")]`)
	click("all", `//nav[@class="inbox-nav"]//a[starts-with(normalize-space(.), "All")]`)
	expect("all, pending", "P1 pending")
	click("waiting longest", `//a[normalize-space(.)="Waiting longest"]`)
	click("any status", `//nav[@class="inbox-nav"]//a[normalize-space(.)="Any status"]`)
	expect("all by waiting", "U2 unassigned", "A2 mine tagged", "U1 unassigned", "A1 mine newest", "P1 pending", "A3 mine closed")

	// Pages of two, through the page's own link.
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/tickets?limit=2")); err != nil {
		t.Fatal(err)
	}
	expect("page 1", "A1 mine newest", "U1 unassigned")
	click("page 2", `//a[normalize-space(.)="Next page"]`)
	expect("page 2", "A2 mine tagged", "P1 pending")
	click("page 3", `//a[normalize-space(.)="Next page"]`)
	expect("page 3", "U2 unassigned", "A3 mine closed")

	// j/k and Enter: the second row of the first page is opened.
	unread := func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('li.is-unread[data-ticket="%d"]').length`, a1)))
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/tickets"),
		chromedp.WaitVisible(chromedp.CSS("[data-inbox]")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !unread() {
		t.Fatal("A1 is not unread before it is opened")
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("j"), chromedp.KeyEvent("j"), chromedp.KeyEvent("k")); err != nil {
		t.Fatal(err)
	}
	selected, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("li.is-selected .inbox-subject").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r"), chromedp.WaitNotPresent(chromedp.CSS("[data-inbox]"))); err != nil {
		t.Fatal(err)
	}
	heading, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
	if err != nil {
		t.Fatal(err)
	}
	if selected != "A1 mine newest" || !strings.HasPrefix(heading, "A1 mine newest") {
		t.Errorf("j j k selected %q and Enter opened %q, want A1", selected, heading)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/tickets"), chromedp.WaitVisible(chromedp.CSS("[data-inbox]"))); err != nil {
		t.Fatal(err)
	}
	if unread() {
		t.Error("A1 still shows unread after it was opened")
	}

	// ? lists the shortcuts, the ticket view's included.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("?"), chromedp.WaitVisible(chromedp.ID("shortcuts"))); err != nil {
		t.Fatalf("? did not open the shortcuts: %v", err)
	}
	open, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("shortcuts").open`))
	if err != nil || !open {
		t.Fatalf("the shortcuts dialog is not open: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("shortcuts")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Next ticket", "Previous ticket", "Reply", "Internal note", "Close the ticket", "Assign", "Search tickets"} {
		if !strings.Contains(text, want) {
			t.Errorf("the shortcut list lacks %q", want)
		}
	}

	// 360 px wide: nothing scrolls sideways but the filter bar itself.
	err = chromedp.Do(ctx,
		chromedp.EmulateViewport(360, 740),
		chromedp.Navigate(app.URL+"/tickets"),
		chromedp.WaitVisible(chromedp.CSS("[data-inbox]")),
	)
	if err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 360 {
		t.Errorf("at 360 px the inbox is %d px wide", width)
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil && os.Getenv("HUBDESK_SCREENSHOTS") != "" {
		os.WriteFile(os.Getenv("HUBDESK_SCREENSHOTS")+"/inbox-360.png", png, 0o644)
	}
}
