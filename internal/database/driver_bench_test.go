package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// BenchmarkPostgresDriver compares the two ways hubdesk can talk to
// PostgreSQL on the hub's own reads: database/sql over pgx's stdlib adapter
// (what every store uses) and pgx's native pool. The queries are the hub
// orders tab's: one order by id, a page of 50 orders, and the line items of
// those 50 orders through an IN list. Serial runs show per-query cost;
// parallel runs show throughput with the two cores shared, as under load.
//
//	HUBDESK_TEST_POSTGRES_URL=postgres://… go test ./internal/database -run '^$' -bench PostgresDriver
func BenchmarkPostgresDriver(b *testing.B) {
	ctx := context.Background()
	url := dbtest.CreatePostgres(b)
	db, err := database.OpenPostgres(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	shopID, orderIDs := seedOrders(b, db, 50)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()

	const (
		point    = `SELECT id, name, email, currency, total_minor, created_at FROM orders WHERE shop_id = $1 AND id = $2`
		page     = `SELECT id, name, email, currency, total_minor, created_at FROM orders WHERE shop_id = $1 ORDER BY created_at DESC, id DESC LIMIT 51`
		children = `SELECT order_id, title, quantity, price_minor FROM line_items WHERE shop_id = $1 AND order_id IN (%s) ORDER BY order_id, position`
	)
	in := make([]string, len(orderIDs))
	childArgs := []any{shopID}
	for i, id := range orderIDs {
		in[i] = fmt.Sprintf("$%d", i+2)
		childArgs = append(childArgs, id)
	}
	childrenQuery := fmt.Sprintf(children, strings.Join(in, ", "))

	type reader func(query string, args ...any) (rows int, err error)
	readers := []struct {
		name string
		read reader
	}{
		{"database-sql", func(query string, args ...any) (int, error) {
			// db.Query rebinds ? placeholders; these queries already use $n.
			rows, err := db.Query(ctx, query, args...)
			if err != nil {
				return 0, err
			}
			return countSQL(rows)
		}},
		{"pgx-pool", func(query string, args ...any) (int, error) {
			rows, err := pool.Query(ctx, query, args...)
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				_ = rows.RawValues() // raw bytes, like sql.RawBytes below
				n++
			}
			return n, rows.Err()
		}},
	}
	queries := []struct {
		name  string
		query string
		args  []any
		rows  int
	}{
		{"point", point, []any{shopID, orderIDs[0]}, 1},
		{"page50", page, []any{shopID}, 50},
		{"items-of-50", childrenQuery, childArgs, 100},
	}
	benchmarkPageWithItems(b, db, pool, shopID)
	for _, q := range queries {
		for _, r := range readers {
			run := func(b *testing.B) {
				if n, err := r.read(q.query, q.args...); err != nil || n != q.rows {
					b.Fatalf("%d rows, %v", n, err)
				}
			}
			b.Run(q.name+"/"+r.name, func(b *testing.B) {
				for b.Loop() {
					run(b)
				}
			})
			b.Run(q.name+"/"+r.name+"/parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := r.read(q.query, q.args...); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}

// benchmarkPageWithItems reads a page of 50 orders and their line items
// the ways a store could: one query after another (the items selected by
// the page's ids) through database/sql or pgx's pool, or both in one
// round trip (the items selected by a subquery on the page's condition)
// through database.Batch or a plain pgx batch.
func benchmarkPageWithItems(b *testing.B, db *database.DB, pool *pgxpool.Pool, shopID int64) {
	ctx := context.Background()
	const (
		page     = `FROM orders o WHERE o.shop_id = ? ORDER BY o.created_at DESC, o.id DESC LIMIT 51`
		orders   = `SELECT o.id, o.name, o.email, o.currency, o.total_minor, o.created_at ` + page
		byIDs    = `SELECT order_id, title, quantity, price_minor FROM line_items WHERE shop_id = ? AND order_id IN (%s) ORDER BY order_id, position`
		bySubsel = `SELECT order_id, title, quantity, price_minor FROM line_items WHERE shop_id = ? AND order_id IN (SELECT o.id ` + page + `) ORDER BY order_id, position`
	)
	dollars := func(q string) string { // ? → $1, $2, … for the plain pgx pool
		for n := 1; strings.Contains(q, "?"); n++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", n), 1)
		}
		return q
	}
	var ordersRow struct {
		id, total, created int64
		name, email, cur   string
	}
	var itemRow struct {
		order, qty, price int64
		title             string
	}
	scanOrder := func(row database.RowScanner) error {
		return row.Scan(&ordersRow.id, &ordersRow.name, &ordersRow.email, &ordersRow.cur, &ordersRow.total, &ordersRow.created)
	}
	scanItem := func(row database.RowScanner) error {
		return row.Scan(&itemRow.order, &itemRow.title, &itemRow.qty, &itemRow.price)
	}
	ways := []struct {
		name string
		read func() (orders, items int, err error)
	}{
		{"database-sql/sequential", func() (int, int, error) {
			rows, err := db.Query(ctx, orders, shopID)
			if err != nil {
				return 0, 0, err
			}
			var ids []int64
			for rows.Next() {
				if err := scanOrder(rows); err != nil {
					return 0, 0, err
				}
				ids = append(ids, ordersRow.id)
			}
			rows.Close()
			in, args := database.InList(ids)
			rows, err = db.Query(ctx, fmt.Sprintf(byIDs, in), append([]any{shopID}, args...)...)
			if err != nil {
				return 0, 0, err
			}
			items := 0
			for rows.Next() {
				if err := scanItem(rows); err != nil {
					return 0, 0, err
				}
				items++
			}
			rows.Close()
			return len(ids), items, rows.Err()
		}},
		{"database-batch", func() (int, int, error) {
			n, items := 0, 0
			var batch database.Batch
			batch.Read(orders, []any{shopID}, func(row database.RowScanner) error { n++; return scanOrder(row) })
			batch.Read(bySubsel, []any{shopID, shopID}, func(row database.RowScanner) error { items++; return scanItem(row) })
			err := db.ReadBatch(ctx, &batch)
			return n, items, err
		}},
		{"pgx-pool/batch-no-snapshot", func() (int, int, error) {
			var batch pgx.Batch
			batch.Queue(dollars(orders), shopID)
			batch.Queue(dollars(bySubsel), shopID, shopID)
			results := pool.SendBatch(ctx, &batch)
			defer results.Close()
			count := func(scan func(database.RowScanner) error) (int, error) {
				rows, err := results.Query()
				if err != nil {
					return 0, err
				}
				defer rows.Close()
				n := 0
				for rows.Next() {
					if err := scan(rows); err != nil {
						return 0, err
					}
					n++
				}
				return n, rows.Err()
			}
			n, err := count(scanOrder)
			if err != nil {
				return 0, 0, err
			}
			items, err := count(scanItem)
			return n, items, err
		}},
	}
	for _, w := range ways {
		b.Run("page-with-items/"+w.name, func(b *testing.B) {
			for b.Loop() {
				if n, items, err := w.read(); err != nil || n != 50 || items != 100 {
					b.Fatalf("%d orders, %d items, %v", n, items, err)
				}
			}
		})
		b.Run("page-with-items/"+w.name+"/parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := w.read(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// countSQL reads every row of a database/sql result as raw bytes.
func countSQL(rows *sql.Rows) (int, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(sql.RawBytes)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}

// seedOrders writes one shop with n orders of two line items each.
func seedOrders(tb testing.TB, db *database.DB, n int) (shopID int64, orderIDs []int64) {
	tb.Helper()
	ctx := context.Background()
	if err := db.ExecReturning(ctx, `INSERT INTO shops (name, domain, created_at) VALUES ('Bench', 'bench.myshopify.com', 0) RETURNING id`).Scan(&shopID); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		var id int64
		if err := db.ExecReturning(ctx, `INSERT INTO orders (shop_id, external_id, name, email, currency, total_minor, created_at, updated_at)
			VALUES (?, ?, ?, 'olivia@example.com', 'USD', 6995, ?, ?) RETURNING id`,
			shopID, fmt.Sprint(9000+i), fmt.Sprintf("#%d", 1000+i), int64(i)*1000, int64(i)*1000).Scan(&id); err != nil {
			tb.Fatal(err)
		}
		for pos := range 2 {
			if _, err := db.Exec(ctx, `INSERT INTO line_items (shop_id, order_id, position, title, quantity, current_quantity, price_minor)
				VALUES (?, ?, ?, 'Linen shirt', 1, 1, 3495)`, shopID, id, pos); err != nil {
				tb.Fatal(err)
			}
		}
		orderIDs = append(orderIDs, id)
	}
	return shopID, orderIDs
}
