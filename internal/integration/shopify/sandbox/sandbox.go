// Package sandbox is a stand-in for a Shopify storefront with an App Proxy
// (shared/contracts/shopify.md §1), so the Customer Hub is reached the way
// a shopper reaches it on a real store: the browser talks to the storefront,
// the storefront signs the request and forwards it to the app.
//
// It serves:
//
//   - the App Proxy under Options.ProxyPrefix (default /apps/hub): method,
//     body and query forwarded to Options.ProxyTarget with shop,
//     logged_in_customer_id, path_prefix, timestamp and signature added;
//     cookies stripped both ways; X-Forwarded-For and X-Forwarded-Host set;
//     the answer passed through unchanged, redirects included;
//   - a tiny storefront around it: a home page with a product, the hub's
//     drawer script tag and "Log in as …" buttons for the sandbox customers,
//     /account/login, /account/logout, /account and cart permalinks.
//
// In process (tests, demo):
//
//	sb := sandbox.New(sandbox.Options{ProxyTarget: app.URL + "/hub", ClientSecret: secret,
//		Customers: []sandbox.Customer{{ID: "7000000100", Email: "olivia@example.com", FirstName: "Olivia"}}})
//	srv := httptest.NewServer(sb)
//
// Standalone: `hubdesk sandbox shopify --proxy-target http://127.0.0.1:8080/hub`.
//
// README.md lists what it simulates and what it assumes where Shopify's
// documentation is silent. Nothing here is authenticated: anyone who can
// reach the sandbox can log in as any of its customers, so serve it on
// loopback only.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// Defaults for the zero Options.
const (
	DefaultShop         = "demo-shop.myshopify.com"
	DefaultShopName     = "Sandbox Store"
	DefaultProxyPrefix  = "/apps/hub"
	DefaultProxyTimeout = 10 * time.Second
)

// SessionCookie is the storefront's own login cookie. It never reaches the
// app: the proxy strips cookies, and the app learns who is logged in only
// from the signed logged_in_customer_id.
const SessionCookie = "sandbox_customer_session"

// Customer is a storefront customer account a shopper can log in as.
type Customer struct {
	ID        string // Shopify's numeric customer id, e.g. "7000000100"
	Email     string
	FirstName string
	LastName  string
	// Optional, for the Admin API's view of the customer: Phone, the
	// default Address and when the customer was last updated (zero: the
	// sandbox makes up an address and dates).
	Phone     string
	Address   *shopify.MailingAddress
	UpdatedAt time.Time
}

// Name is how the storefront greets the customer.
func (c Customer) Name() string {
	return strings.TrimSpace(c.FirstName + " " + c.LastName)
}

