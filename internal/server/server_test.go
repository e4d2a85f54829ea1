package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// Lists and searches of shop A never show shop B's records, in the desk
// and in the API; the route table (TestRouteTable) checks that every {id}
// route answers another shop's ids with 404.
func TestListsShowOnlyTheShopsOwnRecords(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		a, b := app.NewTenant("shopa"), app.NewTenant("shopb")
		app.Order(a, "1001", "alice@example.com")
		orderB := app.Order(b, "2001", "bob@example.com")
		browser := app.LoginAs(a.Owner)
		token := app.Token(a.Owner)
		// Lists and searches never show shop B's records (and do show A's).
		for _, path := range []string{"/customers?q=bob", "/orders?q=2001", "/orders", "/customers"} {
			status, body, _ := app.Do(browser, "GET", path, "", "")
			if status != http.StatusOK || strings.Contains(body, "bob@example.com") || strings.Contains(body, "#2001") {
				t.Errorf("desk %s as shop A: %d, or shows shop B's data", path, status)
			}
		}
		if _, body, _ := app.Do(browser, "GET", "/orders", "", ""); !strings.Contains(body, "#1001") {
			t.Error("desk /orders does not list shop A's own order")
		}
		for _, path := range []string{"/api/v1/customers?q=bob", "/api/v1/orders?q=2001", "/api/v1/orders", "/api/v1/customers"} {
			status, body, _ := app.Do(nil, "GET", path, token, "")
			if status != http.StatusOK || strings.Contains(body, "bob@example.com") || strings.Contains(body, "#2001") {
				t.Errorf("API %s as shop A: %d, or shows shop B's data", path, status)
			}
		}
		if _, body, _ := app.Do(nil, "GET", "/api/v1/orders", token, ""); !strings.Contains(body, `"#1001"`) {
			t.Error("API /api/v1/orders does not list shop A's own order")
		}
		// Shop B's own user does see it.
		if status, _, _ := app.Do(nil, "GET", fmt.Sprintf("/api/v1/orders/%d", orderB.ID), app.Token(b.Agent), ""); status != http.StatusOK {
			t.Errorf("shop B reading its own order: %d", status)
		}
	})
}

