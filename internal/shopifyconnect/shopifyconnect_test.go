package shopifyconnect_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

const (
	appID     = "hubdesk-app"
	appSecret = "hubdesk-app-secret"
)

// env is a hubdesk on loopback, its queue worked, whose Shopify is a
// sandbox on loopback that knows hubdesk's public app.
type env struct {
	t     *testing.T
	db    *database.DB
	app   *testapp.App
	sb    *sandbox.Sandbox
	sbURL string
	c     *shopifyconnect.Connector
}

func newEnv(t *testing.T, db *database.DB, opts sandbox.Options) *env {
	opts.ClientID, opts.ClientSecret = appID, appSecret
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	sb.SetBaseURL(srv.URL)
	app := testapp.New(t, db, testapp.WithShopifyApp(shopifyconnect.App{ClientID: appID, ClientSecret: appSecret}, srv.URL))
	jobstest.Work(t, app.Server.Jobs)
	return &env{t: t, db: db, app: app, sb: sb, sbURL: srv.URL, c: app.Server.ShopifyConnect}
}

func (e *env) get(client *http.Client, u string) (*http.Response, string) {
	e.t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// install walks a merchant's browser through the install: hubdesk's
// install link, Shopify's authorization page, Install, and back to
// hubdesk's callback, whose URL it returns with the final answer.
func (e *env) install(browser *http.Client) (callback string, resp *http.Response, body string) {
	e.t.Helper()
	resp, _ = e.get(browser, e.app.URL+"/shopify/install?shop="+e.sb.Shop())
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("install: %d", resp.StatusCode)
	}
	authorize := resp.Header.Get("Location")
	if !strings.HasPrefix(authorize, e.sbURL+"/admin/oauth/authorize?") {
		e.t.Fatalf("install goes to %q", authorize)
	}
	q, _ := url.Parse(authorize)
	if page, _ := e.get(browser, authorize); page.StatusCode != http.StatusOK {
		e.t.Fatalf("authorize page: %d", page.StatusCode)
	}
	approve, err := browser.PostForm(e.sbURL+"/admin/oauth/authorize", q.Query())
	if err != nil {
		e.t.Fatal(err)
	}
	approve.Body.Close()
	callback = approve.Header.Get("Location")
	if !strings.HasPrefix(callback, e.app.URL+"/shopify/callback?") {
		e.t.Fatalf("Shopify sends the browser to %q", callback)
	}
	resp, body = e.get(browser, callback)
	return callback, resp, body
}

