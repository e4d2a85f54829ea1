package loopsync

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// inFlight are the states in which a job blocks another with the same
// arguments: one refresh per order (or return) at a time, and a new one
// possible as soon as it is done.
var inFlight = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// AddWorkers registers the syncer's workers.
func (s *Syncer) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &refreshReturnWorker{s: s})
	river.AddWorker(w, &refreshOrderWorker{s: s})
	river.AddWorker(w, &reconcileWorker{s: s})
	river.AddWorker(w, &reconcileAllWorker{s: s})
	river.AddWorker(w, &subscribeWorker{s: s})
	river.AddWorker(w, &unsubscribeWorker{s: s})
}

// Periodic is the periodic job that reconciles every connected shop.
func (s *Syncer) Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(s.opts.ReconcileInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ReconcileAllArgs{}, jobs.ShopOpts(0) },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// RefreshReturnArgs re-read one return from Loop's details and store what
// Loop says now; ProcessingFailed marks it stuck afterwards (a processing
// failure reported before the return was stored).
type RefreshReturnArgs struct {
	ShopID           int64  `json:"shop_id"`
	ReturnID         string `json:"return_id"`
	ProcessingFailed bool   `json:"processing_failed,omitempty"`
	ProcessingError  string `json:"processing_error,omitempty"`
}

func (RefreshReturnArgs) Kind() string  { return "loop_return_refresh" }
func (a RefreshReturnArgs) Shop() int64 { return a.ShopID }

type refreshReturnWorker struct {
	river.WorkerDefaults[RefreshReturnArgs]
	s *Syncer
}

func (w *refreshReturnWorker) Work(ctx context.Context, job *river.Job[RefreshReturnArgs]) error {
	s, a := w.s, job.Args
	ctx = loop.WithPriority(ctx, loop.PriorityRefresh)
	c, err := s.client(ctx, a.ShopID)
	if errors.Is(err, errNotConnected) {
		return nil
	}
	if err != nil {
		return err
	}
	in, err := c.ReturnDetailsBy(ctx, loop.DetailsQuery{ReturnID: a.ReturnID})
	if errors.Is(err, loop.ErrNotFound) {
		s.recordCall(ctx, a.ShopID, nil)
		return nil
	}
	s.recordCall(ctx, a.ShopID, err)
	if err != nil {
		return retryWhenLoopSays(err) // a webhook's signal is not dropped
	}
	changed, err := s.store1(ctx, a.ShopID, in, func(tx *database.Tx) error {
		if !a.ProcessingFailed {
			return nil
		}
		return s.records.With(tx).MarkProcessingFailed(ctx, a.ShopID, returns.ProviderLoop, string(in.ID), a.ProcessingError)
	})
	if err != nil {
		return err
	}
	s.publish(ctx, a.ShopID, changed)
	return nil
}

// store1 stores one return read from Loop now (returns.Records.Replace),
// with more in the same transaction, and says which order changed.
func (s *Syncer) store1(ctx context.Context, shopID int64, in loop.Return, more func(tx *database.Tx) error) ([]int64, error) {
	var changed []int64
	err := s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		wasStuck := false
		if more != nil {
			prev, err := s.records.With(tx).Get(ctx, shopID, returns.ProviderLoop, strings.TrimSpace(string(in.ID)))
			switch {
			case err == nil:
				wasStuck = prev.ProcessingFailed
			case !errors.Is(err, returns.ErrNotFound):
				return err
			}
		}
		var err error
		changed, err = s.storeIn(ctx, tx, shopID, in)
		if err != nil || more == nil {
			return err
		}
		if err := more(tx); err != nil {
			return err
		}
		// more may have marked the return stuck: that is news too.
		if len(changed) == 0 && !wasStuck {
			changed, err = s.newlyStuck(ctx, tx, shopID, in)
		}
		return err
	})
	return changed, err
}

// storeIn stores one return read from Loop now inside tx and says which
// order changed: what agents see differs, or the return became stuck.
func (s *Syncer) storeIn(ctx context.Context, tx *database.Tx, shopID int64, in loop.Return) ([]int64, error) {
	r, problem := translate(in)
	if problem != "" {
		s.log.WarnContext(ctx, "loopsync: Loop return not stored: "+problem, "shop", shopID, "return", string(in.ID))
		return nil, nil
	}
	records := s.records.With(tx)
	stored, err := records.Get(ctx, shopID, returns.ProviderLoop, r.ExternalID)
	if err != nil && !errors.Is(err, returns.ErrNotFound) {
		return nil, err
	}
	res, err := records.Replace(ctx, shopID, r)
	if err != nil {
		return nil, err
	}
	if res == commerce.Stale || !differs(stored, r) {
		return nil, nil
	}
	if stored != nil && stored.OrderID != 0 && stored.OrderExternalID == r.OrderExternalID {
		return []int64{stored.OrderID}, nil // still the same order's
	}
	after, err := records.Get(ctx, shopID, returns.ProviderLoop, r.ExternalID)
	if err != nil || after.OrderID == 0 {
		return nil, err
	}
	return []int64{after.OrderID}, nil
}