func TestLoginLogoutAndSessionCookie(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	c := app.Browser()
	resp, err := c.PostForm(app.URL+"/login", url.Values{"email": {tn.Agent.Email}, "password": {testapp.Password}, "next": {"/orders"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/orders" {
		t.Fatalf("login: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"hubdesk_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if status, _, _ := app.Do(c, "GET", "/orders", "", ""); status != http.StatusOK {
		t.Fatalf("orders after login: %d", status)
	}
	if status, _, _ := app.Do(c, "POST", "/logout", "", ""); status != http.StatusSeeOther {
		t.Fatalf("logout: %d", status)
	}
	if status, _, _ := app.Do(c, "GET", "/orders", "", ""); status != http.StatusSeeOther {
		t.Fatalf("orders after logout: %d, want redirect to login", status)
	}
}

func TestLoginRefusesBadCredentialsAndLimitsGuessing(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	for _, form := range []url.Values{
		{"email": {tn.Agent.Email}, "password": {"wrong"}},
		{"email": {"nobody@example.com"}, "password": {"whatever"}},
		{"email": {""}, "password": {""}},
	} {
		resp, err := app.Browser().PostForm(app.URL+"/login", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("login %v: %d, want 401", form.Get("email"), resp.StatusCode)
		}
	}
	// The limit: ten failures in a row for one email, then even the right
	// password waits.
	var last int
	for range 10 {
		resp, _ := app.Browser().PostForm(app.URL+"/login", url.Values{"email": {tn.Owner.Email}, "password": {"guess"}})
		resp.Body.Close()
		last = resp.StatusCode
	}
	resp, _ := app.Browser().PostForm(app.URL+"/login", url.Values{"email": {tn.Owner.Email}, "password": {testapp.Password}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("after 10 failures (last %d) a login answered %d, want 429", last, resp.StatusCode)
	}
}

func TestLoginNeverRedirectsOffSite(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	offSite := []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "javascript:alert(1)",
		`/./\evil.example`, "/\t/evil.example", "/%2F%2Fevil.example", "/%09/evil.example"}
	for _, next := range offSite {
		resp, err := app.Browser().PostForm(app.URL+"/login", url.Values{"email": {tn.Agent.Email}, "password": {testapp.Password}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("POST /login next=%q redirected to %q", next, loc)
		}
	}
	// Already signed in, the login page redirects at once; the query is
	// decoded first, so "%5C" arrives as a backslash.
	browser := app.LoginAs(tn.Agent)
	for _, rawNext := range []string{"/./%5Cevil.example", "%2F%2Fevil.example", "/.%2F%5Cevil.example", "/%09/evil.example"} {
		status, _, h := app.Do(browser, "GET", "/login?next="+rawNext, "", "")
		if loc := h.Get("Location"); status != http.StatusSeeOther || loc != "/" {
			t.Errorf("GET /login?next=%s: %d to %q", rawNext, status, loc)
		}
	}
	if _, _, h := app.Do(browser, "GET", "/login?next=%2Forders%3Fstatus%3Dopen", "", ""); h.Get("Location") != "/orders?status=open" {
		t.Errorf("a local next is kept: %q", h.Get("Location"))
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	c := app.LoginAs(tn.Agent)
	req, _ := http.NewRequest("POST", app.URL+"/logout", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST answered %d, want 403", resp.StatusCode)
	}
	if status, _, _ := app.Do(c, "GET", "/orders", "", ""); status != http.StatusOK {
		t.Fatal("the cross-site logout must not have ended the session")
	}
}

func TestAPIAuthentication(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	for _, token := range []string{"", "hd_not-a-real-token", "something-else"} {
		status, body, h := app.Do(nil, "GET", "/api/v1/customers", token, "")
		if status != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthorized"`) || h.Get("WWW-Authenticate") == "" {
			t.Errorf("token %q: %d %s", token, status, body)
		}
	}
	// A session cookie is not an API credential, not even beside a bogus
	// bearer token.
	owner := app.LoginAs(tn.Owner)
	for _, token := range []string{"", "garbage", "hd_garbage"} {
		for _, path := range []string{"/api/v1/customers", "/api/v1/settings/returns", "/api/v1/audit"} {
			if status, _, _ := app.Do(owner, "GET", path, token, ""); status != http.StatusUnauthorized {
				t.Errorf("API %s with a session cookie and token %q: %d", path, token, status)
			}
		}
	}
	// Agents read commerce data; writing it takes Manager or above.
	agent := app.Token(tn.Agent)
	if status, _, _ := app.Do(nil, "GET", "/api/v1/orders", agent, ""); status != http.StatusOK {
		t.Errorf("agent reading orders: %d", status)
	}
	order := `{"external_id":"1","name":"#1","currency":"USD"}`
	customer := `{"external_id":"c1","email":"c1@example.com"}`
	for path, body := range map[string]string{"/api/v1/orders": order, "/api/v1/customers": customer} {
		if status, resp, _ := app.Do(nil, "PUT", path, agent, body); status != http.StatusForbidden || !strings.Contains(resp, `"code":"forbidden"`) {
			t.Errorf("agent PUT %s: %d %s", path, status, resp)
		}
		if status, _, _ := app.Do(nil, "PUT", path, app.Token(tn.Manager), body); status != http.StatusOK {
			t.Errorf("manager PUT %s: %d", path, status)
		}
	}
	if status, body, _ := app.Do(nil, "GET", "/api/v1/nope", app.Token(tn.Agent), ""); status != http.StatusNotFound || !strings.Contains(body, "not_found") {
		t.Errorf("unknown API route: %d %s", status, body)
	}
	status, body, h := app.Do(nil, "DELETE", "/api/v1/customers", app.Token(tn.Agent), "")
	if status != http.StatusMethodNotAllowed || h.Get("Allow") != "GET, PUT" || !strings.Contains(body, `"code":"method_not_allowed"`) {
		t.Errorf("wrong method on an API route: %d %q %s", status, h.Get("Allow"), body)
	}
}

func TestOperationsEndpoints(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		if status, body, _ := app.Do(nil, "GET", "/healthz", "", ""); status != 200 || body != "ok\n" {
			t.Errorf("healthz: %d %q", status, body)
		}
		if status, body, _ := app.Do(nil, "GET", "/readyz", "", ""); status != 200 || !strings.Contains(body, "ready") {
			t.Errorf("readyz: %d %q", status, body)
		}
		if status, _, _ := app.Do(nil, "GET", "/metrics", "", ""); status != http.StatusNotFound {
			t.Errorf("the public listener answers /metrics with %d, want 404", status)
		}
		// Static assets are immutable and compressed.
		req, _ := http.NewRequest("GET", app.URL+app.Server.Assets().URL("desk.css"), nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("static asset: %d %v", resp.StatusCode, resp.Header)
		}
	})
}

func TestReadyzFailsWhenTheDatabaseIsGone(t *testing.T) {
	db := dbtest.Open(t, database.SQLite)
	app := testapp.New(t, db)
	db.Close()
	if status, body, _ := app.Do(nil, "GET", "/readyz", "", ""); status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with a closed database: %d %s", status, body)
	}
	if status, _, _ := app.Do(nil, "GET", "/healthz", "", ""); status != http.StatusOK {
		t.Fatal("healthz is about the process, not the database")
	}
}

// During a rolling upgrade the new release migrates first while the old
// one still serves: migrations are expand-then-contract, so a schema ahead
// of the binary keeps it ready; only one behind holds traffic back.
func TestReadyzFollowsTheSchemaVersion(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db)
		latest := db.LatestVersion()
		if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			latest+1, fmt.Sprintf("%04d_from_a_newer_release.sql", latest+1), 0); err != nil {
			t.Fatal(err)
		}
		if status, body, _ := app.Do(nil, "GET", "/readyz", "", ""); status != http.StatusOK {
			t.Fatalf("readyz with the schema one version ahead: %d %s", status, body)
		}
		if _, err := db.Exec(ctx, `DELETE FROM schema_migrations WHERE version >= ?`, latest); err != nil {
			t.Fatal(err)
		}
		if status, body, _ := app.Do(nil, "GET", "/readyz", "", ""); status != http.StatusServiceUnavailable || !strings.Contains(body, "not current") {
			t.Fatalf("readyz with the schema one version behind: %d %s", status, body)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	_, _, h := app.Do(nil, "GET", "/login", "", "")
	for _, name := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if h.Get(name) == "" {
			t.Errorf("missing %s", name)
		}
	}
}

