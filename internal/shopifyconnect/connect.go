package shopifyconnect

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// CustomApp is what a merchant gives to connect a custom app.
type CustomApp struct {
	// Method is connection.ShopifyClientCredentials (a Dev Dashboard app:
	// ClientID and ClientSecret) or connection.ShopifyAdminToken (an
	// admin-created app: AccessToken and ClientSecret).
	Method       connection.ShopifyMethod
	ClientID     string
	ClientSecret string
	AccessToken  string
}

func (in *CustomApp) validate() error {
	in.ClientID = strings.TrimSpace(in.ClientID)
	in.ClientSecret = strings.TrimSpace(in.ClientSecret)
	in.AccessToken = strings.TrimSpace(in.AccessToken)
	switch in.Method {
	case connection.ShopifyClientCredentials:
		if in.ClientID == "" {
			return &InputError{Field: "client_id", Message: "is required"}
		}
	case connection.ShopifyAdminToken:
		if in.AccessToken == "" {
			return &InputError{Field: "access_token", Message: "is required"}
		}
	default:
		return &InputError{Field: "method", Message: "must be client_credentials or admin_token"}
	}
	if in.ClientSecret == "" {
		// It signs the App Proxy and the webhooks: without it nothing the
		// store sends could be verified.
		return &InputError{Field: "client_secret", Message: "is required"}
	}
	return nil
}

// ConnectCustomApp connects the shop with a custom app: the token is got
// (client credentials) or taken (pasted), checked with Shopify (the
// granted scopes), and saved sealed with the app's client secret, which
// from then on verifies the shop's App Proxy requests and webhooks. It
// replaces whatever connection the shop had. Shopify is asked before the
// transaction opens; nothing is saved when it refuses or cannot be
// reached.
func (c *Connector) ConnectCustomApp(ctx context.Context, shopID int64, actor audit.Actor, in CustomApp) (*Status, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	sh, err := c.opts.Shops.Get(ctx, shopID)
	if err != nil {
		return nil, err
	}
	sc := &connection.ShopifyCredentials{Method: in.Method, ClientID: in.ClientID, ClientSecret: in.ClientSecret, AccessToken: in.AccessToken}
	if in.Method == connection.ShopifyClientCredentials {
		tok, err := c.opts.OAuth.ClientCredentials(ctx, sh.Domain, in.ClientID, in.ClientSecret)
		if err != nil {
			return nil, classify(err)
		}
		setToken(sc, tok, c.now())
	}
	granted, err := c.admin(sh.Domain, shopify.StaticToken(sc.AccessToken), true).AccessScopes(ctx)
	if err != nil {
		return nil, classify(err)
	}
	sc.GrantedScopes = granted
	conn := &connection.Connection{Scopes: scopeReport(granted), Status: connection.StatusConnected, CheckedAt: ptr(c.now())}
	if err := conn.SetShopifyCredentials(sc); err != nil {
		return nil, err
	}
	err = c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		if err := c.opts.Connections.With(tx).Save(ctx, shopID, conn, c.now()); err != nil {
			return err
		}
		if err := c.opts.Shops.With(tx).SetClientSecret(ctx, shopID, in.ClientSecret); err != nil {
			return err
		}
		if err := c.afterSave(ctx, tx, shopID, sc); err != nil {
			return err
		}
		return c.opts.Audit.With(tx).Record(ctx, shopID, auditEntry(actor, audit.ActionSettingsChanged, map[string]any{
			"fields": []string{"shopify_method", "shopify_credentials"}, "method": string(in.Method),
			"missing_scopes": MissingRequired(conn.Scopes)}))
	})
	if err != nil {
		return nil, err
	}
	return c.Status(ctx, shopID)
}

// setToken copies a token grant's answer, obtained at now, into the
// credentials, with when to renew it: RefreshBefore its expiry, or after
// three quarters of its life when that is shorter (a short-lived token
// must not be renewed the moment it arrives, over and over).
func setToken(sc *connection.ShopifyCredentials, tok *shopify.Token, now time.Time) {
	sc.AccessToken = tok.AccessToken
	sc.ExpiresAt, sc.RefreshExpiresAt, sc.RefreshAt = nil, nil, nil
	if !tok.ExpiresAt.IsZero() {
		sc.ExpiresAt = ptr(tok.ExpiresAt.UTC())
		early := min(RefreshBefore, tok.ExpiresAt.Sub(now)/4)
		sc.RefreshAt = ptr(tok.ExpiresAt.Add(-early).UTC())
	}
	if tok.RefreshToken != "" {
		sc.RefreshToken = tok.RefreshToken
	}
	if !tok.RefreshExpiresAt.IsZero() {
		sc.RefreshExpiresAt = ptr(tok.RefreshExpiresAt.UTC())
	}
	if len(tok.Scopes) > 0 {
		sc.GrantedScopes = tok.Scopes
	}
	sc.UninstalledAt = nil
}

func ptr[T any](v T) *T { return &v }

