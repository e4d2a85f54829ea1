package hub_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/osteele/liquid"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/hub"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// Liquid a hostile shopper or a hostile store record may try to smuggle
// into a page Shopify renders as Liquid: outputs, tags, a raw block's end
// (which would break out of a {% raw %} wrapper), whitespace control.
const (
	liquidOutput  = `{{ shop.secret }}`
	liquidAssign  = `{% assign pwned = "PWN" | append: "ED" %}{{ pwned }}`
	liquidEndRaw  = `{% endraw %}{{ shop.secret }}{% raw %}`
	liquidTrimmed = `{{- shop.secret -}}{%- if true -%}IF-{{ "RAN" }}{%- endif -%}`
)

// liquidVars is what Shopify's Liquid would have in scope: anything that
// reaches the output from here was evaluated.
var liquidVars = map[string]any{"shop": map[string]any{"secret": "LEAKED-SECRET", "name": "Acme"}}

// renderLiquid renders body as Shopify would an application/liquid App
// Proxy answer.
func renderLiquid(t *testing.T, body string) string {
	t.Helper()
	out, err := liquid.NewEngine().ParseAndRenderString(body, liquidVars)
	if err != nil {
		t.Fatalf("the page is not valid Liquid: %v\n%s", err, body)
	}
	return out
}

// TestHubInsideThemeEvaluatesNoLiquid: through a signed App Proxy request
// the hub's pages answer application/liquid (the General setting is on by
// default), and whatever the request or the stored data carried, a real
// Liquid engine evaluates nothing in them: its output is the page itself,
// and the hostile text reads as text.
func TestHubInsideThemeEvaluatesNoLiquid(t *testing.T) {
	// The engine does evaluate these as they are, so a page that let one
	// through would fail below.
	if out := renderLiquid(t, liquidOutput+liquidAssign+liquidTrimmed); !strings.Contains(out, "LEAKED-SECRET") || !strings.Contains(out, "PWNED") || !strings.Contains(out, "IF-RAN") {
		t.Fatalf("the Liquid engine evaluated nothing: %q", out)
	}
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		now := f.now
		// A shopper whose name, order and products carry Liquid.
		eve := &commerce.Customer{ExternalID: "3003", Email: "eve@example.com", FirstName: liquidOutput, LastName: liquidAssign, UpdatedAt: now}
		o := f.app.Ingest(f.acme.Shop.ID, commerce.Order{ExternalID: "liquid", Name: "#" + liquidTrimmed, Email: eve.Email, FinancialStatus: "paid",
			Currency: "EUR", TotalMinor: 1000, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour),
			ShippingAddress: commerce.Address{Name: liquidEndRaw, Address1: liquidOutput, City: "Berlin", Zip: "10119", CountryCode: "DE"},
			LineItems:       []commerce.LineItem{{ExternalID: "liquid-1", Title: liquidEndRaw, VariantTitle: liquidAssign, Quantity: 1, CurrentQuantity: 1, PriceMinor: 1000}},
		}, eve)
		// Her message to the shop, shown back on her Messages tab.
		hostileQuery := url.Values{"page": {liquidOutput}, "q": {liquidAssign}, "locale": {liquidTrimmed}, "x": {liquidEndRaw}}
		post := f.do(http.MethodPost, f.proxyURL("/hub/orders/"+id(o)+"/contact", proxyReq{customer: "3003"}),
			url.Values{"message": {"Hello " + liquidOutput + " " + liquidAssign + " " + liquidEndRaw}})
		if post.status != http.StatusSeeOther {
			t.Fatalf("contact: %d\n%s", post.status, post.body)
		}
		tickets := f.shopperTickets(o.CustomerID)
		if len(tickets) != 1 {
			t.Fatalf("%d tickets", len(tickets))
		}
		for _, page := range []string{"/hub", "/hub/orders/" + id(o), "/hub/messages", "/hub/messages/" + itoa(tickets[0].ID), "/hub/orders/999999"} {
			res := f.get(f.proxyURL(page, proxyReq{customer: "3003", query: hostileQuery}))
			if ct := res.header.Get("Content-Type"); ct != "application/liquid" {
				t.Fatalf("%s: Content-Type %q, want application/liquid", page, ct)
			}
			if strings.Contains(res.body, "<html") || strings.Contains(res.body, "<body") {
				t.Errorf("%s: a page inside the theme brings its own document", page)
			}
			out := renderLiquid(t, res.body)
			if out != res.body {
				t.Errorf("%s: Liquid changed the page, so it evaluated something", page)
			}
			mustNotContain(t, out, "LEAKED-SECRET", "PWNED", "IF-RAN", "{{", "{%")
			if t.Failed() {
				t.Fatalf("%s:\n%s", page, out)
			}
			// What the browser shows is the text as it was written.
			if page == "/hub/orders/"+id(o) {
				shown := html.UnescapeString(out)
				mustContain(t, shown, liquidEndRaw, liquidAssign, "#"+liquidTrimmed, liquidOutput)
			}
		}
		mustContain(t, html.UnescapeString(f.get(f.proxyURL("/hub/messages/"+itoa(tickets[0].ID), proxyReq{customer: "3003"})).body),
			"Hello "+liquidOutput+" "+liquidAssign+" "+liquidEndRaw)
		// The login prompt (nobody logged in) and the hub switched off
		// answer inside the theme too, equally inert.
		for _, res := range []response{f.get(f.proxyURL("/hub", proxyReq{query: hostileQuery}))} {
			if res.header.Get("Content-Type") != "application/liquid" || renderLiquid(t, res.body) != res.body {
				t.Errorf("login prompt: %q\n%s", res.header.Get("Content-Type"), res.body)
			}
		}
	})
}

