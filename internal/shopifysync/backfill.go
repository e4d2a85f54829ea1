package shopifysync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// ErrBackfillRunning: the shop's backfill has not finished; a second one
// cannot start.
var ErrBackfillRunning = errors.New("shopifysync: a backfill is already running for this shop")

// StartBackfill begins a full backfill of the shop's orders and returns
// it. The work is a job: nothing here calls Shopify.
func (s *Syncer) StartBackfill(ctx context.Context, shopID int64) (*Backfill, error) {
	if _, err := s.client(ctx, shopID); err != nil {
		return nil, err
	}
	err := s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		st := s.store.With(tx)
		cur, err := st.Backfill(ctx, shopID)
		if err != nil && !errors.Is(err, ErrNoBackfill) {
			return err
		}
		if cur != nil && cur.Active() {
			return ErrBackfillRunning
		}
		if err := st.begin(ctx, shopID, s.now()); err != nil {
			return err
		}
		return s.enqueueBackfill(ctx, tx, shopID)
	})
	if err != nil {
		return nil, err
	}
	return s.store.Backfill(ctx, shopID)
}

// Backfill is the shop's backfill as it stands (ErrNoBackfill when none).
func (s *Syncer) Backfill(ctx context.Context, shopID int64) (*Backfill, error) {
	return s.store.Backfill(ctx, shopID)
}

func (s *Syncer) enqueueBackfill(ctx context.Context, tx *database.Tx, shopID int64) error {
	// Not a unique job: River keeps a job that died with its process
	// "running" until its rescuer runs, which would keep the resumed one
	// out. The lease decides instead: a run that cannot take it ends.
	_, err := s.opts.Queue.Enqueue(ctx, tx, BackfillArgs{ShopID: shopID}, &river.InsertOpts{MaxAttempts: 25})
	return err
}

// BackfillArgs run (a slice of) the shop's backfill.
type BackfillArgs struct {
	ShopID int64 `json:"shop_id"`
}

func (BackfillArgs) Kind() string  { return "shopify_backfill" }
func (a BackfillArgs) Shop() int64 { return a.ShopID }

type backfillWorker struct {
	river.WorkerDefaults[BackfillArgs]
	s *Syncer
}

// Timeout: a run works one slice, then hands over.
func (w *backfillWorker) Timeout(*river.Job[BackfillArgs]) time.Duration {
	return w.s.opts.Slice + time.Minute
}

func (w *backfillWorker) Work(ctx context.Context, job *river.Job[BackfillArgs]) error {
	again, err := w.s.runBackfill(ctx, job.Args.ShopID)
	if err != nil {
		return err
	}
	if again >= 0 {
		return river.JobSnooze(again)
	}
	return nil
}

