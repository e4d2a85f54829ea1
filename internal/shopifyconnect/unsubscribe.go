package shopifyconnect

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// UnsubscribeAttempts bounds how often removing a disconnected shop's
// webhook subscriptions is tried (River's backoff spreads them over
// about a day); a token Shopify refuses ends it at once.
const UnsubscribeAttempts = 12

// UnsubscribeArgs remove, after a disconnect, the webhook subscriptions
// hubdesk made on the shop's store, with the token the shop had: the
// connection itself is gone by then. The token is sealed (job arguments
// are stored as they are).
type UnsubscribeArgs struct {
	ShopID      int64  `json:"shop_id"`
	Domain      string `json:"domain"`
	SealedToken string `json:"sealed_token"`
	URI         string `json:"uri"` // the subscriptions' address: hubdesk's at the time
}

func (UnsubscribeArgs) Kind() string  { return "shopify_unsubscribe" }
func (a UnsubscribeArgs) Shop() int64 { return a.ShopID }

// enqueueUnsubscribe asks, in the transaction that disconnects the shop,
// for its subscriptions to be removed with token.
func (c *Connector) enqueueUnsubscribe(ctx context.Context, tx *database.Tx, shopID int64, domain, token string) error {
	if token == "" {
		return nil // nothing to call Shopify with (uninstalled: Shopify dropped them)
	}
	if c.opts.Box == nil {
		return errors.New("shopifyconnect: no secret box to seal the token of the unsubscribe job")
	}
	sealed, err := c.opts.Box.Seal(token)
	if err != nil {
		return err
	}
	_, err = c.queue.Enqueue(ctx, tx, UnsubscribeArgs{ShopID: shopID, Domain: domain, SealedToken: sealed, URI: c.WebhookURL()},
		&river.InsertOpts{MaxAttempts: UnsubscribeAttempts})
	return err
}

// Unsubscribe removes the subscriptions pointing at args.URI from the
// store, as the job does; it returns how many it removed. A shop
// connected again meanwhile keeps them (its new connection made them, or
// will check them). Errors a later attempt may get past are returned.
func (c *Connector) Unsubscribe(ctx context.Context, args UnsubscribeArgs) (int, error) {
	if _, sc, err := c.credentials(ctx, c.opts.Connections, args.ShopID); err == nil && sc.AccessToken != "" {
		return 0, nil
	} else if err != nil && !errors.Is(err, ErrNotConnected) {
		return 0, err
	}
	token, err := c.opts.Box.Open(args.SealedToken)
	if err != nil {
		return 0, fmt.Errorf("shopifyconnect: unsubscribe shop %d: %w", args.ShopID, err)
	}
	// Each attempt gives up soon (as a save does): the job is retried.
	client := c.admin(args.Domain, shopify.StaticToken(token), true)
	have, err := client.WebhookSubscriptions(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	var firstErr error
	for _, s := range have {
		if s.URI != args.URI {
			continue // another app's, or an address the merchant made
		}
		if err := client.DeleteWebhookSubscription(ctx, s.ID); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		removed++
	}
	return removed, firstErr
}

type unsubscribeWorker struct {
	river.WorkerDefaults[UnsubscribeArgs]
	c *Connector
}

func (w *unsubscribeWorker) Timeout(*river.Job[UnsubscribeArgs]) time.Duration {
	return 2 * time.Minute
}

func (w *unsubscribeWorker) Work(ctx context.Context, job *river.Job[UnsubscribeArgs]) error {
	n, err := w.c.Unsubscribe(ctx, job.Args)
	if err != nil {
		if r := retryable(err); r != nil {
			return r
		}
		// A refused token (revoked with the app, say): nothing more to do.
		w.c.log.WarnContext(ctx, "shopifyconnect: webhook subscriptions not removed after disconnect", "shop", job.Args.ShopID, "err", err)
		return nil
	}
	w.c.log.InfoContext(ctx, "shopifyconnect: webhook subscriptions removed after disconnect", "shop", job.Args.ShopID, "removed", n)
	return nil
}