// TestHubThemeSettingAndStandalonePages: the setting switches the
// App Proxy answer between Liquid and a page of its own; a shopper token,
// the admin preview and the storefront drawer always get HTML, with the
// shop's name linking back to the store and a Back to store link.
func TestHubThemeSettingAndStandalonePages(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	storeLinks := []string{`<a class="shop" href="https://acme.myshopify.com/">acme</a>`, `<a class="back" href="https://acme.myshopify.com/">Back to store</a>`}

	// On by default: Liquid, the hub's assets by absolute URL, no header
	// of its own with the shop's name (the theme has one).
	res := f.get(f.adaURL("/hub"))
	if res.header.Get("Content-Type") != "application/liquid" {
		t.Fatalf("default: Content-Type %q", res.header.Get("Content-Type"))
	}
	mustContain(t, res.body, `<div class="hubdesk hubdesk-theme" lang="en">`, `<link rel="stylesheet" href="`+f.app.URL+"/static/hub.", "Hello Ada")
	mustNotContain(t, res.body, `class="storebar"`, "Back to store")

	// The storefront drawer: the hub's own page, links keep it there.
	res = f.get(f.proxyURL("/hub", proxyReq{customer: "1001", query: url.Values{"view": {"drawer"}}}))
	if !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Errorf("drawer: Content-Type %q", res.header.Get("Content-Type"))
	}
	mustContain(t, res.body, `<html lang="en">`, `href="/apps/hub/orders/`+id(f.orders["#1001"])+`?view=drawer"`)

	// A shopper token (headless): HTML, with the store's header.
	tok := hub.SignTokenForTest(f.acme.Shop.ID, f.ada.ID, time.Now().Add(time.Hour), time.Now(), acmeSecret)
	res = f.get("/hub?token=" + url.QueryEscape(tok))
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("token: %d %q", res.status, res.header.Get("Content-Type"))
	}
	mustContain(t, res.body, storeLinks...)

	// The preview: HTML with the store's header.
	manager := f.app.LoginAs(f.acme.Manager)
	status, body, hdr := f.app.Do(manager, http.MethodGet, "/settings/hub-preview?customer="+itoa(f.ada.ID), "", "")
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("preview: %d %q", status, hdr.Get("Content-Type"))
	}
	mustContain(t, body, storeLinks...)

	// Switched off: the App Proxy answer is a page of its own, linking
	// back to the store on the storefront itself.
	cfg := returns.DefaultConfig()
	cfg.General.InTheme = false
	f.configure(f.acme, cfg)
	res = f.get(f.adaURL("/hub"))
	if !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
		t.Fatalf("setting off: Content-Type %q", res.header.Get("Content-Type"))
	}
	mustContain(t, res.body, `<html lang="en">`, `<a class="shop" href="/">acme</a>`, `<a class="back" href="/">Back to store</a>`)
}
