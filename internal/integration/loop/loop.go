// Package loop is hubdesk's client for the Loop Returns API
// (https://api.loopreturns.com/api/v1): deep links and QR links, the detailed
// returns list, return details, return eligibility, webhook subscriptions,
// webhook signature verification, and a side-effect-free check of which
// scopes a key has.
//
// The client is built for a multi-shop server that must never block on Loop:
//
//   - every failure is an *Error with a Kind the caller can act on
//     (errors.Is(err, loop.ErrNotFound) etc.), whichever of Loop's error
//     envelopes it came in, HTTP 200 bodies included;
//   - requests are paced per key (300 per minute by default, behind the
//     Limiter interface), retried with exponential backoff and jitter on 429,
//     5xx and timeouts (honouring Retry-After), never on other 4xx;
//   - each attempt has its own timeout, and a per-key circuit breaker fails
//     calls fast while Loop is down;
//   - Prometheus metrics by endpoint and outcome.
//
// The API key never appears in errors, logs or metrics; internally a key is
// known by its fingerprint (KeyID).
//
// One Client serves one key. A server holding many shops builds one Client
// and derives the others with WithKey, which shares the HTTP client, the rate
// limiter, the circuit breakers and the metrics:
//
//	base := loop.New(loop.Options{Registerer: prometheus.DefaultRegisterer})
//	shop := base.WithKey(decryptedKey)
//	link, err := shop.CreateDeepLink(ctx, loop.DeepLinkRequest{OrderName: "#1001", Lookup: "10115"})
package loop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultBaseURL is Loop's production API host; requests go to
// DefaultBaseURL/api/{version}/....
const DefaultBaseURL = "https://api.loopreturns.com"

// DefaultAPIVersion is the dated version of Loop's API the client pins
// (HUBDESK_LOOP_API_VERSION). Loop's "v1" is a legacy alias of 2026-07,
// to be retired when 2026-07 reaches its sunset.
const DefaultAPIVersion = "2026-07"

// Options configure a Client. The zero value is usable: production base URL,
// 10 s per attempt, 3 attempts, Loop's rate limit, no metrics registration.
type Options struct {
	// APIKey is the Loop API key this client sends. WithKey derives clients
	// for other keys.
	APIKey string
	// BaseURL defaults to DefaultBaseURL; the sandbox serves the same paths
	// on its own root. A base URL that still names a version
	// (".../api/v1", ".../api/2026-07") keeps working: the version part is
	// dropped, APIVersion decides (a dated one stands in for an empty
	// APIVersion), and "v1" is logged as a warning.
	BaseURL string
	// APIVersion is Loop's dated API version (YYYY-MM) called as
	// /api/{version}; DefaultAPIVersion when empty.
	APIVersion string
	// HTTPClient defaults to a client with a pooled transport sized for
	// parallel sidebar refreshes. Its Timeout should be zero or larger than
	// Timeout: per-attempt deadlines are set on each request's context.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt (connect, send, read the whole body).
	Timeout time.Duration
	// MaxAttempts bounds tries per call, the first one included. 1 disables
	// retries.
	MaxAttempts int
	// RetryBaseDelay is the first backoff step; it doubles per retry up to
	// RetryMaxDelay, and each wait is drawn at random below the step (full
	// jitter) so that many clients retrying at once do not stay in step.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// MaxRetryAfter is the longest Retry-After the client sleeps through
	// inside a call; longer ones end the call with KindRateLimited and the
	// wait in Error.RetryAfter, for a background job to reschedule.
	MaxRetryAfter time.Duration
	// Limiter paces requests per key. nil: an in-process LocalLimiter with
	// Loop's 300 requests per minute (plus a second of slack). Use NoLimit to
	// switch pacing off.
	Limiter Limiter
	// BreakerThreshold consecutive failures open a key's circuit for
	// BreakerCooldown. Defaults 5 and 30 s.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// Registerer receives the client's metrics; nil does not register (the
	// metrics are still counted, just not exported). Several clients on one
	// registry share the series.
	Registerer prometheus.Registerer
	// Logger receives retries and circuit changes; nil discards them.
	Logger *slog.Logger
	// UserAgent is sent on every request.
	UserAgent string

	now func() time.Time // tests
}