// Recheck asks Shopify again which scopes the stored token has (after the
// merchant changed them) and repairs the webhook subscriptions.
func (c *Connector) Recheck(ctx context.Context, shopID int64, actor audit.Actor) (*Status, error) {
	sh, err := c.opts.Shops.Get(ctx, shopID)
	if err != nil {
		return nil, err
	}
	_, sc, err := c.credentials(ctx, c.opts.Connections, shopID)
	if err != nil {
		return nil, err
	}
	if sc.AccessToken == "" {
		return nil, ErrNotConnected
	}
	granted, err := c.admin(sh.Domain, shopify.StaticToken(sc.AccessToken), true).AccessScopes(ctx)
	if err != nil {
		return nil, classify(err)
	}
	err = c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		now, nowSC, err := c.credentials(ctx, c.opts.Connections.With(tx), shopID)
		if err != nil {
			return err
		}
		if nowSC.AccessToken != sc.AccessToken {
			return nil // replaced meanwhile: the new one was checked when saved
		}
		nowSC.GrantedScopes = granted
		if err := now.SetShopifyCredentials(nowSC); err != nil {
			return err
		}
		now.Scopes, now.Status, now.CheckedAt = scopeReport(granted), connection.StatusConnected, ptr(c.now())
		if err := c.opts.Connections.With(tx).Save(ctx, shopID, now, c.now()); err != nil {
			return err
		}
		_, err = c.queue.Enqueue(ctx, tx, SubscribeArgs{ShopID: shopID}, unique())
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.Status(ctx, shopID)
}

// credentials reads the shop's Shopify connection through store.
func (c *Connector) credentials(ctx context.Context, store *connection.Store, shopID int64) (*connection.Connection, *connection.ShopifyCredentials, error) {
	conn, err := store.Get(ctx, shopID, connection.ProviderShopify)
	if errors.Is(err, connection.ErrNotFound) {
		return nil, nil, ErrNotConnected
	}
	if err != nil {
		return nil, nil, err
	}
	sc, err := conn.ShopifyCredentials()
	if err != nil {
		return nil, nil, err
	}
	// A shared, cached connection must not be changed by the caller.
	cp := *conn
	return &cp, sc, nil
}

// Disconnect removes the shop's Shopify connection at a person's request:
// the tokens and the custom app's credentials go; the shop's data, its
// client secret (which still verifies what the store sends) and the
// subscriptions' health stay until the next connect. The webhook
// subscriptions hubdesk made on the store are removed by a job
// (UnsubscribeArgs), retried, with the token the shop had.
func (c *Connector) Disconnect(ctx context.Context, shopID int64, actor audit.Actor) error {
	return c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		_, sc, err := c.credentials(ctx, c.opts.Connections.With(tx), shopID)
		switch {
		case err == nil:
			sh, err := c.opts.Shops.With(tx).Get(ctx, shopID)
			if err != nil {
				return err
			}
			if err := c.enqueueUnsubscribe(ctx, tx, shopID, sh.Domain, sc.AccessToken); err != nil {
				return err
			}
		case !errors.Is(err, ErrNotConnected):
			// Unreadable credentials (another key): nothing to call with;
			// the connection still goes.
			c.log.WarnContext(ctx, "shopifyconnect: disconnect without removing the webhook subscriptions", "shop", shopID, "err", err)
		}
		if err := c.opts.Connections.With(tx).Delete(ctx, shopID, connection.ProviderShopify); err != nil {
			return err
		}
		return c.opts.Audit.With(tx).Record(ctx, shopID, auditEntry(actor, audit.ActionSettingsChanged,
			map[string]any{"fields": []string{"shopify_credentials"}, "removed": []string{"shopify_credentials"}}))
	})
}

// Uninstalled is what app/uninstalled does, inside the transaction that
// processes the webhook: the tokens are dropped (Shopify has revoked them
// anyway) and the connection marked uninstalled; the shop's customers,
// orders, tickets and returns are kept until a redact request erases
// them. A shop without a connection is left as it is. Running it twice
// changes nothing more.
func (c *Connector) Uninstalled(ctx context.Context, tx *database.Tx, shopID int64, at time.Time) error {
	conns := c.opts.Connections.With(tx)
	conn, sc, err := c.credentials(ctx, conns, shopID)
	if errors.Is(err, ErrNotConnected) {
		return nil
	}
	if err != nil {
		return err
	}
	if sc.UninstalledAt != nil && sc.AccessToken == "" {
		return nil
	}
	sc.AccessToken, sc.RefreshToken, sc.ExpiresAt, sc.RefreshExpiresAt = "", "", nil, nil
	sc.UninstalledAt = ptr(at.UTC())
	if err := conn.SetShopifyCredentials(sc); err != nil {
		return err
	}
	conn.Status = connection.StatusUninstalled
	if err := conns.Save(ctx, shopID, conn, c.now()); err != nil {
		return err
	}
	return c.opts.Audit.With(tx).Record(ctx, shopID, auditEntry(SystemActor("Shopify: app uninstalled"), audit.ActionSettingsChanged,
		map[string]any{"fields": []string{"shopify_credentials"}, "removed": []string{"shopify_access_token", "shopify_refresh_token"}}))
}
