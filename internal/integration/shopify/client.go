package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAPIVersion is the dated Admin API version the client pins
// (HUBDESK_SHOPIFY_API_VERSION may override it). Shopify supports a stable
// version for twelve months; pinning one means a new release never changes a
// response under a running hubdesk.
const DefaultAPIVersion = "2026-10"

// TokenSource gives the Admin API access token to send with a request. The
// connection that owns the shop's credentials implements it: a pasted admin
// token never changes, a client-credentials or expiring offline token is
// fetched again before it runs out. Token must be safe for concurrent use.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a token that never changes (an admin-created custom app's
// Admin API access token, tests).
type StaticToken string

// Token returns the token itself.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// Options configure an Client.
type Options struct {
	// Shop is the shop's myshopify.com domain; requests go to
	// https://{Shop}/admin/api/{version}/graphql.json unless BaseURL is set.
	Shop string
	// BaseURL replaces https://{Shop} (the sandbox's root, e.g.
	// http://127.0.0.1:8090).
	BaseURL string
	// APIVersion defaults to DefaultAPIVersion.
	APIVersion string
	// Tokens supplies the access token for every request.
	Tokens TokenSource
	// HTTPClient defaults to a client without overall timeout; Timeout
	// bounds each attempt instead.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt (default 30 s: bulk operation
	// mutations and large pages are slower than a storefront read).
	Timeout time.Duration
	// MaxAttempts bounds tries of one call when Shopify throttles it or does
	// not answer usefully (default 5). 1 disables retries.
	MaxAttempts int
	// MaxWait is the longest the client sleeps for the cost bucket to
	// refill before one attempt (default 30 s). A longer wait ends the call
	// with KindThrottled, for a background job to reschedule.
	MaxWait time.Duration
	// Logger receives throttling waits and retries; nil discards them.
	Logger *slog.Logger

	sleep func(ctx context.Context, d time.Duration) error // tests
	now   func() time.Time                                 // tests
}

// Client calls one shop's Admin GraphQL API. It is safe for concurrent
// use; calls share the shop's cost bucket as Shopify sees it.
type Client struct {
	opts     Options
	endpoint string
	log      *slog.Logger

	mu     sync.Mutex
	bucket bucketState
}

// bucketState is the last throttle status Shopify reported, and when: the
// client refills it at restoreRate to decide whether the next query fits.
type bucketState struct {
	known       bool
	maximum     float64
	available   float64
	restoreRate float64
	at          time.Time
}

// New builds a client for one shop.
func New(opts Options) *Client {
	if opts.APIVersion == "" {
		opts.APIVersion = DefaultAPIVersion
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 30 * time.Second
	}
	if opts.sleep == nil {
		opts.sleep = sleepCtx
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = "https://" + opts.Shop
	}
	return &Client{
		opts:     opts,
		endpoint: base + "/admin/api/" + opts.APIVersion + "/graphql.json",
		log:      log,
	}
}

// Endpoint is the GraphQL URL the client posts to.
func (c *Client) Endpoint() string { return c.endpoint }

// APIVersion is the version the client is pinned to.
func (c *Client) APIVersion() string { return c.opts.APIVersion }

// ThrottleStatus is Shopify's report of the shop's cost bucket
// (extensions.cost.throttleStatus).
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// Cost is extensions.cost of a response.
type Cost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
}

// GraphQLError is one entry of a response's errors array.
type GraphQLError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
	Path []any `json:"path,omitempty"`
}

type gqlResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     []GraphQLError  `json:"errors"`
	Extensions struct {
		Cost *Cost `json:"cost"`
	} `json:"extensions"`
}

type gqlRequest struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables,omitempty"`
}