// Client calls Loop with one API key. It is safe for concurrent use.
type Client struct {
	shared *shared
	key    string
	keyID  string
}

// shared is what every Client derived by WithKey has in common.
type shared struct {
	opts    Options
	base    *url.URL
	http    *http.Client
	limiter Limiter
	metrics *metrics
	log     *slog.Logger
	now     func() time.Time

	mu   sync.Mutex
	keys map[string]*keyState
}

// keyState is what the client learns about one key: its circuit and which
// scopes recently worked. The scope memory is how a 401 is told apart as
// "missing scope": Loop answers both the same way.
type keyState struct {
	breaker *breaker

	mu     sync.Mutex
	lastOK map[Scope]time.Time // last success per scope
	denied map[Scope]time.Time // last 401 per scope
}

// scopeMemory is how long a success on one scope makes us read a 401 on
// another as "missing scope" rather than "bad key".
const scopeMemory = 15 * time.Minute

// New builds a Client. It does no I/O.
func New(opts Options) *Client {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.RetryBaseDelay <= 0 {
		opts.RetryBaseDelay = 250 * time.Millisecond
	}
	if opts.RetryMaxDelay <= 0 {
		opts.RetryMaxDelay = 5 * time.Second
	}
	if opts.MaxRetryAfter <= 0 {
		opts.MaxRetryAfter = 30 * time.Second
	}
	if opts.BreakerThreshold <= 0 {
		opts.BreakerThreshold = 5
	}
	if opts.BreakerCooldown <= 0 {
		opts.BreakerCooldown = 30 * time.Second
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "hubdesk-loop/1"
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root, version, legacy := SplitBaseURL(opts.BaseURL, opts.APIVersion)
	if legacy {
		log.Warn("loop: the base URL names Loop's legacy v1 API; calling the pinned version instead — drop /api/v1 from it",
			"base_url", root, "api_version", version)
	}
	opts.APIVersion = version
	base, err := url.Parse(root + "/api/" + version)
	if err != nil || base.Scheme == "" || base.Host == "" {
		// A malformed base URL is a configuration error; calls will fail
		// with it rather than New panicking.
		base = &url.URL{Scheme: "invalid", Host: "invalid", Path: opts.BaseURL}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: defaultTransport()}
	}
	lim := opts.Limiter
	if lim == nil {
		lim = NewLocalLimiter(DefaultRateLimit, DefaultRateWindow+rateSlack)
	}
	sh := &shared{
		opts:    opts,
		base:    base,
		http:    hc,
		limiter: lim,
		metrics: newMetrics(opts.Registerer),
		log:     log,
		now:     opts.now,
		keys:    map[string]*keyState{},
	}
	return &Client{shared: sh, key: opts.APIKey, keyID: KeyID(opts.APIKey)}
}

// SplitBaseURL reads a configured base URL and API version: root is the
// URL without a trailing /api/{version}; version is apiVersion, else the
// dated version the URL named, else DefaultAPIVersion; legacy says the URL
// still ended in Loop's /api/v1 alias.
func SplitBaseURL(baseURL, apiVersion string) (root, version string, legacy bool) {
	root = strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if root == "" {
		root = DefaultBaseURL
	}
	named := ""
	if i := strings.LastIndex(root, "/api/"); i >= 0 && !strings.Contains(root[i+len("/api/"):], "/") {
		named = root[i+len("/api/"):]
		root = root[:i]
	} else if strings.HasSuffix(root, "/api") {
		root = strings.TrimSuffix(root, "/api")
	}
	legacy = named == "v1"
	version = strings.TrimSpace(apiVersion)
	if version == "" && IsDatedVersion(named) {
		version = named
	}
	if version == "" {
		version = DefaultAPIVersion
	}
	return root, version, legacy
}

