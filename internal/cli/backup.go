package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/secret"
)

// runBackup writes a consistent copy of the database while hubdesk keeps
// serving: SQLite's VACUUM INTO, or pg_dump for PostgreSQL.
func runBackup(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "backup", "backup [--data DIR] FILE")
	addDataFlag(fs, e.cfg)
	if err := parseAllowingArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"want the backup's file name, one that does not exist yet (see 'hubdesk backup -h')"}
	}
	dest := fs.Arg(0)
	if err := e.cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if e.cfg.DatabaseURL != "" {
		if err := database.BackupPostgres(ctx, e.cfg.DatabaseURL, dest); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "postgres database dumped to %s (pg_restore format); keep HUBDESK_SECRET_KEY apart from it\n", dest)
		return nil
	}
	path := filepath.Join(e.cfg.DataDir, "hubdesk.db")
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no hubdesk database in %s (see --data)", e.cfg.DataDir)
	}
	if err := database.BackupSQLite(ctx, path, dest); err != nil {
		return err
	}
	key := "HUBDESK_SECRET_KEY"
	if e.cfg.SecretKey == "" {
		key = filepath.Join(e.cfg.DataDir, secret.KeyFileName)
	}
	fmt.Fprintf(e.stdout, "sqlite database copied to %s; keep %s apart from it\n", dest, key)
	return nil
}
