package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

// Handler processes one provider's events. It runs inside the
// transaction that marks the event processed, so its writes (through
// stores bound to tx) and the mark commit together.
type Handler interface {
	Handle(ctx context.Context, tx *database.Tx, ev *Event) error
}

// Outcomer is a Handler that says what it made of an event — nothing,
// and why, say — which is kept on the event for admins.
type Outcomer interface {
	HandleOutcome(ctx context.Context, tx *database.Tx, ev *Event) (outcome string, err error)
}

// Prefetcher is a Handler shown the claimed events of a chunk before it
// handles them one by one in the same transaction, so that it reads what
// they need in one statement instead of one each. Its Handle calls get
// the context Prefetch returns.
type Prefetcher interface {
	Prefetch(ctx context.Context, tx *database.Tx, events []*Event) (context.Context, error)
}

// Finisher is a Prefetcher that keeps some of a chunk's writes for later
// and then writes them together: Finish, given the context its Prefetch
// returned, runs in the chunk's transaction after the chunk's last event
// and before an event of another provider is handled (which may read
// them); it writes nothing when nothing is kept. If it fails, the chunk
// is rolled back and its events processed one by one.
type Finisher interface {
	Finish(ctx context.Context, tx *database.Tx) error
}

// permanentError is a handler's failure that no retry can mend.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure no retry can mend — a mail that cannot
// be read stays unreadable: the event keeps the reason and stays
// unprocessed, and its job stops at once (cancelled, listed with the dead
// ones) instead of retrying for days.
func Permanent(err error) error { return &permanentError{err: err} }

// ProcessArgs ask for stored events of one shop to be processed: one
// (EventID; unique per event) or, for a group of deliveries committed
// together, several in the order they came (EventIDs).
type ProcessArgs struct {
	ShopID  int64 `json:"shop_id"`
	EventID int64 `json:"event_id"`
	// EventIDs, when set, are the events of a group; EventID is then 0.
	EventIDs []int64 `json:"event_ids,omitempty"`
}

func (ProcessArgs) Kind() string  { return "webhook_event_process" }
func (a ProcessArgs) Shop() int64 { return a.ShopID }

// ProcessWorker hands each event to its provider's handler and marks it
// processed, in one transaction per event. An event already processed is
// left alone, so a job that runs again after its commit was lost does no
// work twice, and two jobs naming one event (a group's, and the event's
// own after a failure) process it once: the event is claimed by the
// update that marks it, which on PostgreSQL holds the row until commit.
//
// A group's job processes its events in order, several to a
// transaction. An event that fails is handed to a job of its own (Queue)
// — retried with backoff, listed with the dead ones when it gives up or
// fails for good — and the group goes on; a group that runs long hands
// the rest to a new job, so no job nears the job timeout.
type ProcessWorker struct {
	river.WorkerDefaults[ProcessArgs]
	DB       *database.DB
	Handlers map[Provider]Handler
	Now      func() time.Time // time.Now when nil
	// Queue takes a group's failed events and its remainder; without
	// one, a failed event fails its group's job, which River retries
	// whole (the events done are skipped).
	Queue *jobs.Queue
	// ChunkTime bounds a chunk's transaction (when zero: chunkTime, on
	// PostgreSQL chunkTimePostgres).
	ChunkTime time.Duration
}

// groupBudget is how long a group's job processes before it hands the
// rest of its events to a new job.
const groupBudget = 30 * time.Second

// A group's events are processed several to a transaction — one commit
// (on PostgreSQL one WAL flush) for many events — up to chunkEvents or
// until chunkTime has passed, which bounds how long the transaction
// holds SQLite's one writer, that the deliveries' commits wait for.
// PostgreSQL's deliveries wait for no writer, and each of its statements
// is a round trip: a chunk there may take chunkTimePostgres, so that a
// chunk's reads (its claim, what its handler prefetches) and its commit
// are shared by many events even when the machine is busy.
const (
	chunkEvents       = 64
	chunkTime         = 20 * time.Millisecond
	chunkTimePostgres = 100 * time.Millisecond
	// firstChunk is the size of a job's first chunk; each next one is
	// sized by how many the last fitted in chunkTime, so that few claimed
	// events are released unhandled when the machine is slow.
	firstChunk = 16
)