// IsDatedVersion reports whether v names a dated API version, YYYY-MM.
func IsDatedVersion(v string) bool {
	if len(v) != 7 || v[4] != '-' {
		return false
	}
	for i, c := range v {
		if i != 4 && (c < '0' || c > '9') {
			return false
		}
	}
	return v[5:] >= "01" && v[5:] <= "12"
}

// APIVersion is the dated version this client calls.
func (c *Client) APIVersion() string { return c.shared.opts.APIVersion }

func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	// A ticket sidebar refreshes up to 20 orders in parallel; the default of
	// 2 idle connections per host would make most of them reconnect.
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// WithKey returns a Client for another API key that shares this one's HTTP
// client, limiter, circuit breakers (still one per key) and metrics.
func (c *Client) WithKey(apiKey string) *Client {
	return &Client{shared: c.shared, key: apiKey, keyID: KeyID(apiKey)}
}

// KeyID is the fingerprint hubdesk uses wherever it must name a key without
// holding it: rate-limiter rows, circuit breakers, logs. It is a truncated
// SHA-256, enough to tell keys apart, useless to recover one.
func KeyID(apiKey string) string {
	sum := sha256.Sum256([]byte("hubdesk-loop-key:" + apiKey))
	return "lk_" + hex.EncodeToString(sum[:8])
}

// KeyID returns this client's key fingerprint.
func (c *Client) KeyID() string { return c.keyID }

func (c *Client) state() *keyState {
	sh := c.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ks := sh.keys[c.keyID]
	if ks == nil {
		ks = &keyState{
			breaker: &breaker{threshold: sh.opts.BreakerThreshold, cooldown: sh.opts.BreakerCooldown, now: sh.now},
			lastOK:  map[Scope]time.Time{},
			denied:  map[Scope]time.Time{},
		}
		sh.keys[c.keyID] = ks
	}
	return ks
}

func (ks *keyState) recordOK(s Scope, at time.Time) {
	ks.mu.Lock()
	ks.lastOK[s] = at
	delete(ks.denied, s)
	ks.mu.Unlock()
}

func (ks *keyState) recordDenied(s Scope, at time.Time) {
	ks.mu.Lock()
	ks.denied[s] = at
	ks.mu.Unlock()
}

// otherScopeWorks reports whether a scope other than s succeeded recently
// while s itself has not: then a 401 on s means the key lacks s.
func (ks *keyState) otherScopeWorks(s Scope, now time.Time) bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if t, ok := ks.lastOK[s]; ok && now.Sub(t) < scopeMemory {
		return false // s worked recently: the key was revoked, not scoped
	}
	for other, t := range ks.lastOK {
		if other != s && now.Sub(t) < scopeMemory {
			return true
		}
	}
	return false
}

// request describes one API operation.
type request struct {
	endpoint string // metric label, e.g. "create_deep_link"
	op       string // for error text, e.g. "create deep link for #1001"
	scope    Scope
	method   string
	path     string // below the base URL, e.g. "/order/link"
	query    url.Values
	body     any
	// idempotent calls are retried on 5xx and timeouts; others only on 429
	// and on connections refused (the request never reached Loop).
	idempotent  bool
	maxAttempts int // 0: Options.MaxAttempts
}

// response is what came back from a successful exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

const maxBody = 16 << 20

// do runs req with pacing, retries and the circuit breaker, and returns the
// 2xx response. Every failure is an *Error.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	sh := c.shared
	start := sh.now()
	resp, err := c.doAttempts(ctx, req)
	outcome := "ok"
	if err != nil {
		outcome = string(KindOf(err))
		sh.metrics.errors.WithLabelValues(req.endpoint, outcome).Inc()
	}
	sh.metrics.calls.WithLabelValues(req.endpoint, outcome).Inc()
	sh.metrics.duration.WithLabelValues(req.endpoint, outcome).Observe(sh.now().Sub(start).Seconds())
	return resp, err
}

