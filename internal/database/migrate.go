package database

import (
	"context"
	"database/sql/driver"
	"embed"
	"errors"
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
	// foreignKeysOff: on SQLite the migration runs with foreign key
	// enforcement off, as rebuilding a table requires (see
	// ForeignKeysOffMarker).
	foreignKeysOff bool
}

// ForeignKeysOffMarker, as the first line of a SQLite migration, makes the
// migrator run it with foreign keys off: SQLite cannot add a constraint to
// an existing table, so such a migration rebuilds the table (create the new
// shape, copy, drop, rename, recreate indexes and triggers), and with
// foreign keys on, dropping the old table would cascade into its children
// (https://www.sqlite.org/lang_altertable.html#otheralter). The pragma only
// takes effect outside a transaction, so the migrator sets it on the write
// connection before BEGIN, runs PRAGMA foreign_key_check before COMMIT
// (any violation rolls the migration back, naming the table) and turns
// foreign keys on again whatever happened. PostgreSQL alters constraints in
// place and ignores the marker.
const ForeignKeysOffMarker = "-- hubdesk:foreign-keys-off"

// newMigration reads a migration's options from its text.
func newMigration(version int, name, text string) migration {
	first, _, _ := strings.Cut(text, "\n")
	return migration{version: version, name: name, sql: text,
		foreignKeysOff: strings.TrimSpace(first) == ForeignKeysOffMarker}
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
		list = append(list, newMigration(v, e.Name(), string(body)))
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
// version, up to and including version. A migration numbered below the
// database's version that it never ran (one merged after a later number
// had already migrated this database) is refused rather than skipped: it
// was written for the schema before the later ones, so it can neither run
// now nor be left out without the database silently lacking it.
func (db *DB) applyUpTo(ctx context.Context, list []migration, version int) (applied int, err error) {
	current, err := db.CurrentVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	done, err := db.appliedVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	for _, m := range list {
		if m.version <= current {
			if !done[m.version] {
				return 0, fmt.Errorf("migrate: the database is at version %d but never ran %s, numbered below it: "+
					"a migration cannot run after the ones that follow it; start from a new database or restore a backup "+
					"taken before any migration above %d ran", current, m.name, m.version)
			}
			continue
		}
		if m.version > version {
			break
		}
		if err := db.apply(ctx, m); err != nil {
			return applied, fmt.Errorf("migrate: %s: %w", m.name, err)
		}
		applied++
	}
	return applied, nil
}

// appliedVersions lists the migrations recorded in schema_migrations.
func (db *DB) appliedVersions(ctx context.Context) (map[int]bool, error) {
	rows, err := db.write.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		done[v] = true
	}
	return done, rows.Err()
}

// apply runs one migration and records it, in one transaction.
func (db *DB) apply(ctx context.Context, m migration) error {
	if m.foreignKeysOff && db.Dialect == SQLite {
		return db.applyWithForeignKeysOff(ctx, m)
	}
	return db.InTx(ctx, func(tx *Tx) error { return m.run(ctx, tx) })
}

// run executes the migration's statements and records it in
// schema_migrations, inside tx.
func (m migration) run(ctx context.Context, tx *Tx) error {
	if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UnixMilli())
	return err
}

// applyWithForeignKeysOff runs a SQLite migration with foreign keys off on
// the write connection (the only one: the write pool holds one), checks
// every foreign key before committing and turns them on again afterwards,
// even when the migration fails. Should turning them on fail, the
// connection is discarded so that none without foreign keys is ever
// reused; the pool's next one opens with them on (the DSN says so).
func (db *DB) applyWithForeignKeysOff(ctx context.Context, m migration) (err error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return fmt.Errorf("turn foreign keys off: %w", err)
	}
	defer func() {
		_, onErr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
		if onErr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("turn foreign keys back on: %w", onErr))
		}
	}()
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	tx := &Tx{tx: sqlTx, db: db}
	if err := m.run(ctx, tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := checkForeignKeys(ctx, tx); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// checkForeignKeys runs SQLite's PRAGMA foreign_key_check inside tx and
// returns an error naming each table with rows whose reference has no
// parent, how many, and the first such row.
func checkForeignKeys(ctx context.Context, tx *Tx) error {
	rows, err := tx.Query(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	type violation struct {
		parent   string
		firstRow int64
		count    int
	}
	var tables []string
	found := map[string]*violation{}
	for rows.Next() {
		var table, parent string
		var rowid *int64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return fmt.Errorf("foreign key check: %w", err)
		}
		key := table + " → " + parent
		v := found[key]
		if v == nil {
			v = &violation{parent: parent}
			if rowid != nil {
				v.firstRow = *rowid
			}
			found[key] = v
			tables = append(tables, key)
		}
		v.count++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(tables) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(tables))
	for _, key := range tables {
		v := found[key]
		table, _, _ := strings.Cut(key, " → ")
		msgs = append(msgs, fmt.Sprintf("table %s: %d row(s) reference no row of %s (first rowid %d)", table, v.count, v.parent, v.firstRow))
	}
	return fmt.Errorf("foreign key check failed, rolled back: %s", strings.Join(msgs, "; "))
}
