package hub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/api/apitest"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/hub"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/web"
)

func sqliteFixture(t *testing.T) *fixture {
	return newFixture(t, dbtest.Open(t, database.SQLite))
}

// TestOrderDetails: timeline, items, totals, address, one tracking block
// per shipment, Reorder with what can still be bought, links under the
// proxy's path_prefix, assets from hubdesk's own origin.
func TestOrderDetails(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	o := f.orders["#1002"] // in transit
	res := f.get(f.proxyURL("/hub/orders/"+id(o), proxyReq{customer: "1001", prefix: "/apps/my-orders"}))
	if res.status != http.StatusOK {
		t.Fatalf("status %d\n%s", res.status, res.body)
	}
	mustContain(t, res.body,
		"Order #1002", `class="badge in_transit"`,
		`class="placed done"`, `class="shipped done current"`, `class="out_for_delivery"`, `class="delivered"`,
		"Merino Socks", "Quantity: 2", "€36.00", "€1,234.50", "€4.95", "€1,239.45",
		"Ada Lovelace<br>Torstraße 1<br>10119 Berlin<br>Germany",
		"DHL Express", `<a href="https://www.dhl.com/track?AWB=JD014600" target="_blank" rel="noopener noreferrer">JD014600`, "Estimated delivery:",
		// Reorder: the socks at their current quantity; the sold-out candle
		// and the deleted scarf are left out. Relative: the browser is on
		// the storefront.
		`href="/cart/44010001:2?storefront=true"`,
		`href="/apps/my-orders"`, `action="/apps/my-orders/orders/`+id(o)+`/contact"`,
		`href="`+f.app.URL+web.DefaultAssets.URL("hub.css")+`"`, `src="`+f.app.URL+web.DefaultAssets.URL("hub.js")+`"`,
	)
	// Not delivered: no Start a return (returns are off in this shop anyway).
	mustNotContain(t, res.body, "Start a return", `/return"`)
	// Framing: the storefront (same origin through the proxy) and the
	// shop's domain may frame the hub; nobody else. Inside the store's
	// theme (the default) the page is the theme's, so that is all the
	// policy says; the drawer's own page keeps hubdesk's whole policy.
	csp := res.header.Get("Content-Security-Policy")
	if res.header.Get("X-Frame-Options") != "" || csp != "frame-ancestors 'self' https://acme.myshopify.com http://127.0.0.1:* http://localhost:*" {
		t.Errorf("theme headers: X-Frame-Options %q, CSP %q", res.header.Get("X-Frame-Options"), csp)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	drawer := f.get(f.proxyURL("/hub/orders/"+id(o), proxyReq{customer: "1001", prefix: "/apps/my-orders", query: url.Values{"view": {"drawer"}}}))
	csp = drawer.header.Get("Content-Security-Policy")
	if drawer.header.Get("X-Frame-Options") != "" || !strings.Contains(csp, "frame-ancestors 'self' https://acme.myshopify.com") ||
		!strings.Contains(csp, "style-src 'self' "+f.app.URL) || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("drawer headers: X-Frame-Options %q, CSP %q", drawer.header.Get("X-Frame-Options"), csp)
	}
	// The desk keeps its framing ban.
	desk := f.get("/login")
	if desk.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("desk X-Frame-Options = %q", desk.header.Get("X-Frame-Options"))
	}

	// Cancelled: placed → cancelled, no reorder of nothing, no returns.
	res = f.get(f.adaURL("/hub/orders/" + id(f.orders["#1004"])))
	mustContain(t, res.body, `class="badge cancelled"`, `class="cancelled done current"`, "Nothing has shipped yet")
	mustNotContain(t, res.body, "Start a return", `class="shipped`)
}

func TestReorderSkipsWhatCannotBeBought(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	o := *f.orders["#1001"]
	for i := range o.LineItems {
		o.LineItems[i].VariantAvailable = false
	}
	o.UpdatedAt = o.UpdatedAt.Add(time.Second)
	f.app.Ingest(f.acme.Shop.ID, o, f.ada)
	res := f.get(f.adaURL("/hub/orders/" + id(&o)))
	mustNotContain(t, res.body, "/cart/", "Reorder")
}

