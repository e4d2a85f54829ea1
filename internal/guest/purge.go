package guest

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

// PurgeArgs ask for what guest lookups leave behind to be deleted: links
// a day past their expiry (used or not), and the rate limits' counts of
// addresses and emails that asked nothing within LimitPeriod. Upkeep of no
// shop in particular.
type PurgeArgs struct{}

func (PurgeArgs) Kind() string { return "hub_guest_purge" }
func (PurgeArgs) Shop() int64  { return 0 }

// PurgeWorker runs PurgeArgs.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	DB  *database.DB
	Now func() time.Time // time.Now when nil
}

func (w *PurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	return Purge(ctx, w.DB, now())
}

// Purge deletes the links that expired more than a day before now and
// the lookups' rate-limit rows older than LimitPeriod.
func Purge(ctx context.Context, db *database.DB, now time.Time) error {
	if _, err := db.Exec(ctx, `DELETE FROM hub_guest_links WHERE expires_at < ?`, database.Time(now.Add(-24*time.Hour))); err != nil {
		return err
	}
	since := now.Add(-LimitPeriod).UnixMilli()
	return db.InTx(ctx, func(tx *database.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM api_rate_calls WHERE key_id LIKE 'hub-guest:%' AND at <= ?`, since); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM api_rate_keys WHERE key_id LIKE 'hub-guest:%'
			AND NOT EXISTS (SELECT 1 FROM api_rate_calls c WHERE c.key_id = api_rate_keys.key_id)`)
		return err
	})
}

// PurgePeriodically runs the purge hourly and once at start.
func PurgePeriodically() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, jobs.ShopOpts(0) },
		&river.PeriodicJobOpts{RunOnStart: true})
}
