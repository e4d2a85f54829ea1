package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// A migration marked foreign-keys-off runs with SQLite's foreign keys off:
// deleting a parent and putting it back (what a table rebuild amounts to)
// does not cascade into its children, where the same migration unmarked
// does. Foreign keys are on again afterwards.
func TestForeignKeysOffMigrationDoesNotCascade(t *testing.T) {
	const rebuildShops = `DELETE FROM shops WHERE id = 1;
INSERT INTO shops (id, name, domain, created_at) VALUES (1, 'Back', 'back.myshopify.com', 1);`
	for _, tc := range []struct {
		name      string
		text      string
		wantUsers int
	}{
		{"marked", database.ForeignKeysOffMarker + "\n" + rebuildShops, 1},
		{"unmarked", rebuildShops, 0},
		{"marker not on the first line", "-- rebuild\n" + database.ForeignKeysOffMarker + "\n" + rebuildShops, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := dbtest.Open(t, database.SQLite)
			mustExec(t, db, `INSERT INTO shops (id, name, domain, created_at) VALUES (1, 'A', 'a.myshopify.com', 1)`)
			mustExec(t, db, `INSERT INTO users (shop_id, email, role, password_hash, created_at) VALUES (1, 'a@example.com', 'owner', 'x', 1)`)
			if err := db.ApplyMigration(ctx, 9000, "9000_rebuild_shops.sql", tc.text); err != nil {
				t.Fatal(err)
			}
			var users int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
				t.Fatal(err)
			}
			if users != tc.wantUsers {
				t.Errorf("users after the migration: %d, want %d", users, tc.wantUsers)
			}
			requireForeignKeysOn(t, db)
		})
	}
}

// A foreign-keys-off migration that leaves a row without its parent, or
// fails on its own, is rolled back whole: the error names the table, the
// migration is not recorded, and foreign keys are on again. On
// PostgreSQL the marker changes nothing: the violation fails at once.
func TestForeignKeysOffMigrationRollsBackOnFailure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		text    string
		wantErr []string // on SQLite
	}{
		{"dangling reference", database.ForeignKeysOffMarker + `
CREATE TABLE probe (id INTEGER PRIMARY KEY, shop_id BIGINT NOT NULL REFERENCES shops(id));
INSERT INTO probe (id, shop_id) VALUES (1, 424242);
INSERT INTO probe (id, shop_id) VALUES (2, 424243);`,
			[]string{"foreign key check failed", "table probe: 2 row(s) reference no row of shops"}},
		{"statement fails", database.ForeignKeysOffMarker + `
CREATE TABLE probe (id INTEGER PRIMARY KEY);
INSERT INTO no_such_table VALUES (1);`,
			[]string{"no_such_table"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
				ctx := context.Background()
				before, err := db.CurrentVersion(ctx)
				if err != nil {
					t.Fatal(err)
				}
				err = db.ApplyMigration(ctx, 9000, "9000_probe.sql", tc.text)
				if err == nil {
					t.Fatal("the migration was applied")
				}
				if db.Dialect == database.SQLite {
					for _, want := range tc.wantErr {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error %q does not say %q", err, want)
						}
					}
				}
				if after, err := db.CurrentVersion(ctx); err != nil || after != before {
					t.Errorf("schema version %d (%v) after a failed migration, want %d", after, err, before)
				}
				if _, err := db.Exec(ctx, `SELECT 1 FROM probe`); err == nil {
					t.Error("table probe exists after a failed migration")
				}
				if db.Dialect == database.SQLite {
					requireForeignKeysOn(t, db)
				}
			})
		})
	}
}

// requireForeignKeysOn checks the write connection enforces foreign keys:
// the pragma says so, and a row without its parent is refused.
func requireForeignKeysOn(t *testing.T, db *database.DB) {
	t.Helper()
	ctx := context.Background()
	var on int
	if err := db.ExecReturning(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil {
		t.Fatal(err)
	}
	if on != 1 {
		t.Errorf("PRAGMA foreign_keys = %d on the write connection, want 1", on)
	}
	_, err := db.Exec(ctx, `INSERT INTO users (shop_id, email, role, password_hash, created_at) VALUES (424242, 'nobody@example.com', 'owner', 'x', 1)`)
	if !isForeignKeyViolation(err) {
		t.Errorf("a user of no shop: %v, want a foreign key violation", err)
	}
}

func mustExec(t *testing.T, db database.Querier, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// isForeignKeyViolation reports whether err is a foreign key failure on
// either engine.
func isForeignKeyViolation(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "FOREIGN KEY constraint failed") ||
		strings.Contains(err.Error(), "SQLSTATE 23503"))
}

// A database that ran a later migration but never an earlier one (merged
// after the later one had migrated it) is refused by name, not silently
// left without it.
func TestMigrateRefusesAMigrationBelowTheDatabasesVersion(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		mustExec(t, db, `DELETE FROM schema_migrations WHERE version = 9`)
		_, err := db.Migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "never ran 0009_shop_scoped_references.sql") {
			t.Fatalf("migrate with 0009 missing below the database's version: %v, want it refused by name", err)
		}
		mustExec(t, db, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9, '0009_shop_scoped_references.sql', 1)`)
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
