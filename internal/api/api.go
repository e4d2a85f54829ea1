// Package api is hubdesk's REST API v1 for commerce data: customers and
// orders, read and upserted by other platforms and by tests. Handlers are
// plain http.HandlerFuncs; the route list wraps them with bearer-token
// authentication, and every call is scoped to the signed-in user's shop.
//
// openapi.json in this directory is the contract. It is written by hand and
// the tests validate every response they receive against it, so a change
// to a JSON shape that is not made in the document fails the build.
package api

import (
	_ "embed"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/privacy"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3.1 document describing this API, for
// tools and tests that check responses against it.
func OpenAPIDocument() []byte { return openAPIDocument }

// Options is what New needs.
type Options struct {
	Commerce *commerce.Store
	Ingest   *ingest.Orders   // order upserts, with the returns waiting for them
	Settings *settings.Editor // reads and saves the returns settings, checking Loop keys
	Orders   *orderview.View  // each order's status and return eligibility
	Audit    *audit.Log
	Jobs     *jobs.Queue       // the shop's background jobs, listed
	Tickets  *ticket.Store     // tickets and messages, read
	Helpdesk *helpdesk.Tickets // tickets worked: created, replied to, updated
	Users    *user.Store       // assignees, read
	Privacy  *privacy.Requests // Shopify's privacy requests and their exports
	// Shopify is the shop's Shopify connection: read, connected, removed.
	Shopify *shopifyconnect.Connector
	Logger  *slog.Logger // slog.Default() when nil
}

// API serves /api/v1.
type API struct {
	commerce *commerce.Store
	ingest   *ingest.Orders
	settings *settings.Editor
	orders   *orderview.View
	audit    *audit.Log
	jobs     *jobs.Queue
	tickets  *ticket.Store
	helpdesk *helpdesk.Tickets
	users    *user.Store
	privacy  *privacy.Requests
	shopify  *shopifyconnect.Connector
	log      *slog.Logger
}

// New returns the API handlers.
func New(opts Options) *API {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &API{commerce: opts.Commerce, ingest: opts.Ingest, settings: opts.Settings, orders: opts.Orders, audit: opts.Audit, jobs: opts.Jobs,
		tickets: opts.Tickets, helpdesk: opts.Helpdesk, users: opts.Users, privacy: opts.Privacy, shopify: opts.Shopify, log: log}
}

// OpenAPI serves the embedded OpenAPI document. It needs no authentication:
// it describes the API, it holds no data.
func (a *API) OpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	w.WriteHeader(http.StatusOK)
	w.Write(openAPIDocument)
}

// caller returns the token's user, whose shop every query of this request
// is scoped to. Who may call a route is decided in the route list alone
// (server.apiRole); answering 401 here too means a route wired without a
// rule fails closed instead of reading shop 0.
func caller(w http.ResponseWriter, r *http.Request) (*user.User, bool) {
	u := auth.UserFrom(r.Context())
	if u == nil {
		httpkit.WriteError(w, &httpkit.Error{Status: http.StatusUnauthorized, Code: httpkit.CodeUnauthorized, Message: "a valid API token is required"})
		return nil, false
	}
	return u, true
}

// shopID is caller's shop.
func (a *API) shopID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	u, ok := caller(w, r)
	if !ok {
		return 0, false
	}
	return u.ShopID, true
}

// pathID parses the hubdesk id in the URL. Anything that is not a positive
// integer cannot name a record, so it is reported as not found rather than
// as a malformed request.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// list is the envelope of every list response. NextCursor is always a
// string, empty on the last page, so clients loop on one simple test.
type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// writeList answers 200 with a page of items in their JSON shape.
func writeList[M, J any](w http.ResponseWriter, items []M, next string, toJSON func(M) J) {
	out := list[J]{Items: make([]J, 0, len(items)), NextCursor: next}
	for _, it := range items {
		out.Items = append(out.Items, toJSON(it))
	}
	httpkit.JSON(w, http.StatusOK, out)
}
