package shopifyconnect

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/secret"
)

// Status is the shop's Shopify connection as Settings → Shopify and the
// settings API show it. It holds no secret: not the token, not the
// client secret.
type Status struct {
	// Connected: a token is stored (it may still lack scopes).
	Connected bool
	// State is the connection's status: connected, refused (Shopify
	// would not renew the token), uninstalled, or "" when never connected.
	State     connection.Status
	Method    connection.ShopifyMethod
	ClientID  string // a custom app's client id (not a secret)
	ExpiresAt *time.Time
	// Uninstalled is when Shopify said the app was uninstalled.
	Uninstalled *time.Time
	Scopes      []ScopeStatus
	// MissingRequired are required scopes Shopify did not grant.
	MissingRequired []string
	CheckedAt       *time.Time
	UpdatedAt       time.Time
	// Unreadable: the credentials were sealed with a key this process
	// lacks; connecting again replaces them.
	Unreadable bool
	// Subscriptions are the webhook topics and how each stood at the last
	// check (nil: never checked).
	Subscriptions []TopicStatus
	// SubscriptionsCheckedAt and SubscriptionsError are the last check's.
	SubscriptionsCheckedAt *time.Time
	SubscriptionsError     string
	SubscriptionsHealthy   bool
	// InstallOffered: the public app is configured, so its install is one
	// of the ways to connect.
	InstallOffered bool
	// InstallURL starts the public app's install on this shop ("" when
	// not offered).
	InstallURL string
	WebhookURL string
}

// ScopeStatus is one scope hubdesk asks for and whether it was granted.
type ScopeStatus struct {
	Scope    string
	Required bool
	Granted  bool
}

// TopicStatus is one subscription topic as last checked.
type TopicStatus struct {
	Topic string // GraphQL enum, e.g. ORDERS_CREATE
	Name  string // as webhooks name it, e.g. orders/create
	State string // ok, created, repaired, failed, or "" when unchecked
}

// Status reads the shop's connection and subscriptions' health.
func (c *Connector) Status(ctx context.Context, shopID int64) (*Status, error) {
	st := &Status{InstallOffered: c.opts.App.Configured(), WebhookURL: c.WebhookURL()}
	if st.InstallOffered {
		sh, err := c.opts.Shops.Get(ctx, shopID)
		if err != nil {
			return nil, err
		}
		st.InstallURL = strings.TrimRight(c.opts.BaseURL, "/") + "/shopify/install?shop=" + url.QueryEscape(sh.Domain)
	}
	conn, sc, err := c.credentials(ctx, c.opts.Connections, shopID)
	switch {
	case errors.Is(err, ErrNotConnected):
		st.Scopes = scopeStatuses(nil)
	case errors.Is(err, secret.ErrUnreadable):
		st.Unreadable = true
		st.Scopes = scopeStatuses(nil)
	case err != nil:
		return nil, err
	default:
		st.State, st.Method, st.ClientID = conn.Status, sc.Method, sc.ClientID
		st.Connected = sc.AccessToken != ""
		st.ExpiresAt, st.Uninstalled, st.CheckedAt, st.UpdatedAt = sc.ExpiresAt, sc.UninstalledAt, conn.CheckedAt, conn.UpdatedAt
		st.Scopes = scopeStatuses(conn.Scopes)
		st.MissingRequired = MissingRequired(conn.Scopes)
	}
	h, err := c.health.get(ctx, shopID)
	if err != nil {
		return nil, err
	}
	for _, t := range Topics {
		ts := TopicStatus{Topic: t, Name: shopify.TopicName(t)}
		if h != nil {
			ts.State = h.Topics[t]
		}
		st.Subscriptions = append(st.Subscriptions, ts)
	}
	if h != nil {
		st.SubscriptionsCheckedAt, st.SubscriptionsError, st.SubscriptionsHealthy = &h.CheckedAt, h.LastError, h.Healthy()
	}
	return st, nil
}

func scopeStatuses(report map[string]string) []ScopeStatus {
	out := make([]ScopeStatus, 0, len(RequiredScopes)+len(OptionalScopes))
	for _, s := range InstallScopes() {
		out = append(out, ScopeStatus{Scope: s, Required: slices.Contains(RequiredScopes, s), Granted: report[s] == ScopeGranted})
	}
	return out
}