// API clients are servers, not browsers: cross-origin protection must not
// stand in their way, and a write through the whole stack lands.
func TestAPIWriteThroughTheWholeStack(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	token := app.Token(tn.Admin)
	body := `{"external_id":"9001","name":"#9001","currency":"EUR","total":"12.50","customer":{"external_id":"c9","email":"zoe@example.com"},
		"line_items":[{"title":"Mug","quantity":1,"price":"12.50"}]}`
	status, resp, h := app.Do(nil, "PUT", "/api/v1/orders", token, body)
	if status != http.StatusOK || h.Get("X-Upsert-Result") != "inserted" || !strings.Contains(resp, `"total":"12.50"`) {
		t.Fatalf("PUT order: %d %s", status, resp)
	}
	if status, _, _ := app.Do(nil, "PUT", "/api/v1/orders", token, body); status != http.StatusOK {
		t.Fatalf("replay: %d", status)
	}
	if status, resp, _ := app.Do(nil, "GET", "/api/v1/orders?q=9001", token, ""); status != 200 || strings.Count(resp, `"name":"#9001"`) != 1 {
		t.Fatalf("the order is not there exactly once: %s", resp)
	}
}

// An order's status is the same on every surface: with an open return it
// reads "Return in progress" in the API and the desk alike.
func TestOrderStatusIncludesReturnsEverywhere(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	o := app.Order(tn, "1001", "ada@example.com")
	if _, err := app.Server.Returns.Upsert(context.Background(), tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop,
		ExternalID: "r1", OrderName: o.Name, State: returns.StateOpen, Carrier: "USPS", TrackingNumber: "9400RET"}); err != nil {
		t.Fatal(err)
	}
	_, body, _ := app.Do(nil, "GET", fmt.Sprintf("/api/v1/orders/%d", o.ID), app.Token(tn.Agent), "")
	if !strings.Contains(body, `"status":"return_in_progress"`) {
		t.Fatalf("API: %s", body)
	}
	_, body, _ = app.Do(nil, "GET", "/api/v1/orders", app.Token(tn.Agent), "")
	if !strings.Contains(body, `"status":"return_in_progress"`) {
		t.Fatalf("API list: %s", body)
	}
	c := app.LoginAs(tn.Agent)
	for _, path := range []string{fmt.Sprintf("/orders/%d", o.ID), "/orders", fmt.Sprintf("/customers/%d", o.CustomerID)} {
		if _, body, _ := app.Do(c, "GET", path, "", ""); !strings.Contains(body, "Return in progress") {
			t.Errorf("desk %s lacks the return status", path)
		}
	}
	if _, body, _ := app.Do(c, "GET", fmt.Sprintf("/orders/%d", o.ID), "", ""); !strings.Contains(body, "9400RET") {
		t.Error("the desk order page does not show the return's tracking number")
	}
}