// TestStartReturnLoop: a delivered order, Loop configured with the
// sandbox: one click, one 303 to the deep link Loop made.
func TestStartReturnLoop(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.useLoop(f.acme)
		delivered := f.orders["#1001"]
		res := f.get(f.adaURL("/hub/orders/" + id(delivered)))
		mustContain(t, res.body, "Start a return", `action="/apps/hub/orders/`+id(delivered)+`/return"`, `target="_top"`, "Returns are possible until")

		res = f.do(http.MethodPost, f.adaURL("/hub/orders/"+id(delivered)+"/return"), url.Values{}, "Origin", "https://acme.myshopify.com")
		if res.status != http.StatusSeeOther {
			t.Fatalf("status %d\n%s", res.status, res.body)
		}
		loc := res.header.Get("Location")
		if !strings.HasPrefix(loc, f.loopURL+"/portal/link/") {
			t.Errorf("Location %q is not the sandbox's deep link", loc)
		}
		// The resolver audit-logged it as the shopper.
		entries, _, err := f.app.Server.Audit.List(context.Background(), f.acme.Shop.ID, audit.Filter{Action: audit.ActionReturnLink}, database.Page{Limit: 10})
		if err != nil || len(entries) != 1 || entries[0].Actor.Kind != audit.ActorShopper || entries[0].Actor.ID != "1001" || entries[0].Outcome != audit.OutcomeOK {
			t.Errorf("audit = %+v, %v", entries, err)
		}

		// Not delivered: no button, and a forged POST is refused.
		transit := f.orders["#1002"]
		res = f.get(f.adaURL("/hub/orders/" + id(transit)))
		mustContain(t, res.body, "You can start a return once the order has been delivered.")
		mustNotContain(t, res.body, "Start a return</button>")
		res = f.do(http.MethodPost, f.adaURL("/hub/orders/"+id(transit)+"/return"), url.Values{})
		if res.status != http.StatusConflict || res.header.Get("Location") != "" {
			t.Errorf("POST on an undelivered order: %d %q", res.status, res.header.Get("Location"))
		}
		mustContain(t, res.body, "This order can&#39;t be returned online", "Contact support")

		// An active return: "Return in progress" with its status, no button.
		active := f.orders["#1003"]
		res = f.get(f.adaURL("/hub/orders/" + id(active)))
		mustContain(t, res.body, "Return in progress", "Status: Open", `href="`+f.loopURL+`/portal/return/abc"`)
		mustNotContain(t, res.body, "Start a return</button>")
		if res := f.do(http.MethodPost, f.adaURL("/hub/orders/"+id(active)+"/return"), url.Values{}); res.status != http.StatusConflict {
			t.Errorf("POST with an active return: %d", res.status)
		}
		// Outside the shop's 30-day window: said so, no button.
		old := f.orders["#1005"]
		res = f.get(f.adaURL("/hub/orders/" + id(old)))
		mustContain(t, res.body, "The return window for this order closed on")
		mustNotContain(t, res.body, "Start a return</button>")
		if res := f.do(http.MethodPost, f.adaURL("/hub/orders/"+id(old)+"/return"), url.Values{}); res.status != http.StatusConflict {
			t.Errorf("POST outside the window: %d", res.status)
		}
		// A destination smuggled into the request is ignored.
		res = f.do(http.MethodPost, f.proxyURL("/hub/orders/"+id(delivered)+"/return", proxyReq{customer: "1001",
			query: url.Values{"next": {"https://evil.example/"}, "return_to": {"https://evil.example/"}}}), url.Values{"url": {"https://evil.example/"}})
		if loc := res.header.Get("Location"); !strings.HasPrefix(loc, f.loopURL+"/") {
			t.Errorf("redirected to %q", loc)
		}
	})
}

// TestStartReturnLoopDown: Loop unreachable → a friendly page in the
// shopper's language with the plain portal link and the contact form.
func TestStartReturnLoopDown(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	f.useLoop(f.acme)
	f.loop.SetFaults(sandbox.Faults{Outage: true})
	o := f.orders["#1001"]
	res := f.do(http.MethodPost, f.proxyURL("/hub/orders/"+id(o)+"/return", proxyReq{customer: "1001", query: url.Values{"locale": {"de"}}}), url.Values{})
	if res.status != http.StatusBadGateway || res.header.Get("Location") != "" {
		t.Fatalf("status %d, Location %q", res.status, res.header.Get("Location"))
	}
	mustContain(t, res.body, `lang="de"`, "Das Retourenportal konnte nicht geöffnet werden", "Weiter zum Retourenportal",
		`href="`+f.loopURL+`/portal/?order=%231001&amp;zip=10119"`, "Kundenservice kontaktieren",
		`action="/apps/hub/orders/`+id(o)+`/contact?locale=de"`)
	entries, _, _ := f.app.Server.Audit.List(context.Background(), f.acme.Shop.ID, audit.Filter{Action: audit.ActionReturnLink}, database.Page{Limit: 10})
	if len(entries) != 1 || entries[0].Outcome != audit.OutcomeFailed {
		t.Errorf("audit = %+v", entries)
	}
}

