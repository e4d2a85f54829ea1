package hub_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// TestProxySignature walks the whole request path with requests Shopify
// would and would not send. Every refusal is the same 401 and shows
// nothing of the shop or the shopper.
func TestProxySignature(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		now := time.Now()
		valid := f.adaURL("/hub")
		tamper := func(raw string, edit func(q url.Values)) string {
			path, query, _ := strings.Cut(raw, "?")
			q, _ := url.ParseQuery(query)
			edit(q)
			return path + "?" + q.Encode()
		}
		repeatedSigned := f.proxyURL("/hub", proxyReq{customer: "1001", query: url.Values{"locale": {"en"}, "x": {"1", "2"}}})
		cases := []struct {
			name   string
			url    string
			status int
		}{
			{"valid", valid, http.StatusOK},
			{"valid with a repeated key, signed as Shopify joins it", repeatedSigned, http.StatusOK},
			{"tampered customer id", tamper(valid, func(q url.Values) { q.Set("logged_in_customer_id", "2002") }), http.StatusUnauthorized},
			{"customer id removed", tamper(valid, func(q url.Values) { q.Set("logged_in_customer_id", "") }), http.StatusUnauthorized},
			{"tampered extra parameter", tamper(valid, func(q url.Values) { q.Set("cursor", "abc") }), http.StatusUnauthorized},
			{"tampered path prefix", tamper(valid, func(q url.Values) { q.Set("path_prefix", "/apps/evil") }), http.StatusUnauthorized},
			{"repeated key added after signing", tamper(valid, func(q url.Values) { q.Add("logged_in_customer_id", "2002") }), http.StatusUnauthorized},
			{"repeated key split differently", tamper(repeatedSigned, func(q url.Values) { q["x"] = []string{"1,2"} }), http.StatusOK},
			{"repeated key reordered", tamper(repeatedSigned, func(q url.Values) { q["x"] = []string{"2", "1"} }), http.StatusUnauthorized},
			{"stale timestamp", f.proxyURL("/hub", proxyReq{customer: "1001", at: now.Add(-shopify.ProxyMaxSkew - 5*time.Second)}), http.StatusUnauthorized},
			{"future timestamp", f.proxyURL("/hub", proxyReq{customer: "1001", at: now.Add(shopify.ProxyMaxSkew + 5*time.Second)}), http.StatusUnauthorized},
			{"missing signature", tamper(valid, func(q url.Values) { q.Del("signature") }), http.StatusUnauthorized},
			{"empty signature", tamper(valid, func(q url.Values) { q.Set("signature", "") }), http.StatusUnauthorized},
			{"signature not hex", tamper(valid, func(q url.Values) { q.Set("signature", "zz") }), http.StatusUnauthorized},
			{"wrong shop secret", f.proxyURL("/hub", proxyReq{customer: "1001", secret: "not-the-secret"}), http.StatusUnauthorized},
			{"another shop's secret", f.proxyURL("/hub", proxyReq{customer: "1001", secret: otherSecret}), http.StatusUnauthorized},
			{"unknown shop", f.proxyURL("/hub", proxyReq{shop: "nobody.myshopify.com", customer: "1001"}), http.StatusUnauthorized},
			{"shop swapped after signing", tamper(valid, func(q url.Values) { q.Set("shop", otherDomain) }), http.StatusUnauthorized},
			{"no parameters at all", "/hub", http.StatusUnauthorized},
			{"unsafe path prefix", f.proxyURL("/hub", proxyReq{customer: "1001", prefix: "//evil.example"}), http.StatusUnauthorized},
			{"order page, tampered", tamper(f.adaURL("/hub/orders/"+id(f.orders["#1001"])), func(q url.Values) { q.Set("timestamp", "1") }), http.StatusUnauthorized},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				res := f.get(c.url)
				if res.status != c.status {
					t.Fatalf("status %d, want %d\n%s", res.status, c.status, res.body)
				}
				if c.status == http.StatusUnauthorized {
					mustNotContain(t, res.body, "Ada", "Olga", "#1001", "#9001", "acme", "other", "Merino")
					if res.header.Get("WWW-Authenticate") == "" {
						t.Error("a 401 without WWW-Authenticate")
					}
				} else {
					mustContain(t, res.body, "Hello Ada", "#1001")
				}
			})
		}
	})
}

