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

// permanentError is a handler's failure that no retry can mend.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure no retry can mend — a mail that cannot
// be read stays unreadable: the event keeps the reason and stays
// unprocessed, and its job stops at once (cancelled, listed with the dead
// ones) instead of retrying for days.
func Permanent(err error) error { return &permanentError{err: err} }

// ProcessArgs ask for one stored event to be processed; unique per event.
type ProcessArgs struct {
	ShopID  int64 `json:"shop_id"`
	EventID int64 `json:"event_id"`
}

func (ProcessArgs) Kind() string  { return "webhook_event_process" }
func (a ProcessArgs) Shop() int64 { return a.ShopID }

// ProcessWorker hands each event to its provider's handler and marks it
// processed. An event already processed is left alone, so a job that runs
// again after its commit was lost does no work twice.
type ProcessWorker struct {
	river.WorkerDefaults[ProcessArgs]
	DB       *database.DB
	Handlers map[Provider]Handler
	Now      func() time.Time // time.Now when nil
}

func (w *ProcessWorker) Work(ctx context.Context, job *river.Job[ProcessArgs]) error {
	store := NewStore(w.DB)
	args := job.Args
	err := w.DB.InTx(ctx, func(tx *database.Tx) error {
		ev, err := store.With(tx).Get(ctx, args.ShopID, args.EventID)
		if errors.Is(err, ErrNotFound) || (err == nil && ev.ProcessedAt != nil) {
			return nil // purged or done: nothing left to do
		}
		if err != nil {
			return err
		}
		handler, ok := w.Handlers[ev.Provider]
		if !ok {
			return fmt.Errorf("no handler for %s webhooks", ev.Provider)
		}
		var outcome string
		if o, ok := handler.(Outcomer); ok {
			outcome, err = o.HandleOutcome(ctx, tx, ev)
		} else {
			err = handler.Handle(ctx, tx, ev)
		}
		if err != nil {
			return err
		}
		return store.With(tx).MarkProcessed(ctx, args.ShopID, args.EventID, clock(w.Now)(), outcome)
	})
	if err != nil {
		// Kept on the event for staff to see; River retries the job,
		// unless no retry can help.
		if markErr := store.MarkFailed(ctx, args.ShopID, args.EventID, err.Error()); markErr != nil {
			return errors.Join(err, markErr)
		}
		var permanent *permanentError
		if errors.As(err, &permanent) {
			return river.JobCancel(err)
		}
	}
	return err
}

// PurgeArgs ask for processed events older than the retention to be
// deleted: upkeep of no shop in particular.
type PurgeArgs struct{}

func (PurgeArgs) Kind() string { return "webhook_events_purge" }
func (PurgeArgs) Shop() int64  { return 0 }

// PurgeWorker deletes events processed longer than Retention ago.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	DB        *database.DB
	Retention time.Duration
	Now       func() time.Time // time.Now when nil
}

func (w *PurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	_, err := NewStore(w.DB).PurgeProcessed(ctx, clock(w.Now)().Add(-w.Retention))
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
