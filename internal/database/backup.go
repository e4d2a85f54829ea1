package database

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
)

// BackupSQLite writes a consistent copy of the SQLite database at path to
// dest while hubdesk keeps serving from it. VACUUM INTO reads the database
// in one read transaction, so the copy is the database as of one moment
// however many writes go on meanwhile (WAL mode lets them proceed), and it
// is compacted: a plain copy of the file would miss what still sits in
// its -wal file. dest must not exist; it is created readable by its owner
// only, like the database, and checked before BackupSQLite returns.
func BackupSQLite(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite backup: %w", err)
	}
	f.Close()
	if err := vacuumInto(ctx, path, dest); err != nil {
		os.Remove(dest)
		return err
	}
	return nil
}

// vacuumInto copies path into the empty file dest and checks the copy.
func vacuumInto(ctx context.Context, path, dest string) error {
	// A connection of its own: the serving process's single writer is
	// not held, and a query_only reader may not run VACUUM.
	src, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("sqlite backup: open %s: %w", path, err)
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		return fmt.Errorf("sqlite backup: copy %s: %w", path, err)
	}
	cp, err := sql.Open("sqlite", "file:"+dest)
	if err != nil {
		return fmt.Errorf("sqlite backup: check %s: %w", dest, err)
	}
	defer cp.Close()
	var result string
	if err := cp.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil {
		return fmt.Errorf("sqlite backup: check %s: %w", dest, err)
	}
	if result != "ok" {
		return fmt.Errorf("sqlite backup: the copy %s fails SQLite's integrity check: %s", dest, result)
	}
	return nil
}

// BackupPostgres dumps the PostgreSQL database to dest with pg_dump, in
// its custom format (pg_restore reads it): a dump is one snapshot of the
// database, taken while every process keeps serving. pg_dump must be on
// PATH and at least as new as the server. The password travels in
// PGPASSWORD, not on pg_dump's command line, where other users of the
// machine could read it.
func BackupPostgres(ctx context.Context, databaseURL, dest string) error {
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		return errors.New("postgres backup: pg_dump is not on PATH (install PostgreSQL's client tools, the server's version or newer)")
	}
	conn, password, err := libpqURL(databaseURL)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("postgres backup: %w", err)
	}
	f.Close()
	cmd := exec.CommandContext(ctx, pgDump, "--format=custom", "--file="+dest, "--dbname="+conn)
	cmd.Env = os.Environ()
	if password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+password)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(dest)
		return fmt.Errorf("postgres backup: pg_dump of %s: %w: %s", redactURL(databaseURL), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// pgxOnlyParams are query parameters of hubdesk's database URL that pgx
// reads and libpq (pg_dump) refuses.
var pgxOnlyParams = []string{"pool_max_conns", "pool_min_conns", "pool_min_idle_conns", "pool_max_conn_lifetime",
	"pool_max_conn_lifetime_jitter", "pool_max_conn_idle_time", "pool_health_check_period",
	"statement_cache_capacity", "description_cache_capacity", "default_query_exec_mode"}

// libpqURL is databaseURL as libpq's tools take it: without pgx's own
// parameters and without the password, which it returns apart.
func libpqURL(databaseURL string) (conn, password string, err error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", "", errors.New("postgres backup: the database URL is not a valid URL")
	}
	if u.User != nil {
		password, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	for _, p := range pgxOnlyParams {
		q.Del(p)
	}
	u.RawQuery = q.Encode()
	return u.String(), password, nil
}
