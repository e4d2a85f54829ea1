package e2e

import (
	"context"
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core 4.14.1 (npm axe-core@4.14.1, axe.min.js,
// sha256 29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c),
// Mozilla Public License 2.0 (testdata/axe-core/LICENSE). It is vendored
// so that the audit is the same on every machine and needs no network.
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// axeViolation is what the audit reports of one failed rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// axeRun is the audit of the open page: every rule axe-core has (WCAG
// 2.0–2.2 A and AA and its best practices), reduced to the violations.
// Nothing is preloaded: axe would fetch the stylesheets again, and the
// hub's, on hubdesk's origin inside the storefront's page, is not for
// cross-origin scripts to read.
const axeRun = `axe.run(document, {resultTypes: ["violations"], preload: false}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help,
	nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 200), summary: n.failureSummary || ""}))
})))`

// AuditAccessibility runs axe-core on the page the browser shows and fails
// the test on each serious or critical violation, naming the rule, the
// elements and what is wrong with them; lesser ones are logged.
func AuditAccessibility(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	if !loaded {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			t.Fatalf("%s: inject axe-core: %v", page, err)
		}
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: run axe-core: %v", page, err)
	}
	for _, v := range violations {
		var b strings.Builder
		fmt.Fprintf(&b, "%s: axe %s (%s): %s", page, v.ID, v.Impact, v.Help)
		for _, n := range v.Nodes {
			fmt.Fprintf(&b, "\n    %s  %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(b.String())
		} else {
			t.Log(b.String())
		}
	}
}

// auditedPage is one page of the desk or the hub, opened as the person
// who uses it.
type auditedPage struct {
	name string
	// as is who opens it: "owner", "agent" or "shopper" (through the
	// storefront's App Proxy).
	as   string
	path func(ids auditIDs) string
	// ready is a CSS selector that is on the page once it is drawn.
	ready string
}

// auditIDs are the demo's records the pages are opened for.
type auditIDs struct {
	customerID, orderID, inTransitID int64
	ticketPath, conversationPath     string
	macroPath                        string
}

func fixed(path string) func(auditIDs) string { return func(auditIDs) string { return path } }

var auditedPages = []auditedPage{
	{"login", "", fixed("/login"), "form"},
	{"forgot password", "", fixed("/forgot-password"), "form"},
	{"inbox", "agent", fixed("/"), "main h1"},
	{"tickets", "agent", fixed("/tickets?status=closed"), "main h1"},
	{"ticket", "agent", func(ids auditIDs) string { return ids.ticketPath }, "#ticket-side .card"},
	{"new ticket", "agent", func(ids auditIDs) string { return fmt.Sprintf("/tickets/new?order=%d", ids.orderID) }, "#body"},
	{"customers", "agent", fixed("/customers"), "main table"},
	{"customers sorted by name", "agent", fixed("/customers?sort=name"), "main table"},
	{"customer", "agent", func(ids auditIDs) string { return fmt.Sprintf("/customers/%d", ids.customerID) }, "main table"},
	{"orders", "agent", fixed("/orders"), "main table"},
	{"order delivered", "agent", func(ids auditIDs) string { return fmt.Sprintf("/orders/%d", ids.orderID) }, "main h1"},
	{"order in transit", "agent", func(ids auditIDs) string { return fmt.Sprintf("/orders/%d", ids.inTransitID) }, "main h1"},
	{"notifications", "agent", fixed("/notifications"), "main h1"},
	{"api tokens", "agent", fixed("/account/tokens"), "main h1"},
	{"email notifications", "agent", fixed("/account/notifications"), "main h1"},
	{"demo mailbox", "agent", fixed("/demo/mailbox"), "main h1"},
	{"spam", "owner", fixed("/tickets/spam"), "main h1"},
	{"returns needing an order", "owner", fixed("/returns/unlinked"), "main h1"},
	{"settings general", "owner", fixed("/settings/general"), "main form"},
	{"settings returns", "owner", fixed("/settings/returns"), "main form"},
	{"settings staff", "owner", fixed("/settings/staff"), "main h1"},
	{"settings mail", "owner", fixed("/settings/mail"), "main h1"},
	{"settings mail webhook", "owner", fixed("/settings/mail-webhook"), "main h1"},
	{"settings privacy", "owner", fixed("/settings/privacy"), "main h1"},
	{"settings shopify", "owner", fixed("/settings/shopify"), "main h1"},
	{"settings shopify backfill", "owner", fixed("/settings/shopify/backfill"), "main h1"},
	{"settings jobs", "owner", fixed("/settings/jobs"), "main h1"},
	{"settings macros", "owner", fixed("/settings/macros"), "main h1"},
	{"settings macro", "owner", func(ids auditIDs) string { return ids.macroPath }, "main form"},
	{"audit log", "owner", fixed("/audit"), "main h1"},
	{"reports", "owner", fixed("/reports"), "main h1"},
	{"hub preview", "owner", func(ids auditIDs) string { return fmt.Sprintf("/settings/hub-preview?customer=%d", ids.customerID) }, "main h1"},
	{"hub preview guest lookup", "owner", fixed("/settings/hub-preview/guest"), "main h1"},
	{"hub preview guest order", "owner", func(ids auditIDs) string {
		return fmt.Sprintf("/settings/hub-preview/guest/order?order=%d", ids.orderID)
	}, "main h1"},
	{"hub orders", "shopper", fixed("/apps/hub"), "main h1"},
	{"hub account", "shopper", fixed("/apps/hub/account"), "main h1"},
	{"hub guest lookup", "shopper", fixed("/apps/hub/guest"), "main h1"},
	{"hub order delivered", "shopper", func(ids auditIDs) string { return fmt.Sprintf("/apps/hub/orders/%d", ids.orderID) }, "main h1"},
	{"hub order in transit", "shopper", func(ids auditIDs) string { return fmt.Sprintf("/apps/hub/orders/%d", ids.inTransitID) }, "main h1"},
	{"hub messages", "shopper", fixed("/apps/hub/messages"), "main h1"},
	{"hub conversation", "shopper", func(ids auditIDs) string { return ids.conversationPath }, "main h1"},
}

// auditBrowsers are a signed-in browser per person, and the demo's
// records the pages are opened for.
type auditBrowsers struct {
	demo *Demo
	as   map[string]context.Context
	ids  auditIDs
}

func openAuditBrowsers(t *testing.T, demo *Demo) *auditBrowsers {
	t.Helper()
	orders := shopperOrders(t, demo)
	customerID, orderID, _ := newestDeliveredOrder(t, demo)
	b := &auditBrowsers{demo: demo, as: map[string]context.Context{}, ids: auditIDs{
		customerID: customerID, orderID: orderID, inTransitID: newestWithStatus(t, orders, "in_transit").ID,
		ticketPath: strings.TrimPrefix(demo.ReturnsTicketURL, demo.BaseURL),
	}}
	b.as[""] = NewBrowserFor(t, 10*time.Minute)
	for _, who := range []string{"owner", "agent"} {
		ctx := NewBrowserFor(t, 10*time.Minute)
		LoginAs(t, ctx, demo.BaseURL, who+"@demo.hubdesk.dev", "demo")
		b.as[who] = ctx
	}
	shopper := NewBrowserFor(t, 10*time.Minute)
	openHub(t, shopper, demo, "")
	b.as["shopper"] = shopper
	b.ids.macroPath = firstLink(t, b.as["owner"], demo.BaseURL+"/settings/macros", `^/settings/macros/[0-9]+$`)
	b.ids.conversationPath = firstLink(t, shopper, demo.StorefrontURL+"/apps/hub/messages", `^/apps/hub/messages/[0-9]+`)
	return b
}

// firstLink opens a list page and returns the path of its first link
// whose path matches pattern.
func firstLink(t *testing.T, ctx context.Context, list, pattern string) string {
	t.Helper()
	do(t, ctx, chromedp.Navigate(list), chromedp.WaitVisible(chromedp.CSS("main h1")))
	path, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(Array.from(document.querySelectorAll("main a[href]")).map(a => new URL(a.href).pathname).find(p => new RegExp(%q).test(p)) || "")`, pattern)))
	if err != nil || path == "" {
		t.Fatalf("%s has no link matching %s (%v)", list, pattern, err)
	}
	return path
}

// open shows the page in its person's browser and waits until it is drawn.
func (b *auditBrowsers) open(t *testing.T, p auditedPage) context.Context {
	t.Helper()
	ctx := b.as[p.as]
	base := b.demo.BaseURL
	if p.as == "shopper" {
		base = b.demo.StorefrontURL
	}
	if err := chromedp.Do(step(t, ctx), chromedp.Navigate(base+p.path(b.ids)), chromedp.WaitVisible(chromedp.CSS(p.ready))); err != nil {
		t.Fatalf("open %s%s: %v", base, p.path(b.ids), err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); regexp.MustCompile(`/login(\?|$)`).MatchString(loc) && p.as != "" {
		t.Fatalf("%s sent %s to %s", p.path(b.ids), p.as, loc)
	}
	return ctx
}

// Every page of the desk and the hub passes axe-core's audit with no
// serious or critical violation, each opened by the person who uses it.
func TestEveryPagePassesTheAccessibilityAudit(t *testing.T) {
	demo := StartDemo(t)
	b := openAuditBrowsers(t, demo)
	for _, p := range auditedPages {
		t.Run(p.name, func(t *testing.T) {
			ctx := b.open(t, p)
			AuditAccessibility(t, ctx, p.name)
		})
	}
}

// On a 360 px phone every page of the desk and the hub fits the screen's
// width, and its first link skips to the content.
func TestEveryPageFitsAPhone(t *testing.T) {
	demo := StartDemo(t)
	b := openAuditBrowsers(t, demo)
	for _, ctx := range b.as {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateMobile)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range auditedPages {
		t.Run(p.name, func(t *testing.T) {
			ctx := b.open(t, p)
			wide, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
				const vw = document.documentElement.clientWidth;
				if (document.documentElement.scrollWidth <= vw) return [];
				return Array.from(document.querySelectorAll("body *")).filter(e => {
					const r = e.getBoundingClientRect();
					return r.width > 0 && r.right > vw + 1 && !e.closest("dialog:not([open])");
				}).slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "") + " right=" + Math.round(e.getBoundingClientRect().right));
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			if len(wide) > 0 {
				t.Errorf("%s is wider than a 360 px screen; the widest parts: %s", p.name, strings.Join(wide, ", "))
			}
			Screenshot(t, ctx, "phone-"+strings.ReplaceAll(p.name, " ", "-"))
			skip, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
				const a = document.querySelector("body a[href], body button");
				if (!a) return ["", ""];
				const target = a.getAttribute("href") || "";
				return [a.textContent.trim(), target.startsWith("#") && document.getElementById(target.slice(1)) ? target : "(no target) " + target];
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			if p.as != "shopper" && (len(skip) != 2 || skip[0] != "Skip to content" || skip[1] != "#main") {
				t.Errorf("the first link of %s is %q, want Skip to content leading to #main", p.name, skip)
			}
		})
	}
}