func (e *env) credentials(shopID int64) (*connection.Connection, *connection.ShopifyCredentials) {
	e.t.Helper()
	conn, err := connection.NewStore(e.db, e.app.Box).With(e.db).Get(context.Background(), shopID, connection.ProviderShopify)
	if err != nil {
		e.t.Fatal(err)
	}
	sc, err := conn.ShopifyCredentials()
	if err != nil {
		e.t.Fatal(err)
	}
	return conn, sc
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// The public app's install over real HTTP: the shop is created, its
// expiring token and refresh token stored sealed, the app's secret
// verifies it, the webhooks are registered, and the renewal job replaces
// the token before it runs out — again and again.
func TestInstallStoresSealedTokensAndRenewsThemBeforeExpiry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		// A token of 8 seconds is renewed after 6 (three quarters of its life).
		e := newEnv(t, db, sandbox.Options{ExpiringTokenTTL: 8 * time.Second})
		ctx := context.Background()
		browser := e.app.Browser()
		callback, resp, body := e.install(browser)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Installed") || !strings.Contains(body, "--shop "+e.sb.Shop()+" --role owner") {
			t.Fatalf("callback: %d\n%s", resp.StatusCode, body)
		}
		sh, err := e.app.Server.Shops.GetByDomain(ctx, e.sb.Shop())
		if err != nil {
			t.Fatalf("the install made no shop: %v", err)
		}
		if sh.Name != sandbox.DefaultShopName {
			t.Errorf("shop named %q, want Shopify's name", sh.Name)
		}
		// Sealed at rest: neither token appears in the row.
		_, sc := e.credentials(sh.ID)
		var raw string
		if err := db.QueryRow(ctx, `SELECT credentials FROM connections WHERE shop_id = ? AND provider = 'shopify'`, sh.ID).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(raw, "hdsec:") || strings.Contains(raw, sc.AccessToken) || strings.Contains(raw, sc.RefreshToken) {
			t.Fatalf("credentials stored as %q", raw)
		}
		if sc.Method != connection.ShopifyPublicApp || sc.RefreshToken == "" || sc.ExpiresAt == nil || sc.ClientSecret != "" {
			t.Fatalf("credentials = %+v", sc)
		}
		// The app's secret, from the configuration, verifies this shop.
		if secret, err := e.app.Server.Shops.ClientSecret(ctx, sh.ID); err != nil || secret != appSecret {
			t.Fatalf("client secret = %q, %v", secret, err)
		}
		st, err := e.c.Status(ctx, sh.ID)
		if err != nil || !st.Connected || len(st.MissingRequired) != 0 {
			t.Fatalf("status = %+v, %v", st, err)
		}
		// The hub admits App Proxy requests signed with the app's secret,
		// and only those.
		for secret, want := range map[string]bool{appSecret: true, "hubdesk-demo-secret": false} {
			q := shopify.SignedProxyQuery(url.Values{}, shopify.ProxyParams{Shop: sh.Domain, PathPrefix: "/apps/hub", Timestamp: time.Now()}, secret)
			resp, _ := e.get(http.DefaultClient, e.app.URL+"/hub?"+q.Encode())
			if admitted := resp.StatusCode != http.StatusUnauthorized; admitted != want {
				t.Fatalf("App Proxy signed with %q: %d", secret, resp.StatusCode)
			}
		}

		// Webhooks registered at hubdesk's address, every topic once.
		jobstest.Eventually(t, "the webhook subscriptions", func() bool { return len(e.sb.WebhookSubscriptions()) == len(shopifyconnect.Topics) })
		for _, s := range e.sb.WebhookSubscriptions() {
			if s.URI != e.app.URL+"/webhooks/shopify" {
				t.Fatalf("subscription %+v", s)
			}
		}

		// Renewed before expiry, twice, each token working on its own.
		first := sc.AccessToken
		var second string
		jobstest.Eventually(t, "the first renewal", func() bool {
			_, now := e.credentials(sh.ID)
			second = now.AccessToken
			return second != first
		})
		if _, err := e.c.TokenSource(sh.ID).Token(ctx); err != nil {
			t.Fatalf("token after renewal: %v", err)
		}
		client, err := e.c.AdminClient(ctx, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.AccessScopes(ctx); err != nil {
			t.Fatalf("the renewed token does not work: %v", err)
		}
		jobstest.Eventually(t, "the second renewal", func() bool {
			_, now := e.credentials(sh.ID)
			return now.AccessToken != second && now.AccessToken != first
		})

		// The same callback again, even from the browser that kept the
		// state: it is used up.
		cu, _ := url.Parse(callback)
		browser.Jar.SetCookies(cu, []*http.Cookie{{Name: "hubdesk_shopify_install", Value: cu.Query().Get("state"), Path: "/shopify/callback"}})
		resp, body = e.get(browser, callback)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "already used") {
			t.Fatalf("replayed callback: %d\n%s", resp.StatusCode, body)
		}
	})
}

