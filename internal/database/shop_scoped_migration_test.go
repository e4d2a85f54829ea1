package database_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// shopScopedVersion is the migration that made references shop-scoped.
const shopScopedVersion = 9

// SQLite rebuilds eight tables in migration 0009: every table keeps its
// columns in their order with their types, NOT NULLs, defaults and keys,
// every index (same definition), every CHECK and every unique key; the
// references become composite and nothing else changes. The new objects
// are the four (shop_id, id) keys and the three triggers that null a
// reference when its parent goes.
func TestSQLiteRebuildKeepsTheSchema(t *testing.T) {
	ctx := context.Background()
	db := dbtest.OpenAt(t, database.SQLite, shopScopedVersion-1)
	before := readSQLiteSchema(t, db)
	if _, err := db.MigrateTo(ctx, shopScopedVersion); err != nil {
		t.Fatal(err)
	}
	after := readSQLiteSchema(t, db)

	for table, columns := range before.columns {
		if !slices.Equal(after.columns[table], columns) {
			t.Errorf("%s columns changed:\n  before: %v\n  after:  %v", table, columns, after.columns[table])
		}
		if !slices.Equal(after.checks[table], before.checks[table]) {
			t.Errorf("%s CHECKs changed:\n  before: %v\n  after:  %v", table, before.checks[table], after.checks[table])
		}
	}
	if added := slices.Sorted(maps.Keys(diff(after.columns, before.columns))); len(added) != 0 {
		t.Errorf("tables added: %v", added)
	}
	for name, sql := range before.indexes {
		if after.indexes[name] != sql {
			t.Errorf("index %s changed:\n  before: %s\n  after:  %s", name, sql, after.indexes[name])
		}
	}
	wantNew := []string{"customers_shop_id_key", "orders_shop_id_key", "tickets_shop_id_key", "users_shop_id_key"}
	if added := slices.Sorted(maps.Keys(diff(after.indexes, before.indexes))); !slices.Equal(added, wantNew) {
		t.Errorf("indexes added: %v, want %v", added, wantNew)
	}
	wantTriggers := []string{"customers_unlink", "orders_unlink", "users_unlink"}
	if added := slices.Sorted(maps.Keys(diff(after.triggers, before.triggers))); !slices.Equal(added, wantTriggers) {
		t.Errorf("triggers added: %v, want %v", added, wantTriggers)
	}

	schemaBefore, schemaAfter := before.schema, after.schema
	for table, keys := range schemaBefore.uniqueKeys {
		if missing := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return slices.Contains(schemaAfter.uniqueKeys[table], k) }); len(missing) > 0 {
			t.Errorf("%s lost its unique keys %v", table, missing)
		}
	}
	// Each reference to a shop's row becomes (shop_id, column) →
	// parent(shop_id, id); line_items and fulfillments gain their shop's.
	want := map[string][]string{"line_items": {"(shop_id) → shops(id)"}, "fulfillments": {"(shop_id) → shops(id)"}}
	for table, keys := range schemaBefore.foreignKeys {
		for _, k := range keys {
			if !strings.HasSuffix(k, " → shops(id)") {
				from, parent, _ := strings.Cut(strings.TrimSuffix(k, "(id)"), " → ")
				k = fmt.Sprintf("(shop_id,%s → %s(shop_id,id)", strings.TrimPrefix(from, "("), parent)
			}
			want[table] = append(want[table], k)
		}
	}
	for table, keys := range want {
		if slices.Sort(keys); !slices.Equal(schemaAfter.foreignKeys[table], keys) {
			t.Errorf("%s foreign keys %v, want %v", table, schemaAfter.foreignKeys[table], keys)
		}
	}
}

// sqliteSchema is what SQLite says of its tables, beyond the parity
// test's schema: each column's full definition in order, each table's
// CHECK constraints, each named index's and trigger's SQL.
type sqliteSchema struct {
	schema   schema
	columns  map[string][]string // table → "cid name type notnull default pk"
	checks   map[string][]string
	indexes  map[string]string
	triggers map[string]string
}

func readSQLiteSchema(t *testing.T, db *database.DB) sqliteSchema {
	t.Helper()
	ctx := context.Background()
	s := sqliteSchema{schema: readSchema(t, ctx, db), columns: map[string][]string{}, checks: map[string][]string{},
		indexes: map[string]string{}, triggers: map[string]string{}}
	rows, err := db.Query(ctx, `SELECT m.type, m.name, COALESCE(m.sql, '') FROM sqlite_master m WHERE m.name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name, sql string
		if err := rows.Scan(&kind, &name, &sql); err != nil {
			t.Fatal(err)
		}
		switch kind {
		case "table":
			s.checks[name] = checkClauses(sql)
		case "index":
			s.indexes[name] = sql
		case "trigger":
			s.triggers[name] = sql
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for table := range s.checks {
		s.columns[table] = queryStrings(t, ctx, db, `SELECT cid || ' ' || name || ' ' || type || ' ' || "notnull" || ' ' ||
			COALESCE(dflt_value, 'NULL') || ' ' || pk FROM pragma_table_info('`+table+`') ORDER BY cid`)
	}
	return s
}

// checkClauses returns the CHECK (…) clauses of a CREATE TABLE statement.
func checkClauses(sql string) []string {
	var out []string
	for rest := sql; ; {
		i := strings.Index(rest, "CHECK (")
		if i < 0 {
			return out
		}
		rest = rest[i:]
		depth, end := 0, 0
		for j, c := range rest {
			if c == '(' {
				depth++
			} else if c == ')' {
				if depth--; depth == 0 {
					end = j + 1
					break
				}
			}
		}
		out = append(out, rest[:end])
		rest = rest[end:]
	}
}

// diff returns the entries of a whose keys b lacks.
func diff[V any](a, b map[string]V) map[string]V {
	out := map[string]V{}
	for k, v := range a {
		if _, ok := b[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// The rebuilt tables keep their AUTOINCREMENT sequences: the id of a
// deleted newest row is not handed out again after the migration.
func TestRebuildKeepsIDsOfDeletedRowsUnused(t *testing.T) {
	dbtest.ForEachAt(t, shopScopedVersion-1, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := shopRows{ids: map[string]int64{}}
		if err := db.ExecReturning(ctx, `INSERT INTO shops (name, domain, created_at) VALUES ('A', 'a.myshopify.com', 1) RETURNING id`).Scan(&s.shop); err != nil {
			t.Fatal(err)
		}
		var customer int64
		if err := db.ExecReturning(ctx, `INSERT INTO customers (shop_id, external_id, created_at, updated_at) VALUES (?, 'c1', 1, 1) RETURNING id`, s.shop).Scan(&customer); err != nil {
			t.Fatal(err)
		}
		s.ids["customers"] = customer
		var deleted int64
		query, args := insertChild(s, "orders", "", 0)
		if err := db.ExecReturning(ctx, query+" RETURNING id", args...).Scan(&deleted); err != nil {
			t.Fatal(err)
		}
		mustExec(t, db, `DELETE FROM orders WHERE id = ?`, deleted)
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var next int64
		query, args = insertChild(s, "orders", "", 0)
		if err := db.ExecReturning(ctx, query+" RETURNING id", args...).Scan(&next); err != nil {
			t.Fatal(err)
		}
		if next <= deleted {
			t.Errorf("new order id %d after the migration, want above the deleted %d", next, deleted)
		}
	})
}
