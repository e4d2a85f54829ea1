package jobs_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// workerDatabaseEnv, set in a re-executed test binary, makes it a worker
// process of the PostgreSQL database it names (see TestJobWorkerProcess).
const workerDatabaseEnv = "HUBDESK_TEST_JOBS_WORKER_DATABASE"

// TestJobWorkerProcess is not a test but the body of the worker processes
// the tests below start: a queue on the database, working count and
// stuck jobs until its stdin closes or it gets SIGTERM.
func TestJobWorkerProcess(t *testing.T) {
	databaseURL := os.Getenv(workerDatabaseEnv)
	if databaseURL == "" {
		t.Skip("runs only as a worker process started by another test")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	db, err := database.OpenPostgres(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := jobs.New(db, jobs.Options{Workers: processWorkers(db), MaxWorkers: 5, FetchCooldown: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelStop()
	if err := q.Stop(stopCtx); err != nil {
		t.Error(err)
	}
}

// processWorkers are the workers of every process in these tests.
func processWorkers(db *database.DB) *river.Workers {
	workers := river.NewWorkers()
	river.AddWorker(workers, &countWorker{db: db})
	river.AddWorker(workers, &stuckWorker{db: db})
	return workers
}

// startWorkerProcess re-executes the test binary as a worker process of
// the database; closing the returned stdin stops it gracefully.
func startWorkerProcess(t *testing.T, databaseURL string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJobWorkerProcess$")
	cmd.Env = append(os.Environ(), workerDatabaseEnv+"="+databaseURL)
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A process the test did not stop is killed, never left behind.
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, stdin
}

// forEachMultiProcessEngine runs fn on PostgreSQL, with the database's URL
// for the worker processes. SQLite is skipped: several processes on one
// SQLite file are not a supported deployment.
func forEachMultiProcessEngine(t *testing.T, fn func(t *testing.T, db *database.DB, databaseURL string)) {
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			if d == database.SQLite {
				t.Skip("several processes on one SQLite file are not a supported deployment")
			}
			db, databaseURL := dbtest.OpenPostgresWithURL(t)
			fn(t, db, databaseURL)
		})
	}
}

// enqueue commits args as a job, through a queue that only enqueues.
func enqueue(t *testing.T, db *database.DB, args ...jobs.Args) {
	t.Helper()
	ctx := context.Background()
	q, err := jobs.New(db, jobs.Options{Workers: processWorkers(db)})
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *database.Tx) error {
		for _, a := range args {
			if _, err := q.Enqueue(ctx, tx, a, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestThousandJobsOverThreeProcessesRunOnceEach(t *testing.T) {
	forEachMultiProcessEngine(t, func(t *testing.T, db *database.DB, databaseURL string) {
		createEffects(t, db)
		var processes []*exec.Cmd
		var stdins []io.WriteCloser
		for range 3 {
			cmd, stdin := startWorkerProcess(t, databaseURL)
			processes, stdins = append(processes, cmd), append(stdins, stdin)
		}
		const total = 1000
		args := make([]jobs.Args, total)
		for n := range total {
			args[n] = countArgs{ShopID: 1, N: int64(n)}
		}
		enqueue(t, db, args...)

		jobstest.Eventually(t, "every job took effect", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM test_effects`) == total
		})
		for i, cmd := range processes {
			stdins[i].Close()
			if err := cmd.Wait(); err != nil {
				t.Errorf("worker process %d: %v", i, err)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM test_effects WHERE runs <> 1`); n != 0 {
			t.Errorf("%d jobs took effect more than once", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM river_job WHERE state = 'completed' AND attempt = 1`); n != total {
			t.Errorf("%d jobs completed at their first attempt, want %d", n, total)
		}
		t.Logf("worked by %d processes", count(t, db, `SELECT COUNT(DISTINCT attempted_by[1]) FROM river_job`))
	})
}

// stuckArgs is a job that records each attempt, then waits for a release
// row before it takes effect: a process killed while it waits dies
// mid-job.
type stuckArgs struct {
	ShopID int64 `json:"shop_id"`
}

func (stuckArgs) Kind() string  { return "test_stuck" }
func (a stuckArgs) Shop() int64 { return a.ShopID }

type stuckWorker struct {
	river.WorkerDefaults[stuckArgs]
	db *database.DB
}

func (w *stuckWorker) Work(ctx context.Context, job *river.Job[stuckArgs]) error {
	if _, err := w.db.Exec(ctx, `INSERT INTO test_attempts (attempt) VALUES (?)`, job.Attempt); err != nil {
		return err
	}
	for {
		var released int
		if err := w.db.QueryRow(ctx, `SELECT COUNT(*) FROM test_release`).Scan(&released); err != nil {
			return err
		}
		if released > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	_, err := w.db.Exec(ctx, `INSERT INTO test_effects (n, runs) VALUES (0, 1)
		ON CONFLICT (n) DO UPDATE SET runs = test_effects.runs + 1`)
	return err
}

func TestJobOfKilledProcessIsRescuedAndCompletedOnce(t *testing.T) {
	forEachMultiProcessEngine(t, func(t *testing.T, db *database.DB, databaseURL string) {
		ctx := context.Background()
		createEffects(t, db)
		for _, table := range []string{`CREATE TABLE test_attempts (attempt INTEGER PRIMARY KEY)`, `CREATE TABLE test_release (id INTEGER)`} {
			if _, err := db.Exec(ctx, table); err != nil {
				t.Fatal(err)
			}
		}
		doomed, _ := startWorkerProcess(t, databaseURL)
		enqueue(t, db, stuckArgs{ShopID: 1})
		jobstest.Eventually(t, "the job started in the worker process", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM test_attempts`) == 1
		})
		if err := doomed.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		doomed.Wait()
		if n := count(t, db, `SELECT COUNT(*) FROM river_job WHERE state = 'running'`); n != 1 {
			t.Fatalf("%d running jobs after the kill, want the killed one", n)
		}
		if _, err := db.Exec(ctx, `INSERT INTO test_release (id) VALUES (1)`); err != nil {
			t.Fatal(err)
		}

		// The killed process may have been River's leader, whose lease
		// would lapse only after its TTL: end it now rather than wait.
		if _, err := db.Exec(ctx, `DELETE FROM river_leader`); err != nil {
			t.Fatal(err)
		}
		// The new leader looks for stuck jobs when elected, then only every
		// half minute: start it once the job counts as stuck.
		const stuckAfter = time.Second
		jobstest.Eventually(t, "the job counts as stuck", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM river_job WHERE attempted_at < now() - interval '1500 milliseconds'`) == 1
		})
		startQueue(t, db, jobs.Options{
			Workers:              processWorkers(db),
			JobTimeout:           stuckAfter,
			RescueStuckJobsAfter: stuckAfter,
			RetryPolicy:          &recordedBackoff{},
		})
		jobstest.Eventually(t, "the rescued job completed", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM river_job WHERE state = 'completed'`) == 1
		})
		if n := count(t, db, `SELECT runs FROM test_effects WHERE n = 0`); n != 1 {
			t.Errorf("the job took effect %d times, want once", n)
		}
		if n := count(t, db, `SELECT attempt FROM river_job`); n < 2 {
			t.Errorf("the job completed at attempt %d, want a second attempt after the rescue", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM test_attempts`); n < 2 {
			t.Errorf("%d attempts started, want the killed one and the rescued one", n)
		}
	})
}
