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
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

// DefaultRetention is how long processed events are kept when
// HUBDESK_WEBHOOK_RETENTION does not say.
const DefaultRetention = 30 * 24 * time.Hour

// DefaultMailRetention is how long processed raw mail is kept when
// HUBDESK_MAIL_RETENTION does not say: the ticket keeps the message's text
// and its files, while the raw MIME — up to 30 MB, every header and
// address — is only for looking into how a mail was read, soon after.
const DefaultMailRetention = 7 * 24 * time.Hour

// Intake is the use case every webhook surface calls.
type Intake struct {
	db    database.Querier
	store *Store
	queue *jobs.Queue
	now   func() time.Time
	// group commits concurrent deliveries together; nil for an intake
	// bound to a caller's transaction.
	group *group
}

// New returns the intake over db, enqueuing on queue; now is the clock
// (time.Now when nil).
func New(db *database.DB, queue *jobs.Queue, now func() time.Time) *Intake {
	return &Intake{db: db, store: NewStore(db), queue: queue, now: clock(now), group: &group{}}
}

// With returns the intake running in q's transaction, for a caller whose
// own writes must commit with the delivery or not at all.
func (in *Intake) With(q database.Querier) *Intake {
	c := *in
	c.db = q
	c.group = nil
	return &c
}

// group commit: deliveries arriving while a transaction commits wait and
// are stored together in the next one. On SQLite, whose one writer
// serialises every transaction, and on PostgreSQL alike, one commit then
// carries many deliveries instead of one each — how a burst of a busy
// shop's webhooks is acknowledged at thousands a second. The group is
// one INSERT of its events and one insert of its processing jobs, a job
// per shop (ProcessArgs.EventIDs). Each delivery is still answered only
// once its own commit is done.
type group struct {
	mu      sync.Mutex
	queue   []*pending
	running bool
}

type pending struct {
	ctx     context.Context
	d       Delivery
	receipt Receipt
	err     error
	done    chan struct{}
}

// maxGroup bounds one transaction: a burst is committed in slices, so no
// delivery waits behind an unbounded one.
const maxGroup = 256

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
	if in.group == nil {
		return in.receiveOne(ctx, d)
	}
	p := &pending{ctx: ctx, d: d, done: make(chan struct{})}
	g := in.group
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if !g.running {
		g.running = true
		go in.drain()
	}
	g.mu.Unlock()
	<-p.done
	return p.receipt, p.err
}

// drain commits the waiting deliveries, a group at a time, until none is
// left.
func (in *Intake) drain() {
	g := in.group
	for {
		g.mu.Lock()
		batch := g.queue[:min(len(g.queue), maxGroup)]
		g.queue = g.queue[len(batch):]
		if len(batch) == 0 {
			g.running = false
			g.queue = nil
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		in.commitGroup(batch)
	}
}

// commitGroup stores the deliveries in one transaction; if it fails, each
// is tried alone, so one bad delivery fails only itself.
func (in *Intake) commitGroup(batch []*pending) {
	defer func() {
		for _, p := range batch {
			close(p.done)
		}
	}()
	if len(batch) > 1 {
		events := make([]*Event, len(batch))
		for i, p := range batch {
			events[i] = in.event(p.d)
		}
		var ids []int64
		// One delivery's caller giving up must not fail the others'.
		ctx := context.WithoutCancel(batch[0].ctx)
		err := in.db.InTx(ctx, func(tx *database.Tx) error {
			var err error
			if ids, err = in.store.With(tx).InsertMany(ctx, events); err != nil {
				return err
			}
			// The group's processing: one job per shop, in one insert.
			_, err = in.queue.EnqueueMany(ctx, tx, processJobs(events, ids))
			return err
		})
		if err == nil {
			for i, p := range batch {
				p.receipt = Receipt{EventID: ids[i], Duplicate: ids[i] == 0}
			}
			return
		}
	}
	for _, p := range batch {
		p.receipt, p.err = in.receiveOne(p.ctx, p.d)
	}
}

// receiveOne stores one delivery and enqueues its processing, in in.db's
// transaction (its own, or the caller's when bound).
func (in *Intake) receiveOne(ctx context.Context, d Delivery) (Receipt, error) {
	ev := in.event(d)
	var r Receipt
	err := in.db.InTx(ctx, func(tx *database.Tx) error {
		id, inserted, err := in.store.With(tx).Insert(ctx, ev)
		if err != nil || !inserted {
			r.Duplicate = !inserted
			return err
		}
		r.EventID = id
		_, err = in.queue.Enqueue(ctx, tx, ProcessArgs{ShopID: d.ShopID, EventID: id}, processOpts())
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("intake: receive %s webhook for shop %d: %w", d.Provider, d.ShopID, err)
	}
	return r, nil
}

// event is the delivery as stored: a provider without delivery ids is
// told apart by the digest of the body, which a retry repeats.
func (in *Intake) event(d Delivery) *Event {
	ev := &Event{ShopID: d.ShopID, Provider: d.Provider, Topic: d.Topic, DeliveryID: d.DeliveryID, Body: d.Body, ReceivedAt: in.now()}
	if ev.DeliveryID == "" {
		sum := sha256.Sum256(d.Body)
		ev.DeliveryID = "sha256:" + hex.EncodeToString(sum[:])
	}
	return ev
}

// processOpts: one processing job per event.
func processOpts() *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// processJobs are the processing jobs of a group's new events (ids[i] of
// events[i], 0 for a duplicate): one per shop, carrying that shop's
// events in the order they came, so a burst costs its shop one job to
// insert, fetch and complete instead of one each. A shop's lone event
// gets the job of one event, unique as Enqueue's.
func processJobs(events []*Event, ids []int64) []jobs.NewJob {
	var shops []int64
	byShop := map[int64][]int64{}
	for i, ev := range events {
		if ids[i] == 0 {
			continue
		}
		if _, seen := byShop[ev.ShopID]; !seen {
			shops = append(shops, ev.ShopID)
		}
		byShop[ev.ShopID] = append(byShop[ev.ShopID], ids[i])
	}
	work := make([]jobs.NewJob, 0, len(shops))
	for _, shopID := range shops {
		if ids := byShop[shopID]; len(ids) == 1 {
			work = append(work, jobs.NewJob{Args: ProcessArgs{ShopID: shopID, EventID: ids[0]}, Opts: processOpts()})
		} else {
			work = append(work, jobs.NewJob{Args: ProcessArgs{ShopID: shopID, EventIDs: ids}})
		}
	}
	return work
}