// runBackfill works on the shop's backfill for one slice. It returns
// how soon to run again (negative: done).
func (s *Syncer) runBackfill(ctx context.Context, shopID int64) (time.Duration, error) {
	deadline := s.now().Add(s.opts.Slice)
	run := &backfillRun{owner: s.newOwner()}
	held, err := s.store.claim(ctx, shopID, run.owner, s.now(), s.now().Add(s.opts.LeaseTTL))
	if err != nil {
		return 0, err
	}
	if !held {
		// Another run is working on it. If that one dies, its lease runs
		// out and Resume starts a new run.
		return -1, nil
	}
	defer func() { _ = s.store.release(context.WithoutCancel(ctx), shopID, run.owner) }()
	b, err := s.store.Backfill(ctx, shopID)
	if err != nil {
		return 0, err
	}
	c, err := s.client(ctx, shopID)
	if errors.Is(err, ErrNotConnected) {
		return -1, s.store.finish(ctx, shopID, StatusFailed, "the shop is no longer connected to Shopify", s.now())
	}
	if err != nil {
		return 0, err
	}
	fail := func(err error) (time.Duration, error) {
		if errors.Is(err, errLeaseLost) {
			// This run was too slow to renew its lease and another took
			// over (its last batch rolled back): a handover, not a failure.
			return -1, nil
		}
		var se *shopify.Error
		if errors.As(err, &se) && !se.Temporary() && se.Kind != shopify.KindCanceled {
			return -1, s.store.finish(ctx, shopID, StatusFailed, err.Error(), s.now())
		}
		_ = s.store.noteError(ctx, shopID, err.Error(), s.now())
		return 0, err // River retries with backoff
	}
	for {
		switch b.Status {
		case StatusStarting:
			op, err := c.RunBulkQuery(ctx, shopify.BulkOrdersQuery(""))
			if errors.Is(err, shopify.ErrBulkInProgress) {
				// Ours, started before a crash kept us from recording it
				// (Shopify runs one bulk query per app and shop).
				cur, cerr := c.CurrentBulkOperation(ctx)
				if cerr != nil {
					return fail(cerr)
				}
				if cur == nil {
					return fail(err)
				}
				op, err = *cur, nil
			}
			if err != nil {
				return fail(err)
			}
			if err := s.store.running(ctx, shopID, op.ID, s.now()); err != nil {
				return 0, err
			}
			b.Status, b.BulkOperationID = StatusRunning, op.ID
		case StatusRunning:
			next, err := s.waitBulk(ctx, c, b, run, deadline)
			if err != nil {
				return fail(err)
			}
			if next == "" {
				// The slice is over; the next run polls again.
				return s.opts.PollInterval, nil
			}
			if b, err = s.store.Backfill(ctx, shopID); err != nil {
				return 0, err
			}
		case StatusImporting:
			done, err := s.importFile(ctx, c, b, run, deadline)
			if errors.Is(err, shopify.ErrNotFound) {
				// The result expired (Shopify keeps it a week): start over;
				// what was stored stays, upserts make the rest idempotent.
				if err := s.store.begin(ctx, shopID, s.now()); err != nil {
					return 0, err
				}
				return 0, nil
			}
			if err != nil {
				return fail(err)
			}
			if !done {
				return 0, nil
			}
			return -1, s.store.finish(ctx, shopID, StatusCompleted, "", s.now())
		default:
			return -1, nil
		}
	}
}

// waitBulk polls the bulk operation until it is done or the slice ends;
// it returns the status moved to ("" when still waiting).
func (s *Syncer) waitBulk(ctx context.Context, c *shopify.Client, b *Backfill, run *backfillRun, deadline time.Time) (string, error) {
	nudge, stop := s.nudgeChan(b.ShopID)
	defer stop()
	for {
		op, err := c.BulkOperation(ctx, b.BulkOperationID)
		if err != nil {
			return "", err
		}
		if op == nil {
			if err := s.store.begin(ctx, b.ShopID, s.now()); err != nil {
				return "", err
			}
			return StatusStarting, nil
		}
		switch op.Status {
		case shopify.BulkCompleted:
			if op.URL == "" { // no orders at all
				return StatusCompleted, s.store.finish(ctx, b.ShopID, StatusCompleted, "", s.now())
			}
			sealed, err := s.opts.Box.Seal(op.URL)
			if err != nil {
				return "", err
			}
			return StatusImporting, s.store.importing(ctx, b.ShopID, sealed, int64(op.FileSize), int64(op.RootObjectCount), s.now())
		case shopify.BulkFailed, shopify.BulkCanceled, shopify.BulkExpired:
			reason := "Shopify's bulk operation " + op.ID + " ended " + op.Status
			if op.ErrorCode != "" {
				reason += ": " + op.ErrorCode
			}
			return StatusFailed, s.store.finish(ctx, b.ShopID, StatusFailed, reason, s.now())
		}
		if !s.now().Add(s.opts.PollInterval).Before(deadline) {
			return "", nil
		}
		t := time.NewTimer(s.opts.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-nudge:
			t.Stop()
		case <-t.C:
		}
		if held, err := s.store.claim(ctx, b.ShopID, run.owner, s.now(), s.now().Add(s.opts.LeaseTTL)); err != nil || !held {
			return "", errors.Join(err, errLeaseLost)
		}
	}
}

