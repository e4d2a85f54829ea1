package desk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/live"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// TestLiveTicketWorkInTheBrowser follows an agent's work: filter the
// inbox, open a ticket with the keyboard, insert a macro, reply, close it
// with e and take it with a; a shopper's message then appears in the open
// ticket, and activity on another ticket moves it to the top of the inbox
// — both without a reload. A second agent, in a browser context of their
// own, is named on the ticket as viewing it.
func TestLiveTicketWorkInTheBrowser(t *testing.T) {
	ctx := chromium(t)
	db := dbtest.Open(t, database.SQLite)
	app := testapp.New(t, db)
	tn := app.NewTenant("shopa")
	bg := context.Background()
	now := time.Now().UTC()
	at := func(minutes int) int64 { return now.Add(-time.Duration(minutes) * time.Minute).UnixMilli() }
	late := deskTicket(t, app, tn.Shop.ID, "Parcel late", nil, "last_activity_at = ?, waiting_since = ?", at(1), at(1))
	older := deskTicket(t, app, tn.Shop.ID, "Wrong size", nil, "last_activity_at = ?, waiting_since = ?", at(5), at(5))
	deskTicket(t, app, tn.Shop.ID, "Someone else's", tn.Manager, "last_activity_at = ?", at(2))
	if _, err := db.Exec(bg, `UPDATE users SET name = 'Ana' WHERE id = ?`, tn.Manager.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Server.Macros.Create(bg, tn.Manager, macro.Input{Name: "Label", Body: "Hello {{customer.first_name|there}}, your label is attached."}); err != nil {
		t.Fatal(err)
	}

	// until polls a JavaScript condition; the guard only stops a hang.
	until := func(ctx context.Context, step, cond string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 800) : ""`))
				val, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("reply-body") || {}).value || ""`))
				t.Fatalf("%s: %s never held (%v); reply box %q\n%s", step, cond, err, val, page)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	login := func(ctx context.Context, u *user.User) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Navigate(app.URL+"/login"),
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), u.Email),
			chromedp.SendKeys(chromedp.ID("password"), testapp.Password),
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.CSS("aside.side")),
		); err != nil {
			t.Fatal(err)
		}
	}
	login(ctx, tn.Agent)

	// Search: / focuses the box; the words find the one ticket.
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/tickets"), chromedp.WaitVisible(chromedp.CSS("[data-inbox]")),
		chromedp.KeyEvent("/")); err != nil {
		t.Fatal(err)
	}
	until(ctx, "/ focuses the search box", `document.activeElement && document.activeElement.id === "ticket-search"`)
	// DevTools sends the key's character apart from its keydown, so the
	// character lands in the box the keydown just focused (a real keyboard
	// does not: the handler cancels it); clear it before typing.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("ticket-search").value = ""`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("ticket-search"), "wrong siz\r"),
		chromedp.WaitVisible(chromedp.CSS("[data-inbox]"))); err != nil {
		t.Fatal(err)
	}
	until(ctx, "search results", `Array.from(document.querySelectorAll("[data-inbox] .inbox-subject")).map(a => a.textContent.trim()).join("|") === "Wrong size"`)
	if words, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("ticket-search").value + " " + location.search`)); err != nil || words != "wrong siz ?q=wrong+siz" {
		t.Errorf("the search box and address hold %q (%v), want the words typed", words, err)
	}

	// Filter to the unassigned, open the first with j and Enter.
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/tickets"), chromedp.WaitVisible(chromedp.CSS("[data-inbox]")),
		chromedp.Click(`//nav[@class="inbox-nav"]//a[starts-with(normalize-space(.), "Unassigned")]`),
		chromedp.WaitVisible(chromedp.CSS("[data-inbox]"))); err != nil {
		t.Fatal(err)
	}
	until(ctx, "unassigned view", `Array.from(document.querySelectorAll("[data-inbox] .inbox-subject")).map(a => a.textContent).join("|") === "Parcel late|Wrong size"`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("j"), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("[data-ticket-view]"))); err != nil {
		t.Fatal(err)
	}
	until(ctx, "open the ticket", fmt.Sprintf(`document.querySelector("[data-ticket-view]").dataset.ticketView === "%d"`, late))

	// r, a few words, a macro inserted after them; the Reply button sends
	// it.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("r")); err != nil {
		t.Fatal(err)
	}
	until(ctx, "r focuses the reply box", `document.activeElement && document.activeElement.id === "reply-body"`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("reply-body"), "Sorry for the wait. ")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const p = document.getElementById("macro-picker");
		p.value = p.options[1].value; p.dispatchEvent(new Event("change")); return true })()`)); err != nil {
		t.Fatal(err)
	}
	until(ctx, "the macro is inserted at the cursor", `/^Sorry for the wait\. Hello \S+, your label is attached\.$/.test(document.getElementById("reply-body").value)`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("send-reply")), chromedp.WaitVisible(chromedp.CSS("[data-ticket-view]"))); err != nil {
		t.Fatal(err)
	}
	until(ctx, "the reply is in the conversation", `document.getElementById("messages").innerText.includes("your label is attached")`)

	// e closes, a takes it. a pressed before the close has answered does
	// nothing (it would cancel the close); pressed on the page the close
	// answers with, it takes the ticket.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.beforeClose = true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("h1")), chromedp.KeyEvent("e"), chromedp.KeyEvent("a")); err != nil {
		t.Fatal(err)
	}
	until(ctx, "e closes the ticket", `!window.beforeClose && document.readyState === "complete" && document.getElementById("status").value === "closed" && !!document.getElementById("take-it")`)
	if err := chromedp.Do(ctx, chromedp.KeyEvent("a")); err != nil {
		t.Fatal(err)
	}
	until(ctx, "a takes the ticket", `!!document.getElementById("unassign-me")`)
	if tk, err := app.Server.Tickets.Get(bg, tn.Shop.ID, late); err != nil || tk.Status != "closed" || tk.AssigneeID != tn.Agent.ID {
		t.Fatalf("after e and a: %+v, %v", tk, err)
	}

	// Ana opens the same ticket in a browser of her own: the agent sees her.
	anaCtx, cancelAna := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancelAna()
	login(anaCtx, tn.Manager)
	if err := chromedp.Do(anaCtx, chromedp.Navigate(fmt.Sprintf("%s/tickets/%d", app.URL, late)), chromedp.WaitVisible(chromedp.CSS("[data-ticket-view]"))); err != nil {
		t.Fatal(err)
	}
	until(ctx, "the agent sees Ana", `document.getElementById("presence").innerText.includes("Ana is viewing")`)
	until(anaCtx, "Ana sees the agent", fmt.Sprintf(`document.getElementById("presence").innerText.includes(%q)`, tn.Agent.Email+" is viewing"))
	if got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("presence").innerText`)); strings.Contains(got, tn.Agent.Email) {
		t.Errorf("the agent sees themself: %q", got)
	}

	// The shopper writes: the open ticket shows it without a reload, the
	// agent's draft stays.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true; document.getElementById("reply-body").value = "half a draft"; true`)); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Server.Helpdesk.CustomerMessage(bg, tn.Shop.ID, late, helpdesk.Sender{Email: "parcellate@example.com"}, "Thanks, it arrived!"); err != nil {
		t.Fatal(err)
	}
	until(ctx, "the shopper's message arrives live", `document.getElementById("messages").innerText.includes("Thanks, it arrived!")`)
	until(ctx, "the reopened status arrives live", `document.getElementById("status").value === "open"`)
	if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true && document.getElementById("reply-body").value === "half a draft"`)); !ok {
		t.Error("the page reloaded or the draft was lost")
	}

	// In the inbox, new activity on the older ticket moves it to the top.
	if err := chromedp.Do(ctx, chromedp.Navigate(app.URL+"/tickets"), chromedp.WaitVisible(chromedp.CSS("[data-inbox]"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	until(ctx, "the inbox before", `document.querySelector("[data-inbox] .inbox-subject").textContent === "Parcel late"`)
	if _, err := app.Server.Helpdesk.CustomerMessage(bg, tn.Shop.ID, older, helpdesk.Sender{Email: "wrongsize@example.com"}, "Still waiting"); err != nil {
		t.Fatal(err)
	}
	until(ctx, "the ticket moves to the top live", `window.notReloaded === true && document.querySelector("[data-inbox] .inbox-subject").textContent === "Wrong size"`)
}

// A return changes after the ticket page was written but before its
// event stream connected (a webhook landing as the agent opens the
// ticket): the stream, told when the page was written, sends the change
// first, and the card shows it without a reload. The page's EventSource
// is held back here until the change is published.
func TestReturnsChangeBeforeTheStreamConnectsInTheBrowser(t *testing.T) {
	ctx := chromium(t)
	db := dbtest.Open(t, database.SQLite)
	app := testapp.New(t, db)
	tn := app.NewTenant("shopa")
	bg := context.Background()
	o := app.Order(tn, "5004101", "riley@example.com")
	put := func(state returns.ReturnState, at time.Time) {
		t.Helper()
		if _, err := app.Server.Returns.Upsert(bg, tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "48214101",
			OrderName: o.Name, OrderExternalID: o.ExternalID, State: state, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	put(returns.StateOpen, time.Now().Add(-time.Hour))
	tk, err := app.Server.Tickets.Create(bg, tn.Shop.ID, ticket.NewTicket{CustomerID: o.CustomerID, OrderID: o.ID,
		RequesterEmail: o.Email, Subject: "My return", Channel: ticket.ChannelHub, Body: "Is it on its way?"})
	if err != nil {
		t.Fatal(err)
	}

	// Every page's EventSource waits for window.connectLive().
	hold := `(() => { const Real = window.EventSource; if (!Real) return;
		window.EventSource = function (url) {
			const listeners = [];
			const held = {addEventListener: (type, f) => listeners.push([type, f]), close: () => { if (held.real) held.real.close(); }};
			window.connectLive = () => { held.real = new Real(url); listeners.forEach(([type, f]) => held.real.addEventListener(type, f)); return true; };
			return held;
		}; })()`
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: hold})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	until := func(step, cond string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				side, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("ticket-side") || document.body).innerText.slice(0, 800)`))
				t.Fatalf("%s: %s never held (%v)\n%s", step, cond, err, side)
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
		chromedp.Navigate(fmt.Sprintf("%s/tickets/%d", app.URL, tk.ID)),
		chromedp.WaitVisible(chromedp.CSS("[data-ticket-view]")),
	); err != nil {
		t.Fatal(err)
	}
	until("the open return", `!!document.querySelector("#ticket-side .badge--return-open") && typeof window.connectLive === "function"`)

	// Loop closes the return; the change is stored and published while
	// the page has no stream yet.
	put(returns.StateClosed, time.Now())
	app.Server.Live.Publish(bg, live.ReturnsEvent(tn.Shop.ID, []int64{o.ID}))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded = true; window.connectLive()`)); err != nil {
		t.Fatal(err)
	}
	until("the closed return, live", `window.notReloaded === true && !!document.querySelector("#ticket-side .badge--return-closed") &&
		!document.querySelector("#ticket-side .badge--return-open")`)
}
