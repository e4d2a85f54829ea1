package sandbox

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

const testSecret = "hubdesk-demo-secret"

var testNow = time.Unix(1_800_000_000, 0)

// seen is one request as the app received it.
type seen struct {
	Method, Path, Query, Host string
	Header                    http.Header
	Body                      string
}

// fakeApp is the app behind the proxy: it records what reaches it and
// answers per path the way hubdesk's hub does.
type fakeApp struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newFakeApp(t *testing.T) *fakeApp {
	a := &fakeApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.reqs = append(a.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Clone(), string(body)})
		a.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "app_session", Value: "leak"})
		switch r.URL.Path {
		case "/hub/orders/1001/return":
			http.Redirect(w, r, "https://returns.example.com/?order_number=%231001&email=olivia%40example.com", http.StatusSeeOther)
		case "/hub/liquid":
			w.Header().Set("Content-Type", "application/liquid")
			io.WriteString(w, "<p>{{ customer.first_name }}</p>")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("X-App", "hub")
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "<h1>hub page</h1>")
		}
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *fakeApp) last(t *testing.T) seen {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) == 0 {
		t.Fatal("no request reached the app")
	}
	return a.reqs[len(a.reqs)-1]
}

func (a *fakeApp) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reqs)
}

var olivia = Customer{ID: "7000000100", Email: "olivia.johnson@example.com", FirstName: "Olivia", LastName: "Johnson"}

// newStorefront serves a sandbox proxying to app's /hub, and a browser-like
// client with a cookie jar that does not follow redirects.
func newStorefront(t *testing.T, app *fakeApp, edit func(*Options)) (*httptest.Server, *http.Client) {
	t.Helper()
	opts := Options{
		ShopName: "Demo Outfitters", ClientSecret: testSecret, ProxyTarget: app.URL + "/hub",
		Customers: []Customer{olivia}, HubScriptURL: app.URL + "/hub/embed.js",
		Now: func() time.Time { return testNow },
	}
	if edit != nil {
		edit(&opts)
	}
	sb := New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	sb.SetBaseURL(srv.URL)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return srv, client
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func logIn(t *testing.T, c *http.Client, srv *httptest.Server, id string) {
	t.Helper()
	resp, _ := get(t, c, srv.URL+"/account/login-as?customer="+id+"&return_to=/")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log in as %s: %s", id, resp.Status)
	}
}

// verified parses and verifies the query the app received.
func verified(t *testing.T, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := shopify.VerifyProxy(q, testSecret, testNow); err != nil {
		t.Fatalf("forwarded query %q does not verify: %v", raw, err)
	}
	return q
}

func TestProxyLoggedOutForwardsAVerifiableQueryWithAnEmptyCustomer(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, nil)
	resp, body := get(t, c, srv.URL+"/apps/hub/orders/1001?locale=de&tag=a&tag=b")
	if resp.StatusCode != http.StatusTeapot || body != "<h1>hub page</h1>" || resp.Header.Get("X-App") != "hub" {
		t.Fatalf("response not passed through: %s %q %v", resp.Status, body, resp.Header)
	}
	got := app.last(t)
	if got.Method != "GET" || got.Path != "/hub/orders/1001" {
		t.Fatalf("app got %s %s", got.Method, got.Path)
	}
	q := verified(t, got.Query)
	if v, ok := q["logged_in_customer_id"]; !ok || len(v) != 1 || v[0] != "" {
		t.Fatalf("logged_in_customer_id = %q (present %v), want present and empty", v, ok)
	}
	want := map[string]string{"shop": "demo-shop.myshopify.com", "path_prefix": "/apps/hub", "timestamp": "1800000000", "locale": "de"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if tags := q["tag"]; len(tags) != 2 || tags[0] != "a" || tags[1] != "b" {
		t.Errorf("repeated shopper parameter = %q", tags)
	}
}

func TestProxyLoggedInSendsTheCustomerAndNoCookies(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, nil)
	logIn(t, c, srv, olivia.ID)
	req, _ := http.NewRequest("GET", srv.URL+"/apps/hub", nil)
	req.AddCookie(&http.Cookie{Name: "_shopify_y", Value: "tracking"})
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := app.last(t)
	if q := verified(t, got.Query); q.Get("logged_in_customer_id") != olivia.ID {
		t.Fatalf("logged_in_customer_id = %q, want %s", q.Get("logged_in_customer_id"), olivia.ID)
	}
	if got.Path != "/hub" {
		t.Fatalf("the prefix itself maps to the proxy URL itself: got %s", got.Path)
	}
	if ck := got.Header.Values("Cookie"); len(ck) != 0 {
		t.Fatalf("cookies reached the app: %q", ck)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("the app's cookies reached the shopper: %q", sc)
	}
	// Logging out empties it again.
	resp, _ = get(t, c, srv.URL+"/account/logout")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("log out: %s", resp.Status)
	}
	get(t, c, srv.URL+"/apps/hub")
	if q := verified(t, app.last(t).Query); q.Get("logged_in_customer_id") != "" {
		t.Fatalf("after logout logged_in_customer_id = %q", q.Get("logged_in_customer_id"))
	}
}

