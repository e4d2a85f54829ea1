// Package server assembles hubdesk: it builds the stores and the handlers
// of every surface, lists the routes (routes.go) and wraps them in the
// middleware that all requests share.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/api"
	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/desk"
	"github.com/hubdesk/hubdesk/internal/guest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/hub"
	"github.com/hubdesk/hubdesk/internal/inbound"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/live"
	"github.com/hubdesk/hubdesk/internal/loopsync"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/mail"
	"github.com/hubdesk/hubdesk/internal/metrics"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/privacy"
	"github.com/hubdesk/hubdesk/internal/ratelimit"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/shopifyhooks"
	"github.com/hubdesk/hubdesk/internal/shopifysync"
	"github.com/hubdesk/hubdesk/internal/staff"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
	"github.com/hubdesk/hubdesk/internal/web"
	"github.com/hubdesk/hubdesk/internal/webhook"
)

// Options are what the server needs from the command that starts it.
type Options struct {
	// Profiling serves Go's profiles beside /metrics (HUBDESK_PPROF).
	Profiling     bool
	DB            *database.DB
	Box           *secret.Box
	Logger        *slog.Logger
	BaseURL       string
	SecureCookies bool
	// LoopBaseURL is Loop's API root; empty means the real Loop. The demo
	// and tests point it at the Loop sandbox.
	LoopBaseURL string
	// LoopAPIVersion is the dated Loop API version; loop.DefaultAPIVersion
	// when empty.
	LoopAPIVersion string
	// LoopReconcileInterval is how often each shop is reconciled with
	// Loop; loopsync.DefaultReconcileInterval when 0.
	LoopReconcileInterval time.Duration
	// Proxies may name the client in X-Forwarded-For.
	Proxies auth.Proxies
	// Now is the clock of the hub (signatures, tokens, return windows) and
	// of the tickets (their times, the contact limits); time.Now when nil.
	// Tests step it.
	Now func() time.Time
	// WebhookRetention is how long processed webhook events are kept;
	// intake.DefaultRetention when 0.
	WebhookRetention time.Duration
	// MailRetention is how long processed raw mail is kept;
	// intake.DefaultMailRetention when 0.
	MailRetention time.Duration
	// JobRetention is how long completed jobs are kept;
	// jobs.DefaultCompletedRetention when 0.
	JobRetention time.Duration
	// JobTimeout is how long one attempt of a job may run; a job left
	// running by a process that died is rescued jobs.RescueMargin after
	// it. jobs.DefaultJobTimeout when 0.
	JobTimeout time.Duration
	// Mail sends invitations and password reset links; nil when no mail
	// server is configured (the desk then shows links to copy instead).
	Mail mail.Sender
	// DemoMailbox is the demo's relay, whose mail the desk's demo mailbox
	// page lists; nil (no such page) outside the demo.
	DemoMailbox *demo.Mailbox
	// DemoMailboxShop is the domain of the shop whose staff see the
	// mailbox (the demo's one shop); other shops' staff get 404.
	DemoMailboxShop string
	// Inbound configures mail in: the SMTP listener and the IMAP pollers.
	Inbound InboundOptions
	// ShopifyClients gives each shop's Shopify Admin API client; nil: the
	// client of the shop's Shopify connection (Server.ShopifyConnect).
	ShopifyClients shopifysync.Clients
	// Shopify configures connecting shops to Shopify.
	Shopify ShopifyOptions
}

// ShopifyOptions configure the Shopify connection.
type ShopifyOptions struct {
	// App is hubdesk's public app (install, and the secret verifying the
	// shops installed through it); zero: installs are off.
	App shopifyconnect.App
	// AdminURL replaces https://{shop} for every shop's token endpoint
	// and Admin API; the demo and tests point it at the sandbox.
	AdminURL string
	// APIVersion pins the Admin API version; shopify.DefaultAPIVersion
	// when empty.
	APIVersion string
	// HTTP carries the calls to Shopify (tests); a plain client when nil.
	HTTP *http.Client
}

