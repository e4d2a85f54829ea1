package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The Admin side: /admin/api/{version}/graphql.json authenticated by
// X-Shopify-Access-Token against the sandbox's token registry, answering
// the operations hubdesk sends (graphql.go) with cost extensions from a
// leaky bucket, as Shopify does.

// DefaultAdminScopes are the scopes a token gets when none are named: what
// hubdesk asks for.
var DefaultAdminScopes = []string{"read_customers", "read_orders", "read_all_orders", "read_fulfillments", "read_returns"}

// DemoAdminToken is the Admin API token the standalone sandbox accepts
// unless told another (`hubdesk sandbox shopify --admin-token`).
const DemoAdminToken = "shpat_hubdesk_sandbox_demo"

// Cost bucket defaults: Shopify's Standard plan (2000 points, refilled at
// 100 a second).
const (
	DefaultCostBucket      = 2000
	DefaultCostRestoreRate = 100
)

// adminToken is an access token the sandbox accepts.
type adminToken struct {
	scopes  []string
	expires time.Time // zero: never
}

// adminState is the Admin side's mutable state, behind Sandbox.amu.
type adminState struct {
	tokens map[string]adminToken
	// bucket: points available at bucketAt.
	bucket   float64
	bucketAt time.Time
	// requests counts GraphQL requests answered, throttled counts those
	// refused THROTTLED (tests read both).
	requests, throttled int
	// tooMany is how many of the next GraphQL requests are refused with
	// HTTP 429 and Retry-After retryAfter (TooManyRequests); rejected
	// counts those refused so.
	tooMany, rejected int
	retryAfter        string
}

// TooManyRequests refuses the next n Admin GraphQL requests with HTTP 429
// and Retry-After: retryAfter (Shopify writes seconds with a fraction,
// "2.0"), as Shopify does when an app sends too many requests at once —
// beside the cost bucket's THROTTLED, which is an HTTP 200.
func (s *Sandbox) TooManyRequests(n int, retryAfter string) {
	s.amu.Lock()
	s.admin.tooMany, s.admin.retryAfter = n, retryAfter
	s.amu.Unlock()
}

// Rejected counts the requests TooManyRequests refused.
func (s *Sandbox) Rejected() int {
	s.amu.Lock()
	defer s.amu.Unlock()
	return s.admin.rejected
}

// IssueAccessToken registers a new access token with the given scopes
// (DefaultAdminScopes when none) that expires after ttl (0: never), and
// returns it. The OAuth and client-credentials endpoints use it; tests
// call it directly.
func (s *Sandbox) IssueAccessToken(scopes []string, ttl time.Duration) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	tok := "shpat_sbx_" + hex.EncodeToString(b[:])
	s.addToken(tok, scopes, ttl)
	return tok
}

func (s *Sandbox) addToken(tok string, scopes []string, ttl time.Duration) {
	if len(scopes) == 0 {
		scopes = DefaultAdminScopes
	}
	t := adminToken{scopes: slices.Clone(scopes)}
	if ttl > 0 {
		t.expires = s.opts.Now().Add(ttl)
	}
	s.amu.Lock()
	s.admin.tokens[tok] = t
	s.amu.Unlock()
}

// RevokeAccessToken makes a token invalid (an uninstalled app's token).
func (s *Sandbox) RevokeAccessToken(tok string) {
	s.amu.Lock()
	delete(s.admin.tokens, tok)
	s.amu.Unlock()
}

// AdminStats are counters tests read: GraphQL requests answered and how
// many of them were refused THROTTLED.
func (s *Sandbox) AdminStats() (requests, throttled int) {
	s.amu.Lock()
	defer s.amu.Unlock()
	return s.admin.requests, s.admin.throttled
}

// AdminURL is the root the Admin client's BaseURL should be (the
// storefront's own root: the sandbox serves /admin/api/... beside it).
func (s *Sandbox) AdminURL() string { return s.BaseURL() }

// initAdmin sets up the Admin side from the options.
func (s *Sandbox) initAdmin() {
	if s.opts.CostBucket <= 0 {
		s.opts.CostBucket = DefaultCostBucket
	}
	if s.opts.CostRestoreRate <= 0 {
		s.opts.CostRestoreRate = DefaultCostRestoreRate
	}
	s.admin = adminState{tokens: map[string]adminToken{}, bucket: s.opts.CostBucket, bucketAt: s.opts.Now()}
	if s.opts.AdminToken != "" {
		s.addToken(s.opts.AdminToken, s.opts.AdminScopes, 0)
	}
}

var apiVersionPattern = regexp.MustCompile(`^\d{4}-(01|04|07|10)$|^unstable$`)

// graphQLError is one entry of a response's errors.
type graphQLError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// resolved is a root field's answer and what it cost.
type resolved struct {
	value any
	cost  float64
}

