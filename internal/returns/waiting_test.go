package returns

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// A burst of returns reported before their orders (a busy Loop shop's
// webhooks) leaves thousands waiting, counted by none of the planner's
// statistics until their next refresh. Every chunk of arriving orders then
// looks for its waiting returns by the waiting returns' own index, a
// lookup per order, never a walk over all of them that the shop-and-order
// index would take for "order_id IS NULL" (it holds only returns with
// their order).
func TestAttachWaitingManyReadsTheWaitingIndexPastStaleStatistics(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		numbers := func(n int) string {
			return fmt.Sprintf(`WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < %d) `, n)
		}
		for _, stmt := range []string{
			numbers(3000) + fmt.Sprintf(`INSERT INTO orders (shop_id, external_id, name, currency, created_at, updated_at)
				SELECT %d, 'o' || n, '#' || n, 'USD', n, n FROM c`, shopID),
			fmt.Sprintf(`INSERT INTO returns (shop_id, provider, external_id, order_name, order_external_id, order_id, state, created_at, updated_at, synced_at)
				SELECT shop_id, 'loop', 'r' || id, name, external_id, id, 'closed', 1, 1, 1 FROM orders WHERE shop_id = %d`, shopID),
			// A few wait already when the statistics are taken.
			numbers(25) + fmt.Sprintf(`INSERT INTO returns (shop_id, provider, external_id, order_name, order_external_id, state, created_at, updated_at, synced_at)
				SELECT %d, 'loop', 'v' || n, '#V' || n, 'v' || n, 'open', 1, 1, 1 FROM c`, shopID),
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if err := db.RefreshStatistics(ctx); err != nil {
			t.Fatal(err)
		}
		stmt := numbers(5000) + fmt.Sprintf(`INSERT INTO returns (shop_id, provider, external_id, order_name, order_external_id, state, created_at, updated_at, synced_at)
			SELECT %d, 'loop', 'w' || n, '#W' || n, 'w' || n, 'open', 1, 1, 1 FROM c`, shopID)
		if _, err := db.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
		ids := make([]string, 32)
		for i := range ids {
			ids[i] = fmt.Sprintf("n%d", i)
		}
		query, args := attachWaitingMany(db.Engine(), shopID, ids)
		explain := "EXPLAIN QUERY PLAN "
		if db.Dialect == database.Postgres {
			explain = "EXPLAIN "
		}
		rows, err := db.Query(ctx, explain+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var plan strings.Builder
		for rows.Next() {
			var detail string
			if db.Dialect == database.Postgres {
				err = rows.Scan(&detail)
			} else {
				var id, parent, unused int
				err = rows.Scan(&id, &parent, &unused, &detail)
			}
			if err != nil {
				t.Fatal(err)
			}
			plan.WriteString(detail + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan.String(), "returns_waiting") {
			t.Errorf("the waiting returns are not looked up by their index:\n%s", plan.String())
		}
	})
}