// InboundOptions configure mail in.
type InboundOptions struct {
	// SMTPListener is where the built-in SMTP listener takes mail; nil
	// when it is off (IMAP import works either way).
	SMTPListener net.Listener
	// SMTPTLS is offered through STARTTLS; nil: no STARTTLS.
	SMTPTLS *tls.Config
	// MailDomain is the domain of the built-in support addresses; ""
	// turns them off.
	MailDomain string
	// IMAPPollInterval: how often a mailbox without IDLE is asked for news.
	IMAPPollInterval time.Duration
	// IMAPDialer connects to mailboxes (tests trust their own
	// certificate); the system's roots when zero.
	IMAPDialer inbound.Dialer
}

// Server is one running hubdesk.
type Server struct {
	opts    Options
	logger  *slog.Logger
	metrics *metrics.Metrics

	Shops    *shop.Store
	Users    *user.Store
	Staff    *staff.Access // issuing and revoking tokens, disabling staff, roles, password resets — audited
	Team     *staff.Team   // invitations and password reset links, mailed by a job — audited
	Commerce *commerce.Store
	// OrdersVersions keeps the orders versions Commerce reads while
	// nothing moved them, told of other processes' moves through NOTIFY
	// on PostgreSQL; Serve runs its listener.
	OrdersVersions *commerce.Versions
	Ingest         *ingest.Orders // orders arriving from other platforms, with the returns that waited for them
	Audit          *audit.Log
	Settings       *settings.Editor // reads and changes the hub and returns settings and the Loop connection, auditing each change
	Returns        *returns.Records // returns reported by the returns platform
	Resolver       *returns.Resolver
	Orders         *orderview.View // every surface's view of orders: status, return eligibility, Start a return
	Loop           *loop.Client
	// LoopSync keeps the stored Loop returns fresh: webhooks, subscriptions,
	// reconciliation, refreshes on ticket open.
	LoopSync *loopsync.Syncer
	Tickets  *ticket.Store // helpdesk conversations (the hub's contact form opens them)
	// Guests: shoppers without an account look an order up and get a
	// one-time link to it by mail.
	Guests   *guest.Lookups
	Helpdesk *helpdesk.Tickets // agents working tickets: create, reply, note, status, assign, tags, merge, spam, block
	// ShopifySync fills and refreshes commerce data from Shopify: the
	// backfill, the refresh of a customer's orders.
	ShopifySync *shopifysync.Syncer

	// Live carries ticket changes and presence to the desk's open pages,
	// across processes through NOTIFY on PostgreSQL; Serve runs its
	// listener.
	Live *live.Bus
	// LivePages serve the desk's event streams; tests shorten their
	// Heartbeat.
	LivePages *desk.LivePages
	Hub       *hub.Hub       // the shopper-facing Customer Hub; IssueShopperToken for headless stores
	Jobs      *jobs.Queue    // durable background work; Serve works it
	Intake    *intake.Intake // webhooks from every provider, stored once and processed by a job
	// ShopifyHooks applies Shopify's webhooks; its Uninstall, Bulk and
	// Refresh are set by whoever provides them (nil: not told).
	ShopifyHooks *shopifyhooks.Handler
	// Privacy carries out Shopify's privacy requests: exports, erasures.
	Privacy *privacy.Requests
	// Attachments are the files of ticket messages, kept in the database.
	Attachments *attachment.Store
	// Macros are the saved replies: managers change them (audited), agents
	// insert them expanded for a ticket.
	Macros *macro.Macros

	// MailRouter finds the shop of an inbound address; MailSettings are
	// the shop's support addresses and IMAP mailbox (Settings → Mail).
	MailRouter   *inbound.Router
	MailSettings *inbound.Settings
	smtp         *inbound.SMTPServer
	imapPollers  *inbound.Pollers

	// ShopifyConnect connects shops to Shopify, keeps their tokens alive
	// and their webhook subscriptions in place; Uninstalled drops the
	// tokens when the app is uninstalled.
	ShopifyConnect *shopifyconnect.Connector

	// Secrets finds the stored secrets this process cannot open (Report
	// at start-up; the settings page's notice).
	Secrets settings.Secrets

	auth     *auth.Authenticator
	desk     *desk.Desk
	api      *api.API
	webhooks *webhook.Receiver

	mux      *http.ServeMux // the route list, for the API's 405 answers
	patterns []string       // the route list's patterns, for Routes
	handler  http.Handler
}

