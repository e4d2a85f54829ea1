// Package cli is the hubdesk command line: one binary whose subcommands run
// the server, the demo, migrations, user administration and the sandboxes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/hubdesk/hubdesk/internal/config"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/secret"
)

// Version is set at build time with -ldflags "-X .../cli.Version=v1.2.3".
var Version = "dev"

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what every command gets: where to print and the configuration.
type env struct {
	stdout, stderr io.Writer
	cfg            *config.Config
}

var commands = map[string]command{
	"serve":   {"run the server (production)", runServe},
	"demo":    {"run a complete demo on an embedded database", runDemo},
	"migrate": {"apply database migrations and exit", runMigrate},
	"shop":    {"create and list shops", runShop},
	"user":    {"create users, reset passwords, issue API tokens", runUser},
	"sandbox": {"run a contract-faithful sandbox of a third-party API", runSandbox},
	"version": {"print the version", runVersion},
}

// usageError is a mistake in how a command was called (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "hubdesk: unknown command %q (run 'hubdesk help')\n", args[0])
		return 2
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(stderr, "hubdesk: %v\n", err)
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	err = cmd.run(ctx, &env{stdout: stdout, stderr: stderr, cfg: cfg}, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "hubdesk %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "hubdesk %s: %v\n", args[0], err)
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "hubdesk — Customer Hub and Helpdesk for online stores")
	fmt.Fprintln(w, "\nUsage: hubdesk COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'hubdesk COMMAND -h' for a command's flags. Configuration is read from HUBDESK_* environment variables:")
	for _, o := range config.Options {
		fmt.Fprintf(w, "  %-22s %s\n", o.Env, o.Help)
	}
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: hubdesk %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// addServerFlags registers --addr and --data over the environment's values.
func addServerFlags(fs *flag.FlagSet, cfg *config.Config) {
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (HUBDESK_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (HUBDESK_DATA_DIR)")
}

func newLogger(w io.Writer, cfg *config.Config, defaultFormat string) *slog.Logger {
	format := cfg.LogFormat
	if format == "" {
		format = defaultFormat
	}
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// openStore opens and migrates the database and loads the secret key.
func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*database.DB, *secret.Box, error) {
	box, err := loadSecretBox(cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	db, err := database.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if applied > 0 {
		logger.Info("database migrated", "dialect", db.Dialect, "applied", applied, "version", db.LatestVersion())
	}
	return db, box, nil
}

func loadSecretBox(cfg *config.Config, logger *slog.Logger) (*secret.Box, error) {
	spec := cfg.SecretKey
	if spec == "" {
		var created bool
		var err error
		spec, created, err = secret.LoadOrCreateKeyFile(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if created {
			logger.Warn("generated a new secret key; back it up — without it stored secrets cannot be read",
				"file", cfg.DataDir+string(os.PathSeparator)+secret.KeyFileName)
		}
	}
	current, keys, err := secret.ParseKeys(spec)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return secret.NewBox(current, keys)
}

func runVersion(_ context.Context, e *env, _ []string) error {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok && v == "dev" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				v += "+" + s.Value[:min(12, len(s.Value))]
			}
		}
	}
	fmt.Fprintln(e.stdout, "hubdesk", v)
	return nil
}

func trimLower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
