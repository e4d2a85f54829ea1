// Package sandbox is a contract-faithful stand-in for the Loop Returns API,
// for tests, the `hubdesk demo` command and local development
// (`hubdesk sandbox loop`). It follows shared/contracts/loop.md and Loop's
// OpenAPI: same paths under /api/v1, the X-Authorization header, keys with
// scopes, string ids on the list and integer ids on details, money as
// strings, the real 401 body, the 120-day 422, cursor pagination, 300
// requests per minute per key, HMAC-signed webhooks with Loop's "\/"
// escaping, and deep links that open a small portal page served by the
// sandbox itself. Where the contract is silent, README.md says what the
// sandbox assumes.
//
// In process (tests, demo):
//
//	sb := sandbox.New(sandbox.Options{})           // default keys and seed data
//	srv := httptest.NewServer(sb)                  // or mount sb on any mux
//	client := loop.New(loop.Options{APIKey: sandbox.KeyFull, BaseURL: srv.URL + "/api/v1"})
//
// Standalone:
//
//	sb := sandbox.New(sandbox.Options{})
//	err := sb.ListenAndServe(ctx, "127.0.0.1:8089") // returns when ctx ends
//
// Seeding for a demo with its own orders:
//
//	sb := sandbox.New(sandbox.Options{NoSeed: true})
//	sb.AddOrder(sandbox.Order{Name: "#1001", Email: "ada@example.com", Zip: "10115", DeliveredAt: delivered})
//	sb.SeedReturn(sandbox.ReturnSpec{OrderName: "#1001", State: loop.StateOpen, Carrier: "USPS", TrackingNumber: "9400...", LabelStatus: "in_transit"})
//
// Driving changes (each sends the matching signed webhooks to subscribers):
//
//	info, _ := sb.CreateReturn(sandbox.ReturnSpec{OrderName: "#1001"})
//	sb.AdvanceReturn(info.ID)                          // label created, in transit, ..., closed
//	sb.SetReturnState(info.ID, loop.StateCancelled)
//	sb.SetLabel(info.ID, "UPS", "1Z999", "in_transit")
//
// The same is reachable over HTTP under /_sandbox/ (see admin.go and
// README.md), as are fault injection (latency, error rate, outage) and the
// webhook delivery log. The admin endpoints have no authentication: serve the
// sandbox on loopback only.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// Seeded keys.
const (
	KeyFull    = "sandbox-full"    // Orders, Returns, Developer Tools
	KeyOrders  = "sandbox-orders"  // Orders only
	KeyReturns = "sandbox-returns" // Returns only
)

// DefaultWebhookSecret signs webhooks unless Options.WebhookSecret is set.
const DefaultWebhookSecret = "sandbox-webhook-secret"

// Key is an API key the sandbox accepts and the scopes it carries.
type Key struct {
	Key    string
	Scopes []loop.Scope
}

// DefaultKeys are the keys a sandbox accepts unless Options.Keys is set.
func DefaultKeys() []Key {
	return []Key{
		{Key: KeyFull, Scopes: []loop.Scope{loop.ScopeOrders, loop.ScopeReturns, loop.ScopeDeveloperTools}},
		{Key: KeyOrders, Scopes: []loop.Scope{loop.ScopeOrders}},
		{Key: KeyReturns, Scopes: []loop.Scope{loop.ScopeReturns}},
	}
}

// Faults degrade the API (/api/v1 only; the portal and admin endpoints are
// never affected).
type Faults struct {
	// Latency is added before every API answer.
	Latency time.Duration `json:"-"`
	// ErrorRate in [0,1] is the share of API requests answered 500.
	ErrorRate float64 `json:"error_rate"`
	// Outage answers every API request 503 with an HTML body, like a load
	// balancer in front of a dead service.
	Outage bool `json:"outage"`
	// RateLimited answers every API request 429 with Retry-After: 60, a
	// storm of the shop's key over its limit (another app spending it).
	RateLimited bool `json:"rate_limited"`
	// RetryAfter is the storm's Retry-After instead of 60 s (whole
	// seconds, at least one).
	RetryAfter time.Duration `json:"-"`
}

