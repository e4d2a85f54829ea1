package hub_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/guest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// guestFixture is the hub fixture with mail going to a real SMTP server on
// loopback and the job queue worked.
func guestFixture(t *testing.T, db *database.DB) (*fixture, *mailtest.Server) {
	relay := mailtest.Start(t)
	f := newFixture(t, db, testapp.WithMail(relay.URL()))
	jobstest.Work(t, f.app.Server.Jobs)
	return f, relay
}

// lookup posts the guest form through the App Proxy, nobody logged in.
func (f *fixture) lookup(order, email string) response {
	f.t.Helper()
	return f.do(http.MethodPost, f.proxyURL("/hub/guest", proxyReq{}), url.Values{"order": {order}, "email": {email}},
		"Origin", "https://acme.myshopify.com", "Sec-Fetch-Site", "same-origin")
}

// openLink follows a mailed link as the shopper does: its page (fetched
// twice, as a mail scanner would first, consuming nothing), then its
// button, posted from the page. It returns the post's answer.
func (f *fixture) openLink(link string) response {
	f.t.Helper()
	path := strings.TrimPrefix(link, f.app.URL)
	var page response
	for range 2 {
		page = f.get(path)
		if page.status != http.StatusOK {
			f.t.Fatalf("a mailed link's page: %d\n%s", page.status, page.body)
		}
	}
	if rp := page.header.Get("Referrer-Policy"); rp != "no-referrer" {
		f.t.Errorf("a mailed link's page has Referrer-Policy %q", rp)
	}
	mustContain(f.t, page.body, `<form method="post" action="`+html.EscapeString(path)+`"`, `noindex`)
	return f.do(http.MethodPost, path, url.Values{}, "Origin", f.app.URL, "Sec-Fetch-Site", "same-origin")
}