func (c *Client) doAttempts(ctx context.Context, req request) (*response, error) {
	sh := c.shared
	ks := c.state()
	maxAttempts := req.maxAttempts
	if maxAttempts <= 0 {
		maxAttempts = sh.opts.MaxAttempts
	}
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return nil, &Error{Op: req.op, Kind: KindInvalid, Message: "encode request", Err: err}
		}
	}
	target := *sh.base
	target.Path = sh.base.Path + req.path
	target.RawQuery = req.query.Encode()
	if sh.base.Scheme == "invalid" {
		return nil, &Error{Op: req.op, Kind: KindInvalid, Message: "malformed base URL"}
	}

	var last *Error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if ok, retryIn := ks.breaker.allow(); !ok {
			e := &Error{Op: req.op, Kind: KindUnavailable, Message: "circuit open after repeated failures; not calling Loop", RetryAfter: retryIn, Attempts: attempt - 1}
			if last != nil {
				e.Err = last
			}
			return nil, e
		}
		if err := sh.limiter.Wait(ctx, c.keyID); err != nil {
			ks.breaker.neutral()
			var later *SlotPastDeadline
			if errors.As(err, &later) {
				return nil, &Error{Op: req.op, Kind: KindRateLimited, Message: "the key's rate-limit window is full past the deadline",
					Err: err, RetryAfter: later.RetryAfter, Attempts: attempt - 1}
			}
			if ctx.Err() == nil {
				// A shared limiter (a database) failed: do not call Loop
				// unpaced, but do not blame Loop either.
				return nil, &Error{Op: req.op, Kind: KindUnavailable, Message: "rate limiter unavailable", Err: err, Attempts: attempt - 1}
			}
			return nil, c.ctxError(ctx, req, err, attempt-1)
		}
		resp, e, retryable := c.attempt(ctx, req, target.String(), body, ks)
		if e == nil {
			return resp, nil
		}
		e.Attempts = attempt
		last = e
		if !retryable || attempt == maxAttempts || ctx.Err() != nil {
			break
		}
		delay := c.backoff(attempt)
		if e.RetryAfter > 0 {
			if e.RetryAfter > sh.opts.MaxRetryAfter {
				break
			}
			delay = e.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && sh.now().Add(delay).After(dl) {
			break // the caller will be gone before the retry could answer
		}
		sh.log.Debug("loop: retrying", "endpoint", req.endpoint, "key_id", c.keyID,
			"attempt", attempt, "status", e.Status, "kind", string(e.Kind), "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, c.ctxError(ctx, req, ctx.Err(), attempt)
		}
	}
	return nil, last
}