// Do runs one GraphQL operation and decodes its data into out (nil skips
// decoding). Before sending, it waits when the last known bucket cannot
// pay for the query; a THROTTLED answer (HTTP 200) is retried after the
// bucket has refilled enough; MAX_COST_EXCEEDED is permanent. Any other
// GraphQL error fails the call with the errors' messages.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	op := operationName(query)
	body, err := json.Marshal(gqlRequest{Query: query, Variables: vars})
	if err != nil {
		return &Error{Op: op, Kind: KindInvalid, Message: "encode request: " + err.Error()}
	}
	var lastErr *Error
	need := 0.0 // the query's cost, once Shopify has said it
	for attempt := 1; attempt <= c.opts.MaxAttempts; attempt++ {
		if wait := c.waitFor(need); wait > 0 {
			if wait > c.opts.MaxWait {
				return &Error{Op: op, Kind: KindThrottled, Message: "cost bucket needs " + wait.Round(time.Millisecond).String() + " to refill", RetryAfter: wait}
			}
			c.log.Debug("shopify: waiting for the cost bucket", "op", op, "wait", wait)
			if err := c.opts.sleep(ctx, wait); err != nil {
				return &Error{Op: op, Kind: KindCanceled, Message: err.Error()}
			}
		}
		resp, e := c.attempt(ctx, op, body)
		if e == nil {
			if len(resp.Errors) == 0 {
				if out == nil || len(resp.Data) == 0 || string(resp.Data) == "null" {
					return nil
				}
				if err := json.Unmarshal(resp.Data, out); err != nil {
					return &Error{Op: op, Kind: KindUnavailable, Status: http.StatusOK, Message: "decode data: " + err.Error()}
				}
				return nil
			}
			e = errorFromGraphQL(op, resp.Errors)
			if e.Kind == KindThrottled && resp.Extensions.Cost != nil {
				need = resp.Extensions.Cost.RequestedQueryCost
			}
		}
		if e.Kind != KindThrottled && e.Kind != KindUnavailable {
			return e
		}
		lastErr = e
		if attempt == c.opts.MaxAttempts {
			break
		}
		if e.Kind == KindUnavailable {
			backoff := time.Duration(math.Min(float64(time.Second)*math.Pow(2, float64(attempt-1)), float64(8*time.Second)))
			c.log.Info("shopify: retrying", "op", op, "attempt", attempt, "err", e.Message, "wait", backoff)
			if err := c.opts.sleep(ctx, backoff); err != nil {
				return &Error{Op: op, Kind: KindCanceled, Message: err.Error()}
			}
		} else if e.RetryAfter > 0 {
			// An HTTP 429 says how long to wait: its Retry-After.
			if e.RetryAfter > c.opts.MaxWait {
				return e
			}
			c.log.Info("shopify: too many requests; waiting as asked", "op", op, "attempt", attempt, "wait", e.RetryAfter)
			if err := c.opts.sleep(ctx, e.RetryAfter); err != nil {
				return &Error{Op: op, Kind: KindCanceled, Message: err.Error()}
			}
		} else if need == 0 {
			// Throttled without a cost report: give the bucket a second.
			if err := c.opts.sleep(ctx, time.Second); err != nil {
				return &Error{Op: op, Kind: KindCanceled, Message: err.Error()}
			}
		}
	}
	return lastErr
}

