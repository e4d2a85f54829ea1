package shopifyconnect

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// Topics are the webhook subscriptions every connected shop gets, as
// GraphQL enum values: the topics of shared/contracts/shopify.md §3 and
// issue 14, bulk_operations/finish for the backfill, refunds/create and
// customers/create. The privacy topics (customers/data_request,
// customers/redact, shop/redact) cannot be subscribed through the API:
// they are set in the app's configuration (compliance webhooks) and reach
// the same address.
var Topics = []string{
	"ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "ORDERS_FULFILLED", "ORDERS_PAID",
	"FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE", "FULFILLMENT_EVENTS_CREATE",
	"CUSTOMERS_CREATE", "CUSTOMERS_UPDATE", "REFUNDS_CREATE",
	"APP_UNINSTALLED", "BULK_OPERATIONS_FINISH",
}

// SubscriptionCheckInterval is how often every shop's subscriptions are
// checked and repaired.
const SubscriptionCheckInterval = time.Hour

// Subscription states per topic, as last checked.
const (
	SubscriptionOK       = "ok"       // there, pointing at hubdesk
	SubscriptionCreated  = "created"  // made by this check (first connect)
	SubscriptionRepaired = "repaired" // was there before, went missing, made again
	SubscriptionFailed   = "failed"   // could not be made (the error says why)
)

// SubscriptionHealth is the last check of a shop's subscriptions.
type SubscriptionHealth struct {
	Topics    map[string]string // topic → state
	LastError string
	CheckedAt time.Time
}

// Healthy says whether every topic is subscribed.
func (h *SubscriptionHealth) Healthy() bool {
	if h == nil {
		return false
	}
	for _, t := range Topics {
		if s := h.Topics[t]; s != SubscriptionOK && s != SubscriptionCreated && s != SubscriptionRepaired {
			return false
		}
	}
	return true
}

// SubscribeArgs check and repair one shop's subscriptions.
type SubscribeArgs struct {
	ShopID int64 `json:"shop_id"`
}

func (SubscribeArgs) Kind() string  { return "shopify_subscriptions" }
func (a SubscribeArgs) Shop() int64 { return a.ShopID }

// SubscribeAllArgs check every connected shop's subscriptions.
type SubscribeAllArgs struct{}

func (SubscribeAllArgs) Kind() string { return "shopify_subscriptions_all" }
func (SubscribeAllArgs) Shop() int64  { return 0 }

// Subscribe reads the shop's storefront domains (syncDomains) and makes
// sure the shop has a subscription to every topic,
// pointing at hubdesk's webhook address, creating the missing ones; it
// leaves other subscriptions alone (another app's address, or an old one
// of hubdesk's the merchant may still want) and records the outcome. A
// token Shopify refuses is recorded and not retried.
func (c *Connector) Subscribe(ctx context.Context, shopID int64) (*SubscriptionHealth, error) {
	_, sc, err := c.credentials(ctx, c.opts.Connections, shopID)
	if errors.Is(err, ErrNotConnected) {
		// The job is queued with a connect, which another process may
		// have made within the connections' cache TTL: asked past the
		// cache (which then holds the answer for the client below)
		// before the shop is taken for unconnected.
		if _, ferr := c.opts.Connections.Fresh(ctx, shopID, connection.ProviderShopify); ferr == nil {
			_, sc, err = c.credentials(ctx, c.opts.Connections, shopID)
		}
	}
	if errors.Is(err, ErrNotConnected) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if sc.AccessToken == "" {
		return nil, nil
	}
	client, err := c.AdminClient(ctx, shopID)
	if err != nil {
		return nil, err
	}
	c.syncDomains(ctx, shopID, client)
	before, err := c.health.get(ctx, shopID)
	if err != nil {
		return nil, err
	}
	h := &SubscriptionHealth{Topics: map[string]string{}, CheckedAt: c.now()}
	have, err := client.WebhookSubscriptions(ctx)
	if err != nil {
		h.LastError = err.Error()
		for _, t := range Topics {
			h.Topics[t] = SubscriptionFailed
		}
		if serr := c.health.save(ctx, shopID, h); serr != nil {
			return nil, serr
		}
		return h, retryable(err)
	}
	url := c.WebhookURL()
	var firstErr error
	for _, topic := range Topics {
		found := false
		for _, s := range have {
			if s.Topic == topic && s.URI == url {
				found = true
				break
			}
		}
		if found {
			h.Topics[topic] = SubscriptionOK
			continue
		}
		if _, err := client.CreateWebhookSubscription(ctx, topic, url); err != nil {
			h.Topics[topic] = SubscriptionFailed
			if firstErr == nil {
				firstErr = err
				h.LastError = fmt.Sprintf("%s: %v", shopify.TopicName(topic), err)
			}
			continue
		}
		h.Topics[topic] = SubscriptionCreated
		if before != nil && before.Topics[topic] != "" && before.Topics[topic] != SubscriptionFailed {
			h.Topics[topic] = SubscriptionRepaired
			c.log.WarnContext(ctx, "shopifyconnect: webhook subscription was missing; made again", "shop", shopID, "topic", topic)
		}
	}
	if err := c.health.save(ctx, shopID, h); err != nil {
		return nil, err
	}
	return h, retryable(firstErr)
}