// TestStartReturnAfterShip: a portal provider gets the order number and
// the email appended.
func TestStartReturnAfterShip(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	cfg := returns.DefaultConfig()
	cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/?lang=en"}
	f.configure(f.acme, cfg)
	res := f.do(http.MethodPost, f.adaURL("/hub/orders/"+id(f.orders["#1001"])+"/return"), url.Values{})
	if res.status != http.StatusSeeOther {
		t.Fatalf("status %d\n%s", res.status, res.body)
	}
	loc, err := url.Parse(res.header.Get("Location"))
	if err != nil || loc.Host != "acme.returnscenter.com" || loc.Query().Get("order_number") != "#1001" ||
		loc.Query().Get("email") != "ada@example.com" || loc.Query().Get("lang") != "en" {
		t.Errorf("Location %q", res.header.Get("Location"))
	}
	// Disabled: no Returns section at all, and the POST is refused.
	f.configure(f.acme, returns.DefaultConfig())
	res = f.get(f.adaURL("/hub/orders/" + id(f.orders["#1001"])))
	mustNotContain(t, res.body, "Start a return", `id="return"`)
	if res := f.do(http.MethodPost, f.adaURL("/hub/orders/"+id(f.orders["#1001"])+"/return"), url.Values{}); res.status != http.StatusConflict {
		t.Errorf("POST with returns disabled: %d", res.status)
	}
}

// TestGerman: Accept-Language and the locale parameter choose the
// language; dates and money follow it.
func TestGerman(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	created := f.orders["#1001"].CreatedAt.UTC()
	months := []string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}
	germanDate := itoa(int64(created.Day())) + ". " + months[created.Month()-1] + " " + itoa(int64(created.Year()))
	for _, res := range []response{
		f.get(f.adaURL("/hub"), "Accept-Language", "de-DE,de;q=0.9,en;q=0.5"),
		f.get(f.proxyURL("/hub", proxyReq{customer: "1001", query: url.Values{"locale": {"de"}}}), "Accept-Language", "fr"),
	} {
		mustContain(t, res.body, `lang="de"`, "Hallo Ada", "Bestellt am "+germanDate, "1.239,45\u00a0€", "Zugestellt", "Unterwegs")
		mustNotContain(t, res.body, "Placed on", "Delivered")
	}
	// The country of the shipping address is named in German too.
	res := f.get(f.proxyURL("/hub/orders/"+id(f.orders["#1001"]), proxyReq{customer: "1001", query: url.Values{"locale": {"de"}}}))
	mustContain(t, res.body, "10119 Berlin<br>Deutschland")
	// The locale parameter is carried on links so the language sticks.
	res = f.get(f.proxyURL("/hub", proxyReq{customer: "1001", query: url.Values{"locale": {"nl"}}}))
	mustContain(t, res.body, `href="/apps/hub/orders/`+id(f.orders["#1001"])+`?locale=nl"`, "€\u00a01.239,45", "Bezorgd")
	// Unsupported everywhere: the shop's default (English here).
	res = f.get(f.adaURL("/hub"), "Accept-Language", "ja")
	mustContain(t, res.body, `lang="en"`, "Hello Ada")
}

