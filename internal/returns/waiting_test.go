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
		if !searchesWaitingByOrder(db.Dialect, plan.String()) {
			t.Errorf("the waiting returns are not looked up by their index's shop and order id:\n%s", plan.String())
		}

		// And it attaches what waits for the orders named, only that.
		_, other := withShopNamed(t, db, "b.myshopify.com")
		for _, stmt := range []string{
			fmt.Sprintf(`INSERT INTO orders (shop_id, external_id, name, currency, created_at, updated_at) VALUES (%d, 'w7', '#W7', 'USD', 1, 1), (%d, 'w8', '#W8', 'USD', 1, 1)`, shopID, shopID),
			fmt.Sprintf(`INSERT INTO returns (shop_id, provider, external_id, order_name, order_external_id, state, created_at, updated_at, synced_at)
				VALUES (%d, 'loop', 'x7', '#W7', 'w7', 'open', 1, 1, 1)`, other),
		} {
			if _, err := db.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		records := NewRecords(db)
		if err := records.AttachWaitingMany(ctx, shopID, []string{"w7", "w8", "w9"}); err != nil {
			t.Fatal(err)
		}
		var attached, waiting, othersWaiting int
		if err := db.QueryRow(ctx, `SELECT
				(SELECT COUNT(*) FROM returns r JOIN orders o ON o.id = r.order_id AND o.shop_id = r.shop_id WHERE r.shop_id = ? AND o.external_id IN ('w7', 'w8') AND r.order_external_id = o.external_id),
				(SELECT COUNT(*) FROM returns WHERE shop_id = ? AND order_id IS NULL),
				(SELECT COUNT(*) FROM returns WHERE shop_id = ? AND order_id IS NULL)`, shopID, shopID, other).Scan(&attached, &waiting, &othersWaiting); err != nil {
			t.Fatal(err)
		}
		if attached != 2 || waiting != 25+5000-2 || othersWaiting != 1 {
			t.Errorf("attached %d returns (want 2), %d still wait (want %d), the other shop's %d (want 1)", attached, waiting, 25+5000-2, othersWaiting)
		}
	})
}

// searchesWaitingByOrder says whether plan reads the waiting returns'
// index by shop and order id, not by the shop alone with the order ids a
// filter over every waiting return of the shop.
func searchesWaitingByOrder(engine database.Dialect, plan string) bool {
	if engine == database.SQLite {
		return strings.Contains(plan, "USING INDEX returns_waiting (shop_id=? AND order_external_id=?)")
	}
	if strings.Contains(plan, "Seq Scan on returns") {
		return false
	}
	lines := strings.Split(plan, "\n")
	for i, line := range lines {
		if !strings.Contains(line, "using returns_waiting") || i+1 == len(lines) {
			continue
		}
		if cond := lines[i+1]; strings.Contains(cond, "Index Cond") && strings.Contains(cond, "order_external_id") {
			return true
		}
	}
	return false
}