// A shopper without an account looks #1001 up with its number and email
// through the App Proxy: the answer is the same for a match, a wrong
// address and an order that does not exist — a 303 to "check your email"
// — and only the match gets a mail. Its link opens that order alone on
// hubdesk's own domain, once; the order's links carry a grant, which
// opens nothing else.
func TestGuestLookupMailsAOneTimeLink(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, relay := guestFixture(t, db)
		form := f.get(f.proxyURL("/hub/guest", proxyReq{}))
		if form.status != 200 {
			t.Fatalf("form: %d", form.status)
		}
		mustContain(t, form.body, `name="order"`, `name="email"`, `action="/apps/hub/guest"`)
		login := f.get(f.proxyURL("/hub", proxyReq{}))
		mustContain(t, login.body, `href="/apps/hub/guest"`)

		wrong := f.lookup("#1001", "eve@example.com")
		unknown := f.lookup("#4242", "ada@example.com")
		right := f.lookup("1001", " Ada@Example.com ")
		for _, r := range []response{wrong, unknown, right} {
			if r.status != http.StatusSeeOther || r.header.Get("Location") != right.header.Get("Location") {
				t.Fatalf("lookups answered differently: %d %q", r.status, r.header.Get("Location"))
			}
		}
		if loc := right.header.Get("Location"); !strings.HasPrefix(loc, "/apps/hub/guest?") || !strings.Contains(loc, "sent=1") {
			t.Fatalf("the answer goes to %q", loc)
		}
		sent := f.get(f.proxyURL("/hub/guest", proxyReq{query: url.Values{"sent": {"1"}}}))
		mustContain(t, sent.body, "Check your email")

		m := relay.WaitFor(t, "ada@example.com", 1)
		if !strings.Contains(m.Subject, "#1001") || !strings.Contains(m.Subject, "acme") {
			t.Errorf("subject %q", m.Subject)
		}
		link := m.Link(t, guest.OpenPath)
		if !strings.HasPrefix(link, f.app.URL+guest.OpenPath+"?") {
			t.Fatalf("the link is not on hubdesk's own domain: %s", link)
		}
		// The others' jobs ran too by the time a later lookup's mail came;
		// none mailed anyone.
		f.lookup("#2001", "bob@example.com")
		relay.WaitFor(t, "bob@example.com", 1)
		for _, m := range relay.Messages() {
			if m.To != "ada@example.com" && m.To != "bob@example.com" {
				t.Errorf("a lookup that matched nothing mailed %s", m.To)
			}
		}
		if n := len(relay.Messages()); n != 2 {
			t.Errorf("%d mails for two matching lookups", n)
		}

		// The link's page, before its button: the order's number and
		// nothing of its contents.
		before := f.get(strings.TrimPrefix(link, f.app.URL))
		mustContain(t, before.body, "View your order #1001", `id="guest-open"`)
		mustNotContain(t, before.body, "Merino Socks", "1Z999AA1", "ada@example.com", "Ada Lovelace", "grant=")
		open := f.openLink(link)
		if open.status != http.StatusSeeOther || !strings.HasPrefix(open.header.Get("Location"), "/hub/guest/order?") {
			t.Fatalf("open: %d %q", open.status, open.header.Get("Location"))
		}
		orderURL := open.header.Get("Location")
		page := f.get(orderURL)
		if page.status != 200 {
			t.Fatalf("the guest's order: %d\n%s", page.status, page.body)
		}
		mustContain(t, page.body, "Order #1001", "Merino Socks", "1Z999AA1", `action="/hub/guest/order/contact?`)
		mustNotContain(t, page.body, "#1002", `href="/hub?`, "/hub/messages", "/hub/account", "Ada Lovelace&#39;s")
		path := strings.TrimPrefix(link, f.app.URL)
		if again := f.do(http.MethodPost, path, url.Values{}, "Origin", f.app.URL, "Sec-Fetch-Site", "same-origin"); again.status != http.StatusGone {
			t.Errorf("the link opened twice: %d", again.status)
		}
		if again := f.get(path); again.status != http.StatusGone || !strings.Contains(again.body, "This link no longer works") {
			t.Errorf("a used link's page: %d", again.status)
		}

		grant, _ := url.Parse(orderURL)
		g := grant.Query().Get("grant")
		for _, p := range []string{"/hub?grant=", "/hub/orders/" + id(f.orders["#1002"]) + "?grant=", "/hub/messages?grant=", "/hub/account?grant="} {
			if r := f.get(p + url.QueryEscape(g)); r.status != http.StatusUnauthorized {
				t.Errorf("%s with a guest grant: %d", p, r.status)
			}
		}
		if r := f.get("/hub/guest/order?grant=" + url.QueryEscape(g[:len(g)-2]+"AA")); r.status != http.StatusUnauthorized {
			t.Errorf("a forged grant: %d", r.status)
		}

		// Contact support: a ticket for the order's email, about the order.
		res := f.do(http.MethodPost, "/hub/guest/order/contact?grant="+url.QueryEscape(g), url.Values{"message": {"Where is the scarf?"}},
			"Origin", f.app.URL, "Sec-Fetch-Site", "same-origin")
		if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "/hub/guest/order?") {
			t.Fatalf("contact: %d %q\n%s", res.status, res.header.Get("Location"), res.body)
		}
		tickets := f.hubTickets(f.acme.Shop.ID)
		if len(tickets) != 1 || tickets[0].RequesterEmail != "ada@example.com" || tickets[0].OrderID != f.orders["#1001"].ID {
			t.Fatalf("tickets after a guest's message: %+v", tickets)
		}
	})
}

// The same shop and email are looked up at most guest.EmailLimit times an
// hour; past it the form says to wait (429) and nothing is queued.
func TestGuestLookupRateLimit(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, _ := guestFixture(t, db)
		for i := range guest.EmailLimit {
			if r := f.lookup("#9999", "mallory@example.com"); r.status != http.StatusSeeOther {
				t.Fatalf("lookup %d: %d", i+1, r.status)
			}
		}
		r := f.lookup("#9998", "Mallory@example.com")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("lookup past the limit: %d", r.status)
		}
		mustContain(t, r.body, "Too many lookups")
		if r := f.lookup("#9999", "other@example.com"); r.status != http.StatusSeeOther {
			t.Errorf("another address was limited too: %d", r.status)
		}
		if r := f.lookup("", "x@example.com"); r.status != http.StatusUnprocessableEntity {
			t.Errorf("a lookup without an order number: %d", r.status)
		}
	})
}

