// Package jobs is hubdesk's durable job queue, on River over the same
// database as everything else: a job enqueued inside a use case's
// transaction exists exactly when the transaction commits, survives a
// restart, is retried with backoff when it fails and is kept, with its
// errors, when it gives up, for staff to see and retry.
//
// Each process runs one Queue. On PostgreSQL it works jobs through pgx's
// native pool (LISTEN wakes it when a job is inserted) and inserts them
// through database/sql, inside the caller's transaction. On SQLite
// everything runs on the database's single write connection: River's
// reads and writes take their turn with the stores' write transactions
// instead of contending for SQLite's one write lock, and a job inserted
// inside a transaction uses the connection that transaction already holds.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Args are a job's arguments: River's (a Kind and JSON fields) and the
// shop the job works for, carried in the arguments so that each shop's
// staff see their own jobs and never another shop's. Upkeep that belongs
// to no shop (expired sessions) says shop 0 and is listed for nobody.
type Args interface {
	river.JobArgs
	Shop() int64
}

// Options configure a process's queue.
type Options struct {
	// Workers holds the worker of every kind this process works
	// (river.AddWorker); at least one.
	Workers *river.Workers
	// Periodic jobs are enqueued by whichever process is River's elected
	// leader, so once per period across all processes.
	Periodic []*river.PeriodicJob
	// MaxWorkers is how many jobs this process works at once; 10 when 0.
	MaxWorkers int
	// Queues are named queues besides the default one, each with how many
	// of its jobs this process works at once: work that must not wait
	// behind the default queue's (an open ticket's refreshes) and whose
	// concurrency is bounded on its own.
	Queues map[string]int
	// FetchCooldown is the shortest pause between two fetches of work,
	// which sets the throughput (River's 100 ms when 0: about MaxWorkers ×
	// 10 jobs a second).
	FetchCooldown time.Duration
	// RetryPolicy decides when a failed job runs again; River's default
	// (attempt⁴ seconds, with jitter) when nil. Tests shorten it.
	RetryPolicy river.ClientRetryPolicy
	// JobTimeout is how long one attempt may run before its context is
	// cancelled (River's minute when 0; production passes
	// HUBDESK_JOB_TIMEOUT, DefaultJobTimeout unless set).
	JobTimeout time.Duration
	// RescueStuckJobsAfter is how long a job may stay running before the
	// leader takes it for stuck (its process died mid-job) and queues it
	// again (River's hour when 0; production passes RescueAfter of its job
	// timeout); more than JobTimeout. Tests shorten both.
	RescueStuckJobsAfter time.Duration
	// CompletedRetention is how long a completed job stays listed before
	// the leader deletes it (DefaultCompletedRetention when 0; production
	// passes HUBDESK_JOB_RETENTION). Dead and cancelled jobs, which staff
	// may still look into and retry, are kept DeadRetention.
	CompletedRetention time.Duration
	Logger             *slog.Logger
}

// DefaultCompletedRetention is how long completed jobs are kept unless
// HUBDESK_JOB_RETENTION says otherwise: a day of done work to look back
// on under Settings → Jobs, without the table growing by every webhook.
const DefaultCompletedRetention = 24 * time.Hour

// DeadRetention is how long dead and cancelled jobs (a webhook event that
// failed for good among them) are kept for staff to read and retry.
const DeadRetention = 7 * 24 * time.Hour

// DefaultJobTimeout is how long one attempt of a job may run in
// production (HUBDESK_JOB_TIMEOUT) before its context is cancelled and the
// attempt counts as failed. hubdesk's jobs — processing a webhook event,
// sending mail, a provider sync page — take seconds; five minutes leaves
// room for a slow provider and its retries without letting a hung attempt
// hold a worker for long. A worker that legitimately runs longer (none
// today) sets its own limit with River's per-worker Timeout method, and
// then needs RescueStuckJobsAfter raised above it too: the rescuer does
// not know about per-worker timeouts and would take it for stuck.
const DefaultJobTimeout = 5 * time.Minute

// RescueMargin is how much longer than the job timeout a job may stay
// running before the leader takes it for stuck (its process died mid-job)
// and queues it again: time for an attempt whose context was cancelled at
// the timeout to return and record its outcome, so a live attempt is not
// run twice.
const RescueMargin = time.Minute

// RescueAfter is when a job running under timeout counts as stuck.
func RescueAfter(timeout time.Duration) time.Duration { return timeout + RescueMargin }

// StopTimeout is how long a stopping process gives running jobs to
// finish (the deadline it passes to Stop); a job cancelled after it goes
// back to the queue and runs again later.
const StopTimeout = 20 * time.Second

// Queue is one process's client of the job queue.
type Queue struct {
	db *database.DB
	// tx is the client on database/sql: it inserts jobs in a caller's
	// *sql.Tx and reads and retries them for staff. On SQLite it also
	// works them.
	tx *river.Client[*sql.Tx]
	// work configures the PostgreSQL worker, made by Start.
	work *river.Config
	// worker and pool work the jobs on PostgreSQL (nil on SQLite).
	worker *river.Client[pgx.Tx]
	pool   *pgxpool.Pool
	// poolExtra is the named queues' workers, for the native pool's size.
	poolExtra int
}

// namedQueueCooldown is the shortest pause between two fetches of a named
// queue.
const namedQueueCooldown = 10 * time.Millisecond

