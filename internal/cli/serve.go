package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/config"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/server"
)

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "serve [--addr host:port] [--data DIR]")
	addServerFlags(fs, e.cfg)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := e.cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	logger := newLogger(e.stderr, e.cfg, "json")
	db, box, err := openStore(ctx, e.cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", e.cfg.Addr, err)
	}
	srv, err := newServer(db, box, logger, e.cfg)
	if err != nil {
		return err
	}
	logger.Info("hubdesk serving", "addr", ln.Addr().String(), "base_url", e.cfg.BaseURL, "database", db.Dialect)
	return srv.Serve(ctx, ln)
}

func newServer(db *database.DB, box *secret.Box, logger *slog.Logger, cfg *config.Config) (*server.Server, error) {
	proxies, err := auth.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	return server.New(server.Options{Proxies: proxies, DB: db, Box: box, Logger: logger, BaseURL: cfg.BaseURL, SecureCookies: cfg.SecureCookies(),
		LoopBaseURL: cfg.LoopBaseURL})
}

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "migrate", "migrate [--data DIR]")
	fs.StringVar(&e.cfg.DataDir, "data", e.cfg.DataDir, "data directory (HUBDESK_DATA_DIR)")
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
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s database at version %d (%d migrations applied)\n", db.Dialect, db.LatestVersion(), applied)
	return nil
}