// importFile reads the result from the stored offset and stores its
// orders in batches, each batch and the offset after it in one
// transaction. It reports whether the file is done.
func (s *Syncer) importFile(ctx context.Context, c *shopify.Client, b *Backfill, run *backfillRun, deadline time.Time) (bool, error) {
	url, err := s.opts.Box.Open(b.resultURL)
	if err != nil {
		return false, fmt.Errorf("shopifysync: open the result URL: %w", err)
	}
	body, err := c.OpenBulkResult(ctx, url, b.ByteOffset)
	if err != nil {
		return false, err
	}
	defer body.Close()
	stream := shopify.NewOrderStream(body, b.ByteOffset)
	batch := make([]*shopify.Order, 0, s.opts.BatchSize)
	var offset int64
	reported := 0
	read := b.RowsDone
	flush := func() error {
		problems, skipped := stream.Problems()
		newErrs := int64(skipped - reported)
		lastErr := ""
		if newErrs > 0 && len(problems) > 0 {
			lastErr = problems[len(problems)-1]
		}
		if err := s.storeBatch(ctx, b.ShopID, run, batch, offset, newErrs, lastErr); err != nil {
			return err
		}
		reported = skipped
		before := read
		read += int64(len(batch))
		batch = batch[:0]
		// The tables a backfill fills may have been analysed nearly empty:
		// PostgreSQL then keeps a sequential scan as its plan for looking
		// an order up by its platform id, and the import slowed as the
		// table grew (100,000 orders: 480 rows/s for the first 10,000,
		// 150 for the first 25,000, under 10 minutes not enough). The
		// statistics are refreshed each time the rows imported double.
		if doubledPast(before, read) {
			if err := s.opts.DB.RefreshStatistics(ctx); err != nil {
				return err
			}
		}
		if held, err := s.store.claim(ctx, b.ShopID, run.owner, s.now(), s.now().Add(s.opts.LeaseTTL)); err != nil || !held {
			return errors.Join(err, errLeaseLost)
		}
		return nil
	}
	for {
		o, next, err := stream.Next()
		if errors.Is(err, io.EOF) {
			offset = next
			return true, flush()
		}
		if err != nil {
			return false, &shopify.Error{Op: "download bulk result", Kind: shopify.KindUnavailable, Message: err.Error()}
		}
		batch = append(batch, o)
		offset = next
		if len(batch) >= s.opts.BatchSize {
			if err := flush(); err != nil {
				return false, err
			}
			if !s.now().Before(deadline) {
				return false, nil
			}
		}
	}
}

// statisticsAfter is how many rows a backfill imports before it first
// refreshes the database's statistics; it does again at twice as many,
// four times, and so on.
const statisticsAfter = 1000

// doubledPast says whether going from before to now rows passes
// statisticsAfter or one of its doublings.
func doubledPast(before, now int64) bool {
	for mark := int64(statisticsAfter); mark <= now; mark *= 2 {
		if before < mark {
			return true
		}
	}
	return false
}

// storeBatch stores orders and the progress after them in one
// transaction. A row Shopify sent that hubdesk cannot store is counted as
// an error and skipped, never retried forever.
func (s *Syncer) storeBatch(ctx context.Context, shopID int64, run *backfillRun, orders []*shopify.Order, offset, errs int64, lastErr string) error {
	return s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		in := ingest.New(tx, s.opts.Commerce, s.records)
		var stored int64
		for _, so := range orders {
			o, cust := toOrder(so)
			if _, _, err := in.Upsert(ctx, shopID, o, cust); err != nil {
				if isValidation(err) {
					errs++
					lastErr = "order " + o.Name + ": " + err.Error()
					continue
				}
				return err
			}
			stored++
		}
		return s.store.With(tx).progress(ctx, shopID, run.owner, offset, stored, errs, lastErr, s.now())
	})
}

// backfillRun is one run of the backfill job: its name on the lease.
type backfillRun struct{ owner string }

// ResumeArgs enqueue every unfinished backfill's job.
type ResumeArgs struct{}

func (ResumeArgs) Kind() string { return "shopify_backfill_resume" }
func (ResumeArgs) Shop() int64  { return 0 }

type resumeWorker struct {
	river.WorkerDefaults[ResumeArgs]
	s *Syncer
}

func (w *resumeWorker) Work(ctx context.Context, _ *river.Job[ResumeArgs]) error {
	return w.s.Resume(ctx)
}

// Resume enqueues a run of every backfill with work left that nobody is
// working on (its lease is free or ran out: its process died).
func (s *Syncer) Resume(ctx context.Context) error {
	ids, err := s.store.unattended(ctx, s.now())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.opts.DB.InTx(ctx, func(tx *database.Tx) error { return s.enqueueBackfill(ctx, tx, id) }); err != nil {
			return err
		}
	}
	return nil
}