// New makes the process's queue, ready to enqueue and list jobs; Start
// begins working them.
func New(db *database.DB, opts Options) (*Queue, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	maxWorkers := opts.MaxWorkers
	if maxWorkers <= 0 {
		maxWorkers = 10
	}
	work := &river.Config{
		Logger:               logger.With("component", "jobs"),
		Workers:              opts.Workers,
		PeriodicJobs:         opts.Periodic,
		FetchCooldown:        opts.FetchCooldown,
		RetryPolicy:          opts.RetryPolicy,
		JobTimeout:           opts.JobTimeout,
		RescueStuckJobsAfter: opts.RescueStuckJobsAfter,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		// The leader deletes finished jobs past these ages every 30 s.
		CompletedJobRetentionPeriod: cmp.Or(opts.CompletedRetention, DefaultCompletedRetention),
		CancelledJobRetentionPeriod: DeadRetention,
		DiscardedJobRetentionPeriod: DeadRetention,
	}
	extra := 0
	for name, n := range opts.Queues {
		// A named queue is for work someone waits on: it fetches again
		// soon after a job of it is inserted or done, not River's 100 ms.
		work.Queues[name] = river.QueueConfig{MaxWorkers: max(1, n), FetchCooldown: namedQueueCooldown}
		extra += max(1, n)
	}
	q := &Queue{db: db, work: work, poolExtra: extra}
	var err error
	if db.Dialect == database.SQLite {
		q.tx, err = river.NewClient(sqlDriver(db), work)
	} else {
		// No queues: this client only inserts, reads and retries, on the
		// stores' own pool and transactions.
		q.tx, err = river.NewClient(sqlDriver(db), &river.Config{Logger: work.Logger, Workers: opts.Workers})
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return q, nil
}

// sqlDriver is River's driver over the database's write pool.
func sqlDriver(db *database.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect == database.SQLite {
		return riversqlite.New(db.WritePool())
	}
	return riverdatabasesql.New(db.WritePool())
}

// Start begins working jobs (and, if elected leader, enqueuing periodic
// ones) until Stop. Cancelling ctx cancels running jobs at once, so a
// graceful caller passes one that outlives its own and calls Stop.
func (q *Queue) Start(ctx context.Context) error {
	if q.db.Dialect == database.SQLite {
		return q.tx.Start(ctx)
	}
	pool, err := q.db.NativePool(ctx, int32(q.work.Queues[river.QueueDefault].MaxWorkers+q.poolExtra)+5)
	if err != nil {
		return err
	}
	worker, err := river.NewClient(riverpgxv5.New(pool), q.work)
	if err == nil {
		err = worker.Start(ctx)
	}
	if err != nil {
		pool.Close()
		return fmt.Errorf("jobs: %w", err)
	}
	q.pool, q.worker = pool, worker
	return nil
}

// Stop ends the working gracefully: no new job is fetched, running jobs
// get until ctx ends to finish, then their contexts are cancelled and
// whatever they did not finish goes back to the queue, to run again.
func (q *Queue) Stop(ctx context.Context) error {
	if q.db.Dialect == database.SQLite {
		return stop(ctx, q.tx)
	}
	if q.worker == nil {
		return nil
	}
	defer q.pool.Close()
	return stop(ctx, q.worker)
}

func stop[TTx any](ctx context.Context, c *river.Client[TTx]) error {
	err := c.Stop(ctx)
	if ctx.Err() != nil {
		err = c.StopAndCancel(context.WithoutCancel(ctx))
	}
	return err
}

// Enqueue adds a job inside tx: it runs once tx commits, and never if tx
// rolls back. opts may be nil; opts.UniqueOpts makes a job that is already
// queued a duplicate (the result says UniqueSkippedAsDuplicate) instead of
// a second job.
func (q *Queue) Enqueue(ctx context.Context, tx *database.Tx, args Args, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	var withShop river.InsertOpts
	if opts != nil {
		withShop = *opts
	}
	withShop.Tags = append(append([]string(nil), withShop.Tags...), shopTag(args.Shop()))
	res, err := q.tx.InsertTx(ctx, tx.SQLTx(), args, &withShop)
	if err != nil {
		return nil, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return res, nil
}

// NewJob is one job for EnqueueMany.
type NewJob struct {
	Args Args
	Opts *river.InsertOpts
}

// EnqueueMany adds jobs inside tx in one insert, as Enqueue adds one: a
// burst of work (a group of webhook deliveries) costs one statement
// instead of one each.
func (q *Queue) EnqueueMany(ctx context.Context, tx *database.Tx, list []NewJob) ([]*rivertype.JobInsertResult, error) {
	if len(list) == 0 {
		return nil, nil
	}
	params := make([]river.InsertManyParams, len(list))
	for i, j := range list {
		var withShop river.InsertOpts
		if j.Opts != nil {
			withShop = *j.Opts
		}
		withShop.Tags = append(append([]string(nil), withShop.Tags...), shopTag(j.Args.Shop()))
		params[i] = river.InsertManyParams{Args: j.Args, InsertOpts: &withShop}
	}
	res, err := q.tx.InsertManyTx(ctx, tx.SQLTx(), params)
	if err != nil {
		return nil, fmt.Errorf("enqueue %d jobs: %w", len(list), err)
	}
	return res, nil
}

// ShopOpts are the insert options of a periodic job for shop: the tag
// that lists it with the shop's jobs.
func ShopOpts(shop int64) *river.InsertOpts {
	return &river.InsertOpts{Tags: []string{shopTag(shop)}}
}

// shopTag marks a job with the shop it works for; the lists filter by it.
func shopTag(shop int64) string { return "shop-" + strconv.FormatInt(shop, 10) }

// Migrate creates or updates River's own tables, under the same lock as
// hubdesk's migrations so that several processes starting at once apply
// each once.
func Migrate(ctx context.Context, db *database.DB) error {
	m, err := rivermigrate.New(sqlDriver(db), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return db.WithMigrationLock(ctx, func(ctx context.Context) error {
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		return nil
	})
}

// ErrNotFound means the job does not exist or belongs to another shop,
// which callers must not be able to tell apart.
var ErrNotFound = errors.New("job not found")