// newlyStuck names the return's order when it is marked stuck now (a
// processing failure reported before the return was stored).
func (s *Syncer) newlyStuck(ctx context.Context, tx *database.Tx, shopID int64, in loop.Return) ([]int64, error) {
	after, err := s.records.With(tx).Get(ctx, shopID, returns.ProviderLoop, strings.TrimSpace(string(in.ID)))
	if errors.Is(err, returns.ErrNotFound) {
		return nil, nil
	}
	if err != nil || !after.ProcessingFailed || after.OrderID == 0 {
		return nil, err
	}
	return []int64{after.OrderID}, nil
}

// RefreshOrderArgs re-read the returns of one order, on ticket open.
type RefreshOrderArgs struct {
	ShopID  int64 `json:"shop_id"`
	OrderID int64 `json:"order_id"`
}

func (RefreshOrderArgs) Kind() string  { return "loop_order_refresh" }
func (a RefreshOrderArgs) Shop() int64 { return a.ShopID }

type refreshOrderWorker struct {
	river.WorkerDefaults[RefreshOrderArgs]
	s *Syncer
}

// Timeout: a refresh is worth little once the agent has moved on.
func (w *refreshOrderWorker) Timeout(*river.Job[RefreshOrderArgs]) time.Duration { return time.Minute }

func (w *refreshOrderWorker) Work(ctx context.Context, job *river.Job[RefreshOrderArgs]) error {
	changed, err := w.s.RefreshOrder(ctx, job.Args.ShopID, job.Args.OrderID)
	if err != nil {
		// Loop down, a 429 storm or a revoked key: the health notice
		// says so and the cards keep their last known state. The next
		// ticket open asks again; retrying here would only add load.
		w.s.log.InfoContext(ctx, "loopsync: order refresh failed", "shop", job.Args.ShopID, "order", job.Args.OrderID, "err", err)
		return nil
	}
	w.s.publish(ctx, job.Args.ShopID, changed)
	return nil
}

// RefreshOrder reads the order's returns from Loop now — its latest
// return by the order's name, and each stored active return by id — and
// stores them; it returns the order when what agents see changed. The
// order and its returns are read in one batch before Loop is asked, and
// what Loop said is stored in one transaction with the order's check
// time: a ticket's refreshes run together, and each costs the database
// two round trips and one commit besides its calls to Loop.
func (s *Syncer) RefreshOrder(ctx context.Context, shopID, orderID int64) ([]int64, error) {
	ctx = loop.WithPriority(ctx, loop.PriorityRefresh)
	c, err := s.client(ctx, shopID)
	if errors.Is(err, errNotConnected) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	stored := map[int64][]returns.Return{}
	order, err := s.opts.Commerce.OrderOf(ctx, shopID, 0, orderID, orderview.ReturnsInto(shopID, stored))
	if errors.Is(err, commerce.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var read []loop.Return
	seen := map[string]bool{}
	keep := func(in loop.Return) {
		seen[string(in.ID)] = true
		// A namesake order of another platform id is not this order.
		if pid := string(in.ProviderOrderID); pid != "" && order.ExternalID != "" && pid != order.ExternalID {
			return
		}
		read = append(read, in)
	}
	latest, err := c.ReturnDetailsBy(ctx, loop.DetailsQuery{OrderName: order.Name})
	switch {
	case errors.Is(err, loop.ErrNotFound):
	case err != nil:
		s.recordCall(ctx, shopID, err)
		return nil, err
	default:
		keep(latest)
	}
	for _, r := range stored[orderID] {
		if !r.State.Active() || seen[r.ExternalID] {
			continue
		}
		in, err := c.ReturnDetailsBy(ctx, loop.DetailsQuery{ReturnID: r.ExternalID})
		if errors.Is(err, loop.ErrNotFound) {
			continue
		}
		if err != nil {
			s.recordCall(ctx, shopID, err)
			return nil, err
		}
		keep(in)
	}
	s.recordCall(ctx, shopID, nil)
	now := s.now()
	changed := false
	err = s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		changed = false
		for _, in := range read {
			ch, err := s.storeIn(ctx, tx, shopID, in)
			if err != nil {
				return err
			}
			changed = changed || len(ch) > 0
		}
		if err := s.store.With(tx).OrderChecked(ctx, shopID, orderID, now); err != nil {
			return err
		}
		return s.records.With(tx).Touch(ctx, shopID, []int64{orderID}, now)
	})
	if err == nil {
		s.rememberCheck(shopID, orderID, now)
	}
	if err != nil || !changed {
		return nil, err
	}
	return []int64{orderID}, nil
}