func TestPagination(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	s := f.app.Server
	h, err := hub.New(hub.Options{Shops: s.Shops, Commerce: s.Commerce, Settings: s.Settings,
		Orders: s.Orders, Tickets: s.Tickets, PageSize: 2, BaseURL: f.app.URL})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /hub", h.Shopper(h.Orders))
	var seen []string
	next := f.adaURL("/hub")
	for page := 0; next != "" && page < 5; page++ {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		body := rec.Body.String()
		for rest := body; ; {
			i := strings.Index(rest, `<span class="name">`)
			if i < 0 {
				break
			}
			rest = rest[i+len(`<span class="name">`):]
			seen = append(seen, rest[:strings.IndexByte(rest, '<')])
		}
		if page > 0 && !strings.Contains(body, "Newest orders") {
			t.Errorf("page %d has no link back to the newest orders", page)
		}
		next = ""
		if i := strings.Index(body, `href="/apps/hub?cursor=`); i >= 0 {
			cursor := body[i+len(`href="/apps/hub?cursor=`):]
			cursor = cursor[:strings.IndexByte(cursor, '"')]
			next = f.proxyURL("/hub", proxyReq{customer: "1001", query: url.Values{"cursor": {cursor}}})
		}
	}
	if strings.Join(seen, " ") != "#1002 #1001 #1003 #1004 #1005" {
		t.Errorf("pages showed %v", seen)
	}
	// A mangled cursor is refused like every list's (httpkit.ParsePage).
	req, _ := http.NewRequest(http.MethodGet, f.proxyURL("/hub", proxyReq{customer: "1001", query: url.Values{"cursor": {"!!"}}}), nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusBadRequest || strings.Contains(rec.Body.String(), "#1002") {
		t.Errorf("bad cursor: %d", rec.Code)
	}
}

// TestContactSupport: the form opens a ticket linked to the order and the
// customer; staff read it in the desk; other shops cannot.
func TestContactSupport(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		o := f.orders["#1002"]
		path := "/hub/orders/" + id(o) + "/contact"
		// Empty: the page again, with the error, nothing stored.
		res := f.do(http.MethodPost, f.adaURL(path), url.Values{"message": {"   "}})
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("empty message: %d", res.status)
		}
		mustContain(t, res.body, "Please write a message.", `aria-invalid="true"`)
		res = f.do(http.MethodPost, f.adaURL(path), url.Values{"message": {strings.Repeat("x", hub.MaxContactRunes+1)}})
		if res.status != http.StatusUnprocessableEntity {
			t.Fatalf("long message: %d", res.status)
		}

		msg := "Where is my parcel?\nIt was due on Monday. <b>Thanks</b>"
		res = f.do(http.MethodPost, f.adaURL(path), url.Values{"message": {msg}})
		if res.status != http.StatusSeeOther || res.header.Get("Location") != "/apps/hub/orders/"+id(o)+"?sent=1#contact" {
			t.Fatalf("status %d, Location %q\n%s", res.status, res.header.Get("Location"), res.body)
		}
		list, _, err := f.app.Server.Tickets.List(context.Background(), f.acme.Shop.ID, ticket.Filter{}, database.Page{})
		if err != nil || len(list) != 1 {
			t.Fatalf("tickets = %v, %v", list, err)
		}
		tk := list[0]
		if tk.OrderID != o.ID || tk.CustomerID != f.ada.ID || tk.Channel != ticket.ChannelHub || tk.RequesterEmail != "ada@example.com" ||
			tk.Subject != "#1002: Where is my parcel?" || tk.Status != ticket.StatusOpen {
			t.Errorf("ticket = %+v", tk)
		}
		msgs, _ := f.app.Server.Tickets.Messages(context.Background(), f.acme.Shop.ID, tk.ID)
		if len(msgs) != 1 || msgs[0].Body != msg || msgs[0].AuthorKind != ticket.AuthorCustomer {
			t.Errorf("messages = %+v", msgs)
		}
		// The confirmation after the redirect.
		res = f.get(f.proxyURL("/hub/orders/"+id(o), proxyReq{customer: "1001", query: url.Values{"sent": {"1"}}}))
		mustContain(t, res.body, "your message was sent", `role="status"`)

		// Staff: the list and the ticket, escaped.
		agent := f.app.LoginAs(f.acme.Agent)
		status, body, _ := f.app.Do(agent, http.MethodGet, "/tickets", "", "")
		if status != http.StatusOK {
			t.Fatalf("desk /tickets: %d", status)
		}
		mustContain(t, body, "#1002: Where is my parcel?", "Ada Lovelace", `href="/tickets"`)
		status, body, _ = f.app.Do(agent, http.MethodGet, "/tickets/"+itoa(tk.ID), "", "")
		if status != http.StatusOK {
			t.Fatalf("desk ticket: %d", status)
		}
		mustContain(t, body, "Where is my parcel?<br>It was due on Monday. &lt;b&gt;Thanks&lt;/b&gt;", `href="/orders/`+id(o)+`"`, `href="/customers/`+itoa(f.ada.ID)+`"`)
		status, body, _ = f.app.Do(agent, http.MethodGet, "/tickets?status=closed", "", "")
		if status != http.StatusOK || strings.Contains(body, "Where is my parcel") {
			t.Errorf("closed filter: %d", status)
		}
		// Another shop's staff sees nothing of it.
		outsider := f.app.LoginAs(f.other.Owner)
		if status, _, _ := f.app.Do(outsider, http.MethodGet, "/tickets/"+itoa(tk.ID), "", ""); status != http.StatusNotFound {
			t.Errorf("other shop reads the ticket: %d", status)
		}
		if _, body, _ := f.app.Do(outsider, http.MethodGet, "/tickets", "", ""); strings.Contains(body, "Where is my parcel") {
			t.Error("other shop lists the ticket")
		}
		if status, _, _ := f.app.Do(nil, http.MethodGet, "/tickets", "", ""); status != http.StatusSeeOther {
			t.Errorf("anonymous /tickets: %d", status)
		}
	})
}