// Options configure a Sandbox.
type Options struct {
	// Shop is the shop's myshopify.com domain, sent as "shop" (default
	// DefaultShop).
	Shop string
	// ShopName is shown on the storefront (default DefaultShopName).
	ShopName string
	// ClientSecret is the app's client secret that signs proxied requests.
	ClientSecret string
	// ProxyPrefix is where the App Proxy is mounted on the storefront, the
	// merchant's prefix and subpath (default DefaultProxyPrefix).
	ProxyPrefix string
	// ProxyTarget is the app's proxy URL, e.g. http://127.0.0.1:8080/hub.
	// Empty: proxied requests answer 502, as an app that is not installed.
	ProxyTarget string
	// ProxyTimeout is how long the app may take to send its response
	// headers before the shopper gets an error page (default
	// DefaultProxyTimeout).
	ProxyTimeout time.Duration
	// Customers are the accounts a shopper can log in as.
	Customers []Customer
	// HubScriptURL is the app's embeddable drawer script; empty leaves the
	// script tag out of the storefront.
	HubScriptURL string
	// BaseURL is the storefront's public root, used in URLs the sandbox
	// prints. Empty: the address Serve binds.
	BaseURL string
	// Transport carries proxied requests (default: a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
	// ForwardShopperDuplicates makes the App Proxy keep identity
	// parameters (shopify.ProxyIdentityParams) the shopper put in the
	// storefront URL, ahead of its own, and sign them all, instead of
	// replacing them. That is the query an attacker-crafted URL would
	// reach the app with through a proxy that appends rather than
	// replaces; tests use it to check that the app refuses it.
	ForwardShopperDuplicates bool
	// Now is the clock that timestamps proxied requests, expires access
	// tokens and refills the cost bucket (default time.Now).
	Now func() time.Time

	// AdminToken is an Admin API access token the sandbox accepts from the
	// start, with AdminScopes (DefaultAdminScopes when empty); it never
	// expires. IssueAccessToken registers more.
	AdminToken  string
	AdminScopes []string
	// CostBucket and CostRestoreRate size the GraphQL cost bucket
	// (defaults DefaultCostBucket points, DefaultCostRestoreRate a second).
	CostBucket      float64
	CostRestoreRate float64
	// StorefrontDomains are the shop's own domains beyond its
	// myshopify.com one; the first is primary (none: the myshopify domain).
	StorefrontDomains []string
	// ClientID is the public app's client id: its install (authorization
	// code grant) is signed with ClientSecret, as the App Proxy is.
	ClientID string
	// CustomApps are Dev Dashboard custom apps whose client credentials
	// the token endpoint accepts (AddApp adds more).
	CustomApps []App
	// ExpiringTokenTTL is the life of an expiring offline token (default
	// DefaultExpiringTokenTTL); ClientCredentialsTTL that of a client
	// credentials token (default DefaultClientCredentialsTTL).
	ExpiringTokenTTL     time.Duration
	ClientCredentialsTTL time.Duration
	// Orders is how many orders the shop is seeded with, spread over the
	// Customers and GeneratedCustomers more (default: a quarter of Orders,
	// at least 10). Seeded orders are computed when read, so 100,000 cost
	// no memory until one changes.
	Orders             int
	GeneratedCustomers int
	// NextOrderNumber is the number (name #N) of the first order created
	// in the sandbox, so its orders do not take the names of orders the
	// app already holds (0, or one not past the seeded orders: right
	// after them). Ids follow the numbers.
	NextOrderNumber int
	// ImageURL gives a product's image URL from its SKU and title
	// (default: https://cdn.shopify.example/{sku}.jpg, which resolves
	// nowhere; the demo points it at images it serves).
	ImageURL func(sku, title string) string
	// BulkDelay is how long a bulk operation stays RUNNING after its file
	// is written, as Shopify's take minutes (default none).
	BulkDelay time.Duration
	// BulkDir holds bulk operations' result files (default: a temporary
	// directory, removed by Close).
	BulkDir string
	// OnChange receives each change to the shop as Shopify would send it
	// as a webhook: the topic ("orders/updated") and the REST-shaped body.
	// It is called after the change is stored, outside any lock, in the
	// order the changes happened.
	OnChange func(topic string, payload []byte)
	// WebhookURL receives every change as a signed webhook (besides the
	// app's subscriptions, which receive their topics): hubdesk's
	// /webhooks/shopify. Signed with ClientSecret.
	WebhookURL string
	// WebhookDuplicates sends every delivery twice (same event id, new
	// webhook id); WebhookReorder sends held deliveries newest first.
	WebhookDuplicates bool
	WebhookReorder    bool
	// WebhookAttempts and WebhookBackoff: a delivery not answered 2xx is
	// tried up to WebhookAttempts times (default 8, as Shopify), waiting
	// WebhookBackoff (default 1 s) doubled each time.
	WebhookAttempts int
	WebhookBackoff  time.Duration
	// Logger receives one line per proxied request; nil discards them.
	Logger *slog.Logger
}

// Sandbox is the fake storefront. It implements http.Handler.
type Sandbox struct {
	opts   Options
	target *url.URL // nil when no ProxyTarget is set
	proxy  http.Handler
	mux    *http.ServeMux
	log    *slog.Logger

	mu      sync.Mutex
	baseURL string

	amu   sync.Mutex // guards admin, oauth and subs
	admin adminState
	oauth oauthState
	subs  subscriptionState

	dmu         sync.Mutex // guards data, bulkHistory, tmpBulkDir
	data        *shopData
	bulkHistory []*bulkOp
	tmpBulkDir  string

	whOnce    sync.Once
	wh        *webhookSender
	closed    chan struct{}
	closeOnce sync.Once
}

