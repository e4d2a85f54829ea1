// Package tickettest seeds a shop with a realistic helpdesk in bulk, for
// benchmarks of the inbox (the store query and the page).
package tickettest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Seed writes n tickets into the shop in one transaction, each with five
// messages: a third open (waiting since their last message), a third
// pending, a third closed; assigned round-robin to agents and nobody; one
// in fifty spam; a third tagged; the first agent has read half of them.
// The planner statistics (and PostgreSQL's visibility map) are refreshed
// afterwards, as a live database's autovacuum would.
func Seed(tb testing.TB, db *database.DB, shopID int64, agents []int64, n int, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	statuses := []string{"open", "pending", "closed"}
	err := db.InTx(ctx, func(tx *database.Tx) error {
		const chunk = 500
		for start := 0; start < n; start += chunk {
			var rows []string
			var args []any
			for i := start; i < min(start+chunk, n); i++ {
				created := now.Add(-time.Duration(n-i) * 7 * time.Minute).UnixMilli()
				activity := created + int64(i%97)*60_000
				status := statuses[i%3]
				var assignee, waiting, closed, spam any
				if k := i % (len(agents) + 1); k < len(agents) {
					assignee = agents[k]
				}
				switch status {
				case "open":
					waiting = activity
				case "closed":
					closed = activity
				}
				if i%50 == 7 {
					spam = activity
				}
				rows = append(rows, "(?, ?, ?, ?, ?, 'hub', ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, shopID, fmt.Sprintf("shopper%d@example.com", i), fmt.Sprintf("Shopper %d", i),
					fmt.Sprintf("Order #%d: where is my parcel?", 1000+i), status, assignee, created, activity, activity, closed,
					created+15*60_000, waiting, "Hello, my parcel has not arrived yet and the tracking page has not moved for days.", spam)
			}
			_, err := tx.Exec(ctx, `INSERT INTO tickets (shop_id, requester_email, requester_name, subject, status, channel, assignee_id,
				created_at, updated_at, last_activity_at, closed_at, first_response_at, waiting_since, preview, spam_at) VALUES `+
				strings.Join(rows, ", "), args...)
			if err != nil {
				return err
			}
		}
		for m := range 5 {
			_, err := tx.Exec(ctx, `INSERT INTO ticket_messages (shop_id, ticket_id, kind, author_kind, body, created_at)
				SELECT shop_id, id, 'message', ?, preview, created_at + ? FROM tickets WHERE shop_id = ?`,
				[]string{"customer", "agent"}[m%2], int64(m)*60_000, shopID)
			if err != nil {
				return err
			}
		}
		var tags []int64
		for _, name := range []string{"damaged", "late", "refund", "vip", "wholesale", "wrong-size"} {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO tags (shop_id, name, created_at) VALUES (?, ?, ?) RETURNING id`, shopID, name, now.UnixMilli()).Scan(&id); err != nil {
				return err
			}
			tags = append(tags, id)
		}
		for i, tag := range tags {
			_, err := tx.Exec(ctx, `INSERT INTO ticket_tags (shop_id, ticket_id, tag_id)
				SELECT shop_id, id, ? FROM tickets WHERE shop_id = ? AND id % 18 = ?`, tag, shopID, i*3)
			if err != nil {
				return err
			}
		}
		if len(agents) > 0 {
			_, err := tx.Exec(ctx, `INSERT INTO ticket_reads (shop_id, user_id, ticket_id, read_at)
				SELECT shop_id, ?, id, last_activity_at FROM tickets WHERE shop_id = ? AND id % 2 = 0`, agents[0], shopID)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seed %d tickets: %v", n, err)
	}
	// The statistics a running hubdesk keeps (database_statistics_refresh);
	// on PostgreSQL with the visibility map too, for index-only scans.
	if db.Dialect == database.Postgres {
		if _, err := db.Exec(ctx, "VACUUM ANALYZE"); err != nil {
			tb.Fatalf("analyze: %v", err)
		}
	} else if err := db.RefreshStatistics(ctx); err != nil {
		tb.Fatalf("analyze: %v", err)
	}
}

// SeedCommerce gives the shop's tickets the customers and orders a ticket
// view shows beside the conversation, in one transaction: a customer for
// every five tickets, each ticket about an order of its customer with two
// line items (so each customer has five orders), written in multi-row
// inserts and linked with one prepared statement. Seed the tickets first.
func SeedCommerce(tb testing.TB, db *database.DB, shopID int64, now time.Time) {
	tb.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *database.Tx) error {
		var tickets []int64
		rows, err := tx.Query(ctx, `SELECT id FROM tickets WHERE shop_id = ? ORDER BY id`, shopID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			tickets = append(tickets, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		customers := (len(tickets) + 4) / 5
		at := now.Add(-200 * 24 * time.Hour).UnixMilli()
		customerIDs, err := insertReturningIDs(ctx, tx, customers, 500, func(i int) (string, []any) {
			return "(?, ?, ?, ?, ?, ?, ?)", []any{shopID, fmt.Sprintf("c%d", i), fmt.Sprintf("shopper%d@example.com", i),
				"Shopper", fmt.Sprint(i), at, at}
		}, `INSERT INTO customers (shop_id, external_id, email, first_name, last_name, created_at, updated_at) VALUES `)
		if err != nil {
			return err
		}
		orderIDs, err := insertReturningIDs(ctx, tx, len(tickets), 500, func(i int) (string, []any) {
			created := now.Add(-time.Duration(len(tickets)-i) * 7 * time.Minute).Add(-48 * time.Hour).UnixMilli()
			return "(?, ?, ?, ?, ?, 'paid', 'fulfilled', 'USD', 9800, 695, 784, 11279, ?, '1120 SW 5th Ave', 'Portland', 'OR', '97204', 'US', ?, ?)",
				[]any{shopID, fmt.Sprintf("o%d", i), customerIDs[i%customers], fmt.Sprintf("#%d", 1000+i), fmt.Sprintf("shopper%d@example.com", i%customers),
					fmt.Sprintf("Shopper %d", i%customers), created, created}
		}, `INSERT INTO orders (shop_id, external_id, customer_id, name, email, financial_status, fulfillment_status, currency,
			subtotal_minor, shipping_minor, tax_minor, total_minor, ship_name, ship_address1, ship_city, ship_province, ship_zip,
			ship_country_code, created_at, updated_at) VALUES `)
		if err != nil {
			return err
		}
		for k, title := range []string{"Merino Hiking Socks", "Stoneware Camp Mug"} {
			_, err := tx.Exec(ctx, `INSERT INTO line_items (shop_id, order_id, position, external_id, variant_id, sku, title, variant_title,
				quantity, current_quantity, price_minor) SELECT shop_id, id, ?, external_id || '-' || ?, '4401000' || ?, 'SKU-' || ?, ?, 'M', 1, 1, 4900
				FROM orders WHERE shop_id = ?`, k, fmt.Sprint(k), fmt.Sprint(k), fmt.Sprint(k), title, shopID)
			if err != nil {
				return err
			}
		}
		update := `UPDATE tickets SET customer_id = ?, order_id = ? WHERE shop_id = ? AND id = ?`
		if db.Dialect == database.Postgres {
			update = `UPDATE tickets SET customer_id = $1, order_id = $2 WHERE shop_id = $3 AND id = $4`
		}
		link, err := tx.SQLTx().PrepareContext(ctx, update)
		if err != nil {
			return err
		}
		defer link.Close()
		for i, id := range tickets {
			if _, err := link.ExecContext(ctx, customerIDs[i%customers], orderIDs[i], shopID, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seed customers and orders: %v", err)
	}
	if err := db.RefreshStatistics(ctx); err != nil {
		tb.Fatalf("analyze: %v", err)
	}
}

// insertReturningIDs inserts n rows, chunk at a time, and returns their
// ids in the order of i.
func insertReturningIDs(ctx context.Context, tx *database.Tx, n, chunk int, row func(i int) (string, []any), insert string) ([]int64, error) {
	ids := make([]int64, 0, n)
	for start := 0; start < n; start += chunk {
		var values []string
		var args []any
		for i := start; i < min(start+chunk, n); i++ {
			v, a := row(i)
			values = append(values, v)
			args = append(args, a...)
		}
		rows, err := tx.Query(ctx, insert+strings.Join(values, ", ")+" RETURNING id", args...)
		if err != nil {
			return nil, err
		}
		var got []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			got = append(got, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		// RETURNING's row order is not promised; ids are, ascending in
		// insert order, within one statement.
		slices.Sort(got)
		ids = append(ids, got...)
	}
	return ids, nil
}
