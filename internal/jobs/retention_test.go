package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// TestFinishedJobsArePurgedAfterTheirRetention: the leader deletes
// completed jobs older than CompletedRetention, and keeps a dead job,
// which staff may still read and retry, for DeadRetention.
func TestFinishedJobsArePurgedAfterTheirRetention(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		createEffects(t, db)
		workers := river.NewWorkers()
		river.AddWorker(workers, &countWorker{db: db})
		river.AddWorker(workers, &jobstest.FailWorker{})
		first, err := jobs.New(db, jobs.Options{Workers: workers, FetchCooldown: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Start(ctx); err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *database.Tx) error {
			for n := range 3 {
				if _, err := first.Enqueue(ctx, tx, countArgs{ShopID: 1, N: int64(n)}, nil); err != nil {
					return err
				}
			}
			_, err := first.Enqueue(ctx, tx, jobstest.FailArgs{ShopID: 1}, &river.InsertOpts{MaxAttempts: 1})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "the jobs finished", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM river_job WHERE state IN ('completed', 'discarded')`) == 4
		})
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := first.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}

		// A process keeping completed jobs a millisecond cleans as it
		// becomes the leader.
		startQueue(t, db, jobs.Options{Workers: workers, CompletedRetention: time.Millisecond})
		jobstest.Eventually(t, "the completed jobs purged", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM river_job WHERE state = 'completed'`) == 0
		})
		if n := count(t, db, `SELECT COUNT(*) FROM river_job WHERE state = 'discarded'`); n != 1 {
			t.Errorf("%d dead jobs kept, want the one", n)
		}
	})
}
