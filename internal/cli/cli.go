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
	"text/tabwriter"

	"github.com/hubdesk/hubdesk/internal/config"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
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
	"backup":  {"copy the database while it serves (SQLite: VACUUM INTO; PostgreSQL: pg_dump)", runBackup},
	"shop":    {"create and list shops", runShop},
	"user":    {"create users, reset passwords, issue API tokens", runUser},
	"sandbox": {"run a contract-faithful sandbox of a third-party API", runSandbox},
	"version": {"print the version", runVersion},
}

// usageError is a mistake in how a command was called (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// isHelp reports whether arg asks for usage rather than naming a command.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// Main runs the command line and returns the process exit code. SIGINT
// and SIGTERM start a graceful shutdown of the serving commands.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signalContext()
	defer stop()
	return runMain(ctx, args, stdout, stderr)
}

// runMain is Main under a context of the caller's, so tests can stop a
// serving command.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	switch {
	case args[0] == "--version" || args[0] == "-version":
		args = []string{"version"}
	case isHelp(args[0]) && len(args) > 1:
		// "hubdesk help shop" is "hubdesk shop -h".
		args = []string{args[1], "-h"}
	case isHelp(args[0]):
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
	err = cmd.run(ctx, &env{stdout: stdout, stderr: stderr, cfg: cfg}, args[1:])
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	name := args[0]
	var sub subcommandError
	if errors.As(err, &sub) {
		name, err = sub.name, sub.err
	}
	fmt.Fprintf(stderr, "hubdesk %s: %v\n", name, err)
	if errors.As(err, new(usageError)) {
		return 2
	}
	return 1
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
	fmt.Fprintln(w, "\nRun 'hubdesk COMMAND -h' for a command's flags, 'hubdesk --version' for the version.")
	fmt.Fprintln(w, "\nConfiguration is read from HUBDESK_* environment variables. Each may instead be read")
	fmt.Fprintln(w, "from a file: set NAME_FILE to its path (Docker and systemd credentials).")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, o := range config.Options {
		fmt.Fprintf(tw, "  %s\t%s\n", o.Env, o.Help)
		if o.Secret {
			fmt.Fprintf(tw, "  %s_FILE\tfile holding %s, for keeping it out of the environment\n", o.Env, o.Env)
		}
	}
	tw.Flush()
}

// newFlags makes a flag set for "hubdesk SYNOPSIS". Its -h prints the
// usage on stdout; parse reports every other flag error, once.
func newFlags(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: hubdesk %s\n", synopsis)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parse parses flags, turning flag errors into usage errors. Commands
// take no arguments besides their flags unless they say so (user).
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseAllowingArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q (see 'hubdesk %s -h')", fs.Arg(0), fs.Name())}
	}
	return nil
}

// parseAllowingArgs parses flags and leaves positional arguments in fs.
func parseAllowingArgs(fs *flag.FlagSet, args []string) error {
	// The flag package calls Usage on every error; only -h shows it.
	usage := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage()
		return err
	case err != nil:
		return usageError{fmt.Sprintf("%v (see 'hubdesk %s -h')", err, fs.Name())}
	}
	return nil
}

// subcommand is one verb of a command with several (shop create, …).
type subcommand struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// dispatch runs the subcommand named by args[0], or prints the command's
// usage for -h.
func dispatch(ctx context.Context, e *env, name string, subs map[string]subcommand, args []string) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 {
		return usageError{fmt.Sprintf("want one of: %s (see 'hubdesk %s -h')", strings.Join(names, ", "), name)}
	}
	if isHelp(args[0]) {
		fmt.Fprintf(e.stdout, "Usage: hubdesk %s COMMAND [flags]\n\nCommands:\n", name)
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		for _, n := range names {
			fmt.Fprintf(tw, "  %s\t%s\n", n, subs[n].summary)
		}
		tw.Flush()
		fmt.Fprintf(e.stdout, "\nRun 'hubdesk %s COMMAND -h' for a command's flags.\n", name)
		return flag.ErrHelp
	}
	sub, ok := subs[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q: want one of %s (see 'hubdesk %s -h')", args[0], strings.Join(names, ", "), name)}
	}
	if err := sub.run(ctx, e, args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		return subcommandError{name: name + " " + args[0], err: err}
	}
	return nil
}

// subcommandError names the subcommand that failed, for the error line.
type subcommandError struct {
	name string
	err  error
}

func (e subcommandError) Error() string { return e.name + ": " + e.err.Error() }
func (e subcommandError) Unwrap() error { return e.err }

// addDataFlag registers --data over the environment's data directory.
func addDataFlag(fs *flag.FlagSet, cfg *config.Config) {
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

// migrate applies hubdesk's migrations, then the job queue's.
func migrate(ctx context.Context, db *database.DB) (applied int, err error) {
	if applied, err = db.Migrate(ctx); err != nil {
		return applied, err
	}
	return applied, jobs.Migrate(ctx, db)
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
	applied, err := migrate(ctx, db)
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

func runVersion(_ context.Context, e *env, args []string) error {
	if err := parse(newFlags(e, "version", "version"), args); err != nil {
		return err
	}
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
