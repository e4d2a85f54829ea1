// Command bench is hubdesk's benchmark harness: it seeds a realistic shop
// once per database engine, starts the real `hubdesk serve` on a copy of
// it, drives it over HTTP with wrk and a fixed-rate Go driver, and prints
// one table with every SPEC §9 budget, the figure measured and the same
// run's floor (a plain net/http handler serving a pre-rendered page of the
// same size). See bench/README.md.
//
//	go run ./bench                      # the full run (≈ 8 minutes)
//	go run ./bench -short               # the same rows, shorter and smaller
//	go run ./bench -rows hub -engines sqlite
//
// It exits non-zero only when the harness itself fails; a budget missed is
// a FAIL in the table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// config is one run of the harness.
type config struct {
	engines   []string // "sqlite", "postgres"
	pgURL     string   // an administrative connection; the harness creates and drops its own databases
	orders    int      // orders in the shop (the shopper's 50 among them)
	tickets   int      // tickets, five messages each
	returns   int      // returns attached to orders
	duration  time.Duration
	rate      int           // the fixed-rate rows' requests per second
	rateFor   time.Duration // how long the fixed-rate rows send
	clicks    int           // Start a return clicks
	serveEnv  []string      // extra environment of serve (GOGC=100, …)
	rows      *regexp.Regexp
	goBench   bool   // run the in-process benchmarks behind the ticket-view rows
	workDir   string // where binaries, SQLite files and logs go ("" → a temporary directory, removed)
	hubdesk   string // a built hubdesk binary ("" → built from ./cmd/hubdesk)
	moduleDir string // the repository root, for go build / go test
	verbose   bool
	out, log  io.Writer
}

func main() {
	cfg := config{out: os.Stdout, log: os.Stderr, clicks: 20}
	var engines, rows string
	short := flag.Bool("short", false, "a short run: 10,000 orders, 1,000 tickets, 500 returns, 3 s per load row, no go test benchmarks")
	flag.StringVar(&engines, "engines", "sqlite,postgres", "engines to run, comma separated")
	flag.StringVar(&cfg.pgURL, "pg", os.Getenv("HUBDESK_TEST_POSTGRES_URL"), "PostgreSQL URL with the right to create databases (default $HUBDESK_TEST_POSTGRES_URL)")
	flag.IntVar(&cfg.orders, "orders", 100_000, "orders in the seeded shop")
	flag.IntVar(&cfg.tickets, "tickets", 10_000, "tickets in the seeded shop (five messages each)")
	flag.IntVar(&cfg.returns, "returns", 5_000, "returns in the seeded shop")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long each saturating (wrk) row runs")
	flag.IntVar(&cfg.rate, "rate", 500, "requests per second of the fixed-rate hub rows")
	flag.DurationVar(&cfg.rateFor, "rate-duration", 10*time.Second, "how long each fixed-rate row sends")
	flag.StringVar(&rows, "rows", "", "run only the rows whose key matches this regular expression (keys: floor, hub-sat, hub-rate, weight, inbox, ticket, webhook, shopify, return, memory, ticket-view)")
	flag.BoolVar(&cfg.goBench, "gobench", true, "run the in-process benchmarks behind the ticket-view rows (go test -bench)")
	flag.StringVar(&cfg.workDir, "workdir", "", "keep binaries, databases' files and logs here (default: a temporary directory, removed)")
	flag.StringVar(&cfg.hubdesk, "hubdesk", "", "a built hubdesk binary (default: built from ./cmd/hubdesk)")
	flag.BoolVar(&cfg.verbose, "v", false, "log each step")
	flag.Func("serve-env", "`KEY=VALUE` added to serve's environment, e.g. GOGC=100 (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return errors.New("want KEY=VALUE")
		}
		cfg.serveEnv = append(cfg.serveEnv, s)
		return nil
	})
	flag.Parse()
	if *short {
		cfg.orders, cfg.tickets, cfg.returns = 10_000, 1_000, 500
		cfg.duration, cfg.rateFor = 3*time.Second, 3*time.Second
		cfg.goBench = false
	}
	cfg.engines = strings.Split(engines, ",")
	if rows != "" {
		re, err := regexp.Compile(rows)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -rows:", err)
			os.Exit(2)
		}
		cfg.rows = re
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run runs the harness and prints the table; the error is the harness's
// own (a budget missed is a row's FAIL).
func run(ctx context.Context, cfg config) ([]row, error) {
	if cfg.moduleDir == "" {
		dir, err := moduleRoot()
		if err != nil {
			return nil, err
		}
		cfg.moduleDir = dir
	}
	for _, e := range cfg.engines {
		if e != "sqlite" && e != "postgres" {
			return nil, fmt.Errorf("-engines: unknown engine %q", e)
		}
		if e == "postgres" && cfg.pgURL == "" {
			return nil, errors.New("postgres: give -pg or HUBDESK_TEST_POSTGRES_URL (or -engines sqlite)")
		}
	}
	if cfg.orders < 100 || cfg.tickets < 10 || cfg.returns < 1 || cfg.returns > cfg.orders/2 {
		return nil, errors.New("want at least 100 orders, 10 tickets, and between 1 and half the orders returns")
	}
	h, err := newHarness(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer h.close()
	start := time.Now()
	load0 := loadAverage()
	err = func() error {
		for _, engine := range cfg.engines {
			if err := h.runEngine(ctx, engine); err != nil {
				return fmt.Errorf("%s: %w", engine, err)
			}
		}
		if cfg.goBench && h.want("ticket-view") {
			return h.ticketViewRows(ctx)
		}
		return nil
	}()
	// The rows measured so far are printed also when the harness failed.
	printTable(cfg.out, h.rows, describeMachine(load0, loadAverage(), time.Since(start), cfg))
	return h.rows, err
}