// New builds a sandbox. It panics when ProxyTarget or ProxyPrefix is not a
// usable URL or path: both are set by the program, not by a shopper.
func New(opts Options) *Sandbox {
	if opts.Shop == "" {
		opts.Shop = DefaultShop
	}
	if opts.ShopName == "" {
		opts.ShopName = DefaultShopName
	}
	if opts.ProxyPrefix == "" {
		opts.ProxyPrefix = DefaultProxyPrefix
	}
	opts.ProxyPrefix = "/" + strings.Trim(opts.ProxyPrefix, "/")
	if opts.ProxyPrefix == "/" {
		panic("shopify sandbox: the proxy prefix must not be the storefront root")
	}
	if opts.ProxyTimeout <= 0 {
		opts.ProxyTimeout = DefaultProxyTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sandbox{opts: opts, log: log, baseURL: strings.TrimRight(opts.BaseURL, "/"), closed: make(chan struct{})}
	if opts.ProxyTarget != "" {
		u, err := url.Parse(strings.TrimRight(opts.ProxyTarget, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			panic(fmt.Sprintf("shopify sandbox: proxy target %q is not an http(s) URL", opts.ProxyTarget))
		}
		s.target = u
	}
	s.initAdmin()
	s.initOAuth()
	s.subs = subscriptionState{byID: map[string]Subscription{}}
	s.initData()
	s.proxy = s.newProxy()
	s.routes()
	return s
}

// routes is the storefront's whole route list.
func (s *Sandbox) routes() {
	mux := http.NewServeMux()
	mux.Handle(s.opts.ProxyPrefix, s.proxy)
	mux.Handle(s.opts.ProxyPrefix+"/", s.proxy)
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /account", s.account)
	mux.HandleFunc("GET /account/addresses", s.addresses)
	mux.HandleFunc("GET /account/login", s.loginPage)
	mux.HandleFunc("POST /account/login", s.login)
	mux.HandleFunc("GET /account/login-as", s.login)
	mux.HandleFunc("GET /account/logout", s.logout)
	mux.HandleFunc("POST /account/logout", s.logout)
	mux.HandleFunc("GET /cart/{items}", s.cart)
	mux.HandleFunc("GET /favicon.ico", favicon)
	mux.HandleFunc("POST /admin/api/{version}/graphql.json", s.adminGraphQL)
	mux.HandleFunc("GET /admin/oauth/authorize", s.installPage)
	mux.HandleFunc("POST /admin/oauth/authorize", s.installApprove)
	mux.HandleFunc("POST /admin/oauth/access_token", s.accessToken)
	mux.HandleFunc("GET /_bulk/{name}", s.bulkFile)
	mux.HandleFunc("GET /admin", s.adminPage)
	mux.HandleFunc("POST /admin/orders", s.adminCreateOrder)
	mux.HandleFunc("POST /admin/orders/{id}/{action}", s.adminChange)
	mux.HandleFunc("/", s.notFound)
	s.mux = mux
}

// ServeHTTP serves the storefront and the App Proxy.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Shop is the shop's myshopify.com domain.
func (s *Sandbox) Shop() string { return s.opts.Shop }

// ProxyPrefix is where the App Proxy is mounted, e.g. /apps/hub.
func (s *Sandbox) ProxyPrefix() string { return s.opts.ProxyPrefix }

// Customers are the accounts a shopper can log in as.
func (s *Sandbox) Customers() []Customer {
	return append([]Customer(nil), s.opts.Customers...)
}

// SetBaseURL sets the storefront's public root, e.g. an httptest.Server's URL.
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// BaseURL is the storefront's public root ("" before Serve when none was
// configured).
func (s *Sandbox) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// HubURL is the full-page hub on the storefront.
func (s *Sandbox) HubURL() string { return s.BaseURL() + s.opts.ProxyPrefix }

// LoginAsURL logs the shopper in as the customer with that id and lands on
// returnTo (a storefront path, e.g. the hub's prefix). It is the one link a
// person or a test needs to open the hub as a given shopper: a pre-signed
// app URL would expire with the 90-second signature window, this one does
// not, because the storefront signs each request as it forwards it.
func (s *Sandbox) LoginAsURL(customerID, returnTo string) string {
	u := s.BaseURL() + "/account/login-as?customer=" + url.QueryEscape(customerID)
	if returnTo != "" {
		// "/" may stay as it is in a query (RFC 3986 §3.4): the link is
		// printed for people to read.
		u += "&return_to=" + strings.ReplaceAll(url.QueryEscape(returnTo), "%2F", "/")
	}
	return u
}

// ListenAndServe serves on addr until ctx ends. When no BaseURL was
// configured it becomes http://<bound address>, so ":0" works.
func (s *Sandbox) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("shopify sandbox: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener.
func (s *Sandbox) Serve(ctx context.Context, ln net.Listener) error {
	if s.BaseURL() == "" {
		s.SetBaseURL("http://" + ln.Addr().String())
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("shopify sandbox listening", "storefront", s.BaseURL(), "app_proxy", s.HubURL(), "proxy_target", s.opts.ProxyTarget)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("shopify sandbox: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shopify sandbox: shutdown: %w", err)
	}
	return nil
}

// customer finds a sandbox customer by id.
func (s *Sandbox) customer(id string) (Customer, bool) {
	for _, c := range s.opts.Customers {
		if c.ID == id {
			return c, true
		}
	}
	return Customer{}, false
}

// loggedIn is the customer the storefront session names, if any.
func (s *Sandbox) loggedIn(r *http.Request) (Customer, bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil {
		return Customer{}, false
	}
	return s.customer(ck.Value)
}