// Options configure a Sandbox. The zero value gives the default keys, shop,
// webhook secret and seed data, and Loop's rate limit.
type Options struct {
	// BaseURL is the sandbox's public root (no /api/v1), used in deep links,
	// nextPageUrl and webhook payloads. Empty: learned from each request's
	// Host, or from the address ListenAndServe binds.
	BaseURL string
	// Keys replaces DefaultKeys.
	Keys []Key
	// ShopID is the Loop shop id in webhooks and subscriptions (default 9876).
	ShopID int64
	// ShopName appears on the portal pages (default "Sandbox Store").
	ShopName string
	// WebhookSecret signs webhooks (default DefaultWebhookSecret).
	WebhookSecret string
	// NoSeed starts without orders and returns; the demo adds its own.
	NoSeed bool
	// RateLimit requests per RateWindow per key (defaults 300 and a minute).
	RateLimit  int
	RateWindow time.Duration
	// NoEligibility answers return eligibility 403, as on plans without it.
	NoEligibility bool
	// Faults are the initial faults; SetFaults changes them.
	Faults Faults
	// WebhookRetries after the first delivery attempt (default 5, Loop's),
	// WebhookBackoff the first backoff step (default 1 s, doubling, with
	// jitter), WebhookTimeout per attempt (default 10 s).
	WebhookRetries int
	WebhookBackoff time.Duration
	WebhookTimeout time.Duration
	// HTTPClient delivers webhooks (default: a plain client).
	HTTPClient *http.Client
	// Now is the sandbox's clock (default time.Now).
	Now func() time.Time
	// Logger receives request and delivery logs; nil discards them.
	Logger *slog.Logger
}

// Sandbox is the fake Loop. It implements http.Handler.
type Sandbox struct {
	opts Options
	mux  *http.ServeMux
	log  *slog.Logger
	now  func() time.Time

	mu          sync.Mutex
	baseURL     string
	keys        map[string]map[loop.Scope]bool
	faults      Faults
	orders      []*order // in insertion order
	returns     []*ret
	links       map[string]*deepLink // by uuid
	qrs         map[string]*qrImage  // by uuid
	hooks       []*subscription
	nextID      int64
	hits        map[string][]time.Time // accepted API requests per key, oldest first
	deliveryLog []Delivery             // webhook delivery log, newest last
	rng         *rand.Rand
	requests    []RequestRecord

	deliveries sync.WaitGroup
	ctx        context.Context
	cancel     context.CancelFunc
}