// adminGraphQL serves POST /admin/api/{version}/graphql.json.
func (s *Sandbox) adminGraphQL(w http.ResponseWriter, r *http.Request) {
	version := r.PathValue("version")
	if !apiVersionPattern.MatchString(version) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("X-Shopify-API-Version", version)
	scopes, ok := s.authorize(r.Header.Get("X-Shopify-Access-Token"))
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	s.amu.Lock()
	reject, retryAfter := s.admin.tooMany > 0, s.admin.retryAfter
	if reject {
		s.admin.tooMany--
		s.admin.rejected++
	}
	s.amu.Unlock()
	if reject {
		w.Header().Set("Retry-After", retryAfter)
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})
		return
	}
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || json.Unmarshal(body, &req) != nil || strings.TrimSpace(req.Query) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": "Required parameter missing or invalid"}})
		return
	}
	op, ok := parseOperation(req.Query)
	if !ok {
		writeGraphQLErrors(w, nil, graphQLError{Message: "syntax error, unexpected end of file", Extensions: map[string]any{"code": "PARSE_ERROR"}})
		return
	}
	call := &gqlCall{s: s, op: op, vars: req.Variables, scopes: scopes, query: req.Query}
	// Cost first, as Shopify does: a query the bucket cannot pay for is
	// refused whole, before any of it runs.
	requested := 0.0
	for _, f := range op.fields {
		requested += call.estimate(f)
	}
	if requested > 1000 {
		writeGraphQLErrors(w, &costExt{requested: requested, status: s.throttleStatus()}, graphQLError{
			Message:    fmt.Sprintf("Query cost is %.0f, which exceeds the single query max cost limit (1000).", requested),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": 1000}})
		return
	}
	if !s.spend(requested) {
		writeGraphQLErrors(w, &costExt{requested: requested, status: s.throttleStatus()}, graphQLError{
			Message: "Throttled", Extensions: map[string]any{"code": "THROTTLED",
				"documentation": "https://shopify.dev/api/usage/rate-limits"}})
		return
	}
	data := map[string]any{}
	var errs []graphQLError
	actual := 0.0
	for _, f := range op.fields {
		res, gerr := call.resolve(f)
		if gerr != nil {
			errs = append(errs, *gerr)
			data[f] = nil
			actual++
			continue
		}
		data[f] = res.value
		actual += res.cost
	}
	actual = math.Min(actual, requested)
	s.refund(requested - actual)
	resp := map[string]any{"data": data, "extensions": map[string]any{"cost": (&costExt{requested: requested, actual: &actual, status: s.throttleStatus()}).json()}}
	if len(errs) > 0 {
		resp["errors"] = errs
	}
	writeJSON(w, http.StatusOK, resp)
}

// authorize looks a token up; expired tokens are refused as unknown ones.
func (s *Sandbox) authorize(tok string) ([]string, bool) {
	if tok == "" {
		return nil, false
	}
	s.amu.Lock()
	defer s.amu.Unlock()
	t, ok := s.admin.tokens[tok]
	if !ok || (!t.expires.IsZero() && !s.opts.Now().Before(t.expires)) {
		return nil, false
	}
	return t.scopes, true
}

// refill brings the bucket to now; the caller holds amu.
func (s *Sandbox) refill() {
	now := s.opts.Now()
	el := now.Sub(s.admin.bucketAt).Seconds()
	if el > 0 {
		s.admin.bucket = math.Min(s.opts.CostBucket, s.admin.bucket+el*s.opts.CostRestoreRate)
	}
	s.admin.bucketAt = now
}

// spend takes cost points from the bucket, or refuses (THROTTLED) when it
// holds fewer.
func (s *Sandbox) spend(cost float64) bool {
	s.amu.Lock()
	defer s.amu.Unlock()
	s.admin.requests++
	s.refill()
	if s.admin.bucket < cost {
		s.admin.throttled++
		return false
	}
	s.admin.bucket -= cost
	return true
}

// refund gives back what a query was estimated to cost beyond what it
// did, as Shopify does.
func (s *Sandbox) refund(points float64) {
	if points <= 0 {
		return
	}
	s.amu.Lock()
	s.refill()
	s.admin.bucket = math.Min(s.opts.CostBucket, s.admin.bucket+points)
	s.amu.Unlock()
}

// DrainCostBucket empties the bucket (tests: the next query is throttled
// until it refills).
func (s *Sandbox) DrainCostBucket() {
	s.amu.Lock()
	s.refill()
	s.admin.bucket = 0
	s.amu.Unlock()
}

type throttle struct{ max, available, rate float64 }

func (s *Sandbox) throttleStatus() throttle {
	s.amu.Lock()
	defer s.amu.Unlock()
	s.refill()
	return throttle{s.opts.CostBucket, math.Floor(s.admin.bucket), s.opts.CostRestoreRate}
}

type costExt struct {
	requested float64
	actual    *float64
	status    throttle
}

func (c *costExt) json() map[string]any {
	m := map[string]any{
		"requestedQueryCost": c.requested,
		"throttleStatus": map[string]any{
			"maximumAvailable": c.status.max, "currentlyAvailable": c.status.available, "restoreRate": c.status.rate,
		},
	}
	if c.actual != nil {
		m["actualQueryCost"] = *c.actual
	} else {
		m["actualQueryCost"] = nil
	}
	return m
}

func writeGraphQLErrors(w http.ResponseWriter, cost *costExt, errs ...graphQLError) {
	resp := map[string]any{"errors": errs}
	if cost != nil {
		resp["extensions"] = map[string]any{"cost": cost.json()}
	}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// gqlCall is one request being answered.
type gqlCall struct {
	s      *Sandbox
	op     operation
	vars   map[string]any
	scopes []string
	query  string
}

func (c *gqlCall) hasScope(scope string) bool {
	if slices.Contains(c.scopes, scope) {
		return true
	}
	// write_X implies read_X, as on Shopify.
	if rest, ok := strings.CutPrefix(scope, "read_"); ok {
		return slices.Contains(c.scopes, "write_"+rest)
	}
	return false
}

func accessDenied(field, scope string) *graphQLError {
	return &graphQLError{Message: fmt.Sprintf("Access denied for %s field. Required access: `%s` access scope.", field, scope),
		Extensions: map[string]any{"code": "ACCESS_DENIED"}}
}

func (c *gqlCall) str(name string) string {
	if v, ok := c.vars[name].(string); ok {
		return v
	}
	return ""
}

func (c *gqlCall) num(name string, def int) int {
	switch v := c.vars[name].(type) {
	case float64:
		return int(v)
	case int:
		return v
	}
	return def
}