// attempt sends one request and reads Shopify's envelope. HTTP-level
// failures come back as an *Error; a 200 body with GraphQL errors comes
// back as a response for Do to judge.
func (c *Client) attempt(ctx context.Context, op string, body []byte) (*gqlResponse, *Error) {
	token, err := c.opts.Tokens.Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Op: op, Kind: KindCanceled, Message: ctx.Err().Error()}
		}
		return nil, &Error{Op: op, Kind: KindUnauthorized, Message: "no access token: " + err.Error(), cause: err}
	}
	actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Op: op, Kind: KindInvalid, Message: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", token)
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Op: op, Kind: KindCanceled, Message: ctx.Err().Error()}
		}
		// The URL is the shop's endpoint, not a secret; the token is a header.
		return nil, &Error{Op: op, Kind: KindUnavailable, Message: err.Error()}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, &Error{Op: op, Kind: KindUnavailable, Status: res.StatusCode, Message: "read body: " + err.Error()}
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return nil, &Error{Op: op, Kind: KindUnauthorized, Status: res.StatusCode, Message: shortBody(raw)}
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusPaymentRequired || res.StatusCode == http.StatusLocked:
		// 404: no such shop; 402: frozen (unpaid); 423: locked. None heals by retrying now.
		return nil, &Error{Op: op, Kind: KindNotFound, Status: res.StatusCode, Message: shortBody(raw)}
	case res.StatusCode == http.StatusTooManyRequests:
		return nil, &Error{Op: op, Kind: KindThrottled, Status: res.StatusCode, Message: shortBody(raw),
			RetryAfter: parseRetryAfter(res.Header.Get("Retry-After"))}
	case res.StatusCode >= 500:
		return nil, &Error{Op: op, Kind: KindUnavailable, Status: res.StatusCode, Message: shortBody(raw)}
	case res.StatusCode != http.StatusOK:
		return nil, &Error{Op: op, Kind: KindInvalid, Status: res.StatusCode, Message: shortBody(raw)}
	}
	var resp gqlResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return nil, &Error{Op: op, Kind: KindUnavailable, Status: res.StatusCode, Message: "not a GraphQL response: " + err.Error()}
	}
	if resp.Extensions.Cost != nil {
		c.observe(resp.Extensions.Cost.ThrottleStatus)
	}
	return &resp, nil
}

// observe records the bucket as Shopify last reported it.
func (c *Client) observe(ts ThrottleStatus) {
	if ts.MaximumAvailable <= 0 || ts.RestoreRate <= 0 {
		return
	}
	c.mu.Lock()
	c.bucket = bucketState{known: true, maximum: ts.MaximumAvailable, available: ts.CurrentlyAvailable,
		restoreRate: ts.RestoreRate, at: c.opts.now()}
	c.mu.Unlock()
}

// lowWater is the share of the bucket the client keeps in reserve for
// queries whose cost it does not know yet: below it, it waits first.
const lowWater = 0.1

// waitFor is how long to wait before a query costing need (0: unknown)
// fits in the bucket, refilled since Shopify last reported it.
func (c *Client) waitFor(need float64) time.Duration {
	c.mu.Lock()
	b := c.bucket
	c.mu.Unlock()
	if !b.known {
		return 0
	}
	if need <= 0 {
		need = b.maximum * lowWater
	}
	if need > b.maximum {
		need = b.maximum
	}
	elapsed := c.opts.now().Sub(b.at).Seconds()
	available := math.Min(b.maximum, b.available+elapsed*b.restoreRate)
	if available >= need {
		return 0
	}
	return time.Duration((need - available) / b.restoreRate * float64(time.Second))
}

// Throttle is the bucket as last reported, refilled to now (zero before
// the first answer).
func (c *Client) Throttle() ThrottleStatus {
	c.mu.Lock()
	b := c.bucket
	c.mu.Unlock()
	if !b.known {
		return ThrottleStatus{}
	}
	elapsed := c.opts.now().Sub(b.at).Seconds()
	return ThrottleStatus{MaximumAvailable: b.maximum, RestoreRate: b.restoreRate,
		CurrentlyAvailable: math.Min(b.maximum, b.available+elapsed*b.restoreRate)}
}

// operationName names an operation for errors and logs: "query Name" /
// "mutation Name", or the first line when it has none.
func operationName(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexAny(q, "({"); i > 0 {
		return strings.TrimSpace(q[:i])
	}
	if len(q) > 40 {
		return q[:40]
	}
	return q
}

