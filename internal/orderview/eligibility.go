package orderview

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
)

// EligibilityRefresher queues a fetch of the returns platform's
// eligibility answer for orders.
type EligibilityRefresher interface {
	RefreshEligibility(ctx context.Context, shopID int64, orderIDs []int64) error
}

// LoopRefreshQueue is the job queue of background reads of Loop (an open
// ticket's refreshes, eligibility asks), apart from the default queue;
// loopsync names it as its Queue.
const LoopRefreshQueue = "loop_refresh"

// EligibilityArgs asks for one order's eligibility from the returns
// platform. One is queued per order at a time.
type EligibilityArgs struct {
	ShopID  int64 `json:"shop_id"`
	OrderID int64 `json:"order_id"`
}

func (EligibilityArgs) Kind() string  { return "return_eligibility" }
func (a EligibilityArgs) Shop() int64 { return a.ShopID }
func (EligibilityArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		// A page's eligibility asks are background reads of Loop, like an
		// open ticket's refreshes: they run on the refreshes' own queue,
		// so a burst of opened tickets never holds back webhook
		// processing or mail on the default queue.
		Queue:       LoopRefreshQueue,
		MaxAttempts: 5,
		// One waiting or running fetch per order: a page opened ten times
		// asks Loop once. A finished one does not count, so a later change
		// to the order asks again.
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled}},
	}
}

// JobRefresher queues EligibilityArgs jobs.
type JobRefresher struct {
	db    *database.DB
	queue *jobs.Queue
	now   func() time.Time

	mu     sync.Mutex
	queued map[[2]int64]time.Time // (shop, order) → when this process last queued it
}

// NewJobRefresher returns a refresher queueing on queue over db.
func NewJobRefresher(db *database.DB, queue *jobs.Queue) *JobRefresher {
	return &JobRefresher{db: db, queue: queue, now: time.Now, queued: map[[2]int64]time.Time{}}
}

// requeueAfter is how long this process leaves an order it queued alone:
// every view of a stale order would otherwise open a write transaction
// only for the queue to find the job already there, which on SQLite
// holds the one write connection.
const requeueAfter = 30 * time.Second

// maxRemembered bounds the memory of queued orders; past it, it starts
// over (a repeated enqueue is harmless, the queue drops duplicates).
const maxRemembered = 10_000

// RefreshEligibility queues a fetch per order in one short transaction;
// an order already queued is skipped by the queue, and one this process
// queued moments ago is not even offered.
func (r *JobRefresher) RefreshEligibility(ctx context.Context, shopID int64, orderIDs []int64) error {
	now := r.now()
	var fresh []int64
	r.mu.Lock()
	if len(r.queued) >= maxRemembered {
		r.queued = map[[2]int64]time.Time{}
	}
	for _, id := range orderIDs {
		key := [2]int64{shopID, id}
		if at, ok := r.queued[key]; ok && now.Sub(at) < requeueAfter {
			continue
		}
		r.queued[key] = now
		fresh = append(fresh, id)
	}
	r.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	// A page is read, not written: its own cancellation must not leave
	// half the orders queued, and the queueing is quick.
	err := r.db.InTx(context.WithoutCancel(ctx), func(tx *database.Tx) error {
		for _, id := range fresh {
			if _, err := r.queue.Enqueue(ctx, tx, EligibilityArgs{ShopID: shopID, OrderID: id}, nil); err != nil {
				return fmt.Errorf("orderview: queue eligibility of order %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		r.mu.Lock()
		for _, id := range fresh {
			delete(r.queued, [2]int64{shopID, id})
		}
		r.mu.Unlock()
	}
	return err
}

// EligibilityAsker is the part of the Loop client the eligibility job
// needs (returns.LoopLinker).
type EligibilityAsker interface {
	Eligibility(ctx context.Context, apiKey, orderName string) (loop.Eligibility, error)
}

// EligibilityWorker asks the returns platform about one order and caches
// the answer with the basis it was asked for. It reads the order, its
// returns and the published settings itself when it runs, so an answer
// is never stored against data older than the question.
type EligibilityWorker struct {
	river.WorkerDefaults[EligibilityArgs]
	Commerce *commerce.Store
	Settings *settings.Editor
	Cache    *returns.EligibilityCache
	Loop     EligibilityAsker
	Now      func() time.Time
}

// Work fetches and stores one order's answer. Loop saying the key's plan
// lacks the endpoint, or that it does not know the order, is an answer
// (the window decides); Loop down or limiting is an error, and River
// tries again later.
func (w *EligibilityWorker) Work(ctx context.Context, job *river.Job[EligibilityArgs]) error {
	shopID, orderID := job.Args.ShopID, job.Args.OrderID
	cfg, err := w.Settings.Published(ctx, shopID)
	if err != nil {
		return err
	}
	if !returns.AsksPlatform(cfg) {
		return nil
	}
	byOrder := map[int64][]returns.Return{}
	o, err := w.Commerce.OrderOf(ctx, shopID, 0, orderID, ReturnsInto(shopID, byOrder))
	if errors.Is(err, commerce.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	answer := returns.PlatformAnswer{OrderID: o.ID, Basis: returns.EligibilityBasis(cfg, o, byOrder[o.ID])}
	// Nobody waits on this call: it leaves the key's window to an agent's
	// click (a deep link, a QR code) when calls run short.
	got, err := w.Loop.Eligibility(loop.WithPriority(ctx, loop.PriorityRefresh), cfg.Returns.LoopAPIKey, o.Name)
	switch kind := loop.KindOf(err); {
	case err == nil && got.AnyEligible():
		answer.Verdict = returns.VerdictEligible
	case err == nil:
		answer.Verdict, answer.Reason = returns.VerdictIneligible, returns.IneligibleReason(got.Items)
	case kind == loop.KindNotAvailable, kind == loop.KindNotFound:
		answer.Verdict = returns.VerdictUnavailable
	default:
		return fmt.Errorf("orderview: eligibility of order %d: %w", orderID, err)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	answer.CheckedAt = now()
	return w.Cache.Put(ctx, shopID, answer)
}
