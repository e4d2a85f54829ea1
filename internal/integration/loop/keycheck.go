package loop

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// ScopeStatus is what a probe learned about one scope.
type ScopeStatus string

const (
	ScopeGranted ScopeStatus = "granted" // Loop accepted the key for this scope
	ScopeDenied  ScopeStatus = "denied"  // Loop answered 401
	ScopeUnknown ScopeStatus = "unknown" // Loop did not answer usefully (down, timeout, 5xx, 429)
)

// ScopeResult is the outcome of probing one scope.
type ScopeResult struct {
	Scope  Scope
	Status ScopeStatus
	// HTTPStatus is the code Loop answered the probe with (0: no answer).
	HTTPStatus int
	// Err is the probe's failure when Status is ScopeUnknown, for the log.
	Err error
}

// KeyReport says what a key can do. The settings page refuses a key that is
// Invalid, offers "save anyway" when Unreachable, and lists the scopes.
type KeyReport struct {
	Orders         ScopeResult
	Returns        ScopeResult
	DeveloperTools ScopeResult
	CheckedAt      time.Time
}

// Scopes returns the three results in a fixed order.
func (r KeyReport) Scopes() []ScopeResult {
	return []ScopeResult{r.Orders, r.Returns, r.DeveloperTools}
}

// Valid reports whether the key works for at least one scope.
func (r KeyReport) Valid() bool {
	for _, s := range r.Scopes() {
		if s.Status == ScopeGranted {
			return true
		}
	}
	return false
}

// Invalid reports whether Loop answered every probe and refused all of them:
// the key is wrong or revoked.
func (r KeyReport) Invalid() bool {
	for _, s := range r.Scopes() {
		if s.Status != ScopeDenied {
			return false
		}
	}
	return true
}

// Unreachable reports whether no probe got a useful answer from Loop: the
// key's validity is unknown, not bad.
func (r KeyReport) Unreachable() bool {
	for _, s := range r.Scopes() {
		if s.Status != ScopeUnknown {
			return false
		}
	}
	return true
}

// Has reports whether scope s was granted.
func (r KeyReport) Has(s Scope) bool {
	for _, res := range r.Scopes() {
		if res.Scope == s {
			return res.Status == ScopeGranted
		}
	}
	return false
}

// keyCheckOrderName is an order name no store uses, so the Orders probe can
// never produce a link to a real order.
const keyCheckOrderName = "hubdesk-key-check-0000000000"

// CheckKey reports which scopes the key has, without changing anything in
// Loop. Loop has no "who am I" endpoint, so each scope is probed with the
// cheapest call that needs it and cannot touch real data:
//
//   - Orders: POST /order/link for an order name that cannot exist. Loop
//     checks the key before looking the order up, so 400 (order not found)
//     means the scope works and 401 means it does not. No link is created.
//   - Returns: GET /warehouse/return/list over the last minute with a page
//     size of 1: read-only, and small whatever the shop's volume.
//   - Developer Tools: GET /webhooks, read-only.
//
// The probes run in parallel, once each (no retries: a person is waiting on
// the settings page), and bypass nothing else: they are rate limited and
// counted like other calls. A 401 on one probe while another succeeds
// teaches the client that later 401s on that scope mean "missing scope".
func (c *Client) CheckKey(ctx context.Context) KeyReport {
	now := c.shared.now()
	var wg sync.WaitGroup
	var orders, returns, dev ScopeResult
	wg.Go(func() { orders = c.probeOrders(ctx) })
	wg.Go(func() { returns = c.probeReturns(ctx, now) })
	wg.Go(func() { dev = c.probeDeveloperTools(ctx) })
	wg.Wait()
	return KeyReport{Orders: orders, Returns: returns, DeveloperTools: dev, CheckedAt: now}
}

func (c *Client) probeOrders(ctx context.Context) ScopeResult {
	req := request{
		endpoint: "key_check_orders", op: "key check (orders)", scope: ScopeOrders,
		method: http.MethodPost, path: "/order/link",
		body:        deepLinkBody{Name: keyCheckOrderName, Zip: "00000"},
		maxAttempts: 1,
	}
	_, err := c.do(ctx, req)
	return scopeResult(ScopeOrders, err, func(e *Error) bool {
		// "Not found" and other validation answers come after the
		// authorisation check: the key got through.
		return e.Kind == KindNotFound || e.Kind == KindInvalid
	})
}

func (c *Client) probeReturns(ctx context.Context, now time.Time) ScopeResult {
	q := url.Values{}
	q.Set("from", now.Add(-time.Minute).UTC().Format(isoMillis))
	q.Set("to", now.UTC().Format(isoMillis))
	q.Set("paginate", "true")
	q.Set("pageSize", strconv.Itoa(1))
	req := request{
		endpoint: "key_check_returns", op: "key check (returns)", scope: ScopeReturns,
		method: http.MethodGet, path: "/warehouse/return/list", query: q, maxAttempts: 1,
	}
	_, err := c.do(ctx, req)
	return scopeResult(ScopeReturns, err, func(e *Error) bool { return e.Kind == KindInvalid })
}

func (c *Client) probeDeveloperTools(ctx context.Context) ScopeResult {
	req := request{
		endpoint: "key_check_developer_tools", op: "key check (developer tools)", scope: ScopeDeveloperTools,
		method: http.MethodGet, path: "/webhooks", maxAttempts: 1,
	}
	_, err := c.do(ctx, req)
	return scopeResult(ScopeDeveloperTools, err, nil)
}

// scopeResult maps a probe's outcome. authorisedAnyway lists the failures
// that still prove the key passed Loop's authorisation.
func scopeResult(s Scope, err error, authorisedAnyway func(*Error) bool) ScopeResult {
	if err == nil {
		return ScopeResult{Scope: s, Status: ScopeGranted, HTTPStatus: http.StatusOK}
	}
	var le *Error
	if !errors.As(err, &le) {
		return ScopeResult{Scope: s, Status: ScopeUnknown, Err: err}
	}
	switch {
	case le.Kind == KindUnauthorized || le.Kind == KindMissingScope:
		return ScopeResult{Scope: s, Status: ScopeDenied, HTTPStatus: le.Status}
	case authorisedAnyway != nil && authorisedAnyway(le):
		return ScopeResult{Scope: s, Status: ScopeGranted, HTTPStatus: le.Status}
	}
	return ScopeResult{Scope: s, Status: ScopeUnknown, HTTPStatus: le.Status, Err: err}
}
