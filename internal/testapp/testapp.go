// Package testapp builds a complete hubdesk server over a fresh database
// for tests that go through HTTP the way browsers and API clients do.
package testapp

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/mail"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/server"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/shopifysync"
	"github.com/hubdesk/hubdesk/internal/testlog"
	"github.com/hubdesk/hubdesk/internal/user"
)

// Password is the password of every user a test creates.
const Password = "correct horse battery"

// App is a running server on loopback.
type App struct {
	T      testing.TB
	DB     *database.DB
	Box    *secret.Box
	Server *server.Server
	URL    string
	// Log holds what the server logged; the test fails if a secret it
	// knows of (the tokens, passwords and session cookies testapp hands
	// out, the sealing key, what the test adds with Secret) is in a line.
	// Nil when the test gave its own logger (WithLogger).
	Log *testlog.Log
}

// Secret registers strings the server must never log (an API key or
// client secret the test saves).
func (a *App) Secret(secrets ...string) {
	if a.Log != nil {
		a.Log.Secret(secrets...)
	}
}

// Option adjusts the server a test starts.
type Option func(*server.Options)

// WithLoop points the server's Loop client at a Loop sandbox's root (the
// client calls its /api/{version}).
func WithLoop(baseURL string) Option {
	return func(o *server.Options) { o.LoopBaseURL = baseURL }
}

// WithShopifyApp gives the server hubdesk's public Shopify app and roots
// every shop's Shopify admin (token endpoint, Admin API) at adminURL, a
// Shopify sandbox's root.
func WithShopifyApp(app shopifyconnect.App, adminURL string) Option {
	return func(o *server.Options) { o.Shopify = server.ShopifyOptions{App: app, AdminURL: adminURL} }
}

// WithShopifyClients gives the server its shops' Shopify Admin clients
// (every shop the same client in tests: shopifysync.StaticClients).
func WithShopifyClients(clients shopifysync.Clients) Option {
	return func(o *server.Options) { o.ShopifyClients = clients }
}

// WithProxies trusts these addresses (auth.ParseProxies) to name the
// client in X-Forwarded-For, so a test can sign in "from" several places.
func WithProxies(spec string) Option {
	return func(o *server.Options) {
		proxies, err := auth.ParseProxies(spec)
		if err != nil {
			panic(err)
		}
		o.Proxies = proxies
	}
}

// WithClock gives the hub and the ticket store the test's clock.
func WithClock(now func() time.Time) Option {
	return func(o *server.Options) { o.Now = now }
}

// WithLogger gives the server the test's logger, so a test can read what
// was logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *server.Options) { o.Logger = l }
}

// MailFrom is the sender of the mail a test server sends.
const MailFrom = "hubdesk <desk@hubdesk.test>"

// WithMail has the server send its mail through the SMTP server at
// smtpURL (HUBDESK_SMTP_URL), as HUBDESK_MAIL_FROM MailFrom.
func WithMail(smtpURL string) Option {
	return func(o *server.Options) {
		m, err := mail.NewSMTP(smtpURL, MailFrom)
		if err != nil {
			panic(err)
		}
		o.Mail = m
	}
}

// WithSMTP has the server take mail in on ln (its SMTP listener, served
// by Server.Serve), the shops' built-in addresses in mailDomain.
func WithSMTP(ln net.Listener, mailDomain string) Option {
	return func(o *server.Options) {
		o.Inbound.SMTPListener = ln
		o.Inbound.MailDomain = mailDomain
	}
}

// New starts a server over db.
func New(t testing.TB, db *database.DB, opts ...Option) *App {
	t.Helper()
	box := fixtures.Box(t)
	ts := httptest.NewUnstartedServer(nil)
	so := server.Options{DB: db, Box: box, BaseURL: "http://" + ts.Listener.Addr().String()}
	for _, o := range opts {
		o(&so)
	}
	var log *testlog.Log
	if so.Logger == nil {
		log = testlog.New(t, string(fixtures.Key), Password)
		so.Logger = log.Logger()
	}
	srv, err := server.New(so)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	// The live listener (PostgreSQL), as Serve runs it; streams end
	// before the test server waits for its requests.
	ctx, stop := context.WithCancel(context.Background())
	go srv.Live.Run(ctx)
	t.Cleanup(func() { srv.Live.Shutdown(); stop() })
	select {
	case <-srv.Live.Ready():
	case <-time.After(30 * time.Second): // a guard against hanging, not a timing assertion
		t.Fatal("the live listener did not start")
	}
	return &App{T: t, DB: db, Box: box, Server: srv, URL: ts.URL, Log: log}
}