// TestHeadlessToken: an admin's API token gets a shopper token; the hub
// accepts it (bearer or query) and its links carry a renewed one; expired,
// tampered and foreign tokens get the 401.
func TestHeadlessToken(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		v := apitest.NewValidator(t)
		issue := func(token, body string) (int, string) {
			t.Helper()
			status, resp, _ := f.app.Do(nil, http.MethodPost, "/api/v1/hub/tokens", token, body)
			v.Validate(t, http.MethodPost, "/api/v1/hub/tokens", status, []byte(resp))
			return status, resp
		}
		for _, u := range []struct {
			name string
			tok  string
			want int
		}{
			{"agent", f.app.Token(f.acme.Agent), http.StatusForbidden},
			{"manager", f.app.Token(f.acme.Manager), http.StatusForbidden},
			{"nobody", "", http.StatusUnauthorized},
		} {
			if status, _ := issue(u.tok, `{"customer_id":1}`); status != u.want {
				t.Errorf("%s: %d, want %d", u.name, status, u.want)
			}
		}
		admin := f.app.Token(f.acme.Admin)
		for body, want := range map[string]int{
			`{}`: http.StatusBadRequest,
			`{"customer_id": 1, "customer_external_id": "1001"}`:          http.StatusBadRequest,
			`{"customer_external_id": "nope"}`:                            http.StatusNotFound,
			`{"customer_id": ` + itoa(f.orders["#9001"].CustomerID) + `}`: http.StatusNotFound, // other shop's customer
			`{"customer": 1}`: http.StatusBadRequest,
		} {
			if status, resp := issue(admin, body); status != want {
				t.Errorf("%s: %d, want %d: %s", body, status, want, resp)
			}
		}
		status, resp := issue(f.app.Token(f.acme.Owner), `{"customer_external_id": "1001"}`)
		if status != http.StatusOK {
			t.Fatalf("owner: %d %s", status, resp)
		}
		var got struct {
			Token      string    `json:"token"`
			ExpiresAt  time.Time `json:"expires_at"`
			HubURL     string    `json:"hub_url"`
			CustomerID int64     `json:"customer_id"`
		}
		if err := json.Unmarshal([]byte(resp), &got); err != nil {
			t.Fatal(err)
		}
		if got.CustomerID != f.ada.ID || time.Until(got.ExpiresAt) > hub.TokenTTL || time.Until(got.ExpiresAt) < hub.TokenTTL-time.Minute ||
			got.HubURL != f.app.URL+"/hub?token="+url.QueryEscape(got.Token) {
			t.Errorf("token answer %+v", got)
		}

		// Accepted on the query and as a bearer token.
		res := f.get(strings.TrimPrefix(got.HubURL, f.app.URL))
		if res.status != http.StatusOK {
			t.Fatalf("hub_url: %d", res.status)
		}
		mustContain(t, res.body, "Hello Ada", "#1001", `href="/hub/orders/`+id(f.orders["#1001"])+`?token=`)
		mustNotContain(t, res.body, "#2001", "#9001")
		res = f.get("/hub/orders/"+id(f.orders["#1002"]), "Authorization", "Bearer "+got.Token)
		mustContain(t, res.body, "Order #1002", `action="/hub/orders/`+id(f.orders["#1002"])+`/contact?token=`)
		// Reorder points at the shop's storefront: no proxy here.
		mustContain(t, res.body, `href="https://acme.myshopify.com/cart/44010001:2?storefront=true"`)
		// Still only Ada's orders.
		if res := f.get("/hub/orders/"+id(f.orders["#2001"]), "Authorization", "Bearer "+got.Token); res.status != http.StatusNotFound {
			t.Errorf("token reads Bob's order: %d", res.status)
		}
		// The links' own token works for the next page.
		i := strings.Index(res.body, "?token=")
		linkToken, _ := url.QueryUnescape(res.body[i+len("?token=") : i+strings.IndexByte(res.body[i:], '"')])
		if res := f.get("/hub?token=" + url.QueryEscape(linkToken)); res.status != http.StatusOK {
			t.Errorf("link token: %d", res.status)
		}
		// A POST carries the token in its action URL, cookie-free.
		res = f.do(http.MethodPost, "/hub/orders/"+id(f.orders["#1002"])+"/contact?token="+url.QueryEscape(got.Token), url.Values{"message": {"hi"}})
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/hub/orders/"+id(f.orders["#1002"])+"?") {
			t.Errorf("token POST: %d %q", res.status, res.header.Get("Location"))
		}

		now := time.Now()
		for name, tok := range map[string]string{
			"expired":     hub.SignTokenForTest(f.acme.Shop.ID, f.ada.ID, now.Add(-time.Second), now.Add(-time.Hour), acmeSecret),
			"tampered":    tamperSignature(got.Token),
			"other shop":  hub.SignTokenForTest(f.other.Shop.ID, f.ada.ID, now.Add(time.Minute), now, otherSecret),
			"wrong key":   hub.SignTokenForTest(f.acme.Shop.ID, f.ada.ID, now.Add(time.Minute), now, otherSecret),
			"no customer": hub.SignTokenForTest(f.acme.Shop.ID, 999999, now.Add(time.Minute), now, acmeSecret),
			"no shop":     hub.SignTokenForTest(999999, f.ada.ID, now.Add(time.Minute), now, acmeSecret),
			"garbage":     "not-a-token",
		} {
			res := f.get("/hub?token=" + url.QueryEscape(tok))
			if res.status != http.StatusUnauthorized {
				t.Errorf("%s token: %d", name, res.status)
			}
			mustNotContain(t, res.body, "Ada", "Olga", "#1001", "#9001")
		}
	})
}

