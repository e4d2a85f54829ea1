package orderview

import (
	"context"
	"errors"
	"fmt"
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
	DB    *database.DB
	Queue *jobs.Queue
}

// RefreshEligibility queues a fetch per order in one short transaction;
// an order already queued is skipped by the queue.
func (r JobRefresher) RefreshEligibility(ctx context.Context, shopID int64, orderIDs []int64) error {
	// A page is read, not written: its own cancellation must not leave
	// half the orders queued, and the queueing is quick.
	return r.DB.InTx(context.WithoutCancel(ctx), func(tx *database.Tx) error {
		for _, id := range orderIDs {
			if _, err := r.Queue.Enqueue(ctx, tx, EligibilityArgs{ShopID: shopID, OrderID: id}, nil); err != nil {
				return fmt.Errorf("orderview: queue eligibility of order %d: %w", id, err)
			}
		}
		return nil
	})
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
	o, err := w.Commerce.OrderOf(ctx, shopID, 0, orderID, returnsInto(shopID, byOrder))
	if errors.Is(err, commerce.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	answer := returns.PlatformAnswer{OrderID: o.ID, Basis: returns.EligibilityBasis(cfg, o, byOrder[o.ID])}
	got, err := w.Loop.Eligibility(ctx, cfg.Returns.LoopAPIKey, o.Name)
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
