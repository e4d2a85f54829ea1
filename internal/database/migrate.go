package database

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are append-only: a released file never changes; a schema
// change is a new file with the next number, written once per dialect.
//
// Migrations are expand-then-contract, because during a rolling upgrade the
// new release migrates while processes of the previous one still serve on
// the same database (and /readyz keeps them ready on a schema ahead of
// theirs). A release may only add: new tables, nullable or defaulted
// columns, indexes, and constraints every row the previous release writes
// already meets. Renaming or dropping a column or table, or tightening what
// the previous release may write, waits for a later release, once no
// process still reads or writes the old shape.
//
//go:embed migrations
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrations() ([]migration, error) {
	dir := path.Join("migrations", string(db.Dialect))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var list []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: name must start with a number and _", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		list = append(list, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].version < list[j].version })
	return list, nil
}

// LatestVersion is the newest migration this binary knows.
func (db *DB) LatestVersion() int {
	list, err := db.migrations()
	if err != nil || len(list) == 0 {
		return 0
	}
	return list[len(list)-1].version
}

// CurrentVersion is the newest migration applied to the database.
func (db *DB) CurrentVersion(ctx context.Context) (int, error) {
	var v int
	err := db.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Migrate applies every pending migration, each in its own transaction.
// On PostgreSQL an advisory lock makes concurrent starts of several
// `hubdesk serve` processes apply each migration exactly once.
func (db *DB) Migrate(ctx context.Context) (applied int, err error) {
	return db.MigrateTo(ctx, math.MaxInt)
}

// MigrateTo applies the pending migrations up to and including version, so
// a migration's data changes can be tested on rows written by the schema
// before it.
func (db *DB) MigrateTo(ctx context.Context, version int) (applied int, err error) {
	list, err := db.migrations()
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	// Under the lock: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe
	// against itself, so concurrent first starts would collide on it.
	err = db.WithMigrationLock(ctx, func(ctx context.Context) error {
		if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("migrate: create schema_migrations: %w", err)
		}
		applied, err = db.applyUpTo(ctx, list, version)
		return err
	})
	return applied, err
}

// applyUpTo applies the migrations in list newer than the database's
// version, up to and including version.
func (db *DB) applyUpTo(ctx context.Context, list []migration, version int) (applied int, err error) {
	current, err := db.CurrentVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	for _, m := range list {
		if m.version <= current {
			continue
		}
		if m.version > version {
			break
		}
		err := db.InTx(ctx, func(tx *Tx) error {
			if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: %s: %w", m.name, err)
		}
		applied++
	}
	return applied, nil
}
