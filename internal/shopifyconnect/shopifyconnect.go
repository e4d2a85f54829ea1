// Package shopifyconnect is the use case of a shop's connection to its
// Shopify store: connecting it three ways (a Dev Dashboard custom app's
// client credentials, an admin-created custom app's pasted token, or the
// install of hubdesk's public app), each checked on save with a cheap
// GraphQL query reporting the granted scopes against the ones hubdesk
// needs; keeping the token alive (jobs renew expiring tokens before they
// run out); registering the webhook subscriptions and repairing them; and
// dropping the tokens when the app is uninstalled, keeping the data.
//
// The credentials live sealed in the shop's connection
// (connection.ProviderShopify); a shop connected with a custom app is
// verified (App Proxy, webhooks) with that app's client secret, a shop
// installed through the public app with the app's secret from the
// configuration (shop.Store.UseAppSecret).
package shopifyconnect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// RequiredScopes are what hubdesk cannot work without: orders and their
// fulfillments (the hub's timeline, delivered dates, the webhooks of
// both) and customers (who the shopper is, the helpdesk's sidebar).
var RequiredScopes = []string{"read_customers", "read_orders", "read_fulfillments"}

// OptionalScopes make hubdesk better but are not needed: returns on
// Shopify's side (Order.returnStatus), and orders older than 60 days for
// the backfill (read_all_orders, which Shopify grants public apps only on
// request).
var OptionalScopes = []string{"read_returns", "read_all_orders"}

// InstallScopes are the scopes the public app's install asks for.
func InstallScopes() []string { return append(slices.Clone(RequiredScopes), OptionalScopes...) }

// Scope states in the connection's scope report.
const (
	ScopeGranted = "granted"
	ScopeMissing = "missing"
)

// RefreshBefore is how long before its expiry a token is renewed: an
// expiring offline token (60 minutes) at 45, a client credentials token
// (24 hours) at 23 h 45. A renewal that fails is retried with River's
// backoff well within it.
const RefreshBefore = 15 * time.Minute

// App is hubdesk's public Shopify app (HUBDESK_SHOPIFY_CLIENT_ID,
// HUBDESK_SHOPIFY_CLIENT_SECRET); the zero App means installs are off.
type App struct {
	ClientID     string
	ClientSecret string
}

// Configured says whether the public app's install is offered.
func (a App) Configured() bool { return a.ClientID != "" && a.ClientSecret != "" }

// Options are what the Connector needs.
type Options struct {
	DB          *database.DB
	Connections *connection.Store
	Shops       *shop.Store
	Audit       *audit.Log
	// OAuth calls the shops' token endpoints; its AdminRoot also roots
	// the Admin API (the demo and tests: the sandbox).
	OAuth *shopify.OAuth
	// HTTP carries Admin API calls (default: a plain client).
	HTTP *http.Client
	// APIVersion pins the Admin API version (shopify.DefaultAPIVersion).
	APIVersion string
	App        App
	// Box seals the token a disconnected shop's unsubscribe job carries.
	Box *secret.Box
	// BaseURL is hubdesk's public root: webhooks go to
	// {BaseURL}/webhooks/shopify and installs come back to
	// {BaseURL}/shopify/callback.
	BaseURL string
	Logger  *slog.Logger
	Now     func() time.Time
}

// Connector is the use case.
type Connector struct {
	opts   Options
	queue  *jobs.Queue
	states *installStates
	health *subscriptionHealth
	log    *slog.Logger
}

