// Package shopifysync fills and refreshes a shop's commerce data from
// Shopify's Admin GraphQL API, never making a page wait on Shopify:
//
//   - a full backfill through a bulk operation — started, waited for
//     (polled; the bulk_operations/finish webhook nudges it), its JSONL
//     streamed with __parentId stitching and stored in batches through the
//     ingest use case, the byte offset of the next order committed with
//     each batch, so a crash resumes where it stopped with no duplicates
//     and no gaps, in bounded memory whatever the size;
//   - the background refresh of a customer's orders when the hub or a
//     ticket opens and what is stored is older than the freshness limit.
//
// Every Shopify call runs in a job. Stored data follows Shopify's own
// updated_at: an older copy never overwrites a newer one (commerce's
// upserts), so a backfill and the webhooks may interleave in any order.
package shopifysync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
)

// Clients gives a shop's Admin API client, authenticated by the shop's
// Shopify connection. It answers ErrNotConnected when the shop has none.
type Clients interface {
	AdminClient(ctx context.Context, shopID int64) (*shopify.Client, error)
}

// ErrNotConnected: the shop has no Shopify connection to sync through.
var ErrNotConnected = errors.New("shopifysync: shop not connected to Shopify")

// Defaults of the Options.
const (
	DefaultPollInterval = 5 * time.Second
	DefaultBatchSize    = 250
	DefaultLeaseTTL     = 30 * time.Second
	// DefaultSlice is how long one run of the backfill job works before it
	// hands over to the next run (a snooze): well inside the job timeout,
	// so a backfill of any size never looks like a hung job.
	DefaultSlice = 2 * time.Minute
	// DefaultFreshAfter is how old a customer's stored orders may be
	// before opening the hub or a ticket refreshes them. Webhooks keep
	// them current; the refresh guards against lost ones.
	DefaultFreshAfter = 5 * time.Minute
)

// Options build a Syncer.
type Options struct {
	DB       *database.DB
	Clients  Clients
	Commerce *commerce.Store
	Queue    *jobs.Queue
	Box      *secret.Box // seals the bulk result URL at rest
	Logger   *slog.Logger
	Now      func() time.Time

	PollInterval time.Duration
	BatchSize    int
	LeaseTTL     time.Duration
	Slice        time.Duration
	FreshAfter   time.Duration
	// ResumeInterval is how often unfinished backfills nobody works on
	// are resumed (default a minute).
	ResumeInterval time.Duration
}

// Syncer is the use case.
type Syncer struct {
	opts    Options
	store   *Store
	records *returns.Records
	log     *slog.Logger
	now     func() time.Time
	owner   string // this process's name, the prefix of its runs' names on a backfill's lease

	mu     sync.Mutex
	runs   int64
	nudges map[int64]chan struct{}
}

// New returns the syncer.
func New(opts Options) *Syncer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.Slice <= 0 {
		opts.Slice = DefaultSlice
	}
	if opts.ResumeInterval <= 0 {
		opts.ResumeInterval = time.Minute
	}
	if opts.FreshAfter <= 0 {
		opts.FreshAfter = DefaultFreshAfter
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Syncer{opts: opts, store: NewStore(opts.DB), records: returns.NewRecords(opts.DB), log: opts.Logger,
		now: opts.Now, owner: hex.EncodeToString(b[:]), nudges: map[int64]chan struct{}{}}
}

// SetQueue gives the syncer its job queue, made after the syncer (the
// queue's workers include the syncer's own).
func (s *Syncer) SetQueue(q *jobs.Queue) { s.opts.Queue = q }

// Store is the syncer's store.
func (s *Syncer) Store() *Store { return s.store }

// inFlight are the states in which a refresh blocks another of the same
// customer.
var inFlight = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// AddWorkers registers the syncer's workers.
func (s *Syncer) AddWorkers(w *river.Workers) {
	river.AddWorker(w, &backfillWorker{s: s})
	river.AddWorker(w, &resumeWorker{s: s})
	river.AddWorker(w, &refreshCustomerWorker{s: s})
}

// Periodic is the job that resumes every unfinished backfill nobody works
// on, at start and every ResumeInterval (after a crash, a lost job).
func (s *Syncer) Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(s.opts.ResumeInterval),
		func() (river.JobArgs, *river.InsertOpts) { return ResumeArgs{}, jobs.ShopOpts(0) },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// Nudge wakes this process's wait for the shop's bulk operation (the
// bulk_operations/finish webhook calls it); other processes poll.
func (s *Syncer) Nudge(shopID int64) {
	s.mu.Lock()
	ch := s.nudges[shopID]
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (s *Syncer) nudgeChan(shopID int64) (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.nudges[shopID] = ch
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		if s.nudges[shopID] == ch {
			delete(s.nudges, shopID)
		}
		s.mu.Unlock()
	}
}

// newOwner names one run of the backfill job on the lease: two runs in
// one process must not share it.
func (s *Syncer) newOwner() string {
	s.mu.Lock()
	s.runs++
	n := s.runs
	s.mu.Unlock()
	return s.owner + "-" + strconv.FormatInt(n, 10)
}

func (s *Syncer) client(ctx context.Context, shopID int64) (*shopify.Client, error) {
	if s.opts.Clients == nil {
		return nil, ErrNotConnected
	}
	return s.opts.Clients.AdminClient(ctx, shopID)
}