func (w *ProcessWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	args := job.Args
	if len(args.EventIDs) == 0 {
		err := w.processAlone(ctx, args.ShopID, args.EventID)
		var permanent *permanentError
		if errors.As(err, &permanent) {
			return river.JobCancel(err)
		}
		return err
	}
	started := time.Now()
	ids := args.EventIDs
	size := firstChunk
	for len(ids) > 0 {
		if time.Since(started) > groupBudget && w.Queue != nil {
			rest := ids
			return w.DB.InTx(ctx, func(tx *database.Tx) error {
				_, err := w.Queue.Enqueue(ctx, tx, ProcessArgs{ShopID: args.ShopID, EventIDs: rest}, nil)
				return err
			})
		}
		n, err := w.processTogether(ctx, args.ShopID, ids[:min(len(ids), size)])
		if err == nil {
			if n == size {
				size = min(2*size, chunkEvents)
			} else {
				size = max(n, 1)
			}
			ids = ids[n:]
			continue
		}
		if ctx.Err() != nil {
			return err // stopping or timed out: the group runs again later
		}
		if n == 0 {
			// The chunk failed before any of its events (its claim or its
			// prefetch: the database refusing): trying it again at once
			// would spin. The queue runs the group again after its
			// backoff, its done events skipped.
			return err
		}
		// One of them failed, and with it the transaction: each alone
		// now, so that it fails only itself.
		for _, id := range ids[:n] {
			if err := w.processOne(ctx, args.ShopID, id); err != nil {
				if w.Queue == nil || ctx.Err() != nil {
					return err // the group runs again, its done events skipped
				}
				// The event's own job retries it, and only it.
				if err := w.DB.InTx(ctx, func(tx *database.Tx) error {
					_, err := w.Queue.Enqueue(ctx, tx, ProcessArgs{ShopID: args.ShopID, EventID: id}, processOpts())
					return err
				}); err != nil {
					return err
				}
			}
		}
		ids = ids[n:]
	}
	return nil
}

// processTogether processes the shop's events ids (at most chunkEvents)
// in one transaction, as many as chunkTime allows, and says how many it
// took; if one fails, none is processed. The chunk is claimed in
// one statement and its handled events marked processed, with what came
// of them, in one more, so an event costs its handler's statements only;
// those the time left no room for are left as they were.
func (w *ProcessWorker) processTogether(ctx context.Context, shopID int64, ids []int64) (int, error) {
	now := clock(w.Now)()
	started := time.Now()
	chunk := ids[:min(len(ids), chunkEvents)]
	n := 0
	err := w.DB.InTx(ctx, func(tx *database.Tx) error {
		store := NewStore(tx)
		claimed, err := store.claimMany(ctx, shopID, chunk)
		if err != nil {
			return err
		}
		ctxs, err := w.prefetch(ctx, tx, chunk, claimed)
		if err != nil {
			return err
		}
		handled := make([]outcome, 0, len(claimed))
		limit := w.ChunkTime
		switch {
		case limit != 0:
		case w.DB.Dialect == database.Postgres:
			limit = chunkTimePostgres
		default:
			limit = chunkTime
		}
		for n = 0; n < len(chunk) && (n == 0 || time.Since(started) < limit); n++ {
			ev := claimed[chunk[n]]
			if ev == nil {
				continue // purged or done: nothing left to do
			}
			// What another provider's handler kept for the end is written
			// first: this one may read it (a return of an order just made).
			if err := w.finish(tx, ctxs, ev.Provider); err != nil {
				n++
				return err
			}
			hctx := ctx
			if c, ok := ctxs[ev.Provider]; ok {
				hctx = c
			}
			text, err := w.apply(hctx, tx, ev)
			if err != nil {
				n++ // the failed one is part of what was tried
				return err
			}
			handled = append(handled, outcome{id: ev.ID, text: text})
		}
		if err := w.finish(tx, ctxs, ""); err != nil {
			return err
		}
		return store.markMany(ctx, shopID, now, handled)
	})
	return n, err
}

// finish has the Finisher of each provider other than but write what it
// kept (see Finisher).
func (w *ProcessWorker) finish(tx *database.Tx, ctxs map[Provider]context.Context, but Provider) error {
	for provider, c := range ctxs {
		if provider == but {
			continue
		}
		if f, ok := w.Handlers[provider].(Finisher); ok {
			if err := f.Finish(c, tx); err != nil {
				return err
			}
		}
	}
	return nil
}

