// Package tickettest seeds a shop with a realistic helpdesk in bulk, for
// benchmarks of the inbox (the store query and the page).
package tickettest

import (
	"context"
	"fmt"
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
	refresh := "ANALYZE"
	if db.Dialect == database.Postgres {
		refresh = "VACUUM ANALYZE" // and the visibility map, for index-only scans
	}
	if _, err := db.Exec(ctx, refresh); err != nil {
		tb.Fatalf("analyze: %v", err)
	}
}
