// Package webhook is the surface providers deliver their webhooks to:
// it finds the shop, verifies the signature over the exact bytes
// received, hands the delivery to the intake and answers 200 only once it
// is stored, so the provider retries anything that was not.
package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// Receiver answers the webhook routes.
type Receiver struct {
	Shops       *shop.Store
	Connections *connection.Store
	Intake      *intake.Intake
	Logger      *slog.Logger

	// shops keeps the shops deliveries name, by the reference in the
	// path, for shopCacheTTL: a busy shop's webhooks would otherwise read
	// its row once each. Unknown shops are not kept.
	shopsOnce sync.Once
	shops     *ttlcache.Cache[string, *shop.Shop]
	// ShopifySecrets gives the secret a shop's Shopify webhooks are signed
	// with; ShopClientSecrets when nil.
	ShopifySecrets ShopifySecrets

	shopify shopifyShops // shops and secrets remembered for a minute
}

// shopCacheTTL is how long a shop looked up by a delivery is kept; as
// long as a connection's credentials are (connection.CacheTTL).
const shopCacheTTL = connection.CacheTTL

// unauthorized is every refusal of a delivery that cannot be verified —
// unknown shop, no secret, bad signature — alike, so a caller without
// the secret learns nothing.
var unauthorized = &httpkit.Error{Status: http.StatusUnauthorized, Code: httpkit.CodeUnauthorized, Message: "webhook signature not verified"}

// Loop receives POST /webhooks/loop/{shop}, {shop} being the shop's
// myshopify domain or its id, signed with the shop's Loop webhook secret.
func (rc *Receiver) Loop(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := rc.shopByIDOrDomain(r, r.PathValue("shop"))
	if errors.Is(err, shop.ErrNotFound) {
		httpkit.WriteError(w, unauthorized)
		return
	}
	if err != nil {
		rc.fail(ctx, w, "load shop", err)
		return
	}
	// The secret comes from the connections' cache; one saved or replaced
	// a moment ago in another process is not in this one's yet, so before
	// refusing a delivery the stored secret is asked for past the cache.
	conn, err := rc.Connections.Get(ctx, s.ID, connection.ProviderLoopWebhook)
	if errors.Is(err, connection.ErrNotFound) {
		conn, err = rc.Connections.Fresh(ctx, s.ID, connection.ProviderLoopWebhook)
	}
	if errors.Is(err, connection.ErrNotFound) {
		httpkit.WriteError(w, unauthorized)
		return
	}
	if err != nil {
		rc.fail(ctx, w, "load the Loop webhook secret", err)
		return
	}
	body, ok := readWebhookBody(w, r, loop.MaxWebhookBody)
	if !ok {
		return
	}
	signature := r.Header.Get(loop.SignatureHeader)
	if err := loop.VerifyWebhook(body, signature, conn.Credentials); err != nil {
		stored, ferr := rc.Connections.Fresh(ctx, s.ID, connection.ProviderLoopWebhook)
		if ferr != nil || stored.Credentials == conn.Credentials || loop.VerifyWebhook(body, signature, stored.Credentials) != nil {
			httpkit.WriteError(w, unauthorized)
			return
		}
	}
	// Stored as text: JSON is UTF-8, and PostgreSQL refuses anything else.
	if !utf8.Valid(body) {
		httpkit.WriteError(w, httpkit.BadRequest("", "webhook body is not UTF-8"))
		return
	}
	ev, err := loop.ParseWebhook(body)
	if err != nil {
		httpkit.WriteError(w, httpkit.BadRequest("", "webhook body is not one of Loop's webhooks"))
		return
	}
	// The trigger (return.updated) names the event more closely than the
	// topic (return); Loop sends both.
	topic := ev.Trigger
	if topic == "" {
		topic = ev.Topic
	}
	if _, err := rc.Intake.Receive(ctx, intake.Delivery{ShopID: s.ID, Provider: intake.ProviderLoop, Topic: topic, Body: body}); err != nil {
		rc.fail(ctx, w, "store", err)
		return
	}
	httpkit.JSON(w, http.StatusOK, map[string]bool{"received": true})
}

// fail logs what went wrong (never the secret or the body) and answers
// 500, which the provider retries.
func (rc *Receiver) fail(ctx context.Context, w http.ResponseWriter, what string, err error) {
	rc.Logger.ErrorContext(ctx, "webhook: "+what, "err", err)
	httpkit.WriteError(w, httpkit.Internal())
}

// readWebhookBody reads a delivery's raw body, at most limit bytes (the
// signature covers those exact bytes, so nothing may parse them first).
// A larger body is answered 413, an unreadable one 400; ok is false then.
func readWebhookBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		httpkit.WriteError(w, &httpkit.Error{Status: http.StatusRequestEntityTooLarge, Code: httpkit.CodePayloadTooLarge,
			Message: fmt.Sprintf("webhook body over %d MiB", limit>>20)})
		return nil, false
	}
	if err != nil {
		httpkit.WriteError(w, httpkit.BadRequest("", "webhook body could not be read"))
		return nil, false
	}
	return body, true
}
