package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// countArgs is a job whose effect is a row keyed by N: running it twice
// would count 2.
type countArgs struct {
	ShopID int64 `json:"shop_id"`
	N      int64 `json:"n"`
}

func (countArgs) Kind() string  { return "test_count" }
func (a countArgs) Shop() int64 { return a.ShopID }

type countWorker struct {
	river.WorkerDefaults[countArgs]
	db *database.DB
}

func (w *countWorker) Work(ctx context.Context, job *river.Job[countArgs]) error {
	return w.db.InTx(ctx, func(tx *database.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO test_effects (n, runs) VALUES (?, 1)
			ON CONFLICT (n) DO UPDATE SET runs = test_effects.runs + 1`, job.Args.N)
		return err
	})
}

// createEffects makes the table the count jobs write to.
func createEffects(t *testing.T, db *database.DB) {
	t.Helper()
	if _, err := db.Exec(context.Background(), `CREATE TABLE test_effects (n BIGINT PRIMARY KEY, runs INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

// startQueue starts a queue that is stopped when the test ends.
func startQueue(t *testing.T, db *database.DB, opts jobs.Options) *jobs.Queue {
	t.Helper()
	if opts.FetchCooldown == 0 {
		opts.FetchCooldown = 5 * time.Millisecond
	}
	q, err := jobs.New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	jobstest.Work(t, q)
	return q
}

func count(t *testing.T, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestThousandJobsOverThreeWorkersRunOnceEach(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		createEffects(t, db)
		var queues []*jobs.Queue
		for range 3 {
			workers := river.NewWorkers()
			river.AddWorker(workers, &countWorker{db: db})
			queues = append(queues, startQueue(t, db, jobs.Options{Workers: workers, MaxWorkers: 5}))
		}
		const total = 1000
		err := db.InTx(ctx, func(tx *database.Tx) error {
			for n := range total {
				if _, err := queues[n%3].Enqueue(ctx, tx, countArgs{ShopID: 1, N: int64(n)}, nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "every job completed", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM river_job WHERE state = 'completed'`) == total
		})
		if n := count(t, db, `SELECT COUNT(*) FROM test_effects`); n != total {
			t.Errorf("%d effects, want %d", n, total)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM test_effects WHERE runs <> 1`); n != 0 {
			t.Errorf("%d jobs ran more than once", n)
		}
	})
}

func TestEnqueueJoinsTheCallersTransaction(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		createEffects(t, db)
		workers := river.NewWorkers()
		river.AddWorker(workers, &countWorker{db: db})
		q := startQueue(t, db, jobs.Options{Workers: workers})

		// The caller's own write and the job in one transaction, while the
		// queue works on the same database: on SQLite both share the one
		// write connection, which must not deadlock.
		rollback := errors.New("changed my mind")
		err := db.InTx(ctx, func(tx *database.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO test_effects (n, runs) VALUES (-1, 0)`); err != nil {
				return err
			}
			if _, err := q.Enqueue(ctx, tx, countArgs{ShopID: 1, N: 7}, nil); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM river_job`); n != 0 {
			t.Errorf("a rolled-back transaction left %d jobs", n)
		}

		err = db.InTx(ctx, func(tx *database.Tx) error {
			_, err := q.Enqueue(ctx, tx, countArgs{ShopID: 1, N: 7}, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "the committed job ran", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM test_effects WHERE n = 7`) == 1
		})
		if n := count(t, db, `SELECT COUNT(*) FROM test_effects WHERE n = -1`); n != 0 {
			t.Errorf("the rolled-back write stayed")
		}
	})
}

func TestUniqueJobIsEnqueuedOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		workers := river.NewWorkers()
		river.AddWorker(workers, &countWorker{db: db})
		q, err := jobs.New(db, jobs.Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		unique := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
		var duplicates []bool
		for range 2 {
			err := db.InTx(ctx, func(tx *database.Tx) error {
				res, err := q.Enqueue(ctx, tx, countArgs{ShopID: 1, N: 1}, unique)
				if err == nil {
					duplicates = append(duplicates, res.UniqueSkippedAsDuplicate)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(duplicates) != "[false true]" {
			t.Errorf("duplicates = %v, want [false true]", duplicates)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM river_job`); n != 1 {
			t.Errorf("%d jobs, want 1", n)
		}
	})
}

// recordedBackoff waits attempt milliseconds after a failed attempt and
// remembers which attempts it was asked about.
type recordedBackoff struct {
	mu       sync.Mutex
	attempts []int
}

func (b *recordedBackoff) NextRetry(job *rivertype.JobRow) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts = append(b.attempts, job.Attempt)
	return time.Now().Add(time.Duration(job.Attempt) * time.Millisecond)
}

func TestFailingJobIsRetriedThenDeadThenRetriedByHand(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		worker := &jobstest.FailWorker{}
		workers := river.NewWorkers()
		river.AddWorker(workers, worker)
		backoff := &recordedBackoff{}
		q := startQueue(t, db, jobs.Options{Workers: workers, RetryPolicy: backoff})
		err := db.InTx(ctx, func(tx *database.Tx) error {
			_, err := q.Enqueue(ctx, tx, jobstest.FailArgs{ShopID: 1}, &river.InsertOpts{MaxAttempts: 3})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var dead []jobs.Job
		jobstest.Eventually(t, "the job gave up", func() bool {
			dead, _, err = q.List(ctx, 1, jobs.Dead, database.Page{})
			return err == nil && len(dead) == 1
		})
		job := dead[0]
		if job.Attempt != 3 || len(job.Errors) != 3 || job.Errors[2].Error != "platform unreachable (attempt 3)" {
			t.Errorf("dead job = %+v, want 3 attempts with their errors", job)
		}
		backoff.mu.Lock()
		if fmt.Sprint(backoff.attempts) != "[1 2]" {
			t.Errorf("backoff asked after attempts %v, want [1 2]", backoff.attempts)
		}
		backoff.mu.Unlock()

		if other, _, _ := q.List(ctx, 2, jobs.Failed, database.Page{}); len(other) != 0 {
			t.Errorf("shop 2 sees shop 1's jobs: %+v", other)
		}
		if _, err := q.Retry(ctx, 2, job.ID); !errors.Is(err, jobs.ErrNotFound) {
			t.Errorf("shop 2 retrying shop 1's job: %v, want ErrNotFound", err)
		}

		worker.Healed.Store(true)
		if _, err := q.Retry(ctx, 1, job.ID); err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "the retried job completed", func() bool {
			done, _, err := q.List(ctx, 1, jobs.Done, database.Page{})
			return err == nil && len(done) == 1 && done[0].ID == job.ID
		})
	})
}

type blockArgs struct {
	ShopID int64 `json:"shop_id"`
}

func (blockArgs) Kind() string  { return "test_block" }
func (a blockArgs) Shop() int64 { return a.ShopID }

// blockWorker signals that it started, then waits for release or for
// its context to end.
type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started chan struct{}
	release chan struct{}
}

func (w *blockWorker) Work(ctx context.Context, job *river.Job[blockArgs]) error {
	w.started <- struct{}{}
	select {
	case <-w.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestStopLetsRunningJobsFinishOrHandsThemBack(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		for _, tc := range []struct {
			name      string
			finish    bool
			wantState rivertype.JobState
		}{
			{"finishes", true, rivertype.JobStateCompleted},
			{"handed back", false, rivertype.JobStateAvailable},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := db.Exec(ctx, `DELETE FROM river_job`); err != nil {
					t.Fatal(err)
				}
				worker := &blockWorker{started: make(chan struct{}, 1), release: make(chan struct{})}
				workers := river.NewWorkers()
				river.AddWorker(workers, worker)
				// A failed attempt is due again at once, so a job handed back
				// is available.
				q, err := jobs.New(db, jobs.Options{Workers: workers, FetchCooldown: 5 * time.Millisecond, RetryPolicy: &recordedBackoff{}})
				if err != nil {
					t.Fatal(err)
				}
				if err := q.Start(ctx); err != nil {
					t.Fatal(err)
				}
				err = db.InTx(ctx, func(tx *database.Tx) error {
					_, err := q.Enqueue(ctx, tx, blockArgs{ShopID: 1}, nil)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				<-worker.started
				stopCtx, cancel := context.WithCancel(ctx)
				if tc.finish {
					close(worker.release)
				} else {
					cancel() // no time left: running jobs are cancelled
				}
				if err := q.Stop(stopCtx); err != nil {
					t.Errorf("Stop: %v", err)
				}
				cancel()
				var state string
				if err := db.QueryRow(ctx, `SELECT state FROM river_job`).Scan(&state); err != nil {
					t.Fatal(err)
				}
				if rivertype.JobState(state) != tc.wantState {
					t.Errorf("after Stop the job is %s, want %s", state, tc.wantState)
				}
			})
		}
	})
}