// TestPreview: a manager sees the hub as a customer would with the draft
// settings; links stay in the preview; the preview's Start a return
// resolves with the draft and is audit-logged as the manager.
func TestPreview(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	// Published (live): Loop. Then the hub goes off live and the draft
	// moves to AfterShip, which shoppers do not see yet.
	f.useLoop(f.acme)
	ctx := context.Background()
	actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
	if err := f.app.Server.Settings.SetLive(ctx, f.acme.Shop.ID, false, actor); err != nil {
		t.Fatal(err)
	}
	draft := returns.DefaultConfig()
	draft.Returns = returns.ReturnsConfig{Provider: returns.ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/"}
	draft.General.HelpCentreURL = "https://help.acme.example/"
	if _, err := f.app.Server.Settings.Save(ctx, f.acme.Shop.ID, draft, actor); err != nil {
		t.Fatal(err)
	}

	manager := f.app.LoginAs(f.acme.Manager)
	base := "/settings/hub-preview"
	status, body, hdr := f.app.Do(manager, http.MethodGet, base+"?customer="+itoa(f.ada.ID), "", "")
	if status != http.StatusOK {
		t.Fatalf("preview: %d\n%s", status, body)
	}
	mustContain(t, body, "Preview — draft settings", "Ada Lovelace", `href="`+base+`/orders/`+id(f.orders["#1001"])+`?customer=`+itoa(f.ada.ID)+`"`,
		`href="https://help.acme.example/"`)
	if !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'self'") {
		t.Errorf("CSP %q", hdr.Get("Content-Security-Policy"))
	}
	status, body, _ = f.app.Do(manager, http.MethodGet, base+"/orders/"+id(f.orders["#1001"])+"?customer="+itoa(f.ada.ID)+"&locale=fr", "", "")
	if status != http.StatusOK {
		t.Fatalf("preview order: %d", status)
	}
	mustContain(t, body, "Aperçu — paramètres brouillon", "Faire un retour",
		`action="`+base+`/orders/`+id(f.orders["#1001"])+`/return?customer=`+itoa(f.ada.ID)+`&amp;locale=fr"`,
		"Aucun message n&#39;est envoyé depuis l&#39;aperçu", "disabled")
	// Shoppers still see the published configuration (Loop, no help link).
	res := f.get(f.adaURL("/hub/orders/" + id(f.orders["#1001"])))
	mustNotContain(t, res.body, "help.acme.example", "Preview")

	// The preview's POSTs are same-origin desk forms.
	post := func(path string, form url.Values) (int, http.Header) {
		req, _ := http.NewRequest(http.MethodPost, f.app.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", f.app.URL)
		resp, err := manager.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	status, hdr = post(base+"/orders/"+id(f.orders["#1001"])+"/return?customer="+itoa(f.ada.ID), url.Values{})
	if status != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "https://acme.returnscenter.com/?order_number=%231001") {
		t.Errorf("preview return: %d %q", status, hdr.Get("Location"))
	}
	entries, _, _ := f.app.Server.Audit.List(ctx, f.acme.Shop.ID, audit.Filter{Action: audit.ActionReturnLink}, database.Page{Limit: 10})
	if len(entries) != 1 || entries[0].Actor.Kind != audit.ActorUser || entries[0].Actor.Label != f.acme.Manager.Email || entries[0].Provider != "aftership" {
		t.Errorf("audit = %+v", entries)
	}
	// The preview never writes to the helpdesk.
	if status, _ := post(base+"/orders/"+id(f.orders["#1001"])+"/contact?customer="+itoa(f.ada.ID), url.Values{"message": {"hi"}}); status != http.StatusUnprocessableEntity {
		t.Errorf("preview contact: %d", status)
	}
	if list, _, _ := f.app.Server.Tickets.List(ctx, f.acme.Shop.ID, ticket.Filter{}, database.Page{}); len(list) != 0 {
		t.Errorf("preview opened %d tickets", len(list))
	}

	// Without a customer the preview shows the sample order's shopper,
	// with the draft.
	status, _, hdr = f.app.Do(manager, http.MethodGet, base+"?locale=fr", "", "")
	sampleShopper := hdr.Get("Location")
	if status != http.StatusSeeOther || !strings.HasPrefix(sampleShopper, base+"?customer=") || !strings.Contains(sampleShopper, "locale=fr") {
		t.Fatalf("preview without a customer: %d %q, want a redirect to a sample shopper", status, sampleShopper)
	}
	if status, body, _ := f.app.Do(manager, http.MethodGet, sampleShopper, "", ""); status != http.StatusOK || !strings.Contains(body, "Aperçu — paramètres brouillon") {
		t.Fatalf("the sample shopper's preview: %d\n%s", status, body)
	}

	// An order's address without a customer shows that order's shopper.
	status, _, hdr = f.app.Do(manager, http.MethodGet, base+"/orders/"+id(f.orders["#1001"]), "", "")
	if want := base + "/orders/" + id(f.orders["#1001"]) + "?customer=" + itoa(f.ada.ID); status != http.StatusSeeOther || hdr.Get("Location") != want {
		t.Errorf("an order's preview without a customer: %d %q, want %s", status, hdr.Get("Location"), want)
	}

	// Who may preview whom.
	for _, c := range []struct {
		name   string
		path   string
		client *http.Client
		want   int
	}{
		{"agent", base + "?customer=" + itoa(f.ada.ID), f.app.LoginAs(f.acme.Agent), http.StatusForbidden},
		{"anonymous", base + "?customer=" + itoa(f.ada.ID), nil, http.StatusSeeOther},
		{"other shop's customer", base + "?customer=" + itoa(f.orders["#9001"].CustomerID), manager, http.StatusNotFound},
		{"another customer's order", base + "/orders/" + id(f.orders["#2001"]) + "?customer=" + itoa(f.ada.ID), manager, http.StatusNotFound},
		{"other shop's manager", base + "?customer=" + itoa(f.ada.ID), f.app.LoginAs(f.other.Manager), http.StatusNotFound},
	} {
		if status, _, _ := f.app.Do(c.client, http.MethodGet, c.path, "", ""); status != c.want {
			t.Errorf("%s: %d, want %d", c.name, status, c.want)
		}
	}
}

func TestHubDisabled(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	cfg := returns.DefaultConfig()
	cfg.General.HubEnabled = false
	f.configure(f.acme, cfg)
	res := f.get(f.adaURL("/hub"))
	if res.status != http.StatusNotFound {
		t.Errorf("status %d", res.status)
	}
	mustContain(t, res.body, "Order history is not available")
	mustNotContain(t, res.body, "#1001")
}

func TestEmbedJS(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	res := f.get("/hub/embed.js")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/javascript") ||
		res.header.Get("Cache-Control") != "public, max-age=3600" || res.header.Get("ETag") == "" {
		t.Fatalf("embed.js: %d %v", res.status, res.header)
	}
	mustContain(t, res.body, `"de":{"close":"Schließen","open":"Meine Bestellungen"`, `role", "dialog"`, `aria-modal`, "Escape", "hubdesk:close")
	mustNotContain(t, res.body, "/*LABELS*/")
	if res := f.get("/hub/embed.js", "If-None-Match", res.header.Get("ETag")); res.status != http.StatusNotModified {
		t.Errorf("revalidation: %d", res.status)
	}
}

// TestPageWeight keeps the hub inside SPEC §9: at most 20 KB of gzipped
// JavaScript and 15 KB of gzipped CSS per page, all from the binary.
func TestPageWeight(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	css := web.DefaultAssets.GzipSize("hub.css")
	js := web.DefaultAssets.GzipSize("hub.js")
	embed := f.app.Server.Hub.EmbedGzipSize()
	t.Logf("hub page: CSS %d B gzip, JS %d B gzip; storefront drawer embed.js %d B gzip", css, js, embed)
	if css > 15<<10 {
		t.Errorf("hub.css is %d bytes gzipped, budget 15 KB", css)
	}
	if js+embed > 20<<10 {
		t.Errorf("hub.js + embed.js are %d bytes gzipped, budget 20 KB", js+embed)
	}
	// A page references exactly those, from hubdesk, and nothing else
	// outside the shop's own data (product images).
	res := f.get(f.adaURL("/hub/orders/" + id(f.orders["#1002"])))
	for _, attr := range []string{`src="`, `href="`} {
		for rest := res.body; ; {
			i := strings.Index(rest, attr)
			if i < 0 {
				break
			}
			rest = rest[i+len(attr):]
			u := rest[:strings.IndexByte(rest, '"')]
			switch {
			case strings.HasPrefix(u, "/apps/hub"), strings.HasPrefix(u, "/cart/"), u == "#main":
			case strings.HasPrefix(u, f.app.URL+"/static/"), strings.HasPrefix(u, "https://cdn.example.com/"), strings.HasPrefix(u, "https://www.dhl.com/"):
			default:
				t.Errorf("page loads or links %q", u)
			}
		}
	}
}

// tamperSignature changes the first character of a token's signature part,
// which always changes the signature's bytes.
func tamperSignature(token string) string {
	i := strings.LastIndex(token, ".") + 1
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}

// The signed-in shopper is remembered for a few seconds: a renamed shopper
// shows under the new name once that passes, and a shopper not known yet is
// never remembered as unknown.
func TestShopperLookupIsRememberedBriefly(t *testing.T) {
	t.Parallel()
	f := sqliteFixture(t)
	s := f.app.Server
	clock := time.Now()
	h, err := hub.New(hub.Options{Shops: s.Shops, Commerce: s.Commerce, Settings: s.Settings,
		Orders: s.Orders, Tickets: s.Tickets, BaseURL: f.app.URL, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /hub", h.Shopper(h.Orders))
	get := func(customer string) string {
		rec := httptest.NewRecorder()
		req, _ := http.NewRequest(http.MethodGet, f.proxyURL("/hub", proxyReq{customer: customer, at: clock}), nil)
		mux.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	mustContain(t, get("1001"), "Hello Ada")
	if _, _, err := s.Commerce.UpsertCustomer(t.Context(), f.acme.Shop.ID, commerce.Customer{ExternalID: "1001", Email: "ada@example.com",
		FirstName: "Augusta", UpdatedAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, get("1001"), "Hello Ada")
	clock = clock.Add(hub.CustomerTTLForTest)
	mustContain(t, get("1001"), "Hello Augusta")

	mustNotContain(t, get("7777"), "Hello")
	if _, _, err := s.Commerce.UpsertCustomer(t.Context(), f.acme.Shop.ID, commerce.Customer{ExternalID: "7777", Email: "new@example.com",
		FirstName: "Newton"}); err != nil {
		t.Fatal(err)
	}
	mustContain(t, get("7777"), "Hello Newton")
}