// Staff behind one office address are not locked out by a colleague's
// typos: the per-address limit is far higher than the per-email one.
func TestFailedLoginsOfOthersDoNotLockYouOut(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	for i := range 15 {
		resp, err := app.Browser().PostForm(app.URL+"/login", url.Values{"email": {fmt.Sprintf("someone%d@shopa.test", i)}, "password": {"nope"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := app.Browser().PostForm(app.URL+"/login", url.Values{"email": {tn.Agent.Email}, "password": {testapp.Password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a colleague's 15 failures locked the agent out: %d", resp.StatusCode)
	}
}

// Failures for an email from one address do not lock its owner out from
// another: the limit is per email and address.
func TestFailedLoginsElsewhereDoNotLockTheOwnerOut(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite), testapp.WithProxies("127.0.0.1"))
	tn := app.NewTenant("shopa")
	login := func(from, password string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", app.URL+"/login", strings.NewReader(url.Values{"email": {tn.Owner.Email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", from)
		resp, err := app.Browser().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var last int
	for range 12 {
		last = login("203.0.113.1", "guess")
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("the guessing address answered %d, want 429", last)
	}
	if status := login("198.51.100.7", testapp.Password); status != http.StatusSeeOther {
		t.Fatalf("the owner from another address: %d, want 303", status)
	}
}

// Metrics are served on their own listener, never on the public one, and
// both stop when Serve's context ends.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		listen := func() net.Listener {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			return ln
		}
		ln, metricsLn := listen(), listen()
		public, metrics := "http://"+ln.Addr().String(), "http://"+metricsLn.Addr().String()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		served := make(chan error, 1)
		go func() { served <- app.Server.Serve(ctx, ln, metricsLn) }()

		get := func(url string) (int, http.Header, string) {
			t.Helper()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, string(body)
		}
		if status, _, _ := get(public + "/customers"); status != http.StatusSeeOther {
			t.Fatalf("public listener: GET /customers answered %d", status)
		}
		if status, _, _ := get(public + "/metrics"); status != http.StatusNotFound {
			t.Errorf("public listener: GET /metrics answered %d, want 404", status)
		}
		status, header, body := get(metrics + "/metrics")
		if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") ||
			!strings.Contains(body, `hubdesk_http_requests_total{code="303",route="GET /customers"}`) {
			t.Errorf("metrics listener: %d %q, want Prometheus text with the request counter by route:\n%.2000s", status, header.Get("Content-Type"), body)
		}

		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("Serve after shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Serve did not return after its context ended")
		}
		for _, addr := range []string{ln.Addr().String(), metricsLn.Addr().String()} {
			if conn, err := net.Dial("tcp", addr); err == nil {
				conn.Close()
				t.Errorf("%s still accepts connections after shutdown", addr)
			}
		}
	})
}