// New builds the server and its routes.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts:    opts,
		logger:  opts.Logger,
		metrics: metrics.New(),
		Shops:   shop.NewStore(opts.DB, opts.Box).WithAppSecret(opts.Shopify.App.ClientSecret),
		Users:   user.NewStore(opts.DB),
		Audit:   audit.New(opts.DB),
		Returns: returns.NewRecords(opts.DB),
	}
	s.OrdersVersions = commerce.NewVersions(opts.DB, opts.Logger)
	s.Commerce = commerce.NewStore(opts.DB).KeepVersions(s.OrdersVersions)
	s.Ingest = ingest.New(opts.DB, s.Commerce, s.Returns)
	s.Staff = staff.New(opts.DB, s.Users, s.Audit)
	// Loop's 300 calls a minute are per key, not per process: on
	// PostgreSQL, where several processes may serve one shop, the window
	// is kept in the database. SQLite has one process, whose own limiter
	// (the client's default) is exact.
	var loopLimiter loop.Limiter
	if opts.DB.Engine() == database.Postgres {
		loopLimiter = ratelimit.NewShared(opts.DB, ratelimit.Options{})
	}
	s.Loop = loop.New(loop.Options{BaseURL: opts.LoopBaseURL, APIVersion: opts.LoopAPIVersion, Registerer: s.metrics.Registry,
		Limiter: loopLimiter, Logger: opts.Logger, UserAgent: "hubdesk"})
	connections := connection.NewStore(opts.DB, opts.Box)
	s.Live = live.NewBus(opts.DB, opts.Now, opts.Logger)
	s.LoopSync = loopsync.New(loopsync.Options{DB: opts.DB, Loop: s.Loop, Connections: connections, Shops: s.Shops, Commerce: s.Commerce,
		Box: opts.Box, Live: s.Live, BaseURL: opts.BaseURL, ReconcileInterval: opts.LoopReconcileInterval, Logger: opts.Logger, Now: opts.Now})
	s.Settings = settings.New(opts.DB, returns.NewStore(opts.DB), connections, s.Audit, settings.LoopKeyChecker{Client: s.Loop})
	s.Settings.WatchLoopKey(s.LoopSync)
	s.Secrets = settings.Secrets{Shops: s.Shops, Connections: connections}
	s.Resolver = returns.NewResolver(returns.LoopLinker{Client: s.Loop}, s.Audit)
	s.Privacy = &privacy.Requests{DB: opts.DB, Commerce: s.Commerce, Tickets: ticket.NewStore(opts.DB, opts.Now), Returns: s.Returns,
		Audit: s.Audit, Events: intake.NewStore(opts.DB), Store: privacy.NewStore(opts.DB), Now: opts.Now}
	s.ShopifyHooks = &shopifyhooks.Handler{Commerce: s.Commerce, Returns: s.Returns, Shops: s.Shops, Privacy: s.Privacy,
		Claims: shopifyhooks.NewClaims(opts.DB), Logger: opts.Logger, Now: opts.Now}
	s.ShopifyConnect = shopifyconnect.New(shopifyconnect.Options{DB: opts.DB, Connections: connections, Shops: s.Shops, Audit: s.Audit,
		OAuth: shopifyOAuth(opts.Shopify, opts.Now), HTTP: opts.Shopify.HTTP, APIVersion: opts.Shopify.APIVersion, App: opts.Shopify.App, Box: opts.Box,
		BaseURL: opts.BaseURL, Logger: opts.Logger.With("component", "shopify"), Now: opts.Now})
	clients := opts.ShopifyClients
	if clients == nil {
		clients = connectedClients{s.ShopifyConnect}
	}
	s.ShopifySync = shopifysync.New(shopifysync.Options{DB: opts.DB, Clients: clients, Commerce: s.Commerce, Box: opts.Box,
		Logger: opts.Logger, Now: opts.Now})
	s.ShopifyHooks.Uninstall = uninstaller{c: s.ShopifyConnect, now: opts.Now}
	s.ShopifyHooks.Bulk = bulkNudger{s.ShopifySync}
	var err error
	if s.Jobs, err = s.newJobs(); err != nil {
		return nil, err
	}
	s.Orders = orderview.New(orderview.Options{Commerce: s.Commerce, Returns: s.Returns, Settings: s.Settings, Resolver: s.Resolver, Now: opts.Now,
		Eligibility: returns.NewEligibilityCache(opts.DB), Refresh: orderview.NewJobRefresher(opts.DB, s.Jobs), Health: s.LoopSync})
	s.LoopSync.SetQueue(s.Jobs)
	s.ShopifyConnect.SetQueue(s.Jobs)
	s.ShopifySync.SetQueue(s.Jobs)
	s.Team = staff.NewTeam(staff.TeamOptions{DB: opts.DB, Users: s.Users, Audit: s.Audit, Queue: s.Jobs, Box: opts.Box,
		BaseURL: opts.BaseURL, MailConfigured: opts.Mail != nil})
	s.Intake = intake.New(opts.DB, s.Jobs, opts.Now)
	s.webhooks = &webhook.Receiver{Shops: s.Shops, Connections: connections, Intake: s.Intake, Logger: opts.Logger}
	s.newInbound(connections)
	s.auth = &auth.Authenticator{Users: s.Users, SecureCookies: opts.SecureCookies}
	s.Tickets = ticket.NewStore(opts.DB, opts.Now)
	s.desk, err = desk.New(desk.Desk{Users: s.Users, Access: s.Staff, Team: s.Team, Shops: s.Shops, Commerce: s.Commerce, Auth: s.auth, Logger: opts.Logger,
		Proxies: opts.Proxies, Settings: s.Settings, Secrets: s.Secrets, OrderView: s.Orders, Audit: s.Audit, JobQueue: s.Jobs,
		BaseURL: opts.BaseURL, Tickets: s.Tickets, MailIn: s.MailSettings,
		Mailbox: opts.DemoMailbox, MailboxShop: opts.DemoMailboxShop, Freshness: s.LoopSync, ReturnLinks: s.LoopSync, Privacy: s.Privacy, Backfill: s.ShopifySync,
		CustomerFreshness: s.ShopifySync, Shopify: s.ShopifyConnect, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("desk: %w", err)
	}
	s.Attachments = attachment.NewStore(opts.DB, opts.Now)
	s.Helpdesk = helpdesk.New(helpdesk.Options{DB: opts.DB, Tickets: s.Tickets, Commerce: s.Commerce, Users: s.Users, Audit: s.Audit,
		Attachments: s.Attachments, Changes: s.Live.Changes(), Queue: s.Jobs, MailConfigured: opts.Mail != nil, MailFrom: mailFrom(opts.Mail)})
	s.api = api.New(api.Options{Commerce: s.Commerce, Ingest: s.Ingest, Settings: s.Settings, Orders: s.Orders, Audit: s.Audit, Jobs: s.Jobs, Shopify: s.ShopifyConnect,
		Tickets: s.Tickets, Helpdesk: s.Helpdesk, Users: s.Users, Privacy: s.Privacy, Logger: opts.Logger})
	s.Macros = macro.New(opts.DB, macro.NewStore(opts.DB, opts.Now), s.Audit, s.Tickets, s.Commerce)
	s.Guests = guest.New(guest.Options{DB: opts.DB, Queue: s.Jobs, Box: opts.Box, Now: opts.Now})
	s.Hub, err = hub.New(hub.Options{Shops: s.Shops, Commerce: s.Commerce, Settings: s.Settings,
		Orders: s.Orders, Tickets: s.Tickets, Helpdesk: s.Helpdesk, Logger: opts.Logger, BaseURL: opts.BaseURL, Now: opts.Now,
		Freshness: s.ShopifySync, Guests: s.Guests, Proxies: opts.Proxies})
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	s.handler = s.middleware(s.routes())
	return s, nil
}

