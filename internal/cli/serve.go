package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/config"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/server"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "serve [--addr host:port] [--metrics-addr host:port|off] [--smtp-addr host:port] [--data DIR]")
	fs.StringVar(&e.cfg.Addr, "addr", e.cfg.Addr, "address to listen on (HUBDESK_ADDR)")
	fs.StringVar(&e.cfg.SMTPAddr, "smtp-addr", e.cfg.SMTPAddr, "address of the SMTP listener taking mail in for the shops' support addresses; empty: off (HUBDESK_SMTP_ADDR)")
	fs.StringVar(&e.cfg.MetricsAddr, "metrics-addr", e.cfg.MetricsAddr, "address serving Prometheus /metrics, or off (HUBDESK_METRICS_ADDR)")
	addDataFlag(fs, e.cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := e.cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if demo.IsDataDir(e.cfg.DataDir) {
		return usageError{fmt.Sprintf("data directory %s is the demo's, whose logins are published; serve a directory of your own", e.cfg.DataDir)}
	}
	logger := newLogger(e.stderr, e.cfg, "json")
	server.TuneGC()
	db, box, err := openStore(ctx, e.cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	db.WarmPool(ctx)
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", e.cfg.Addr, err)
	}
	var metricsLn net.Listener
	if e.cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", e.cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen for metrics on %s: %w", e.cfg.MetricsAddr, err)
		}
	}
	var smtpLn net.Listener
	if e.cfg.SMTPAddr != "" {
		if smtpLn, err = net.Listen("tcp", e.cfg.SMTPAddr); err != nil {
			ln.Close()
			closeIfOpen(metricsLn)
			return fmt.Errorf("listen for SMTP on %s: %w", e.cfg.SMTPAddr, err)
		}
	}
	srv, err := newServer(db, box, logger, e.cfg, smtpLn)
	if err != nil {
		ln.Close()
		closeIfOpen(metricsLn)
		closeIfOpen(smtpLn)
		return err
	}
	if err := srv.Secrets.Report(ctx, logger); err != nil {
		ln.Close()
		closeIfOpen(metricsLn)
		closeIfOpen(smtpLn)
		return fmt.Errorf("check stored secrets: %w", err)
	}
	logger.Info("hubdesk serving", "addr", ln.Addr().String(), "metrics_addr", listenerAddr(metricsLn), "smtp_addr", listenerAddr(smtpLn),
		"mail_domain", e.cfg.MailDomain, "base_url", e.cfg.BaseURL, "database", db.Dialect)
	return srv.Serve(ctx, ln, metricsLn)
}

// listenerAddr is ln's address, or "off" when there is none.
func listenerAddr(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return ln.Addr().String()
}

func closeIfOpen(ln net.Listener) {
	if ln != nil {
		ln.Close()
	}
}

// newServer builds the server; smtpLn, when not nil, is where the SMTP
// listener takes mail in; more adjusts the options (the demo's own).
func newServer(db *database.DB, box *secret.Box, logger *slog.Logger, cfg *config.Config, smtpLn net.Listener, more ...func(*server.Options)) (*server.Server, error) {
	proxies, err := auth.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	opts := server.Options{Proxies: proxies, DB: db, Box: box, Logger: logger, BaseURL: cfg.BaseURL, SecureCookies: cfg.SecureCookies(),
		LoopBaseURL: cfg.LoopBaseURL, LoopAPIVersion: cfg.LoopAPIVersion, LoopReconcileInterval: cfg.LoopReconcileInterval,
		Shopify: server.ShopifyOptions{App: shopifyconnect.App{ClientID: cfg.ShopifyClientID, ClientSecret: cfg.ShopifyClientSecret},
			AdminURL: cfg.ShopifyAdminURL},
		WebhookRetention: cfg.WebhookRetention, MailRetention: cfg.MailRetention, JobRetention: cfg.JobRetention, JobTimeout: cfg.JobTimeout, Profiling: cfg.Profiling}
	smtpTLS, err := cfg.SMTPTLS()
	if err != nil {
		return nil, err
	}
	opts.Inbound = server.InboundOptions{SMTPListener: smtpLn, SMTPTLS: smtpTLS, MailDomain: cfg.MailDomain, IMAPPollInterval: cfg.IMAPPollInterval}
	mailer, err := cfg.Mailer()
	if err != nil {
		return nil, err
	}
	if mailer != nil {
		opts.Mail = mailer
	} else {
		logger.Info("email is not set up (HUBDESK_SMTP_RELAY): invitations and password reset links are shown to copy, not mailed, and replies reach shoppers in the hub only")
	}
	for _, f := range more {
		f(&opts)
	}
	return server.New(opts)
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "migrate", "migrate [--data DIR]")
	addDataFlag(fs, e.cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := e.cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	db, err := database.Open(ctx, e.cfg.DatabaseURL, e.cfg.DataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := migrate(ctx, db)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s database at version %d (%d migrations applied)\n", db.Dialect, db.LatestVersion(), applied)
	return nil
}
