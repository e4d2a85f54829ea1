// Package intake receives webhooks, once for every provider: a verified
// delivery is stored and its processing job enqueued in one transaction,
// so a delivery acknowledged to the provider is never lost, and a
// redelivery of one already stored adds nothing. The job hands the event
// to its provider's Handler and marks it processed; a periodic job purges
// processed events after the retention.
package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

// DefaultRetention is how long processed events are kept when
// HUBDESK_WEBHOOK_RETENTION does not say.
const DefaultRetention = 30 * 24 * time.Hour

// Intake is the use case every webhook surface calls.
type Intake struct {
	db    database.Querier
	store *Store
	queue *jobs.Queue
	now   func() time.Time
}

// New returns the intake over db, enqueuing on queue; now is the clock
// (time.Now when nil).
func New(db *database.DB, queue *jobs.Queue, now func() time.Time) *Intake {
	return &Intake{db: db, store: NewStore(db), queue: queue, now: clock(now)}
}

// With returns the intake running in q's transaction, for a caller whose
// own writes must commit with the delivery or not at all.
func (in *Intake) With(q database.Querier) *Intake {
	c := *in
	c.db = q
	return &c
}

// Delivery is a webhook whose signature its surface has verified.
type Delivery struct {
	ShopID   int64
	Provider Provider
	Topic    string
	// DeliveryID is the provider's id of the delivery; "" for providers
	// that send none (Loop), where the digest of the body stands in: a
	// retried delivery carries the same bytes.
	DeliveryID string
	Body       []byte
}

// Receipt says what Receive did.
type Receipt struct {
	EventID int64
	// Duplicate: the delivery was already stored; nothing was added.
	Duplicate bool
}

// Receive stores the delivery and enqueues its processing, both or
// neither (in the caller's transaction when bound by With). A delivery
// already stored is a success that adds nothing, so the provider stops
// retrying it.
func (in *Intake) Receive(ctx context.Context, d Delivery) (Receipt, error) {
	ev := &Event{ShopID: d.ShopID, Provider: d.Provider, Topic: d.Topic, DeliveryID: d.DeliveryID, Body: d.Body, ReceivedAt: in.now()}
	if ev.DeliveryID == "" {
		sum := sha256.Sum256(d.Body)
		ev.DeliveryID = "sha256:" + hex.EncodeToString(sum[:])
	}
	var r Receipt
	err := in.db.InTx(ctx, func(tx *database.Tx) error {
		id, inserted, err := in.store.With(tx).Insert(ctx, ev)
		if err != nil || !inserted {
			r.Duplicate = !inserted
			return err
		}
		r.EventID = id
		_, err = in.queue.Enqueue(ctx, tx, ProcessArgs{ShopID: d.ShopID, EventID: id},
			&river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}})
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("intake: receive %s webhook for shop %d: %w", d.Provider, d.ShopID, err)
	}
	return r, nil
}
