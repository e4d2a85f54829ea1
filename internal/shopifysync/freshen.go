package shopifysync

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// RefreshQueue is the queue of customer refreshes: their own, so a page's
// refresh never waits behind a backfill or mail.
const RefreshQueue = "shopify_refresh"

// RefreshWorkers bounds how many customer refreshes a process runs at
// once: each costs under a second of Shopify's bucket.
const RefreshWorkers = 5

// refreshOrders is how many of a customer's newest orders a refresh reads:
// the hub's first pages. Older orders change rarely and webhooks carry
// those changes.
const refreshOrders = 50

// Freshen asks, in the background, for the customer's orders to be read
// from Shopify again when what is stored is older than the freshness
// limit. It never calls Shopify itself: the page renders from the store
// at once. One refresh per customer is in flight at a time (a unique
// job). It reports whether it asked for one.
func (s *Syncer) Freshen(ctx context.Context, shopID, customerID int64) (bool, error) {
	if s.opts.Clients == nil || s.opts.Queue == nil {
		return false, nil
	}
	if _, err := s.client(ctx, shopID); errors.Is(err, ErrNotConnected) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	at, ok, err := s.store.CheckedAt(ctx, shopID, customerID)
	if err != nil {
		return false, err
	}
	if ok && s.now().Sub(at) < s.opts.FreshAfter {
		return false, nil
	}
	asked := false
	err = s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		res, err := s.opts.Queue.Enqueue(ctx, tx, RefreshCustomerArgs{ShopID: shopID, CustomerID: customerID},
			&river.InsertOpts{Queue: RefreshQueue, Priority: 1, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}})
		if err != nil {
			return err
		}
		asked = !res.UniqueSkippedAsDuplicate
		return nil
	})
	return asked, err
}

// RefreshCustomerArgs re-read one customer's newest orders.
type RefreshCustomerArgs struct {
	ShopID     int64 `json:"shop_id"`
	CustomerID int64 `json:"customer_id"`
}

func (RefreshCustomerArgs) Kind() string  { return "shopify_customer_refresh" }
func (a RefreshCustomerArgs) Shop() int64 { return a.ShopID }

type refreshCustomerWorker struct {
	river.WorkerDefaults[RefreshCustomerArgs]
	s *Syncer
}

// Timeout: a refresh is worth little once the page has been left.
func (w *refreshCustomerWorker) Timeout(*river.Job[RefreshCustomerArgs]) time.Duration {
	return time.Minute
}

func (w *refreshCustomerWorker) Work(ctx context.Context, job *river.Job[RefreshCustomerArgs]) error {
	n, err := w.s.RefreshCustomer(ctx, job.Args.ShopID, job.Args.CustomerID)
	if err != nil {
		// Shopify down or the token revoked: pages keep the stored state,
		// the next open asks again; retrying here only adds load.
		w.s.log.InfoContext(ctx, "shopifysync: customer refresh failed", "shop", job.Args.ShopID, "customer", job.Args.CustomerID, "err", err)
		return nil
	}
	w.s.log.DebugContext(ctx, "shopifysync: customer refreshed", "shop", job.Args.ShopID, "customer", job.Args.CustomerID, "orders", n)
	return nil
}

// RefreshCustomer reads the customer and their newest orders from Shopify
// now and stores them (newer wins); it returns how many orders it read.
// A customer hubdesk made from a mail sender, unknown to Shopify, is
// left alone.
func (s *Syncer) RefreshCustomer(ctx context.Context, shopID, customerID int64) (int, error) {
	cust, err := s.opts.Commerce.Customer(ctx, shopID, customerID)
	if errors.Is(err, commerce.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !cust.FromPlatform() {
		return 0, nil
	}
	c, err := s.client(ctx, shopID)
	if errors.Is(err, ErrNotConnected) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	sc, orders, err := c.AllCustomerOrders(ctx, cust.ExternalID, refreshOrders)
	if err != nil {
		return 0, err
	}
	err = s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		if sc != nil {
			if _, _, err := s.opts.Commerce.With(tx).UpsertCustomer(ctx, shopID, *toCustomer(sc)); err != nil {
				return err
			}
		}
		in := ingest.New(tx, s.opts.Commerce, s.records)
		for i := range orders {
			o, oc := toOrder(&orders[i])
			if oc == nil && sc != nil {
				oc = toCustomer(sc)
			}
			if _, _, err := in.Upsert(ctx, shopID, o, oc); err != nil {
				if isValidation(err) {
					s.log.WarnContext(ctx, "shopifysync: order not stored", "shop", shopID, "order", o.Name, "err", err)
					continue
				}
				return err
			}
		}
		return s.store.With(tx).Checked(ctx, shopID, customerID, s.now())
	})
	return len(orders), err
}

func isValidation(err error) bool {
	var ve *commerce.ValidationError
	return errors.As(err, &ve)
}

// StaticClients serves one Admin client for every shop (tests, the demo
// against its sandbox).
type StaticClients struct{ Client *shopify.Client }

// AdminClient returns the client.
func (c StaticClients) AdminClient(context.Context, int64) (*shopify.Client, error) {
	if c.Client == nil {
		return nil, ErrNotConnected
	}
	return c.Client, nil
}