// Start a return from a guest link goes to the returns portal like a
// logged-in shopper's.
func TestGuestStartsAReturn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, relay := guestFixture(t, db)
		f.useLoop(f.acme)
		f.lookup("#1001", "ada@example.com")
		link := relay.WaitFor(t, "ada@example.com", 1).Link(t, guest.OpenPath)
		open := f.openLink(link)
		orderURL := open.header.Get("Location")
		page := f.get(orderURL)
		mustContain(t, page.body, `action="/hub/guest/order/return?`)
		u, _ := url.Parse(orderURL)
		res := f.do(http.MethodPost, "/hub/guest/order/return?"+u.RawQuery, url.Values{}, "Origin", f.app.URL, "Sec-Fetch-Site", "same-origin")
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), f.loopURL) {
			t.Fatalf("start a return: %d %q\n%s", res.status, res.header.Get("Location"), res.body)
		}
	})
}

// A headless store links to the lookup on hubdesk's own domain with
// ?shop=; an unknown shop, or none, is the same 401 as a bad signature.
// A grant of one shop opens nothing through another's App Proxy, and the
// preview shows the form and a guest's order without sending anything.
func TestGuestOtherWaysIn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, relay := guestFixture(t, db)
		form := f.get("/hub/guest?shop=" + acmeDomain)
		mustContain(t, form.body, `action="/hub/guest?shop=acme.myshopify.com"`)
		for _, p := range []string{"/hub/guest", "/hub/guest?shop=nobody.myshopify.com"} {
			if r := f.get(p); r.status != http.StatusUnauthorized {
				t.Errorf("%s: %d", p, r.status)
			}
		}
		r := f.do(http.MethodPost, "/hub/guest?shop="+acmeDomain, url.Values{"order": {"#2001"}, "email": {"bob@example.com"}},
			"Origin", f.app.URL, "Sec-Fetch-Site", "same-origin")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/hub/guest?sent=1&shop=acme.myshopify.com" {
			t.Fatalf("a headless lookup: %d %q", r.status, r.header.Get("Location"))
		}
		if r := f.do(http.MethodPost, "/hub/guest?shop="+acmeDomain, url.Values{"order": {"#2001"}, "email": {"bob@example.com"}},
			"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
			t.Errorf("a cross-site lookup: %d", r.status)
		}
		link := relay.WaitFor(t, "bob@example.com", 1).Link(t, guest.OpenPath)
		// Opened through another shop's App Proxy, the link is refused and
		// stays unused.
		key := strings.TrimPrefix(link, f.app.URL+guest.OpenPath+"?")
		q, _ := url.ParseQuery(key)
		other := f.get(f.proxyURL("/hub/guest/open", proxyReq{shop: otherDomain, secret: otherSecret, query: url.Values{"key": {q.Get("key")}}}))
		if other.status != http.StatusGone {
			t.Fatalf("acme's link through other's proxy: %d", other.status)
		}
		if r := f.get(f.proxyURL("/hub/guest/open", proxyReq{query: url.Values{"key": {q.Get("key")}}})); r.status != http.StatusOK ||
			!strings.Contains(r.body, `action="/apps/hub/guest/open?key=`) {
			t.Fatalf("the link's page through acme's App Proxy: %d\n%s", r.status, r.body)
		}
		open := f.do(http.MethodPost, f.proxyURL("/hub/guest/open", proxyReq{query: url.Values{"key": {q.Get("key")}}}), url.Values{},
			"Origin", "https://acme.myshopify.com", "Sec-Fetch-Site", "same-origin")
		loc, _ := url.Parse(open.header.Get("Location"))
		if open.status != http.StatusSeeOther || loc.Path != "/apps/hub/guest/order" {
			t.Fatalf("the link through acme's App Proxy: %d %q", open.status, open.header.Get("Location"))
		}
		g := loc.Query().Get("grant")
		if r := f.get(f.proxyURL("/hub/guest/order", proxyReq{query: url.Values{"grant": {g}}})); r.status != 200 || !strings.Contains(r.body, "Order #2001") {
			t.Fatalf("the order through acme's App Proxy: %d", r.status)
		}
		if r := f.get(f.proxyURL("/hub/guest/order", proxyReq{shop: otherDomain, secret: otherSecret, query: url.Values{"grant": {g}}})); r.status != http.StatusUnauthorized {
			t.Errorf("acme's grant through other's App Proxy: %d", r.status)
		}

		manager := f.app.LoginAs(f.acme.Manager)
		_, body, _ := f.app.Do(manager, http.MethodGet, "/settings/hub-preview/guest", "", "")
		mustContain(t, body, "Find your order", "Messages are not sent from the preview.")
		status, body, _ := f.app.Do(manager, http.MethodGet, "/settings/hub-preview/guest/order?order="+id(f.orders["#2001"]), "", "")
		if status != 200 {
			t.Fatalf("preview of a guest's order: %d", status)
		}
		mustContain(t, body, "Order #2001", "a shopper without an account")
		if status, _, _ := f.app.Do(manager, http.MethodGet, "/settings/hub-preview/guest/order?order="+id(f.orders["#9001"]), "", ""); status != http.StatusNotFound {
			t.Errorf("preview of another shop's order: %d", status)
		}
	})
}