// Forged callbacks are refused with a clear page and change nothing: a
// bad hmac, a state never made or used twice, a foreign host, a state
// made for another shop, a callback in a browser that did not start it.
func TestForgedInstallCallbacksAreRefused(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{})
		ctx := context.Background()
		// A state of a real install, to forge around.
		start := func(browser *http.Client, shop string) string {
			resp, _ := e.get(browser, e.app.URL+"/shopify/install?shop="+shop)
			u, _ := url.Parse(resp.Header.Get("Location"))
			return u.Query().Get("state")
		}
		signed := func(shop, state string, mut func(url.Values)) string {
			q := url.Values{"code": {"x"}, "shop": {shop}, "state": {state}, "timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}}
			if mut != nil {
				mut(q)
			}
			q.Set("hmac", shopify.SignOAuthQuery(q, appSecret))
			return e.app.URL + "/shopify/callback?" + q.Encode()
		}
		cases := []struct {
			name   string
			url    func(browser *http.Client) string
			reason string
		}{
			{"bad hmac", func(b *http.Client) string {
				state := start(b, e.sb.Shop())
				return strings.Replace(signed(e.sb.Shop(), state, nil), "hmac=", "hmac=00", 1)
			}, "not signed by Shopify"},
			{"signed with another secret", func(b *http.Client) string {
				state := start(b, e.sb.Shop())
				q := url.Values{"code": {"x"}, "shop": {e.sb.Shop()}, "state": {state}, "timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}}
				q.Set("hmac", shopify.SignOAuthQuery(q, "not-the-app-secret"))
				return e.app.URL + "/shopify/callback?" + q.Encode()
			}, "not signed by Shopify"},
			{"unknown state", func(b *http.Client) string {
				start(b, e.sb.Shop())
				// The browser's cookie names a state the server never made.
				u, _ := url.Parse(e.app.URL + "/shopify/callback")
				b.Jar.SetCookies(u, []*http.Cookie{{Name: "hubdesk_shopify_install", Value: "made-up", Path: "/shopify/callback"}})
				return signed(e.sb.Shop(), "made-up", nil)
			}, "already used or is unknown"},
			{"foreign host", func(b *http.Client) string {
				state := start(b, e.sb.Shop())
				return signed("evil.example.com", state, nil)
			}, "not a myshopify.com store"},
			{"state made for another shop", func(b *http.Client) string {
				state := start(b, "other-shop.myshopify.com")
				return signed(e.sb.Shop(), state, nil)
			}, "another shop"},
			{"another browser", func(b *http.Client) string {
				state := start(e.app.Browser(), e.sb.Shop())
				return signed(e.sb.Shop(), state, nil)
			}, "another browser"},
			{"stale", func(b *http.Client) string {
				state := start(b, e.sb.Shop())
				return signed(e.sb.Shop(), state, func(q url.Values) { q.Set("timestamp", strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)) })
			}, "too old"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b := e.app.Browser()
				resp, body := e.get(b, c.url(b))
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, c.reason) {
					t.Fatalf("got %d, want 403 saying %q:\n%s", resp.StatusCode, c.reason, body)
				}
				if loc := resp.Header.Get("Location"); loc != "" {
					t.Fatalf("a refused callback redirects to %q", loc)
				}
			})
		}
		if _, err := e.app.Server.Shops.GetByDomain(ctx, e.sb.Shop()); err == nil {
			t.Fatal("a forged callback created the shop")
		}
		if n := e.count(`SELECT COUNT(*) FROM connections WHERE provider = 'shopify'`); n != 0 {
			t.Fatalf("%d connections after forged callbacks", n)
		}
		// The install page refuses a shop that is not a myshopify domain,
		// and never redirects to it.
		resp, _ := e.get(e.app.Browser(), e.app.URL+"/shopify/install?shop="+url.QueryEscape("https://evil.example.com/"))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("install for a foreign host: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// A Dev Dashboard custom app: client id and secret saved on the settings
// page buy a token; the renewal job buys the next one before it runs out;
// the app's secret verifies the shop from then on.
func TestClientCredentialsConnectAndRenewal(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{ClientCredentialsTTL: 8 * time.Second,
			CustomApps: []sandbox.App{{ClientID: "custom-id", ClientSecret: "custom-secret"}}})
		ctx := context.Background()
		tn := e.app.NewTenant("acme")
		admin := e.app.LoginAs(tn.Admin)
		// A wrong secret: refused, nothing saved.
		resp, err := admin.PostForm(e.app.URL+"/settings/shopify/connect", url.Values{"method": {"client_credentials"}, "client_id": {"custom-id"}, "client_secret": {"wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "Shopify refused") || strings.Contains(string(body), "wrong") {
			t.Fatalf("wrong secret: %d\n%s", resp.StatusCode, body)
		}
		if n := e.count(`SELECT COUNT(*) FROM connections WHERE provider = 'shopify'`); n != 0 {
			t.Fatal("a refused connect was saved")
		}
		resp, err = admin.PostForm(e.app.URL+"/settings/shopify/connect", url.Values{"method": {"client_credentials"}, "client_id": {"custom-id"}, "client_secret": {"custom-secret"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("connect: %d", resp.StatusCode)
		}
		_, sc := e.credentials(tn.Shop.ID)
		if sc.Method != connection.ShopifyClientCredentials || sc.AccessToken == "" || sc.ExpiresAt == nil {
			t.Fatalf("credentials = %+v", sc)
		}
		if secret, _ := e.app.Server.Shops.ClientSecret(ctx, tn.Shop.ID); secret != "custom-secret" {
			t.Fatalf("the custom app's secret does not verify the shop: %q", secret)
		}
		first := sc.AccessToken
		jobstest.Eventually(t, "the renewal", func() bool {
			_, now := e.credentials(tn.Shop.ID)
			return now.AccessToken != first
		})
		var entries int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE shop_id = ? AND subject = 'shopify connection'`, tn.Shop.ID).Scan(&entries); err != nil {
			t.Fatal(err)
		}
		if entries != 1 {
			t.Fatalf("%d audit entries for one connect", entries)
		}
		var details string
		db.QueryRow(ctx, `SELECT details FROM audit_log WHERE shop_id = ? AND subject = 'shopify connection'`, tn.Shop.ID).Scan(&details)
		if strings.Contains(details, "custom-secret") || strings.Contains(details, first) {
			t.Fatalf("audit details hold a secret: %s", details)
		}

		// Shopify revokes the app: the next renewal is refused and the
		// connection says so (Settings → Shopify: connect again).
		e.sb.RefuseTokens(true)
		jobstest.Eventually(t, "the refused renewal", func() bool {
			conn, _ := e.credentials(tn.Shop.ID)
			return conn.Status == connection.StatusRefused
		})
		st, err := e.c.Status(ctx, tn.Shop.ID)
		if err != nil || st.State != connection.StatusRefused {
			t.Fatalf("status = %+v, %v", st, err)
		}
	})
}

// A pasted admin token is checked on save: the scopes Shopify granted are
// reported against those hubdesk needs; a token Shopify does not know is
// refused and nothing is saved.
func TestPastedTokenCheckReportsMissingScopes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{})
		ctx := context.Background()
		tn := e.app.NewTenant("acme")
		actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
		_, err := e.c.ConnectCustomApp(ctx, tn.Shop.ID, actor, shopifyconnect.CustomApp{Method: connection.ShopifyAdminToken,
			AccessToken: "shpat_not_known", ClientSecret: "s"})
		var refused *shopifyconnect.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("unknown token: %v", err)
		}
		token := e.sb.IssueAccessToken([]string{"read_orders", "read_returns"}, 0)
		st, err := e.c.ConnectCustomApp(ctx, tn.Shop.ID, actor, shopifyconnect.CustomApp{Method: connection.ShopifyAdminToken,
			AccessToken: token, ClientSecret: "admin-app-secret"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(st.MissingRequired, []string{"read_customers", "read_fulfillments"}) || !st.Connected || st.ExpiresAt != nil {
			t.Fatalf("status = %+v", st)
		}
		// The settings page says which scopes are missing.
		page, body := e.get(e.app.LoginAs(tn.Owner), e.app.URL+"/settings/shopify")
		if page.StatusCode != http.StatusOK || !strings.Contains(body, `id="shopify-missing"`) || !strings.Contains(body, "<code>read_customers</code>") {
			t.Fatalf("settings page: %d\n%s", page.StatusCode, body)
		}
		if strings.Contains(body, token) || strings.Contains(body, "admin-app-secret") {
			t.Fatal("the settings page shows a secret")
		}
	})
}

// Subscriptions deleted behind hubdesk's back are made again by the
// check, and the health says which.
func TestSubscriptionsAreRepaired(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{})
		ctx := context.Background()
		tn := e.app.NewTenant("acme")
		token := e.sb.IssueAccessToken(nil, 0)
		if _, err := e.c.ConnectCustomApp(ctx, tn.Shop.ID, audit.Actor{Kind: audit.ActorSystem}, shopifyconnect.CustomApp{
			Method: connection.ShopifyAdminToken, AccessToken: token, ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "the subscriptions", func() bool { return len(e.sb.WebhookSubscriptions()) == len(shopifyconnect.Topics) })
		jobstest.Eventually(t, "their health", func() bool {
			st, _ := e.c.Status(ctx, tn.Shop.ID)
			return st.SubscriptionsHealthy
		})
		var dropped sandbox.Subscription
		for _, s := range e.sb.WebhookSubscriptions() {
			if s.Topic == "APP_UNINSTALLED" {
				dropped = s
			}
		}
		e.sb.DropWebhookSubscription(dropped.ID)
		h, err := e.c.Subscribe(ctx, tn.Shop.ID)
		if err != nil {
			t.Fatal(err)
		}
		if h.Topics["APP_UNINSTALLED"] != shopifyconnect.SubscriptionRepaired || h.Topics["ORDERS_CREATE"] != shopifyconnect.SubscriptionOK || !h.Healthy() {
			t.Fatalf("health = %+v", h)
		}
		if n := len(e.sb.WebhookSubscriptions()); n != len(shopifyconnect.Topics) {
			t.Fatalf("%d subscriptions after the repair", n)
		}
		// Running it again changes nothing.
		if _, err := e.c.Subscribe(ctx, tn.Shop.ID); err != nil || len(e.sb.WebhookSubscriptions()) != len(shopifyconnect.Topics) {
			t.Fatalf("second check: %v, %d", err, len(e.sb.WebhookSubscriptions()))
		}
	})
}

// app/uninstalled drops the tokens and keeps the shop's data; running it
// twice changes nothing more.
func TestUninstalledDropsTokensKeepsData(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{})
		ctx := context.Background()
		tn := e.app.NewTenant("acme")
		e.app.Order(tn, "1001", "ada@example.com")
		token := e.sb.IssueAccessToken(nil, 0)
		if _, err := e.c.ConnectCustomApp(ctx, tn.Shop.ID, audit.Actor{Kind: audit.ActorSystem}, shopifyconnect.CustomApp{
			Method: connection.ShopifyAdminToken, AccessToken: token, ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := db.InTx(ctx, func(tx *database.Tx) error { return e.c.Uninstalled(ctx, tx, tn.Shop.ID, time.Now()) }); err != nil {
				t.Fatal(err)
			}
		}
		conn, sc := e.credentials(tn.Shop.ID)
		if sc.AccessToken != "" || sc.UninstalledAt == nil || conn.Status != connection.StatusUninstalled {
			t.Fatalf("after uninstall: %+v %+v", conn, sc)
		}
		if _, err := e.c.TokenSource(tn.Shop.ID).Token(ctx); !errors.Is(err, shopifyconnect.ErrNotConnected) {
			t.Fatalf("token after uninstall: %v", err)
		}
		if n := e.count(`SELECT COUNT(*) FROM orders WHERE shop_id = ?`, tn.Shop.ID); n != 1 {
			t.Fatalf("%d orders kept", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE shop_id = ? AND subject = 'shopify connection'`, tn.Shop.ID); n != 2 {
			t.Fatalf("%d audit entries: connect and one uninstall", n)
		}
		st, err := e.c.Status(ctx, tn.Shop.ID)
		if err != nil || st.Connected || st.Uninstalled == nil {
			t.Fatalf("status = %+v %v", st, err)
		}
	})
}

// The storefront's domains are read from Shopify on connect and at every
// check of the subscriptions, so the hub's Origin check knows a domain
// the merchant added even when shop/update never arrived; the
// myshopify.com domain is not listed.
func TestStorefrontDomainsOnConnectAndRepair(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{StorefrontDomains: []string{"Shop.Example.com", "www.example.com"}})
		ctx := context.Background()
		tn := e.app.NewTenant("acme")
		token := e.sb.IssueAccessToken(nil, 0)
		if _, err := e.c.ConnectCustomApp(ctx, tn.Shop.ID, audit.Actor{Kind: audit.ActorSystem}, shopifyconnect.CustomApp{
			Method: connection.ShopifyAdminToken, AccessToken: token, ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		domains := func() (string, []string) {
			sh, err := e.app.Server.Shops.Get(ctx, tn.Shop.ID)
			if err != nil {
				t.Fatal(err)
			}
			return sh.PrimaryDomain, sh.StorefrontDomains
		}
		jobstest.Eventually(t, "the storefront domains", func() bool {
			primary, _ := domains()
			return primary != ""
		})
		if primary, all := domains(); primary != "shop.example.com" || !slices.Equal(all, []string{"shop.example.com", "www.example.com"}) {
			t.Fatalf("after connect: primary %q, domains %q", primary, all)
		}
		// The merchant moves the store to another domain.
		e.sb.SetStorefrontDomains("new-shop.example.org")
		if _, err := e.c.Subscribe(ctx, tn.Shop.ID); err != nil {
			t.Fatal(err)
		}
		if primary, all := domains(); primary != "new-shop.example.org" || !slices.Equal(all, []string{"new-shop.example.org"}) {
			t.Fatalf("after the check: primary %q, domains %q", primary, all)
		}
		// And back to the myshopify.com domain alone.
		e.sb.SetStorefrontDomains()
		if _, err := e.c.Subscribe(ctx, tn.Shop.ID); err != nil {
			t.Fatal(err)
		}
		if primary, all := domains(); primary != "" || len(all) != 0 {
			t.Fatalf("with no domain of its own: primary %q, domains %q", primary, all)
		}
	})
}