// retryable keeps the errors a later attempt may get past: a refused
// token or input stays refused (the settings page shows it).
func retryable(err error) error {
	var se *shopify.Error
	if errors.As(err, &se) && !se.Temporary() {
		return nil
	}
	return err
}

type subscribeWorker struct {
	river.WorkerDefaults[SubscribeArgs]
	c *Connector
}

func (w *subscribeWorker) Work(ctx context.Context, job *river.Job[SubscribeArgs]) error {
	_, err := w.c.Subscribe(ctx, job.Args.ShopID)
	return err
}

type subscribeAllWorker struct {
	river.WorkerDefaults[SubscribeAllArgs]
	c *Connector
}

func (w *subscribeAllWorker) Work(ctx context.Context, _ *river.Job[SubscribeAllArgs]) error {
	c := w.c
	shops, err := c.opts.Connections.ShopsWith(ctx, connection.ProviderShopify)
	if err != nil {
		return err
	}
	return c.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		for _, id := range shops {
			if _, err := c.queue.Enqueue(ctx, tx, SubscribeArgs{ShopID: id}, unique()); err != nil {
				return err
			}
		}
		return nil
	})
}

// subscriptionHealth keeps the last check per shop
// (shopify_subscriptions).
type subscriptionHealth struct{ db database.Querier }

func (s *subscriptionHealth) get(ctx context.Context, shopID int64) (*SubscriptionHealth, error) {
	h := &SubscriptionHealth{}
	var topics string
	err := s.db.QueryRow(ctx, `SELECT topics, last_error, checked_at FROM shopify_subscriptions WHERE shop_id = ?`, shopID).
		Scan(&topics, &h.LastError, (*database.Time)(&h.CheckedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("shopifyconnect: subscriptions of shop %d: %w", shopID, err)
	}
	if err := json.Unmarshal([]byte(topics), &h.Topics); err != nil {
		return nil, fmt.Errorf("shopifyconnect: subscriptions of shop %d: %w", shopID, err)
	}
	return h, nil
}

func (s *subscriptionHealth) save(ctx context.Context, shopID int64, h *SubscriptionHealth) error {
	topics, err := json.Marshal(h.Topics)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO shopify_subscriptions (shop_id, topics, last_error, checked_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id) DO UPDATE SET topics = excluded.topics, last_error = excluded.last_error, checked_at = excluded.checked_at`,
		shopID, string(topics), h.LastError, database.Time(h.CheckedAt))
	if err != nil {
		return fmt.Errorf("shopifyconnect: save subscriptions of shop %d: %w", shopID, err)
	}
	return nil
}

// syncDomains stores the storefront's domains as Shopify reports them
// (GraphQL shop { primaryDomain domains }), for the hub's Origin check:
// on connect and at every check of the subscriptions, so a domain the
// merchant added or removed is known within the hour even if shop/update
// never arrived. The myshopify.com domain is left out (the hub allows the
// shop's own anyway). A failure is logged; the next check tries again.
func (c *Connector) syncDomains(ctx context.Context, shopID int64, client *shopify.Client) {
	at := c.now()
	info, err := client.Shop(ctx)
	if err != nil {
		c.log.InfoContext(ctx, "shopifyconnect: storefront domains not read", "shop", shopID, "err", err)
		return
	}
	own := strings.ToLower(info.MyshopifyDomain)
	primary := strings.ToLower(info.PrimaryDomain.Host)
	if primary == own {
		primary = ""
	}
	var others []string
	for _, h := range info.StorefrontHosts() {
		if h = strings.ToLower(h); h != own && h != primary {
			others = append(others, h)
		}
	}
	if _, err := c.opts.Shops.SetStorefrontDomains(ctx, shopID, primary, others, at); err != nil {
		c.log.WarnContext(ctx, "shopifyconnect: storefront domains not stored", "shop", shopID, "err", err)
	}
}