// prefetch shows each Prefetcher its provider's claimed events of the
// chunk, in order, and returns the contexts their Handle calls get.
func (w *ProcessWorker) prefetch(ctx context.Context, tx *database.Tx, chunk []int64, claimed map[int64]*Event) (map[Provider]context.Context, error) {
	var byProvider map[Provider][]*Event
	for _, id := range chunk {
		ev := claimed[id]
		if ev == nil {
			continue
		}
		if _, ok := w.Handlers[ev.Provider].(Prefetcher); !ok {
			continue
		}
		if byProvider == nil {
			byProvider = map[Provider][]*Event{}
		}
		byProvider[ev.Provider] = append(byProvider[ev.Provider], ev)
	}
	ctxs := make(map[Provider]context.Context, len(byProvider))
	for provider, events := range byProvider {
		c, err := w.Handlers[provider].(Prefetcher).Prefetch(ctx, tx, events)
		if err != nil {
			return nil, err
		}
		ctxs[provider] = c
	}
	return ctxs, nil
}

// processAlone processes the event of a job of its own (a lone delivery,
// or a group's event that failed) as a chunk of one, so that it costs what
// it would in a group (its handler's Prefetch and Finish). If that fails
// it is tried once more as processOne does, without them, which keeps
// the failure on the event for staff to see.
func (w *ProcessWorker) processAlone(ctx context.Context, shopID, id int64) error {
	_, err := w.processTogether(ctx, shopID, []int64{id})
	if err == nil || ctx.Err() != nil {
		return err
	}
	return w.processOne(ctx, shopID, id)
}

// processOne processes the shop's event id in a transaction of its own;
// a failure is kept on the event for staff to see.
func (w *ProcessWorker) processOne(ctx context.Context, shopID, id int64) error {
	now := clock(w.Now)()
	err := w.DB.InTx(ctx, func(tx *database.Tx) error { return w.handle(ctx, tx, shopID, id, now) })
	if err != nil {
		if markErr := NewStore(w.DB).MarkFailed(ctx, shopID, id, err.Error()); markErr != nil {
			return errors.Join(err, markErr)
		}
	}
	return err
}

// handle processes the shop's event id in tx unless it is gone or done.
func (w *ProcessWorker) handle(ctx context.Context, tx *database.Tx, shopID, id int64, now time.Time) error {
	store := NewStore(tx)
	ev, err := store.claim(ctx, shopID, id, now)
	if errors.Is(err, ErrNotFound) {
		return nil // purged or done: nothing left to do
	}
	if err != nil {
		return err
	}
	outcome, err := w.apply(ctx, tx, ev)
	if err != nil || outcome == "" {
		return err
	}
	return store.MarkProcessed(ctx, shopID, id, now, outcome)
}

// apply hands the claimed event to its provider's handler in tx and
// returns what came of it where the handler says ("" for nothing to
// record).
func (w *ProcessWorker) apply(ctx context.Context, tx *database.Tx, ev *Event) (string, error) {
	handler, ok := w.Handlers[ev.Provider]
	if !ok {
		return "", fmt.Errorf("no handler for %s webhooks", ev.Provider)
	}
	if o, ok := handler.(Outcomer); ok {
		return o.HandleOutcome(ctx, tx, ev)
	}
	return "", handler.Handle(ctx, tx, ev)
}

// PurgeArgs ask for processed events older than the retention to be
// deleted: upkeep of no shop in particular.
type PurgeArgs struct{}

func (PurgeArgs) Kind() string { return "webhook_events_purge" }
func (PurgeArgs) Shop() int64  { return 0 }

// PurgeWorker deletes events processed longer than Retention ago, and
// raw mail processed longer than MailRetention ago.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	DB        *database.DB
	Retention time.Duration
	// MailRetention is how long processed raw mail is kept;
	// DefaultMailRetention when 0.
	MailRetention time.Duration
	Now           func() time.Time // time.Now when nil
}

func (w *PurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	now := clock(w.Now)()
	mail := w.MailRetention
	if mail <= 0 {
		mail = DefaultMailRetention
	}
	_, err := NewStore(w.DB).PurgeProcessed(ctx, now.Add(-w.Retention), now.Add(-mail))
	return err
}

// PurgePeriodically is the periodic job that runs the purge hourly and
// once at start.
func PurgePeriodically() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, jobs.ShopOpts(0) },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// clock is now, or time.Now when nil.
func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}
