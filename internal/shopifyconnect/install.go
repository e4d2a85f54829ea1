package shopifyconnect

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// The public app's install: the authorization code grant of a
// non-embedded app (shared/contracts/shopify.md §6).
//
//	GET /shopify/install?shop=…  → BeginInstall: a single-use state, kept
//	    hashed for StateTTL and also set in the browser's cookie → 302 to
//	    https://{shop}/admin/oauth/authorize
//	GET /shopify/callback?code&hmac&host&shop&state&timestamp → CompleteInstall:
//	    hmac with the app's secret (constant time), timestamp window, shop
//	    pattern; the state from the cookie, then taken from the store
//	    (single use, unexpired, made for this shop) → the code traded for
//	    an expiring offline token and its refresh token → shop created if
//	    new, connection saved sealed, the app's secret verifies the shop
//	    from now on, renewal and subscriptions enqueued.
//
// Nobody becomes the Owner of a shop an install creates: an offline
// token says which store approved the app, not which person, and
// Shopify's staff are not hubdesk's. The callback page says that the
// operator makes the first Owner (`hubdesk user create --role owner`),
// who then invites the rest. An install for a shop that exists only
// replaces its connection; its staff are untouched.

// StateTTL is how long an install may take from start to callback.
const StateTTL = 10 * time.Minute

// ErrInstallOff: the public app is not configured
// (HUBDESK_SHOPIFY_CLIENT_ID and _SECRET), so there is nothing to install.
var ErrInstallOff = errors.New("shopifyconnect: the public Shopify app is not configured")

// ForgedError is an install callback refused before any token was asked
// for; Reason is what the page tells the person.
type ForgedError struct {
	Reason string
	Err    error
}

func (e *ForgedError) Error() string { return "shopifyconnect: install callback refused: " + e.Reason }
func (e *ForgedError) Unwrap() error { return e.Err }

// Install is a started install: where the browser goes, and the state to
// bind to the browser (a cookie) so that the callback must come back to
// the browser that started it.
type Install struct {
	AuthorizeURL string
	State        string
}

// BeginInstall starts the install of the public app on shopDomain.
func (c *Connector) BeginInstall(ctx context.Context, shopDomain string) (*Install, error) {
	if !c.opts.App.Configured() {
		return nil, ErrInstallOff
	}
	domain := strings.ToLower(strings.TrimSpace(shopDomain))
	if !shopify.ValidShopDomain(domain) {
		return nil, &InputError{Field: "shop", Message: "must be the store's myshopify.com domain, e.g. my-store.myshopify.com"}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	state := base64.RawURLEncoding.EncodeToString(b[:])
	if err := c.states.add(ctx, state, domain, c.now()); err != nil {
		return nil, err
	}
	return &Install{State: state,
		AuthorizeURL: shopify.AuthorizeURL(c.opts.OAuth.Root(domain), c.opts.App.ClientID, InstallScopes(), c.CallbackURL(), state)}, nil
}

// Installed is a completed install.
type Installed struct {
	Shop    *shop.Shop
	Created bool // the shop is new to hubdesk: it has no staff yet
	Status  *Status
}

// CompleteInstall finishes an install from Shopify's redirect: q is the
// callback's query, browserState the state the browser kept. A forged or
// replayed callback is a *ForgedError and changes nothing.
func (c *Connector) CompleteInstall(ctx context.Context, q url.Values, browserState string) (*Installed, error) {
	if !c.opts.App.Configured() {
		return nil, ErrInstallOff
	}
	if err := shopify.VerifyOAuthQuery(q, c.opts.App.ClientSecret, c.now()); err != nil {
		reason := "The request is not signed by Shopify."
		switch {
		case errors.Is(err, shopify.ErrOAuthTimestamp):
			reason = "The request is too old."
		case errors.Is(err, shopify.ErrOAuthShop):
			reason = "The shop is not a myshopify.com store."
		case errors.Is(err, shopify.ErrOAuthRepeated):
			reason = "The request repeats a parameter."
		}
		return nil, &ForgedError{Reason: reason, Err: err}
	}
	state, domain := q.Get("state"), q.Get("shop")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(browserState)) != 1 {
		return nil, &ForgedError{Reason: "The install was started in another browser, or the browser did not keep its cookie."}
	}
	madeFor, expires, err := c.states.take(ctx, state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, &ForgedError{Reason: "This install link was already used or is unknown."}
	case err != nil:
		return nil, err
	case !c.now().Before(expires):
		return nil, &ForgedError{Reason: "The install took too long; start it again."}
	case madeFor != domain:
		return nil, &ForgedError{Reason: "The install was started for another shop."}
	}
	tok, err := c.opts.OAuth.ExchangeCode(ctx, domain, c.opts.App.ClientID, c.opts.App.ClientSecret, q.Get("code"))
	if err != nil {
		return nil, classify(err)
	}
	return c.InstallWithToken(ctx, domain, tok)
}