// TestLoggedOut: the App Proxy sends an empty customer id when nobody is
// logged in; the hub asks them to log in on the store.
func TestLoggedOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Open(t, database.SQLite))
	res := f.get(f.proxyURL("/hub", proxyReq{customer: ""}))
	if res.status != http.StatusOK {
		t.Fatalf("status %d", res.status)
	}
	mustContain(t, res.body, "Log in to see your orders</a>", `href="/account/login?return_url=%2Fapps%2Fhub"`, `target="_top"`)
	mustNotContain(t, res.body, "#1001", "Ada")
	// Every hub route behaves the same; a POST is refused.
	res = f.get(f.proxyURL("/hub/orders/"+id(f.orders["#1001"]), proxyReq{customer: ""}))
	mustContain(t, res.body, "Log in to see your orders")
	mustNotContain(t, res.body, "#1001")
	res = f.do(http.MethodPost, f.proxyURL("/hub/orders/"+id(f.orders["#1001"])+"/return", proxyReq{customer: ""}), url.Values{})
	if res.status != http.StatusUnauthorized {
		t.Errorf("POST without a customer: %d", res.status)
	}
}

// TestOnlyOwnOrders: editing the order id in the URL reaches nothing that
// is not the shopper's — not another shopper's order, not another shop's.
func TestOnlyOwnOrders(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.useLoop(f.acme)
		bobs := id(f.orders["#2001"]) // delivered, returnable — for Bob
		olgas := id(f.orders["#9001"])
		for _, target := range []string{bobs, olgas, "999999", "abc", "-1"} {
			res := f.get(f.adaURL("/hub/orders/" + target))
			if res.status != http.StatusNotFound {
				t.Errorf("Ada reads order %s: %d", target, res.status)
			}
			mustNotContain(t, res.body, "#2001", "#9001", "Bob", "Olga")
			for _, action := range []string{"/return", "/contact"} {
				res := f.do(http.MethodPost, f.adaURL("/hub/orders/"+target+action), url.Values{"message": {"hi"}})
				if res.status != http.StatusNotFound {
					t.Errorf("Ada posts %s on order %s: %d", action, target, res.status)
				}
			}
		}
		// Same customer id in another shop: Olga, not Ada.
		res := f.get(f.proxyURL("/hub", proxyReq{shop: otherDomain, secret: otherSecret, customer: "1001"}))
		mustContain(t, res.body, "Hello Olga", "#9001")
		mustNotContain(t, res.body, "#1001", "Ada")
		// The orders tab lists Ada's orders only, newest first.
		res = f.get(f.adaURL("/hub"))
		mustNotContain(t, res.body, "#2001", "#9001")
		order := []string{"#1002", "#1001", "#1003", "#1004", "#1005"}
		last := -1
		for _, name := range order {
			i := strings.Index(res.body, ">"+name+"<")
			if i < 0 {
				t.Errorf("%s is missing from the orders tab", name)
			}
			if i < last {
				t.Errorf("%s is out of order (newest first)", name)
			}
			last = i
		}
		if tickets, _, _ := f.app.Server.Tickets.List(t.Context(), f.acme.Shop.ID, ticket.Filter{}, database.Page{}); len(tickets) != 0 {
			t.Errorf("a forged contact opened %d tickets", len(tickets))
		}
	})
}

