// Package ingest takes in what other platforms report about a shop's
// commerce: the REST API's order upserts now, the Shopify webhooks and
// sync later, and the demo's seed. An order that arrives is written with
// its customer, line items and fulfillments (commerce.Store) and, when it
// is new, given the returns that were reported for it before it existed
// (returns.Records.AttachWaiting) — one transaction, so no read sees the
// order without its returns and no return is attached to an order that
// was rolled back.
package ingest

import (
	"context"
	"strings"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// Orders runs the order ingest use case.
type Orders struct {
	db       database.Querier
	commerce *commerce.Store
	returns  *returns.Records
}

// New returns the order ingest over db, which opens its transactions.
func New(db database.Querier, commerce *commerce.Store, returns *returns.Records) *Orders {
	return &Orders{db: db, commerce: commerce, returns: returns}
}

// Upsert inserts or replaces an order by external id with its customer
// (see commerce.Store.UpsertOrder: newer wins, a replay is harmless) and
// attaches the returns waiting for a newly inserted one. An order already
// stored waits for nothing: a return naming it was attached when it was
// reported.
func (in *Orders) Upsert(ctx context.Context, shopID int64, o commerce.Order, customer *commerce.Customer) (*commerce.Order, commerce.UpsertResult, error) {
	var stored *commerce.Order
	var res commerce.UpsertResult
	err := in.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if stored, res, err = in.commerce.With(tx).UpsertOrder(ctx, shopID, o, customer); err != nil || res != commerce.Inserted {
			return err
		}
		return in.returns.With(tx).AttachWaiting(ctx, shopID, stored.ID, stored.ExternalID)
	})
	if err != nil {
		return nil, 0, err
	}
	return stored, res, nil
}

// Apply is Upsert for a caller that needs only the stored order's id (0
// when Stale), not the order read back: a webhook's order.
func (in *Orders) Apply(ctx context.Context, shopID int64, o commerce.Order, customer *commerce.Customer) (int64, commerce.UpsertResult, error) {
	var id int64
	var res commerce.UpsertResult
	err := in.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if id, res, err = in.commerce.With(tx).ApplyOrder(ctx, shopID, o, customer); err != nil || res != commerce.Inserted {
			return err
		}
		return in.returns.With(tx).AttachWaiting(ctx, shopID, id, strings.TrimSpace(o.ExternalID))
	})
	if err != nil {
		return 0, 0, err
	}
	return id, res, nil
}

// Run is Apply for the orders of a run of upserts in one transaction
// whose commerce store knows what the run is about
// (commerce.Store.WithKnown: a chunk of webhooks): each order is written
// at once, and Finish writes the lines and shipments of the new ones and
// attaches the returns waiting for them — one statement each for the
// whole run rather than three an order. Until Finish, no read in the
// transaction may look for them.
type Run struct {
	in       *Orders
	shopID   int64
	inserted []string // the new orders' platform ids
}

// Run starts a run of the shop's orders in in's transaction.
func (in *Orders) Run(shopID int64) *Run { return &Run{in: in, shopID: shopID} }

// Apply writes the order (see Orders.Apply); what waits for a new one is
// written by Finish.
func (r *Run) Apply(ctx context.Context, o commerce.Order, customer *commerce.Customer) (int64, commerce.UpsertResult, error) {
	id, res, err := r.in.commerce.With(r.in.db).ApplyOrder(ctx, r.shopID, o, customer)
	if err == nil && res == commerce.Inserted {
		r.inserted = append(r.inserted, strings.TrimSpace(o.ExternalID))
	}
	return id, res, err
}

// Finish writes what the run's orders left for it; the run may go on
// after.
func (r *Run) Finish(ctx context.Context) error {
	return r.in.db.InTx(ctx, func(tx *database.Tx) error {
		if err := r.in.commerce.With(tx).Flush(ctx); err != nil {
			return err
		}
		if err := r.in.returns.With(tx).AttachWaitingMany(ctx, r.shopID, r.inserted); err != nil {
			return err
		}
		r.inserted = r.inserted[:0]
		return nil
	})
}
