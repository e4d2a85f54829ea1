package database_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// TestMigrationTreesMatch migrates a fresh database of each engine and
// compares what came out: the same migration versions and names, the same
// tables and, per table, the same columns, and the same named indexes. Types differ by dialect on
// purpose (INTEGER vs BIGINT, TEXT vs JSONB); names may not, or a query that
// works on one engine fails on the other.
func TestMigrationTreesMatch(t *testing.T) {
	ctx := context.Background()
	schemas := map[database.Dialect]schema{}
	for _, d := range dbtest.Dialects {
		db := dbtest.Open(t, d)
		schemas[d] = readSchema(t, ctx, db)
	}
	lite, pg := schemas[database.SQLite], schemas[database.Postgres]
	if !slices.Equal(lite.migrations, pg.migrations) {
		t.Errorf("migrations differ:\n  sqlite:   %v\n  postgres: %v", lite.migrations, pg.migrations)
	}
	if !slices.Equal(lite.indexes, pg.indexes) {
		t.Errorf("indexes differ:\n  sqlite:   %v\n  postgres: %v", lite.indexes, pg.indexes)
	}
	for _, table := range union(lite.tables, pg.tables) {
		l, lok := lite.tables[table]
		p, pok := pg.tables[table]
		switch {
		case !lok:
			t.Errorf("table %s exists only on PostgreSQL", table)
		case !pok:
			t.Errorf("table %s exists only on SQLite", table)
		case !slices.Equal(l, p):
			t.Errorf("table %s columns differ:\n  sqlite:   %v\n  postgres: %v", table, l, p)
		}
	}
}

// schema is what the parity test compares: applied migrations, the indexes
// the migrations name (not those an engine makes for a key) and each
// table's sorted column names.
type schema struct {
	migrations []string
	indexes    []string
	tables     map[string][]string
}

// libraryTables are created by a library's own migrations, not hubdesk's,
// and may differ between engines: River's, the job queue's.
var libraryTables = map[string]bool{
	"river_client": true, "river_client_queue": true, "river_job": true, "river_leader": true,
	"river_migration": true, "river_notification": true, "river_queue": true,
}

// searchIndexTables hold each engine's own full-text index, different by
// design: an FTS5 virtual table on SQLite (whose shadow tables are left out
// as the engine's), a tsvector table with a GIN index on PostgreSQL. Both
// are filled by triggers from the tables compared here; the ticket search
// tests hold them to the same results.
var searchIndexTables = map[string]bool{"ticket_search": true}

func readSchema(t *testing.T, ctx context.Context, db *database.DB) schema {
	t.Helper()
	var s schema
	s.migrations = queryStrings(t, ctx, db, `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`)
	var columns, indexes string
	switch db.Dialect {
	case database.SQLite:
		columns = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
			AND m.name NOT IN (SELECT name FROM pragma_table_list WHERE type = 'shadow')`
		indexes = `SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`
	case database.Postgres:
		columns = `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema()`
		indexes = `SELECT i.tablename, i.indexname FROM pg_indexes i
			WHERE i.schemaname = current_schema()
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`
	}
	for _, names := range byTable(t, ctx, db, indexes) {
		s.indexes = append(s.indexes, names...)
	}
	slices.Sort(s.indexes)
	s.tables = byTable(t, ctx, db, columns)
	if len(s.tables) == 0 {
		t.Fatalf("%s: no tables found", db.Dialect)
	}
	return s
}

// byTable runs a query of (table, name) rows and returns each table's
// names, sorted and lower-cased, leaving out the libraries' tables.
func byTable(t *testing.T, ctx context.Context, db *database.DB, query string) map[string][]string {
	t.Helper()
	rows, err := db.Query(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", db.Dialect, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, name string
		if err := rows.Scan(&table, &name); err != nil {
			t.Fatal(err)
		}
		if !libraryTables[table] && !searchIndexTables[table] {
			out[table] = append(out[table], strings.ToLower(name))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, names := range out {
		slices.Sort(names)
	}
	return out
}

func queryStrings(t *testing.T, ctx context.Context, db *database.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(ctx, query)
	if err != nil {
		t.Fatalf("%s: %v", db.Dialect, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func union(a, b map[string][]string) []string {
	all := maps.Clone(a)
	maps.Copy(all, b)
	return slices.Sorted(maps.Keys(all))
}