// newInbound builds mail in: the router of support addresses, the settings
// use case, the SMTP listener (served when Options.Inbound has a
// listener) and the IMAP pollers.
func (s *Server) newInbound(connections *connection.Store) {
	in := s.opts.Inbound
	addresses := inbound.NewAddresses(s.opts.DB)
	s.MailRouter = &inbound.Router{Addresses: addresses, Shops: s.Shops, Domain: in.MailDomain}
	s.MailSettings = &inbound.Settings{DB: s.opts.DB, Addresses: addresses, Connections: connections, Mailboxes: inbound.NewMailboxes(s.opts.DB),
		Audit: s.Audit, Router: s.MailRouter, Checker: in.IMAPDialer, Now: s.opts.Now}
	s.smtp = inbound.NewSMTPServer(inbound.SMTPOptions{Router: s.MailRouter, Intake: s.Intake, TLS: in.SMTPTLS,
		Logger: s.logger.With("component", "smtp")})
	s.imapPollers = &inbound.Pollers{Poller: &inbound.Poller{DB: s.opts.DB, Connections: connections, Intake: s.Intake,
		Dialer: in.IMAPDialer, PollInterval: in.IMAPPollInterval, Logger: s.logger.With("component", "imap"), Now: s.opts.Now}}
}

// shopifyOAuth calls the shops' token endpoints, at AdminURL when set.
func shopifyOAuth(o ShopifyOptions, now func() time.Time) *shopify.OAuth {
	oauth := &shopify.OAuth{HTTP: o.HTTP, Now: now}
	if root := strings.TrimRight(o.AdminURL, "/"); root != "" {
		oauth.AdminRoot = func(string) string { return root }
	}
	return oauth
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Assets are the static files, for page-weight checks.
func (s *Server) Assets() *web.Assets { return web.DefaultAssets }

// Serve works the job queue, answers requests on ln, and Prometheus
// scrapes on metricsLn (nil: metrics are not served), until ctx is
// cancelled or a listener fails; then both let in-flight requests finish
// (up to 30 s) and running jobs finish (up to jobs.StopTimeout, then they
// go back to the queue) before Serve returns. /metrics has its own
// listener so the public one never shows it: an operator keeps it on
// loopback or an internal network.
func (s *Server) Serve(ctx context.Context, ln, metricsLn net.Listener) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	// Cancelling River's context would cancel running jobs at once; the
	// deferred Stop lets them finish first.
	if err := s.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobs.StopTimeout)
		defer cancel()
		if err := s.Jobs.Stop(stopCtx); err != nil {
			s.logger.Warn("stop jobs", "err", err)
		}
	}()
	// The live listener (PostgreSQL) stops with the servers; its
	// streams end when the public server shuts down.
	go s.Live.Run(ctx)
	go s.OrdersVersions.Run(ctx)
	pollersDone := make(chan struct{})
	go func() { defer close(pollersDone); s.imapPollers.Run(ctx) }()
	defer func() { <-pollersDone }()
	errc := make(chan error, 2)
	servers := 1
	go func() { errc <- s.serveHTTP(ctx, ln, s.handler); stop() }()
	if metricsLn != nil {
		servers++
		go func() { errc <- s.serveHTTP(ctx, metricsLn, s.operationsHandler()); stop() }()
	}
	if ln := s.opts.Inbound.SMTPListener; ln != nil {
		servers++
		go func() { errc <- s.serveSMTP(ctx, ln); stop() }()
	}
	var errs []error
	for range servers {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
}

// serveSMTP takes mail on ln until ctx ends, then lets the sessions under
// way finish (up to 30 s).
func (s *Server) serveSMTP(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.smtp.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("smtp on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down: finishing SMTP sessions", "addr", ln.Addr().String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.smtp.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown smtp %s: %w", ln.Addr(), err)
	}
	// When ctx ends as the process starts, Serve may not have taken the
	// listener before Shutdown closed the ones it had, and would accept on
	// it for ever: closing it ends such a late Serve at once.
	ln.Close()
	if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// serveHTTP serves handler on ln until ctx ends, then shuts down
// gracefully.
func (s *Server) serveHTTP(ctx context.Context, ln net.Listener, handler http.Handler) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for requests to finish; live streams would never,
	// so they are told to end.
	srv.RegisterOnShutdown(s.Live.Shutdown)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down: finishing in-flight requests", "addr", ln.Addr().String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown %s: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// mailFrom is the sender address of the mail server, whose domain the
// Message-IDs of shopper mail are made in; "" when it does not say.
func mailFrom(m mail.Sender) string {
	if f, ok := m.(interface{ FromAddress() string }); ok {
		return f.FromAddress()
	}
	return ""
}