func shortBody(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kind is what a caller can do about a failed call.
type Kind string

const (
	// KindUnauthorized: the token is missing, wrong, expired or revoked, or
	// lacks the scope (ACCESS_DENIED). Reconnect or fix scopes.
	KindUnauthorized Kind = "unauthorized"
	// KindNotFound: the shop does not exist, is frozen or locked, or the
	// object asked for is not there.
	KindNotFound Kind = "not_found"
	// KindThrottled: the cost bucket stayed empty through the retries (or
	// the wait would exceed MaxWait); Error.RetryAfter says how long.
	KindThrottled Kind = "throttled"
	// KindMaxCost: the query costs more than Shopify allows for one query
	// (1000 points). Asking again never helps: make it smaller.
	KindMaxCost Kind = "max_cost_exceeded"
	// KindUnavailable: no useful answer (network, timeout, 5xx, not JSON).
	KindUnavailable Kind = "unavailable"
	// KindInvalid: Shopify refused the query or its input (GraphQL errors,
	// userErrors of a mutation).
	KindInvalid Kind = "invalid"
	// KindCanceled: the caller's context ended.
	KindCanceled Kind = "canceled"
)

// Sentinels for errors.Is, one per Kind.
var (
	ErrUnauthorized = errors.New("shopify: unauthorized")
	ErrNotFound     = errors.New("shopify: not found")
	ErrThrottled    = errors.New("shopify: throttled")
	ErrMaxCost      = errors.New("shopify: query cost exceeds the maximum")
	ErrUnavailable  = errors.New("shopify: unavailable")
	ErrInvalid      = errors.New("shopify: invalid request")
	ErrCanceled     = errors.New("shopify: canceled")
)

var kindSentinels = map[Kind]error{
	KindUnauthorized: ErrUnauthorized, KindNotFound: ErrNotFound, KindThrottled: ErrThrottled,
	KindMaxCost: ErrMaxCost, KindUnavailable: ErrUnavailable, KindInvalid: ErrInvalid, KindCanceled: ErrCanceled,
}

// Error is every failure of the Admin client. It never holds the access
// token.
type Error struct {
	Op         string        // the operation, e.g. "query CustomerOrders"
	Kind       Kind          // what the caller can do about it
	Status     int           // HTTP status; 0 when Shopify never answered
	Code       string        // the first GraphQL error's extensions.code
	Message    string        // Shopify's message(s), or ours
	RetryAfter time.Duration // KindThrottled: how long until the bucket fits the query, or a 429's Retry-After
	cause      error
}

func (e *Error) Error() string {
	s := "shopify: " + e.Op + ": " + string(e.Kind)
	if e.Status != 0 && e.Status != http.StatusOK {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		s += " [" + e.Code + "]"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is matches the Kind's sentinel.
func (e *Error) Is(target error) bool { return kindSentinels[e.Kind] == target }

// Unwrap is the token source's error, when that is what failed.
func (e *Error) Unwrap() error { return e.cause }

// Temporary says whether the same call may succeed later unchanged.
func (e *Error) Temporary() bool {
	return e.Kind == KindThrottled || e.Kind == KindUnavailable
}

// errorFromGraphQL turns a non-empty errors array into an *Error; the
// first error with a known code decides the kind.
func errorFromGraphQL(op string, errs []GraphQLError) *Error {
	e := &Error{Op: op, Kind: KindInvalid, Status: http.StatusOK}
	msgs := make([]string, 0, len(errs))
	for _, g := range errs {
		msgs = append(msgs, g.Message)
		if e.Code == "" && g.Extensions.Code != "" {
			e.Code = g.Extensions.Code
		}
	}
	e.Message = strings.Join(msgs, "; ")
	switch e.Code {
	case "THROTTLED":
		e.Kind = KindThrottled
	case "MAX_COST_EXCEEDED":
		e.Kind = KindMaxCost
	case "ACCESS_DENIED", "UNAUTHORIZED":
		e.Kind = KindUnauthorized
	case "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE":
		e.Kind = KindUnavailable
	case "NOT_FOUND", "RESOURCE_NOT_FOUND":
		e.Kind = KindNotFound
	}
	return e
}

// parseRetryAfter reads a 429's Retry-After: seconds, which Shopify
// writes with a fraction ("2.0"). Missing or unreadable: 0, and the
// caller's own pause applies.
func parseRetryAfter(v string) time.Duration {
	secs, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || secs <= 0 || math.IsInf(secs, 0) || math.IsNaN(secs) {
		return 0
	}
	return time.Duration(min(secs, 3600) * float64(time.Second))
}