// TokenExchanger is the seam for Shopify-managed installation of an
// embedded app: Shopify installs the app itself, and the app's page in
// the admin (App Bridge) hands over a session token, a JWT signed with
// the app's client secret (aud = client id, dest = https://{shop}).
// An implementation verifies it and trades it at
// {shop}/admin/oauth/access_token with grant_type
// urn:ietf:params:oauth:grant-type:token-exchange,
// subject_token_type urn:ietf:params:oauth:token-type:id_token,
// requested_token_type urn:shopify:params:oauth:token-type:offline-access-token
// and expiring=1, for the same expiring offline token the authorization
// code gives; its result goes to InstallWithToken, and everything after
// (the shop, the connection, renewal, subscriptions) is shared. hubdesk is
// not embedded yet, so nothing implements it.
type TokenExchanger interface {
	ExchangeSessionToken(ctx context.Context, shopDomain, sessionToken string) (*shopify.Token, error)
}

// InstallWithToken saves what an install of the public app obtained: the
// shop (created when new, named as Shopify names it), its connection with
// the token sealed, the app's secret verifying it, the renewal and the
// subscriptions enqueued, all in one transaction; the token is checked
// with Shopify first.
func (c *Connector) InstallWithToken(ctx context.Context, domain string, tok *shopify.Token) (*Installed, error) {
	client := c.admin(domain, shopify.StaticToken(tok.AccessToken), true)
	granted, err := client.AccessScopes(ctx)
	if err != nil {
		return nil, classify(err)
	}
	sc := &connection.ShopifyCredentials{Method: connection.ShopifyPublicApp, GrantedScopes: granted}
	setToken(sc, tok, c.now())
	sc.GrantedScopes = granted
	conn := &connection.Connection{Scopes: scopeReport(granted), Status: connection.StatusConnected, CheckedAt: ptr(c.now())}
	if err := conn.SetShopifyCredentials(sc); err != nil {
		return nil, err
	}
	// The store's name, for a shop new to hubdesk; asked before the
	// transaction, like every remote call. Without it the domain will do.
	name, currency := domain, ""
	if info, err := client.Shop(ctx); err == nil && info.Name != "" {
		name, currency = info.Name, info.CurrencyCode
	}
	out := &Installed{}
	err = c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		shops := c.opts.Shops.With(tx)
		sh, err := shops.GetByDomain(ctx, domain)
		if errors.Is(err, shop.ErrNotFound) {
			sh, err = shops.Create(ctx, shop.NewShop{Name: name, Domain: domain, InstalledApp: true, Currency: currency})
			out.Created = true
		}
		if err != nil {
			return err
		}
		out.Shop = sh
		if err := shops.UseAppSecret(ctx, sh.ID); err != nil {
			return err
		}
		if err := c.opts.Connections.With(tx).Save(ctx, sh.ID, conn, c.now()); err != nil {
			return err
		}
		if err := c.afterSave(ctx, tx, sh.ID, sc); err != nil {
			return err
		}
		return c.opts.Audit.With(tx).Record(ctx, sh.ID, auditEntry(SystemActor("Shopify: app installed"), audit.ActionSettingsChanged,
			map[string]any{"fields": []string{"shopify_method", "shopify_credentials"}, "method": string(connection.ShopifyPublicApp),
				"created": out.Created, "missing_scopes": MissingRequired(conn.Scopes)}))
	})
	if err != nil {
		return nil, err
	}
	if out.Status, err = c.Status(ctx, out.Shop.ID); err != nil {
		return nil, err
	}
	return out, nil
}

// installStates keeps the states of installs under way
// (shopify_install_states), hashed.
type installStates struct{ db database.Querier }

func stateHash(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

func (s *installStates) add(ctx context.Context, state, domain string, now time.Time) error {
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		// Old states are cleared as new ones are made: no job needed.
		if _, err := tx.Exec(ctx, `DELETE FROM shopify_install_states WHERE expires_at < ?`, database.Time(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO shopify_install_states (state_hash, shop_domain, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			stateHash(state), domain, database.Time(now), database.Time(now.Add(StateTTL)))
		if err != nil {
			return fmt.Errorf("shopifyconnect: keep install state: %w", err)
		}
		return nil
	})
}

// take removes the state and returns what it was made for; sql.ErrNoRows
// when there is none (never made, or taken already). Of two callbacks
// with one state at once, one gets the row.
func (s *installStates) take(ctx context.Context, state string) (domain string, expires time.Time, err error) {
	err = s.db.ExecReturning(ctx, `DELETE FROM shopify_install_states WHERE state_hash = ? RETURNING shop_domain, expires_at`, stateHash(state)).
		Scan(&domain, (*database.Time)(&expires))
	return domain, expires, err
}