// ReconcileArgs reconcile one shop's returns from its watermark.
type ReconcileArgs struct {
	ShopID int64 `json:"shop_id"`
}

func (ReconcileArgs) Kind() string  { return "loop_reconcile" }
func (a ReconcileArgs) Shop() int64 { return a.ShopID }

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	s *Syncer
}

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	_, err := w.s.Reconcile(ctx, job.Args.ShopID)
	return retryWhenLoopSays(err)
}

// maxLoopSnooze bounds how long a job waits on Loop's word: a Retry-After
// of hours (or a wrong one) must not hold a webhook's signal back for long.
const maxLoopSnooze = 10 * time.Minute

// retryWhenLoopSays runs the job again when Loop said it may be called —
// a 429's or a 503's Retry-After, or the key's open circuit's cool-down —
// rather than on River's backoff (attempt⁴ seconds: 1 s, 16 s, 81 s…),
// which calls again a second after Loop asked for a minute, in every job
// of every process, and after a short outage leaves jobs waiting minutes
// longer than Loop did. A snooze is no failed attempt: a long outage does
// not use up a job's attempts either. Other errors keep River's backoff.
func retryWhenLoopSays(err error) error {
	var le *loop.Error
	if err == nil || !errors.As(err, &le) || le.RetryAfter <= 0 {
		return err
	}
	wait := min(le.RetryAfter, maxLoopSnooze)
	// Up to a tenth more, so the jobs Loop turned away together do not
	// all come back in the same instant.
	wait += time.Duration(rand.Int64N(int64(wait)/10 + 1))
	return river.JobSnooze(wait)
}

// reconcileStates are the list's passes: Loop's default lists open,
// closed and expired returns only; review and cancelled ones must be
// asked for by state.
var reconcileStates = []loop.State{"", loop.StateReview, loop.StateCancelled}

// Reconcile pulls the shop's returns Loop changed since the watermark
// (filter updated_at, paginate=true, windows of at most 120 days — the
// client walks both), stores them, and moves the watermark to the start
// of this run once every pass is through. It returns how many returns it
// read. Calls run at background priority, behind clicks and refreshes.
func (s *Syncer) Reconcile(ctx context.Context, shopID int64) (int, error) {
	ctx = loop.WithPriority(ctx, loop.PriorityBackground)
	c, err := s.client(ctx, shopID)
	if errors.Is(err, errNotConnected) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	h, err := s.store.Health(ctx, shopID)
	if err != nil {
		return 0, err
	}
	to := s.now().UTC().Truncate(time.Millisecond)
	from := to.Add(-InitialLookback)
	if h.Watermark != nil {
		from = h.Watermark.Add(-reconcileOverlap)
	}
	read := 0
	changed := map[int64]bool{}
	for _, state := range reconcileStates {
		for in, err := range c.ListReturns(ctx, loop.ListQuery{From: from, To: to, Filter: loop.FilterUpdatedAt, State: state, PageSize: 100}) {
			if err != nil {
				s.recordCall(ctx, shopID, err)
				return read, fmt.Errorf("loopsync: reconcile shop %d: %w", shopID, err)
			}
			read++
			ch, err := s.store1(ctx, shopID, in, nil)
			if err != nil {
				return read, err
			}
			for _, id := range ch {
				changed[id] = true
			}
		}
	}
	s.recordCall(ctx, shopID, nil)
	if err := s.store.SetWatermark(ctx, shopID, to, s.now()); err != nil {
		return read, err
	}
	ids := make([]int64, 0, len(changed))
	for id := range changed {
		ids = append(ids, id)
	}
	s.publish(ctx, shopID, ids)
	return read, nil
}

// ReconcileAllArgs enqueue the reconciliation of every connected shop.
type ReconcileAllArgs struct{}

func (ReconcileAllArgs) Kind() string { return "loop_reconcile_all" }
func (ReconcileAllArgs) Shop() int64  { return 0 }

type reconcileAllWorker struct {
	river.WorkerDefaults[ReconcileAllArgs]
	s *Syncer
}

func (w *reconcileAllWorker) Work(ctx context.Context, _ *river.Job[ReconcileAllArgs]) error {
	s := w.s
	shops, err := s.opts.Connections.ShopsWith(ctx, "loop")
	if err != nil {
		return err
	}
	return s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		for _, id := range shops {
			if _, err := s.opts.Queue.Enqueue(ctx, tx, ReconcileArgs{ShopID: id},
				&river.InsertOpts{Priority: 3, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}}); err != nil {
				return err
			}
		}
		return nil
	})
}
