package server

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/guest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/loopsync"
	"github.com/hubdesk/hubdesk/internal/mailin"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shopifyhooks"
	"github.com/hubdesk/hubdesk/internal/shopifysync"
	"github.com/hubdesk/hubdesk/internal/staff"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// expiredSessionsArgs asks for expired sessions to be removed, every
// hour and once at start: upkeep of no shop in particular.
type expiredSessionsArgs struct{}

func (expiredSessionsArgs) Kind() string { return "sessions_expired_delete" }
func (expiredSessionsArgs) Shop() int64  { return 0 }

type expiredSessionsWorker struct {
	river.WorkerDefaults[expiredSessionsArgs]
	users *user.Store
}

func (w *expiredSessionsWorker) Work(ctx context.Context, _ *river.Job[expiredSessionsArgs]) error {
	_, err := w.users.DeleteExpiredSessions(ctx)
	return err
}

// statisticsArgs asks for the query planner's statistics to be brought
// up to date on SQLite, daily and once at start (PostgreSQL's autovacuum
// does it there): plans for a shop that has grown are chosen from its
// present size. Upkeep of no shop in particular.
type statisticsArgs struct{}

func (statisticsArgs) Kind() string { return "database_statistics_refresh" }
func (statisticsArgs) Shop() int64  { return 0 }

type statisticsWorker struct {
	river.WorkerDefaults[statisticsArgs]
	db *database.DB
}

func (w *statisticsWorker) Work(ctx context.Context, _ *river.Job[statisticsArgs]) error {
	return w.db.RefreshStatistics(ctx)
}

// emailHandler files mail through the server's helpdesk, which is built
// after the job queue it enqueues on.
type emailHandler struct{ s *Server }

func (h emailHandler) handler() mailin.Handler {
	return mailin.Handler{Tickets: h.s.Helpdesk, Logger: h.s.logger}
}

func (h emailHandler) Handle(ctx context.Context, tx *database.Tx, ev *intake.Event) error {
	return h.handler().Handle(ctx, tx, ev)
}

func (h emailHandler) HandleOutcome(ctx context.Context, tx *database.Tx, ev *intake.Event) (string, error) {
	return h.handler().HandleOutcome(ctx, tx, ev)
}

// newJobs makes the process's job queue with the work every hubdesk
// process does.
func (s *Server) newJobs() (*jobs.Queue, error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &expiredSessionsWorker{users: s.Users})
	river.AddWorker(workers, &statisticsWorker{db: s.opts.DB})
	process := &intake.ProcessWorker{DB: s.opts.DB, Now: s.opts.Now,
		Handlers: map[intake.Provider]intake.Handler{intake.ProviderLoop: s.LoopSync.Handler(), intake.ProviderEmail: emailHandler{s},
			intake.ProviderShopify: s.ShopifyHooks}}
	river.AddWorker(workers, process)
	s.LoopSync.AddWorkers(workers)
	s.ShopifyConnect.AddWorkers(workers)
	s.ShopifySync.AddWorkers(workers)
	retention := s.opts.WebhookRetention
	if retention <= 0 {
		retention = intake.DefaultRetention
	}
	river.AddWorker(workers, &staff.MailWorker{Users: s.Users, Shops: s.Shops, Box: s.opts.Box, Sender: s.opts.Mail,
		BaseURL: s.opts.BaseURL, Logger: s.logger})
	river.AddWorker(workers, &helpdesk.NotificationMailWorker{Tickets: ticket.NewStore(s.opts.DB, s.opts.Now), Users: s.Users,
		Shops: s.Shops, Sender: s.opts.Mail, BaseURL: s.opts.BaseURL, Logger: s.logger})
	river.AddWorker(workers, &guest.Worker{DB: s.opts.DB, Commerce: s.Commerce, Shops: s.Shops, Settings: s.Settings,
		Box: s.opts.Box, Sender: s.opts.Mail, BaseURL: s.opts.BaseURL, Now: s.opts.Now, Logger: s.logger})
	river.AddWorker(workers, &guest.PurgeWorker{DB: s.opts.DB, Now: s.opts.Now})
	river.AddWorker(workers, &helpdesk.ShopperMailWorker{Tickets: ticket.NewStore(s.opts.DB, s.opts.Now), Users: s.Users,
		Shops: s.Shops, Settings: s.Settings, Sender: s.opts.Mail, Logger: s.logger})
	river.AddWorker(workers, &intake.PurgeWorker{DB: s.opts.DB, Retention: retention, MailRetention: s.opts.MailRetention, Now: s.opts.Now})
	river.AddWorker(workers, &shopifyhooks.PurgeClaimsWorker{DB: s.opts.DB, Retention: retention, Now: s.opts.Now})
	river.AddWorker(workers, &orderview.EligibilityWorker{Commerce: s.Commerce, Settings: s.Settings,
		Cache: returns.NewEligibilityCache(s.opts.DB), Loop: returns.LoopLinker{Client: s.Loop}, Now: s.opts.Now})
	timeout := s.opts.JobTimeout
	if timeout <= 0 {
		timeout = jobs.DefaultJobTimeout
	}
	periodic := []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return expiredSessionsArgs{}, jobs.ShopOpts(0) },
		&river.PeriodicJobOpts{RunOnStart: true}), intake.PurgePeriodically(), shopifyhooks.PurgeClaimsPeriodically(), guest.PurgePeriodically(), s.LoopSync.Periodic()}
	if s.opts.DB.Dialect == database.SQLite {
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return statisticsArgs{}, jobs.ShopOpts(0) },
			&river.PeriodicJobOpts{RunOnStart: true}))
	}
	periodic = append(periodic, s.ShopifyConnect.Periodic()...)
	if s.opts.ShopifyClients != nil {
		// Backfills to resume exist only where shops can reach Shopify.
		periodic = append(periodic, s.ShopifySync.Periodic())
	}
	queue, err := jobs.New(s.opts.DB, jobs.Options{
		Workers:              workers,
		JobTimeout:           timeout,
		RescueStuckJobsAfter: jobs.RescueAfter(timeout),
		CompletedRetention:   s.opts.JobRetention,
		Periodic:             periodic,
		// A burst of webhooks is processed as many jobs, one per group of
		// deliveries committed together. River's 100 ms between fetches
		// took about MaxWorkers × 10 of them a second, and processing fell
		// behind intake: on SQLite 7,700 Loop events a second acknowledged,
		// 860 processed; with 10 ms (as the named queues have) a burst is
		// processed as it arrives (harness: 4,467 Loop and 3,195 Shopify
		// events a second, each processed within seconds).
		FetchCooldown: 10 * time.Millisecond,
		Queues:        map[string]int{loopsync.Queue: loopsync.RefreshWorkers, shopifysync.RefreshQueue: shopifysync.RefreshWorkers},
		Logger:        s.logger,
	})
	// A group's failed events get jobs of their own on this queue.
	process.Queue = queue
	return queue, err
}