// New builds a sandbox, seeded unless opts.NoSeed.
func New(opts Options) *Sandbox {
	if opts.Keys == nil {
		opts.Keys = DefaultKeys()
	}
	if opts.ShopID == 0 {
		opts.ShopID = 9876
	}
	if opts.ShopName == "" {
		opts.ShopName = "Sandbox Store"
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = DefaultWebhookSecret
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = loop.DefaultRateLimit
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = loop.DefaultRateWindow
	}
	if opts.WebhookRetries == 0 {
		opts.WebhookRetries = 5
	}
	if opts.WebhookRetries < 0 {
		opts.WebhookRetries = 0
	}
	if opts.WebhookBackoff <= 0 {
		opts.WebhookBackoff = time.Second
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = 10 * time.Second
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{
		opts:    opts,
		log:     log,
		now:     opts.Now,
		baseURL: strings.TrimRight(opts.BaseURL, "/"),
		keys:    map[string]map[loop.Scope]bool{},
		faults:  opts.Faults,
		links:   map[string]*deepLink{},
		qrs:     map[string]*qrImage{},
		nextID:  1,
		hits:    map[string][]time.Time{},
		rng:     rand.New(rand.NewPCG(uint64(opts.ShopID), 42)),
		ctx:     ctx,
		cancel:  cancel,
	}
	for _, k := range opts.Keys {
		s.AddKey(k)
	}
	s.routes()
	if !opts.NoSeed {
		s.seedDefault()
	}
	return s
}

// AddKey makes the sandbox accept another key (or changes a key's scopes).
func (s *Sandbox) AddKey(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	scopes := map[loop.Scope]bool{}
	for _, sc := range k.Scopes {
		scopes[sc] = true
	}
	s.keys[k.Key] = scopes
}

// RemoveKey revokes a key: it is answered 401 from now on.
func (s *Sandbox) RemoveKey(key string) {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}

// WebhookSecret is what receivers verify X-Loop-Signature with.
func (s *Sandbox) WebhookSecret() string { return s.opts.WebhookSecret }

// ShopID is the Loop shop id in webhooks and subscriptions.
func (s *Sandbox) ShopID() int64 { return s.opts.ShopID }

// SetBaseURL sets the public root used in links built outside a request (the
// status_page_url of webhook payloads), e.g. an httptest.Server's URL.
func (s *Sandbox) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// BaseURL returns the configured or learned public root ("" before the
// first request when none was configured).
func (s *Sandbox) BaseURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// SetFaults changes the injected faults at once.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Faults returns the injected faults.
func (s *Sandbox) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// ServeHTTP serves the API under /api/v1, the portal under /portal/, and the
// admin endpoints under /_sandbox/.
//
// Loop's API is versioned by date (/api/2026-07/...); /api/v1 is its
// legacy alias of 2026-07. The sandbox serves both: a dated path of a
// version it knows is served as the alias is.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/api/"); ok {
		version, tail, _ := strings.Cut(rest, "/")
		if slices.Contains(APIVersions, version) {
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/api/v1/" + tail
			r2.URL.RawPath = ""
			s.mux.ServeHTTP(w, r2)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// APIVersions are the dated versions the sandbox serves besides v1; the
// 2026-07 → 2026-10 changes touch none of the endpoints it has.
var APIVersions = []string{"2026-07", "2026-10"}

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully
// and stops webhook deliveries. When no BaseURL was configured it becomes
// http://<bound address>, so ":0" works.
func (s *Sandbox) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("loop sandbox: listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an existing listener.
func (s *Sandbox) Serve(ctx context.Context, ln net.Listener) error {
	if s.BaseURL() == "" {
		s.SetBaseURL("http://" + ln.Addr().String())
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.log.Info("loop sandbox listening", "url", s.BaseURL(), "api", s.BaseURL()+"/api/"+loop.DefaultAPIVersion,
		"keys", strings.Join([]string{KeyFull, KeyOrders, KeyReturns}, ","))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("loop sandbox: serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	s.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("loop sandbox: shutdown: %w", err)
	}
	return nil
}

// Close stops pending webhook retries and waits for deliveries in flight.
func (s *Sandbox) Close() {
	s.cancel()
	s.deliveries.Wait()
}

// WaitDeliveries blocks until every webhook delivery started so far has
// succeeded or given up. Tests call it before asserting on receivers.
func (s *Sandbox) WaitDeliveries() { s.deliveries.Wait() }

// RequestRecord is one API request as the sandbox saw it, for tests that
// assert on what the client sent. The key is recorded only as its
// fingerprint.
type RequestRecord struct {
	Method string
	Path   string
	Query  string
	KeyID  string
	Status int
	At     time.Time
}

// Requests returns the API requests served so far (at most the last 10,000).
func (s *Sandbox) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestRecord(nil), s.requests...)
}

// ResetRequests forgets the request log and the rate-limit counters.
func (s *Sandbox) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.hits = map[string][]time.Time{}
	s.mu.Unlock()
}

func (s *Sandbox) recordRequest(rec RequestRecord) {
	s.mu.Lock()
	if len(s.requests) >= 10000 {
		s.requests = s.requests[1:]
	}
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

// base returns the public root for links in an answer to r.
func (s *Sandbox) base(r *http.Request) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL != "" {
		return s.baseURL
	}
	if r == nil || r.Host == "" {
		return "http://127.0.0.1"
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// Learn it, so webhooks sent later carry working links too.
	s.baseURL = scheme + "://" + r.Host
	return s.baseURL
}