// The Account tab: the shopper's name, email and default address as her
// country writes it, in her language, and the store's own account pages.
func TestAccountTab(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ada := *f.ada
		ada.DefaultAddress = commerce.Address{Name: "Ada Lovelace", Address1: "Torstraße 1", City: "Berlin", Zip: "10119", CountryCode: "DE"}
		ada.UpdatedAt = f.now.Add(time.Minute)
		if _, _, err := f.app.Server.Commerce.UpsertCustomer(context.Background(), f.acme.Shop.ID, ada); err != nil {
			t.Fatal(err)
		}
		r := f.get(f.proxyURL("/hub/account", proxyReq{customer: "1001", query: url.Values{"locale": {"de"}}}))
		if r.status != 200 {
			t.Fatalf("account: %d", r.status)
		}
		mustNotContain(t, r.body, "help.example.com")
		cfg := returns.DefaultConfig()
		cfg.General.HelpCentreURL = "https://help.example.com/faq"
		f.configure(f.acme, cfg)
		r = f.get(f.proxyURL("/hub/account", proxyReq{customer: "1001", query: url.Values{"locale": {"de"}}}))
		mustContain(t, r.body, `<li><a href="https://help.example.com/faq" target="_blank"`)
		mustContain(t, r.body, "Ihr Konto", "Ada Lovelace", "ada@example.com", "10119 Berlin<br>Deutschland",
			`href="/account" target="_top"`, `href="/account/addresses" target="_top"`)
		orders := f.get(f.adaURL("/hub"))
		mustContain(t, orders.body, `href="/apps/hub/account"`)
		if r := f.get("/hub/account"); r.status != http.StatusUnauthorized {
			t.Errorf("unsigned: %d", r.status)
		}
	})
}

// The lookup does the same work whatever the database holds: the same
// statements in transactions (two rate-limit windows and the job's
// insert) for a match, a wrong address and an order that does not exist.
// The jobs are not worked here, so only the request's own work counts.
func TestGuestLookupWorkDoesNotDependOnTheOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.get(f.proxyURL("/hub/guest", proxyReq{})) // shop and settings read once, as on any page
		var counts []int64
		for _, in := range [][2]string{{"#1001", "ada@example.com"}, {"#1001", "eve@example.com"}, {"#4242", "bob@example.com"}} {
			before := db.TxStatements()
			if r := f.lookup(in[0], in[1]); r.status != http.StatusSeeOther {
				t.Fatalf("lookup %v: %d", in, r.status)
			}
			counts = append(counts, db.TxStatements()-before)
		}
		if counts[0] != counts[1] || counts[0] != counts[2] || counts[0] == 0 {
			t.Fatalf("statements per lookup: match %d, wrong email %d, unknown order %d", counts[0], counts[1], counts[2])
		}
		t.Logf("%d statements in transactions per lookup", counts[0])
	})
}