// Tenant is a shop with one user of each role.
type Tenant struct {
	Shop                         *shop.Shop
	Owner, Admin, Manager, Agent *user.User
}

// NewTenant creates a shop (domain NAME.myshopify.com) with its users.
func (a *App) NewTenant(name string) *Tenant {
	a.T.Helper()
	ctx := context.Background()
	sh := fixtures.Shop(a.T, a.DB, name)
	tn := &Tenant{Shop: sh}
	for _, r := range []struct {
		role user.Role
		dst  **user.User
	}{{user.RoleOwner, &tn.Owner}, {user.RoleAdmin, &tn.Admin}, {user.RoleManager, &tn.Manager}, {user.RoleAgent, &tn.Agent}} {
		u, err := a.Server.Users.Create(ctx, user.NewUser{ShopID: sh.ID, Email: string(r.role) + "@" + name + ".test", Role: r.role, Password: Password})
		if err != nil {
			a.T.Fatal(err)
		}
		*r.dst = u
	}
	return tn
}

// Ingest stores an order arriving from a platform, with its customer (nil
// for none), the way the API and the connectors do (ingest.Orders).
func (a *App) Ingest(shopID int64, o commerce.Order, c *commerce.Customer) *commerce.Order {
	a.T.Helper()
	stored, _, err := a.Server.Ingest.Upsert(context.Background(), shopID, o, c)
	if err != nil {
		a.T.Fatal(err)
	}
	return stored
}

// Order upserts an order named "#" + externalID with a customer into the
// tenant's shop.
func (a *App) Order(tn *Tenant, externalID, email string) *commerce.Order {
	a.T.Helper()
	return a.NamedOrder(tn, externalID, "#"+externalID, email)
}

// NamedOrder is Order with its name given: stores reuse names, so tests
// need orders that share one.
func (a *App) NamedOrder(tn *Tenant, externalID, name, email string) *commerce.Order {
	a.T.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	return a.Ingest(tn.Shop.ID, commerce.Order{
		ExternalID: externalID, Name: name, Currency: "USD", TotalMinor: 1999, CreatedAt: now, UpdatedAt: now,
		LineItems: []commerce.LineItem{{Title: "Thing", Quantity: 1, CurrentQuantity: 1, PriceMinor: 1999, VariantID: "1", VariantAvailable: true}},
	}, &commerce.Customer{ExternalID: "c-" + externalID, Email: email, FirstName: "Test", LastName: externalID})
}

// Browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests can assert them.
func (a *App) Browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// LoginAs returns a browser client signed in as u.
func (a *App) LoginAs(u *user.User) *http.Client {
	a.T.Helper()
	c := a.Browser()
	resp, err := c.PostForm(a.URL+"/login", url.Values{"email": {u.Email}, "password": {Password}})
	if err != nil {
		a.T.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		a.T.Fatalf("login as %s: status %d", u.Email, resp.StatusCode)
	}
	if base, err := url.Parse(a.URL); err == nil {
		for _, ck := range c.Jar.Cookies(base) {
			a.Secret(ck.Value)
		}
	}
	return c
}

// Token issues an API token for u.
func (a *App) Token(u *user.User) string {
	a.T.Helper()
	tok, err := a.Server.Staff.CreateAPIToken(context.Background(), u, "test")
	if err != nil {
		a.T.Fatal(err)
	}
	a.Secret(tok)
	return tok
}

// Do sends a request and returns status and body. token may be empty.
func (a *App) Do(c *http.Client, method, path, token, body string) (int, string, http.Header) {
	a.T.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.URL+path, rd)
	if err != nil {
		a.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c == nil {
		c = a.Browser()
	}
	resp, err := c.Do(req)
	if err != nil {
		a.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}