// TestCrossSitePost: the CSRF check lets proxied posts through (their
// Origin is the storefront); the hub refuses what the browser marks
// cross-site.
func TestCrossSitePost(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Open(t, database.SQLite))
	path := "/hub/orders/" + id(f.orders["#1002"]) + "/contact"
	res := f.do(http.MethodPost, f.adaURL(path), url.Values{"message": {"Where is it?"}}, "Origin", "https://acme.myshopify.com", "Sec-Fetch-Site", "same-origin")
	if res.status != http.StatusSeeOther {
		t.Fatalf("proxied contact post: %d\n%s", res.status, res.body)
	}
	res = f.do(http.MethodPost, f.adaURL(path), url.Values{"message": {"spam"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if res.status != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", res.status)
	}
}

// TestForeignOriginPost: a browser that sends no Sec-Fetch-Site (older
// ones) still sends Origin; a signed post from a foreign one is refused
// with 403 and creates nothing, while the same post from the shop's custom
// storefront domain (General settings) goes through.
func TestForeignOriginPost(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.useLoop(f.acme)
		if _, err := f.app.Server.Settings.Update(t.Context(), f.acme.Shop.ID, audit.Actor{Kind: audit.ActorSystem, Label: "test"}, func(c *returns.Config) error {
			c.General.StorefrontDomains = []string{"shop.acme.example"}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		contact := "/hub/orders/" + id(f.orders["#1002"]) + "/contact"
		start := "/hub/orders/" + id(f.orders["#1001"]) + "/return"
		tickets := func() int {
			list, _, err := f.app.Server.Tickets.List(t.Context(), f.acme.Shop.ID, ticket.Filter{}, database.Page{})
			if err != nil {
				t.Fatal(err)
			}
			return len(list)
		}
		returnLinks := func() int {
			entries, _, err := f.app.Server.Audit.List(t.Context(), f.acme.Shop.ID, audit.Filter{Action: audit.ActionReturnLink}, database.Page{Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			return len(entries)
		}

		for _, origin := range []string{"https://evil.example", "null", "http://shop.acme.example"} {
			res := f.do(http.MethodPost, f.adaURL(contact), url.Values{"message": {"spam"}}, "Origin", origin)
			if res.status != http.StatusForbidden {
				t.Fatalf("contact from %s: %d\n%s", origin, res.status, res.body)
			}
			mustNotContain(t, res.body, "Ada", "#1002", "acme")
			res = f.do(http.MethodPost, f.adaURL(start), url.Values{}, "Origin", origin)
			if res.status != http.StatusForbidden || res.header.Get("Location") != "" {
				t.Fatalf("start a return from %s: %d, Location %q", origin, res.status, res.header.Get("Location"))
			}
		}
		if n := tickets(); n != 0 {
			t.Fatalf("foreign posts opened %d tickets", n)
		}
		if n := returnLinks(); n != 0 {
			t.Fatalf("foreign posts made %d return links", n)
		}

		res := f.do(http.MethodPost, f.adaURL(contact), url.Values{"message": {"Where is it?"}}, "Origin", "https://shop.acme.example")
		if res.status != http.StatusSeeOther {
			t.Fatalf("contact from the custom domain: %d\n%s", res.status, res.body)
		}
		res = f.do(http.MethodPost, f.adaURL(start), url.Values{}, "Origin", "https://shop.acme.example")
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), f.loopURL) {
			t.Fatalf("start a return from the custom domain: %d, Location %q\n%s", res.status, res.header.Get("Location"), res.body)
		}
		if n := tickets(); n != 1 {
			t.Fatalf("%d tickets after the storefront's post, want 1", n)
		}
		if n := returnLinks(); n != 1 {
			t.Fatalf("%d return links after the storefront's post, want 1", n)
		}
		// The custom domain is this shop's only: the other shop refuses it.
		res = f.do(http.MethodPost, f.proxyURL("/hub/orders/"+id(f.orders["#9001"])+"/contact", proxyReq{shop: otherDomain, secret: otherSecret, customer: "1001"}),
			url.Values{"message": {"hi"}}, "Origin", "https://shop.acme.example")
		if res.status != http.StatusForbidden {
			t.Fatalf("another shop's post from acme's domain: %d", res.status)
		}
	})
}

// TestSecretRotation: the hub remembers shops' secrets, yet a rotated
// secret works at once and the old one stops working.
func TestSecretRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, dbtest.Open(t, database.SQLite))
	if res := f.get(f.adaURL("/hub")); res.status != http.StatusOK {
		t.Fatalf("before: %d", res.status)
	}
	if err := f.app.Server.Shops.SetClientSecret(t.Context(), f.acme.Shop.ID, "rotated-secret"); err != nil {
		t.Fatal(err)
	}
	if res := f.get(f.proxyURL("/hub", proxyReq{customer: "1001", secret: "rotated-secret"})); res.status != http.StatusOK {
		t.Errorf("new secret: %d", res.status)
	}
	if res := f.get(f.adaURL("/hub")); res.status != http.StatusUnauthorized {
		t.Errorf("old secret: %d", res.status)
	}
}
