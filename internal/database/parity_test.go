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
// and may differ between engines (none yet).
var libraryTables = map[string]bool{}

func readSchema(t *testing.T, ctx context.Context, db *database.DB) schema {
	t.Helper()
	s := schema{tables: map[string][]string{}}
	s.migrations = queryStrings(t, ctx, db, `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`)
	var columns, indexes string
	switch db.Dialect {
	case database.SQLite:
		columns = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
		indexes = `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`
	case database.Postgres:
		columns = `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema()`
		indexes = `SELECT i.indexname FROM pg_indexes i
			WHERE i.schemaname = current_schema()
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
			ORDER BY i.indexname`
	}
	s.indexes = queryStrings(t, ctx, db, indexes)
	rows, err := db.Query(ctx, columns)
	if err != nil {
		t.Fatalf("%s: read columns: %v", db.Dialect, err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			t.Fatal(err)
		}
		if !libraryTables[table] {
			s.tables[table] = append(s.tables[table], strings.ToLower(column))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, cols := range s.tables {
		slices.Sort(cols)
	}
	if len(s.tables) == 0 {
		t.Fatalf("%s: no tables found", db.Dialect)
	}
	return s
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