// New builds the connector; SetQueue must follow before it enqueues.
func New(opts Options) *Connector {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OAuth == nil {
		opts.OAuth = &shopify.OAuth{}
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Connector{opts: opts, states: &installStates{db: opts.DB}, health: &subscriptionHealth{db: opts.DB}, log: log}
}

// SetQueue gives the connector the job queue, which is built after it.
func (c *Connector) SetQueue(q *jobs.Queue) { c.queue = q }

// App is the public app the connector installs.
func (c *Connector) App() App { return c.opts.App }

func (c *Connector) now() time.Time { return c.opts.Now().UTC() }

// WebhookURL is where Shopify delivers the shops' webhooks.
func (c *Connector) WebhookURL() string {
	return strings.TrimRight(c.opts.BaseURL, "/") + "/webhooks/shopify"
}

// CallbackURL is where an install comes back to.
func (c *Connector) CallbackURL() string {
	return strings.TrimRight(c.opts.BaseURL, "/") + "/shopify/callback"
}

// admin is an Admin API client for the shop's domain with tokens. Calls
// made while a person waits (a save) give up sooner than a job's.
func (c *Connector) admin(domain string, tokens shopify.TokenSource, interactive bool) *shopify.Client {
	o := shopify.Options{Shop: domain, APIVersion: c.opts.APIVersion, Tokens: tokens, HTTPClient: c.opts.HTTP, Logger: c.log}
	if c.opts.OAuth.AdminRoot != nil {
		o.BaseURL = c.opts.OAuth.Root(domain)
	}
	if interactive {
		o.MaxAttempts, o.MaxWait, o.Timeout = 2, 2*time.Second, 15*time.Second
	}
	return shopify.New(o)
}

// ErrNotConnected: the shop has no Shopify token to call with (never
// connected, disconnected or uninstalled).
var ErrNotConnected = errors.New("shopifyconnect: the shop is not connected to Shopify")

// ErrTokenExpired: the stored token ran out before it was renewed; a
// renewal has been asked for.
var ErrTokenExpired = errors.New("shopifyconnect: the Shopify token has expired; renewing it")

// InputError is a connect request the use case refuses before asking
// Shopify, naming the field.
type InputError struct{ Field, Message string }

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// RefusedError is Shopify refusing the credentials (a bad client id or
// secret, a revoked or mistyped token, an install code already used).
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "Shopify refused the credentials: " + e.Reason }

// UnreachableError is Shopify not answering usefully; nothing was saved.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string { return "Shopify could not be reached: " + e.Err.Error() }
func (e *UnreachableError) Unwrap() error { return e.Err }

// classify turns a remote failure into the use case's errors.
func classify(err error) error {
	var te *shopify.TokenError
	var se *shopify.Error
	switch {
	case errors.As(err, &te):
		return &RefusedError{Reason: te.Error()}
	case errors.Is(err, shopify.ErrOAuthShop):
		return &InputError{Field: "shop", Message: "is not a myshopify.com domain"}
	case errors.As(err, &se) && (se.Kind == shopify.KindUnauthorized || se.Kind == shopify.KindNotFound):
		return &RefusedError{Reason: se.Error()}
	}
	return &UnreachableError{Err: err}
}

// scopeReport maps each scope hubdesk asks for to granted or missing,
// and every other granted scope to granted.
func scopeReport(granted []string) map[string]string {
	r := map[string]string{}
	for _, s := range InstallScopes() {
		r[s] = ScopeMissing
	}
	for _, s := range granted {
		r[s] = ScopeGranted
	}
	// write_X grants read_X, as Shopify does.
	for _, s := range granted {
		if rest, ok := strings.CutPrefix(s, "write_"); ok {
			r["read_"+rest] = ScopeGranted
		}
	}
	return r
}

// MissingRequired lists the required scopes a report does not grant.
func MissingRequired(report map[string]string) []string {
	var out []string
	for _, s := range RequiredScopes {
		if report[s] != ScopeGranted {
			out = append(out, s)
		}
	}
	return out
}

// inFlight: one job per arguments at a time.
var inFlight = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

func unique() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}}
}

// afterSave enqueues, in the transaction that saved a connection, what a
// new token needs: its renewal before expiry and the webhook
// subscriptions.
func (c *Connector) afterSave(ctx context.Context, tx *database.Tx, shopID int64, sc *connection.ShopifyCredentials) error {
	if c.queue == nil {
		return errors.New("shopifyconnect: no job queue")
	}
	if err := c.scheduleRefresh(ctx, tx, shopID, sc); err != nil {
		return err
	}
	_, err := c.queue.Enqueue(ctx, tx, SubscribeArgs{ShopID: shopID}, unique())
	return err
}

func auditEntry(actor audit.Actor, action string, details map[string]any) audit.Entry {
	return audit.Entry{Actor: actor, Action: action, Subject: "shopify connection", Provider: "shopify", Outcome: audit.OutcomeOK, Details: details}
}

// SystemActor is hubdesk acting on Shopify's word (an install, an
// uninstall webhook).
func SystemActor(label string) audit.Actor {
	return audit.Actor{Kind: audit.ActorSystem, ID: "shopify", Label: label}
}

func fmtShop(id int64) string { return fmt.Sprintf("shop %d", id) }