// attempt sends one HTTP request. It reports whether a failure may be
// retried, and feeds the circuit breaker and the scope memory.
func (c *Client) attempt(ctx context.Context, req request, target string, body []byte, ks *keyState) (*response, *Error, bool) {
	sh := c.shared
	actx, cancel := context.WithTimeout(ctx, sh.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(actx, req.method, target, rd)
	if err != nil {
		ks.breaker.neutral()
		return nil, &Error{Op: req.op, Kind: KindInvalid, Message: "build request", Err: scrubURL(err)}, false
	}
	hr.Header.Set("X-Authorization", c.key)
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("User-Agent", sh.opts.UserAgent)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	hresp, err := sh.http.Do(hr)
	if err != nil {
		sh.metrics.observeAttempt(req.endpoint, 0)
		if ctx.Err() != nil {
			ks.breaker.neutral()
			return nil, c.ctxError(ctx, req, ctx.Err(), 0), false
		}
		c.breakerFailure(ks)
		msg := "no answer from Loop"
		if actx.Err() != nil {
			msg = fmt.Sprintf("no answer within %s", sh.opts.Timeout)
		}
		// A refused connection never reached Loop, so even a non-idempotent
		// call is safe to send again.
		retry := req.idempotent || errors.Is(err, syscall.ECONNREFUSED)
		return nil, &Error{Op: req.op, Kind: KindUnavailable, Message: msg, Err: scrubURL(err)}, retry
	}
	data, readErr := io.ReadAll(io.LimitReader(hresp.Body, maxBody))
	hresp.Body.Close()
	sh.metrics.observeAttempt(req.endpoint, hresp.StatusCode)
	if readErr != nil {
		if ctx.Err() != nil {
			ks.breaker.neutral()
			return nil, c.ctxError(ctx, req, ctx.Err(), 0), false
		}
		c.breakerFailure(ks)
		return nil, &Error{Op: req.op, Kind: KindUnavailable, Status: hresp.StatusCode, Message: "reading Loop's answer", Err: scrubURL(readErr)}, req.idempotent
	}
	status := hresp.StatusCode
	if status >= 500 {
		c.breakerFailure(ks)
	} else if status == http.StatusTooManyRequests {
		ks.breaker.neutral()
	} else {
		ks.breaker.success()
	}

	if status >= 200 && status < 300 {
		if env, failed := failureInSuccess(data); failed {
			kind := classify(status, env, true)
			return nil, &Error{Op: req.op, Kind: kind, Status: status, Code: env.Code, Message: env.Message, Fields: env.Fields}, false
		}
		ks.recordOK(req.scope, sh.now())
		return &response{status: status, header: hresp.Header, body: data}, nil, false
	}

	if status != http.StatusUnauthorized && status != http.StatusForbidden && status != http.StatusTooManyRequests && status < 500 {
		// Loop checks the key before anything else: a 400, 404 or 422
		// still proves the key holds this scope.
		ks.recordOK(req.scope, sh.now())
	}
	env, parsed := parseErrorEnvelope(data)
	kind := classify(status, env, false)
	e := &Error{Op: req.op, Kind: kind, Status: status, Code: env.Code, Message: env.Message, Fields: env.Fields}
	if !parsed {
		e.Message = http.StatusText(status)
	}
	if kind == KindUnauthorized {
		if ks.otherScopeWorks(req.scope, sh.now()) {
			e.Kind = KindMissingScope
			e.Message = firstNonEmpty(e.Message, "Unauthorized.") + " (the key works for other endpoints: it lacks the " + string(req.scope) + " scope)"
		}
		ks.recordDenied(req.scope, sh.now())
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(hresp.Header.Get("Retry-After"), sh.now())
	}
	switch {
	case status == http.StatusTooManyRequests:
		return nil, e, true
	case status >= 500:
		return nil, e, req.idempotent
	}
	return nil, e, false
}

func (c *Client) breakerFailure(ks *keyState) {
	if ks.breaker.failure() {
		c.shared.metrics.breaker.WithLabelValues(string(breakerOpen)).Inc()
		c.shared.log.Warn("loop: circuit open, failing calls fast", "key_id", c.keyID, "cooldown", c.shared.opts.BreakerCooldown)
	}
}

func (c *Client) ctxError(ctx context.Context, req request, err error, attempts int) *Error {
	kind := KindCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		kind = KindUnavailable // the caller's deadline passed waiting on Loop
	}
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return &Error{Op: req.op, Kind: kind, Message: "gave up waiting", Err: err, Attempts: attempts}
}

// backoff returns the wait before retry number attempt (1-based): full jitter
// over an exponentially growing step.
func (c *Client) backoff(attempt int) time.Duration {
	o := c.shared.opts
	step := o.RetryBaseDelay << (attempt - 1)
	if step > o.RetryMaxDelay || step <= 0 {
		step = o.RetryMaxDelay
	}
	// At least half the step, so a retry never fires immediately.
	return step/2 + rand.N(step/2+1)
}

// parseRetryAfter reads delta-seconds or an HTTP date. Unparseable or past
// values give 0 (use our own backoff).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// scrubURL drops the URL from transport errors. The key travels in a header,
// not the URL, but URLs carry order names and lookup values (postal codes,
// emails), which do not belong in logs either.
func scrubURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// decode unmarshals a 2xx body into out, reporting a body that is not what
// Loop documents as KindUnavailable: something between us and Loop (a proxy,
// a maintenance page) answered instead.
func decode(req request, resp *response, out any) error {
	if err := json.Unmarshal(resp.body, out); err != nil {
		return &Error{Op: req.op, Kind: KindUnavailable, Status: resp.status, Message: "unexpected response body", Err: err}
	}
	return nil
}