func TestProxyForwardsMethodAndBody(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, nil)
	logIn(t, c, srv, olivia.ID)
	resp, err := c.PostForm(srv.URL+"/apps/hub/orders/1001/return?locale=fr", url.Values{"note": {"too small"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := app.last(t)
	if got.Method != "POST" || got.Path != "/hub/orders/1001/return" || got.Body != "note=too+small" ||
		got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("app got %+v", got)
	}
	if q := verified(t, got.Query); q.Get("locale") != "fr" || q.Get("logged_in_customer_id") != olivia.ID {
		t.Fatalf("query %v", q)
	}
	// The app's 303 reaches the browser as it is.
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://returns.example.com/?order_number=%231001&email=olivia%40example.com" {
		t.Fatalf("redirect: %s Location %q", resp.Status, resp.Header.Get("Location"))
	}
}

func TestProxyAddsForwardedHeaders(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/apps/hub", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9") // a shopper cannot choose it
	req.Header.Set("Accept-Language", "nl-NL,nl;q=0.9")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := app.last(t)
	storefront := strings.TrimPrefix(srv.URL, "http://")
	if got.Header.Get("X-Forwarded-For") != "127.0.0.1" || got.Header.Get("X-Forwarded-Host") != storefront {
		t.Fatalf("X-Forwarded-For %q, X-Forwarded-Host %q (storefront %s)", got.Header.Get("X-Forwarded-For"), got.Header.Get("X-Forwarded-Host"), storefront)
	}
	if got.Host != strings.TrimPrefix(app.URL, "http://") {
		t.Fatalf("Host = %q, want the app's", got.Host)
	}
	if got.Header.Get("Accept-Language") != "nl-NL,nl;q=0.9" {
		t.Fatalf("Accept-Language = %q", got.Header.Get("Accept-Language"))
	}
}

func TestProxyHonoursThePathPrefix(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, func(o *Options) { o.ProxyPrefix = "/a/help/" })
	get(t, c, srv.URL+"/a/help/orders/7?signature=forged&shop=evil.myshopify.com&logged_in_customer_id=1")
	got := app.last(t)
	q := verified(t, got.Query)
	if got.Path != "/hub/orders/7" || q.Get("path_prefix") != "/a/help" || q.Get("shop") != "demo-shop.myshopify.com" || q.Get("logged_in_customer_id") != "" {
		t.Fatalf("app got %s %v", got.Path, q)
	}
	for _, p := range []string{"/apps/hub", "/a/helpdesk", "/a"} {
		before := app.count()
		resp, _ := get(t, c, srv.URL+p)
		if resp.StatusCode != http.StatusNotFound || app.count() != before {
			t.Errorf("%s: %s, forwarded %v; want the storefront's 404", p, resp.Status, app.count() != before)
		}
	}
}

// In ForwardShopperDuplicates mode the shopper's identity parameters reach
// the app ahead of the proxy's, all signed: the query a verifier must
// refuse although its signature is right.
func TestProxyForwardsShopperDuplicatesWhenAsked(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, func(o *Options) { o.ForwardShopperDuplicates = true })
	logIn(t, c, srv, olivia.ID)
	get(t, c, srv.URL+"/apps/hub?logged_in_customer_id=1&shop=evil.myshopify.com&signature=forged&locale=de")
	q, err := url.ParseQuery(app.last(t).Query)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"logged_in_customer_id": {"1", olivia.ID},
		"shop":                  {"evil.myshopify.com", "demo-shop.myshopify.com"},
		"path_prefix":           {"/apps/hub"},
		"locale":                {"de"},
	}
	for k, vs := range want {
		if strings.Join(q[k], "|") != strings.Join(vs, "|") {
			t.Errorf("%s = %q, want %q", k, q[k], vs)
		}
	}
	sigs := q["signature"]
	if len(sigs) != 2 || sigs[0] != "forged" {
		t.Fatalf("signature = %q, want the shopper's then the proxy's", sigs)
	}
	// The proxy's signature covers the doubled values; only the
	// repetition itself gives the query away.
	q.Set("signature", sigs[1])
	if q.Get("signature") != shopify.SignProxy(q, testSecret) {
		t.Fatal("the proxy's signature does not cover the forwarded query")
	}
	q["signature"] = sigs
	if err := shopify.VerifyProxy(q, testSecret, testNow); !errors.Is(err, shopify.ErrProxyRepeated) {
		t.Fatalf("VerifyProxy = %v, want %v", err, shopify.ErrProxyRepeated)
	}
}

