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
// tables and, per table, the same columns, the same named indexes, the same
// unique keys and the same foreign keys. Types differ by dialect on
// purpose (INTEGER vs BIGINT, TEXT vs JSONB); names may not, or a query that
// works on one engine fails on the other. Unique keys and foreign keys are
// compared by their columns, as the engines name them differently (a
// PostgreSQL UNIQUE constraint is a named unique index on SQLite, an
// inline one an automatic index) and the delete actions are compared by
// behaviour in TestShopScopedReferences (SQLite nulls a composite
// reference by trigger).
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
	for _, kind := range []struct {
		name     string
		lite, pg map[string][]string
	}{
		{"unique keys", lite.uniqueKeys, pg.uniqueKeys},
		{"foreign keys", lite.foreignKeys, pg.foreignKeys},
	} {
		for _, table := range union(kind.lite, kind.pg) {
			if l, p := kind.lite[table], kind.pg[table]; !slices.Equal(l, p) {
				t.Errorf("table %s %s differ:\n  sqlite:   %v\n  postgres: %v", table, kind.name, l, p)
			}
		}
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

// schema is what the parity test compares: applied migrations, the
// non-unique indexes the migrations name (not those an engine makes for a
// key), each table's sorted column names, its unique keys other than the
// primary key ("(shop_id,id)") and its foreign keys ("(shop_id,order_id) →
// orders(shop_id,id)").
type schema struct {
	migrations  []string
	indexes     []string
	tables      map[string][]string
	uniqueKeys  map[string][]string
	foreignKeys map[string][]string
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
	var columns, indexes, uniqueKeys, foreignKeys string
	switch db.Dialect {
	case database.SQLite:
		columns = `SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
			AND m.name NOT IN (SELECT name FROM pragma_table_list WHERE type = 'shadow')`
		indexes = `SELECT m.tbl_name, m.name FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) l ON l.name = m.name
			WHERE m.type = 'index' AND m.sql IS NOT NULL AND NOT l."unique"`
		uniqueKeys = `SELECT tbl, '(' || group_concat(col, ',') || ')' FROM (
				SELECT m.name AS tbl, l.name AS idx, i.name AS col FROM sqlite_master m
				JOIN pragma_index_list(m.name) l JOIN pragma_index_info(l.name) i
				WHERE m.type = 'table' AND l."unique" AND l.origin <> 'pk'
				AND m.name NOT IN (SELECT name FROM pragma_table_list WHERE type = 'shadow') ORDER BY m.name, l.name, i.seqno)
			GROUP BY tbl, idx`
		foreignKeys = `SELECT tbl, '(' || group_concat("from", ',') || ') → ' || parent || '(' || group_concat("to", ',') || ')' FROM (
				SELECT m.name AS tbl, f.id, f."table" AS parent, f."from", f."to" FROM sqlite_master m
				JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq)
			GROUP BY tbl, id`
	case database.Postgres:
		columns = `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema()`
		indexes = `SELECT i.tablename, i.indexname FROM pg_indexes i
			JOIN pg_class ic ON ic.relname = i.indexname AND ic.relnamespace = current_schema()::regnamespace
			JOIN pg_index x ON x.indexrelid = ic.oid
			WHERE i.schemaname = current_schema() AND NOT x.indisunique
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`
		uniqueKeys = `SELECT t.relname, '(' || (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
				FROM unnest(x.indkey) WITH ORDINALITY k(att, ord)
				JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.att) || ')'
			FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
			WHERE t.relnamespace = current_schema()::regnamespace AND x.indisunique AND NOT x.indisprimary`
		foreignKeys = `SELECT t.relname, '(' || (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
				FROM unnest(c.conkey) WITH ORDINALITY k(att, ord)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.att)
				|| ') → ' || p.relname || '(' || (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
				FROM unnest(c.confkey) WITH ORDINALITY k(att, ord)
				JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.att) || ')'
			FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class p ON p.oid = c.confrelid
			WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`
	}
	for _, names := range byTable(t, ctx, db, indexes) {
		s.indexes = append(s.indexes, names...)
	}
	slices.Sort(s.indexes)
	s.tables = byTable(t, ctx, db, columns)
	s.uniqueKeys = byTable(t, ctx, db, uniqueKeys)
	s.foreignKeys = byTable(t, ctx, db, foreignKeys)
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
