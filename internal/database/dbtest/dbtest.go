// Package dbtest gives tests a freshly migrated database of each dialect,
// so one conformance suite runs against SQLite and PostgreSQL alike.
//
// PostgreSQL tests use HUBDESK_TEST_POSTGRES_URL (any database on the
// server; a new one is created per test and dropped afterwards). Without it
// they skip on a developer's machine and fail when CI=true.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

// PostgresURLEnv names the variable holding the test server's URL.
const PostgresURLEnv = "HUBDESK_TEST_POSTGRES_URL"

// Dialects lists the engines every conformance test runs against.
var Dialects = []database.Dialect{database.SQLite, database.Postgres}

// ForEach runs fn once per dialect as a subtest, each with a fresh database.
func ForEach(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	ForEachAt(t, math.MaxInt, fn)
}

// ForEachAt is ForEach with the databases migrated only up to version, for
// testing what a later migration does to existing rows.
func ForEachAt(t *testing.T, version int, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(string(d), func(t *testing.T) {
			fn(t, OpenAt(t, d, version))
		})
	}
}

// Open returns a freshly migrated database (hubdesk's tables and the job
// queue's) of the given dialect that is closed (and for PostgreSQL
// dropped) when the test ends.
func Open(t testing.TB, d database.Dialect) *database.DB {
	t.Helper()
	return OpenAt(t, d, math.MaxInt)
}

// OpenAt is Open with the migrations applied up to version only.
func OpenAt(t testing.TB, d database.Dialect, version int) *database.DB {
	t.Helper()
	ctx := context.Background()
	var db *database.DB
	var err error
	switch d {
	case database.SQLite:
		db, err = database.OpenSQLite(ctx, filepath.Join(t.TempDir(), "hubdesk.db"))
	case database.Postgres:
		db, err = database.OpenPostgres(ctx, CreatePostgres(t))
	}
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	migrate(t, db, version)
	return db
}

// OpenPostgresWithURL is Open on PostgreSQL that also returns the
// database's URL, for a test that hands the database to other processes.
func OpenPostgresWithURL(t testing.TB) (*database.DB, string) {
	t.Helper()
	databaseURL := CreatePostgres(t)
	db, err := database.OpenPostgres(context.Background(), databaseURL)
	if err != nil {
		t.Fatalf("open %s: %v", database.Postgres, err)
	}
	migrate(t, db, math.MaxInt)
	return db, databaseURL
}

// migrate closes db when the test ends and migrates it up to version,
// with the job queue's tables.
func migrate(t testing.TB, db *database.DB, version int) {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() { db.Close() })
	if _, err := db.MigrateTo(ctx, version); err != nil {
		t.Fatalf("migrate %s: %v", db.Dialect, err)
	}
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatalf("migrate %s: %v", db.Dialect, err)
	}
}

// CreatePostgres creates an empty database on the test server and returns
// its URL; the database is dropped when the test ends.
func CreatePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresURLEnv)
	if base == "" {
		RequireOrSkip(t, "PostgreSQL tests need "+PostgresURLEnv+" (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := database.OpenPostgres(ctx, base)
	if err != nil {
		RequireOrSkip(t, "PostgreSQL unreachable: "+err.Error())
	}
	defer admin.Close()
	buf := make([]byte, 6)
	rand.Read(buf)
	name := "hubdesk_test_" + hex.EncodeToString(buf)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := database.OpenPostgres(ctx, base)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	return u.String()
}

// RequireOrSkip skips the test with reason on a developer's machine but
// fails it in CI, where every suite must run.
func RequireOrSkip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required in CI: %s", reason)
	}
	t.Skip(reason)
}

// BreakTable renames table away so that every later statement on it fails,
// on either engine: a test makes a use case's last write fail this way and
// checks that its earlier writes were rolled back with it.
func BreakTable(t testing.TB, db *database.DB, table string) {
	t.Helper()
	if _, err := db.Exec(context.Background(), "ALTER TABLE "+table+" RENAME TO "+table+"_broken_by_test"); err != nil {
		t.Fatalf("break table %s: %v", table, err)
	}
}