// flaky answers 503 to the next fail GraphQL requests naming op, as a
// store briefly unavailable would.
type flaky struct {
	next http.Handler
	op   string
	fail atomic.Int32
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/graphql.json") {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.Contains(string(body), f.op) && f.fail.Add(-1) >= 0 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	f.next.ServeHTTP(w, r)
}

// Disconnecting removes the webhook subscriptions hubdesk made on the
// store, in a job retried while the store is unavailable, with the token
// sealed in the job; another app's subscription stays.
func TestDisconnectRemovesTheSubscriptions(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		sb := sandbox.New(sandbox.Options{ClientID: appID, ClientSecret: appSecret})
		fl := &flaky{next: sb, op: "webhookSubscriptions"}
		srv := httptest.NewServer(fl)
		t.Cleanup(srv.Close)
		sb.SetBaseURL(srv.URL)
		app := testapp.New(t, db, testapp.WithShopifyApp(shopifyconnect.App{ClientID: appID, ClientSecret: appSecret}, srv.URL))
		jobstest.Work(t, app.Server.Jobs)
		c := app.Server.ShopifyConnect
		ctx := context.Background()
		tn := app.NewTenant("acme")
		token := sb.IssueAccessToken(nil, 0)
		actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
		if _, err := c.ConnectCustomApp(ctx, tn.Shop.ID, actor, shopifyconnect.CustomApp{
			Method: connection.ShopifyAdminToken, AccessToken: token, ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "the subscriptions", func() bool { return len(sb.WebhookSubscriptions()) == len(shopifyconnect.Topics) })
		other := shopify.New(shopify.Options{Shop: sb.Shop(), BaseURL: srv.URL, Tokens: shopify.StaticToken(token)})
		if _, err := other.CreateWebhookSubscription(ctx, "ORDERS_CREATE", "https://another-app.example/hooks"); err != nil {
			t.Fatal(err)
		}
		fl.fail.Store(2) // the job's first attempt finds the store unavailable
		if err := c.Disconnect(ctx, tn.Shop.ID, actor); err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "hubdesk's subscriptions removed", func() bool { return len(sb.WebhookSubscriptions()) == 1 })
		if left := sb.WebhookSubscriptions()[0]; left.URI != "https://another-app.example/hooks" {
			t.Fatalf("left %+v, want the other app's", left)
		}
		if fl.fail.Load() >= 0 {
			t.Fatalf("the store was never unavailable to the job (%d failures left)", fl.fail.Load())
		}
		var attempts int
		var args string
		if err := db.QueryRow(ctx, `SELECT attempt, CAST(args AS TEXT) FROM river_job WHERE kind = 'shopify_unsubscribe'`).Scan(&attempts, &args); err != nil {
			t.Fatal(err)
		}
		if attempts < 2 {
			t.Errorf("the job ran %d times, want a retry", attempts)
		}
		if strings.Contains(args, token) {
			t.Errorf("the job's arguments hold the token in the clear: %s", args)
		}
		// A shop connected again before the job runs keeps its (new)
		// subscriptions.
		if _, err := c.ConnectCustomApp(ctx, tn.Shop.ID, actor, shopifyconnect.CustomApp{
			Method: connection.ShopifyAdminToken, AccessToken: token, ClientSecret: "s"}); err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "the subscriptions again", func() bool { return len(sb.WebhookSubscriptions()) == len(shopifyconnect.Topics)+1 })
		sealed, err := app.Box.Seal(token)
		if err != nil {
			t.Fatal(err)
		}
		n, err := c.Unsubscribe(ctx, shopifyconnect.UnsubscribeArgs{ShopID: tn.Shop.ID, Domain: tn.Shop.Domain, SealedToken: sealed, URI: c.WebhookURL()})
		if err != nil || n != 0 || len(sb.WebhookSubscriptions()) != len(shopifyconnect.Topics)+1 {
			t.Fatalf("a late unsubscribe of a reconnected shop: removed %d (%v), %d left", n, err, len(sb.WebhookSubscriptions()))
		}
	})
}
