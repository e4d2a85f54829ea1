package database_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// RefreshStatistics leaves the planner row estimates to choose indexes
// with, and on SQLite no per-value samples: with samples, SQLite compiles
// a statement again whenever it runs with a new bound value.
func TestRefreshStatisticsKeepsRowEstimatesWithoutSamples(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		for _, stmt := range []string{
			`CREATE TABLE stat_probe (id INTEGER PRIMARY KEY, shop_id INTEGER NOT NULL, note TEXT NOT NULL)`,
			`CREATE INDEX stat_probe_shop ON stat_probe (shop_id)`,
			`INSERT INTO stat_probe (id, shop_id, note) SELECT n, n % 50, 'note' FROM (` + numbers(db, 5000) + `) AS s`,
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		// A full ANALYZE (by hand, or by an older version) leaves samples
		// behind; refreshing drops them.
		if _, err := db.Exec(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
		if err := db.RefreshStatistics(ctx); err != nil {
			t.Fatal(err)
		}
		count := func(query string) int {
			t.Helper()
			var n int
			if err := db.QueryRow(ctx, query).Scan(&n); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		}
		if db.Dialect == database.SQLite {
			if n := count(`SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = 'stat_probe'`); n == 0 {
				t.Error("no row estimates for stat_probe in sqlite_stat1")
			}
			if n := count(`SELECT COUNT(*) FROM sqlite_stat4`); n != 0 {
				t.Errorf("sqlite_stat4 holds %d samples, want none", n)
			}
			var plan strings.Builder
			rows, err := db.Query(ctx, `EXPLAIN QUERY PLAN SELECT note FROM stat_probe WHERE shop_id = ?`, 7)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan.WriteString(detail + "\n")
			}
			if !strings.Contains(plan.String(), "stat_probe_shop") {
				t.Errorf("plan does not use the index:\n%s", plan.String())
			}
			return
		}
		if n := count(`SELECT COUNT(*) FROM pg_stats WHERE tablename = 'stat_probe'`); n == 0 {
			t.Error("no statistics for stat_probe in pg_stats")
		}
	})
}

// numbers is a query of the integers 1..n, in the engine's own words.
func numbers(db *database.DB, n int) string {
	if db.Dialect == database.SQLite {
		return `WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ` + strconv.Itoa(n) + `) SELECT n FROM c`
	}
	return `SELECT generate_series(1, ` + strconv.Itoa(n) + `) AS n`
}