func TestProxyRendersLiquidInTheLayout(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, nil)
	resp, body := get(t, c, srv.URL+"/apps/hub/liquid")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "Demo Outfitters") ||
		!strings.Contains(body, "<p>{{ customer.first_name }}</p>") {
		t.Fatalf("liquid answer: %s %q", resp.Header.Get("Content-Type"), body)
	}
}

func TestProxyAppDownIsABadGateway(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, nil)
	app.Close()
	resp, body := get(t, c, srv.URL+"/apps/hub")
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "not available") {
		t.Fatalf("%s %q", resp.Status, body)
	}
	srv2, c2 := newStorefront(t, app, func(o *Options) { o.ProxyTarget = "" })
	if resp, _ := get(t, c2, srv2.URL+"/apps/hub"); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("no target: %s", resp.Status)
	}
}

func TestStorefrontPages(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, nil)
	cases := []struct {
		path   string
		status int
		want   []string
	}{
		{"/", 200, []string{
			`<script src="` + app.URL + `/hub/embed.js" data-shop="demo-shop.myshopify.com" data-proxy-path="/apps/hub" defer></script>`,
			`href="/apps/hub"`, "Log in as Olivia", olivia.Email, `action="/account/login"`,
		}},
		{"/account/login?return_url=%2Fapps%2Fhub", 200, []string{"Log in as Olivia", `name="return_url" value="/apps/hub"`}},
		{"/account/login?return_url=https%3A%2F%2Fevil.example", 200, []string{`name="return_url" value=""`}},
		{"/account", 302, nil},
		{"/cart/44010001:2,44010003:1?storefront=true", 200, []string{"44010001", "44010003", "the cart opens"}},
		{"/cart/44010001", 400, []string{"VARIANT_ID:QUANTITY"}},
		{"/nope", 404, []string{"Page not found"}},
		{"/favicon.ico", 200, []string{"<svg"}},
		{"/account/login-as?customer=1", 404, []string{"No sandbox customer"}},
	}
	for _, tc := range cases {
		resp, body := get(t, c, srv.URL+tc.path)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s, want %d", tc.path, resp.Status, tc.status)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q in\n%s", tc.path, w, body)
			}
		}
		if strings.Contains(body, "://") && strings.Contains(body, "<link") {
			t.Errorf("%s: loads an external stylesheet", tc.path)
		}
	}
	// The drawer is on the product page only.
	if _, body := get(t, c, srv.URL+"/account/login"); strings.Contains(body, "embed.js") {
		t.Error("the drawer script is on the login page")
	}
}

func TestLoginRedirectsOnlyWithinTheStorefront(t *testing.T) {
	app := newFakeApp(t)
	srv, c := newStorefront(t, app, nil)
	for to, want := range map[string]string{
		"/apps/hub?locale=de":       "/apps/hub?locale=de",
		"https://evil.example/":     "/account",
		"//evil.example/":           "/account",
		"/\\evil.example":           "/account",
		"":                          "/account",
		"/apps/hub/orders/1001#top": "/apps/hub/orders/1001#top",
		"/./\\evil.example":         "/account",
		"/\t/evil.example":          "/account",
		"/%2F%2Fevil.example":       "/account",
	} {
		resp, err := c.PostForm(srv.URL+"/account/login", url.Values{"customer": {olivia.ID}, "return_url": {to}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("return_url %q: %s to %q, want %q", to, resp.Status, resp.Header.Get("Location"), want)
		}
	}
	// Logged in, the account page names her; the cookie is the storefront's.
	resp, body := get(t, c, srv.URL+"/account")
	if resp.StatusCode != 200 || !strings.Contains(body, "Olivia Johnson") || !strings.Contains(body, olivia.ID) {
		t.Fatalf("account: %s %q", resp.Status, body)
	}
	u, _ := url.Parse(srv.URL)
	if cks := c.Jar.Cookies(u); len(cks) != 1 || cks[0].Name != SessionCookie {
		t.Fatalf("cookies %v", cks)
	}
}

func TestLoginAsURL(t *testing.T) {
	sb := New(Options{BaseURL: "http://127.0.0.1:9000/", Customers: []Customer{olivia}})
	if got := sb.LoginAsURL(olivia.ID, "/apps/hub"); got != "http://127.0.0.1:9000/account/login-as?customer=7000000100&return_to=/apps/hub" {
		t.Fatal(got)
	}
	if got := sb.LoginAsURL(olivia.ID, "/apps/hub?locale=de&x=a b"); got != "http://127.0.0.1:9000/account/login-as?customer=7000000100&return_to=/apps/hub%3Flocale%3Dde%26x%3Da+b" {
		t.Fatal(got)
	}
	if sb.HubURL() != "http://127.0.0.1:9000/apps/hub" {
		t.Fatal(sb.HubURL())
	}
}
