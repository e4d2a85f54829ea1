package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/shopifyhooks"
)

// ShopifySecrets gives the client secret Shopify signs a shop's webhooks
// with: the shop's own (a custom app's), or the public app's for a shop
// installed through it.
type ShopifySecrets interface {
	ShopifySecret(ctx context.Context, sh *shop.Shop) (string, error)
}

// ShopClientSecrets are the secrets kept on the shops (shop.ClientSecret),
// the one the demo shop verifies with (hubdesk-demo-secret).
type ShopClientSecrets struct{ Shops *shop.Store }

func (s ShopClientSecrets) ShopifySecret(ctx context.Context, sh *shop.Shop) (string, error) {
	return s.Shops.ClientSecret(ctx, sh.ID)
}

// Shopify receives POST /webhooks/shopify. The shop is the one named by
// X-Shopify-Shop-Domain (unknown → 404); X-Shopify-Hmac-Sha256 is checked
// over the exact bytes received with that shop's client secret before
// anything is read from them (401, nothing stored); the delivery is
// stored with its processing job and answered 200 once committed. The
// body is not parsed here: one that is not JSON is stored and fails its
// event with the reason, where admins see it.
func (rc *Receiver) Shopify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	e, cached, err := rc.shopifyShop(ctx, r.Header.Get(shopify.HeaderShopDomain), false)
	if errors.Is(err, shop.ErrNotFound) {
		httpkit.WriteError(w, httpkit.NotFound("shop"))
		return
	}
	if err != nil {
		rc.fail(ctx, w, "load the Shopify shop", err)
		return
	}
	body, ok := readWebhookBody(w, r, shopify.MaxWebhookBody)
	if !ok {
		return
	}
	signature := r.Header.Get(shopify.HeaderHmac)
	err = shopify.VerifyWebhook(body, signature, e.secret)
	if errors.Is(err, shopify.ErrWebhookSignature) && cached {
		// The secret may have changed since it was remembered.
		if e, _, err = rc.shopifyShop(ctx, e.shop.Domain, true); err == nil {
			err = shopify.VerifyWebhook(body, signature, e.secret)
		}
	}
	if err != nil {
		httpkit.WriteError(w, unauthorized)
		return
	}
	topic := strings.TrimSpace(r.Header.Get(shopify.HeaderTopic))
	if topic == "" {
		httpkit.WriteError(w, httpkit.BadRequest(shopify.HeaderTopic, "webhook without a topic"))
		return
	}
	id := shopifyhooks.DeliveryID(r.Header.Get(shopify.HeaderWebhookID), r.Header.Get(shopify.HeaderEventID))
	if _, err := rc.Intake.Receive(ctx, intake.Delivery{ShopID: e.shop.ID, Provider: intake.ProviderShopify, Topic: topic,
		DeliveryID: id, Body: body}); err != nil {
		rc.fail(ctx, w, "store", err)
		return
	}
	httpkit.JSON(w, http.StatusOK, map[string]bool{"received": true})
}

// shopifyShopTTL is how long a shop and its secret are remembered: every
// delivery needs both before it can verify anything, and a burst of a
// busy shop's webhooks would otherwise unseal the secret each time. A
// signature failing against a remembered secret is checked once more
// against a fresh one, so a new secret works at once.
const shopifyShopTTL = time.Minute

type shopifyEntry struct {
	shop   *shop.Shop
	secret string
	at     time.Time
}

type shopifyShops struct {
	mu       sync.RWMutex
	byDomain map[string]*shopifyEntry
}

func (rc *Receiver) shopifyShop(ctx context.Context, domain string, fresh bool) (*shopifyEntry, bool, error) {
	domain = strings.ToLower(strings.TrimSpace(domain))
	if domain == "" {
		return nil, false, shop.ErrNotFound
	}
	if !fresh {
		rc.shopify.mu.RLock()
		e := rc.shopify.byDomain[domain]
		rc.shopify.mu.RUnlock()
		if e != nil && time.Since(e.at) < shopifyShopTTL {
			return e, true, nil
		}
	}
	sh, err := rc.Shops.GetByDomain(ctx, domain)
	if err != nil {
		return nil, false, err
	}
	var secrets ShopifySecrets = ShopClientSecrets{Shops: rc.Shops}
	if rc.ShopifySecrets != nil {
		secrets = rc.ShopifySecrets
	}
	secret, err := secrets.ShopifySecret(ctx, sh)
	if err != nil {
		return nil, false, err
	}
	e := &shopifyEntry{shop: sh, secret: secret, at: time.Now()}
	rc.shopify.mu.Lock()
	if rc.shopify.byDomain == nil || len(rc.shopify.byDomain) >= 10_000 {
		rc.shopify.byDomain = map[string]*shopifyEntry{}
	}
	rc.shopify.byDomain[domain] = e
	rc.shopify.mu.Unlock()
	return e, false, nil
}