// While the shop's hub is off, the lookup and its links answer that the
// hub is unavailable; a link opened through the App Proxy meanwhile still
// works once the hub is on again.
func TestGuestPagesWhileTheHubIsOff(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, relay := guestFixture(t, db)
		f.lookup("#1001", "ada@example.com")
		u, _ := url.Parse(relay.WaitFor(t, "ada@example.com", 1).Link(t, guest.OpenPath))
		key := u.Query().Get("key")
		on := returns.DefaultConfig()
		off := on
		off.General.HubEnabled = false
		f.configure(f.acme, off)
		if r := f.get(f.proxyURL("/hub/guest", proxyReq{})); r.status != http.StatusNotFound {
			t.Errorf("the form while the hub is off: %d", r.status)
		}
		if r := f.get(f.proxyURL("/hub/guest/open", proxyReq{query: url.Values{"key": {key}}})); r.status != http.StatusNotFound {
			t.Errorf("a link while the hub is off: %d", r.status)
		}
		if r := f.do(http.MethodPost, "/hub/guest/open?key="+url.QueryEscape(key), url.Values{}, "Origin", f.app.URL, "Sec-Fetch-Site", "same-origin"); r.status != http.StatusNotFound {
			t.Errorf("a link's button while the hub is off: %d", r.status)
		}
		f.configure(f.acme, on)
		if r := f.openLink("/hub/guest/open?key=" + url.QueryEscape(key)); r.status != http.StatusSeeOther {
			t.Errorf("the link once the hub is on again: %d", r.status)
		}
	})
}

// What a visitor types into the lookup comes back on the form (refused)
// as text: no markup, and inside the store's theme no Liquid either.
func TestGuestFormEchoesTextOnly(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, _ := guestFixture(t, db)
		r := f.lookup(`{{ shop.name }}<script>x</script>`, `{% render 'x' %}"><b>`)
		if r.status != http.StatusUnprocessableEntity || !strings.HasPrefix(r.header.Get("Content-Type"), "application/liquid") {
			t.Fatalf("a refused lookup: %d %s", r.status, r.header.Get("Content-Type"))
		}
		mustNotContain(t, r.body, "{{", "{%", "<script>x", "<b>")
		mustContain(t, r.body, "&lt;script&gt;x")
	})
}

// Mail security scanners fetch the links in a mail before the shopper
// clicks: however often the link's page is fetched (GET and HEAD, in any
// language), the shopper's button still opens the order, once. The page
// names the order only by its number; a post from another site is
// refused and leaves the link usable; an unknown token gets the same
// "no longer works" page on its page and its button.
func TestGuestLinkSurvivesMailScanners(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, relay := guestFixture(t, db)
		f.lookup("#1001", "ada@example.com")
		link := relay.WaitFor(t, "ada@example.com", 1).Link(t, guest.OpenPath)
		path := strings.TrimPrefix(link, f.app.URL)
		for range 3 {
			if r := f.get(path); r.status != http.StatusOK {
				t.Fatalf("a scanner's fetch: %d", r.status)
			}
		}
		if r := f.do(http.MethodHead, path, nil); r.status != http.StatusOK {
			t.Fatalf("a scanner's HEAD: %d", r.status)
		}
		if !strings.Contains(path, "locale=en") {
			t.Fatalf("the mailed link names no language: %s", path)
		}
		de := f.get(strings.Replace(path, "locale=en", "locale=de", 1))
		mustContain(t, de.body, "Ihre Bestellung #1001 ansehen", "Bestellung ansehen", `lang="de"`)
		mustNotContain(t, de.body, "Merino", "1Z999AA1")
		if r := f.do(http.MethodPost, path, url.Values{}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
			t.Fatalf("a cross-site post of the button: %d", r.status)
		}
		open := f.openLink(link)
		if open.status != http.StatusSeeOther || !strings.HasPrefix(open.header.Get("Location"), "/hub/guest/order?grant=") {
			t.Fatalf("the shopper's click after the scanner: %d %q", open.status, open.header.Get("Location"))
		}
		if r := f.get(open.header.Get("Location")); r.status != http.StatusOK || !strings.Contains(r.body, "Merino Socks") {
			t.Fatalf("the order after the click: %d", r.status)
		}
		if r := f.do(http.MethodPost, path, url.Values{}, "Origin", f.app.URL, "Sec-Fetch-Site", "same-origin"); r.status != http.StatusGone {
			t.Errorf("a second post: %d", r.status)
		}
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			r := f.do(m, "/hub/guest/open?key=unknown", url.Values{}, "Origin", f.app.URL, "Sec-Fetch-Site", "same-origin")
			if r.status != http.StatusGone || !strings.Contains(r.body, "This link no longer works") {
				t.Errorf("%s of an unknown link: %d", m, r.status)
			}
		}
	})
}
