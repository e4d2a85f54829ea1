package database_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// reference is one column pointing at another row of the same shop:
// (shop_id, column) → parent(shop_id, id).
type reference struct {
	child, column, parent string
	// onDelete says what deleting the parent does: setNull nulls column
	// (and nothing else of the row), cascade deletes the row with it,
	// refuse keeps both (the parent's delete fails while rows point at it).
	onDelete deleteAction
}

type deleteAction int

const (
	cascade deleteAction = iota
	setNull
	refuse
)

// references lists every reference between a shop's rows.
// TestEveryReferenceIsShopScoped holds the schema to it, so a reference
// added without a row here fails.
var references = []reference{
	{"sessions", "user_id", "users", cascade},
	{"api_tokens", "user_id", "users", cascade},
	{"orders", "customer_id", "customers", setNull},
	{"line_items", "order_id", "orders", cascade},
	{"fulfillments", "order_id", "orders", cascade},
	{"returns", "order_id", "orders", setNull},
	{"return_eligibility", "order_id", "orders", cascade},
	{"tickets", "customer_id", "customers", setNull},
	{"tickets", "order_id", "orders", setNull},
	{"tickets", "assignee_id", "users", setNull},
	{"ticket_messages", "ticket_id", "tickets", cascade},
	{"ticket_messages", "author_user_id", "users", setNull},
	{"ticket_tags", "ticket_id", "tickets", cascade},
	{"ticket_tags", "tag_id", "tags", cascade},
	{"attachments", "ticket_id", "tickets", cascade},
	{"attachments", "message_id", "ticket_messages", cascade},
	{"ticket_reads", "user_id", "users", cascade},
	{"ticket_reads", "ticket_id", "tickets", cascade},
	{"desk_notifications", "user_id", "users", cascade},
	{"desk_notifications", "ticket_id", "tickets", cascade},
	{"ticket_mails", "ticket_id", "tickets", cascade},
	{"ticket_mails", "message_id", "ticket_messages", cascade},
	{"invitations", "invited_by", "users", refuse},
	{"invitations", "user_id", "users", refuse},
	{"password_resets", "user_id", "users", refuse},
	{"password_resets", "requested_by", "users", refuse},
	{"hub_guest_links", "order_id", "orders", cascade},
}

// Every table holding a shop's rows refers to its shop, and every other
// reference it holds is composite through shop_id, on both engines: no
// row can point into another shop.
func TestEveryReferenceIsShopScoped(t *testing.T) {
	want := map[string][]string{}
	for _, r := range references {
		want[r.child] = append(want[r.child], fmt.Sprintf("(shop_id,%s) → %s(shop_id,id)", r.column, r.parent))
	}
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		s := readSchema(t, context.Background(), db)
		for table, columns := range s.tables {
			if !slices.Contains(columns, "shop_id") {
				continue
			}
			keys := s.foreignKeys[table]
			if !slices.Contains(keys, "(shop_id) → shops(id)") {
				t.Errorf("%s: shop_id does not refer to shops(id); foreign keys %v", table, keys)
			}
			others := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "(shop_id) → shops(id)" })
			wanted := slices.Sorted(slices.Values(want[table]))
			if !slices.Equal(others, wanted) {
				t.Errorf("%s: references %v, want %v (each (shop_id, column) → parent(shop_id, id), listed in references)", table, others, wanted)
			}
		}
	})
}

// shopRows are the ids of one shop's rows, a row in every table, each
// reference pointing inside the shop.
type shopRows struct {
	shop int64
	ids  map[string]int64 // parent table → its row's id
}

var uniq atomic.Int64

// seedShop writes a shop with a row in every table that holds a shop's
// rows, through SQL: the test is about what the schema allows, whatever
// the stores do.
func seedShop(t *testing.T, db *database.DB, name string) shopRows {
	t.Helper()
	ctx := context.Background()
	s := shopRows{ids: map[string]int64{}}
	returning := func(query string, args ...any) int64 {
		t.Helper()
		var id int64
		if err := db.ExecReturning(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return id
	}
	s.shop = returning(`INSERT INTO shops (name, domain, created_at) VALUES (?, ?, 1)`, name, name+".myshopify.com")
	s.ids["users"] = returning(`INSERT INTO users (shop_id, email, role, password_hash, created_at) VALUES (?, ?, 'agent', 'x', 1)`,
		s.shop, name+"@example.com")
	s.ids["customers"] = returning(`INSERT INTO customers (shop_id, external_id, created_at, updated_at) VALUES (?, 'c1', 1, 1)`, s.shop)
	s.ids["tags"] = returning(`INSERT INTO tags (shop_id, name, created_at) VALUES (?, 'vip', 1)`, s.shop)
	for _, r := range []string{"orders", "tickets", "ticket_messages"} { // parents that are children too
		query, args := insertChild(s, r, "", 0)
		s.ids[r] = returning(query, args...)
	}
	for _, table := range []string{"sessions", "api_tokens", "line_items", "fulfillments", "returns", "return_eligibility",
		"ticket_tags", "attachments", "ticket_reads", "desk_notifications", "ticket_mails", "invitations", "password_resets", "hub_guest_links"} {
		query, args := insertChild(s, table, "", 0)
		mustExec(t, db, query, args...)
	}
	mustExec(t, db, `INSERT INTO shop_settings (shop_id, draft, published, draft_updated_at) VALUES (?, '{}', '{}', 1)`, s.shop)
	mustExec(t, db, `INSERT INTO audit_log (shop_id, at, actor_kind, action) VALUES (?, 1, 'system', 'test')`, s.shop)
	mustExec(t, db, `INSERT INTO connections (shop_id, provider, credentials, status, updated_at) VALUES (?, 'loop', 'x', 'unverified', 1)`, s.shop)
	mustExec(t, db, `INSERT INTO mail_addresses (shop_id, address, created_at) VALUES (?, ?, 1)`, s.shop, "support@"+name+".example")
	mustExec(t, db, `INSERT INTO imap_mailboxes (shop_id, mailbox, uid_validity, last_uid) VALUES (?, 'INBOX', 1, 1)`, s.shop)
	mustExec(t, db, `INSERT INTO macros (shop_id, name, body, created_at, updated_at) VALUES (?, 'thanks', 'Thank you', 1, 1)`, s.shop)
	mustExec(t, db, `INSERT INTO blocked_senders (shop_id, email, created_at) VALUES (?, 'spam@example.com', 1)`, s.shop)
	mustExec(t, db, `INSERT INTO webhook_events (shop_id, provider, topic, delivery_id, body, received_at) VALUES (?, 'loop', 't', 'd1', '{}', 1)`, s.shop)
	mustExec(t, db, `INSERT INTO loop_sync (shop_id, updated_at) VALUES (?, 1)`, s.shop)
	mustExec(t, db, `INSERT INTO loop_subscription_cleanups (shop_id, credentials, url, created_at) VALUES (?, 'x', 'u', 1)`, s.shop)
	mustExec(t, db, `INSERT INTO loop_order_checks (shop_id, order_id, checked_at) VALUES (?, ?, 1)`, s.shop, s.ids["orders"])
	mustExec(t, db, `INSERT INTO shopify_webhook_claims (shop_id, claim, event_row, claimed_at) VALUES (?, 'webhook:w1', 1, 1)`, s.shop)
	mustExec(t, db, `INSERT INTO privacy_requests (shop_id, kind, received_at) VALUES (?, 'customers/redact', 1)`, s.shop)
	mustExec(t, db, `INSERT INTO shopify_backfills (shop_id, status, started_at, updated_at) VALUES (?, 'done', 1, 1)`, s.shop)
	mustExec(t, db, `INSERT INTO shopify_customer_checks (shop_id, customer_id, checked_at) VALUES (?, ?, 1)`, s.shop, s.ids["customers"])
	mustExec(t, db, `INSERT INTO shopify_subscriptions (shop_id, checked_at) VALUES (?, 1)`, s.shop)
	return s
}

// insertChild returns an INSERT of a row of table into s's shop, its
// references pointing at s's rows except column, which points at ref.
func insertChild(s shopRows, table, column string, ref int64) (string, []any) {
	n := uniq.Add(1)
	values := map[string]any{"shop_id": s.shop}
	switch table {
	case "sessions":
		maps.Copy(values, map[string]any{"token_hash": fmt.Sprint("session", n), "user_id": s.ids["users"], "created_at": 1, "expires_at": 2})
	case "api_tokens":
		maps.Copy(values, map[string]any{"token_hash": fmt.Sprint("token", n), "user_id": s.ids["users"], "created_at": 1})
	case "orders":
		maps.Copy(values, map[string]any{"external_id": fmt.Sprint("o", n), "customer_id": s.ids["customers"], "name": "#1",
			"currency": "USD", "created_at": 1, "updated_at": 1})
	case "line_items":
		maps.Copy(values, map[string]any{"order_id": s.ids["orders"], "position": n, "title": "Socks", "quantity": 1, "current_quantity": 1})
	case "fulfillments":
		maps.Copy(values, map[string]any{"order_id": s.ids["orders"], "external_id": fmt.Sprint("f", n), "created_at": 1, "updated_at": 1})
	case "returns":
		maps.Copy(values, map[string]any{"order_id": s.ids["orders"], "provider": "loop", "external_id": fmt.Sprint("r", n),
			"order_name": "#1", "state": "open", "created_at": 1, "updated_at": 1, "synced_at": 1})
	case "return_eligibility": // keyed by (shop_id, order_id)
		maps.Copy(values, map[string]any{"order_id": s.ids["orders"], "verdict": "eligible", "basis": fmt.Sprint("b", n), "checked_at": 1})
	case "tickets":
		maps.Copy(values, map[string]any{"customer_id": s.ids["customers"], "order_id": s.ids["orders"], "assignee_id": s.ids["users"],
			"subject": "Where is it?", "channel": "hub", "created_at": 1, "updated_at": 1, "last_activity_at": 1})
	case "ticket_messages":
		maps.Copy(values, map[string]any{"ticket_id": s.ids["tickets"], "author_kind": "agent", "author_user_id": s.ids["users"],
			"body": "On its way", "created_at": 1})
	case "ticket_tags": // keyed by (ticket_id, tag_id)
		maps.Copy(values, map[string]any{"ticket_id": s.ids["tickets"], "tag_id": s.ids["tags"]})
	case "attachments":
		maps.Copy(values, map[string]any{"ticket_id": s.ids["tickets"], "message_id": s.ids["ticket_messages"], "filename": "a.txt",
			"content_type": "text/plain", "size_bytes": 1, "sha256": "x", "data": []byte("a"), "created_at": 1})
	case "ticket_reads": // keyed by (user_id, ticket_id)
		maps.Copy(values, map[string]any{"user_id": s.ids["users"], "ticket_id": s.ids["tickets"], "read_at": n})
	case "invitations":
		maps.Copy(values, map[string]any{"email": fmt.Sprint("invitee", n, "@example.com"), "role": "agent",
			"token_hash": fmt.Sprint("invitation", n), "invited_by": s.ids["users"], "user_id": s.ids["users"],
			"created_at": 1, "expires_at": 2})
	case "password_resets":
		maps.Copy(values, map[string]any{"user_id": s.ids["users"], "token_hash": fmt.Sprint("reset", n),
			"requested_by": s.ids["users"], "created_at": 1, "expires_at": 2})
	case "hub_guest_links":
		maps.Copy(values, map[string]any{"order_id": s.ids["orders"], "token_hash": fmt.Sprint("guest", n), "created_at": 1, "expires_at": 2})
	case "desk_notifications":
		maps.Copy(values, map[string]any{"user_id": s.ids["users"], "ticket_id": s.ids["tickets"], "kind": "assigned", "created_at": 1})
	case "ticket_mails":
		maps.Copy(values, map[string]any{"ticket_id": s.ids["tickets"], "message_id": s.ids["ticket_messages"], "kind": "reply",
			"recipient": "ada@example.com", "mail_message_id": fmt.Sprint("m", n, "@example.com"), "created_at": 1, "updated_at": 1})
	default:
		panic("insertChild: no row for " + table)
	}
	if column != "" {
		values[column] = ref
	}
	columns := slices.Sorted(maps.Keys(values))
	args := make([]any, len(columns))
	for i, c := range columns {
		args[i] = values[c]
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", table, strings.Join(columns, ", "),
		strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")), args
}

// For every reference, a row of shop A pointing at shop B's parent is
// refused — written so, changed to it, or moved to shop B — while the same
// row pointing at shop A's parent is accepted.
func TestCrossShopReferencesAreRefused(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a, b := seedShop(t, db, "alpha"), seedShop(t, db, "beta")
		for _, r := range references {
			t.Run(r.child+"."+r.column, func(t *testing.T) {
				own, foreign := a.ids[r.parent], b.ids[r.parent]
				// The seeded row may hold the key already (ticket_tags, ticket_reads).
				query, args := insertChild(a, r.child, r.column, own)
				if _, err := db.Exec(ctx, query+" ON CONFLICT DO NOTHING", args...); err != nil {
					t.Fatalf("a row pointing at its own shop's %s: %v", r.parent, err)
				}
				query, args = insertChild(a, r.child, r.column, foreign)
				if _, err := db.Exec(ctx, query, args...); !isForeignKeyViolation(err) {
					t.Errorf("insert pointing at another shop's %s: %v, want a foreign key violation", r.parent, err)
				}
				update := fmt.Sprintf("UPDATE %s SET %s = ? WHERE shop_id = ? AND %s = ?", r.child, r.column, r.column)
				if _, err := db.Exec(ctx, update, foreign, a.shop, own); !isForeignKeyViolation(err) {
					t.Errorf("update to another shop's %s: %v, want a foreign key violation", r.parent, err)
				}
				move := fmt.Sprintf("UPDATE %s SET shop_id = ? WHERE shop_id = ? AND %s = ?", r.child, r.column)
				if _, err := db.Exec(ctx, move, b.shop, a.shop, own); !isForeignKeyViolation(err) {
					t.Errorf("moving the row to another shop, still pointing at its %s: %v, want a foreign key violation", r.parent, err)
				}
			})
		}
	})
}

// Deleting a parent keeps today's behaviour on both engines: a SET NULL
// reference loses the reference and nothing else (shop_id stays, the row
// stays — a deleted user's ticket messages remain), a CASCADE reference
// takes its rows along, a reference without an action refuses the delete.
// The other shop's rows are untouched.
func TestDeletingAParent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		for i, r := range references {
			t.Run(r.parent+"→"+r.child+"."+r.column, func(t *testing.T) {
				ctx := context.Background()
				a, b := seedShop(t, db, fmt.Sprint("alpha", i)), seedShop(t, db, fmt.Sprint("beta", i))
				count := func(where string, args ...any) int {
					t.Helper()
					var n int
					if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM "+r.child+" WHERE "+where, args...).Scan(&n); err != nil {
						t.Fatal(err)
					}
					return n
				}
				pointing := count(fmt.Sprintf("shop_id = ? AND %s = ?", r.column), a.shop, a.ids[r.parent])
				rowsOfA := count("shop_id = ?", a.shop)
				rowsOfB := count("shop_id = ?", b.shop)
				if pointing == 0 {
					t.Fatalf("no %s row points at the %s", r.child, r.parent)
				}
				// Rows of other tables that would refuse the delete go first.
				for _, q := range references {
					if q.parent == r.parent && q.onDelete == refuse && q.child != r.child {
						mustExec(t, db, fmt.Sprintf("DELETE FROM %s WHERE shop_id = ? AND %s = ?", q.child, q.column), a.shop, a.ids[r.parent])
					}
				}
				_, err := db.Exec(ctx, "DELETE FROM "+r.parent+" WHERE shop_id = ? AND id = ?", a.shop, a.ids[r.parent])
				switch r.onDelete {
				case refuse:
					if !isForeignKeyViolation(err) {
						t.Errorf("deleting a %s that %s rows point at: %v, want a foreign key violation", r.parent, r.child, err)
					}
					if got := count("shop_id = ?", a.shop); got != rowsOfA {
						t.Errorf("%s rows of the shop: %d after the refused delete, want all %d kept", r.child, got, rowsOfA)
					}
				case setNull:
					if err != nil {
						t.Fatal(err)
					}
					if got := count(fmt.Sprintf("%s = ?", r.column), a.ids[r.parent]); got != 0 {
						t.Errorf("%d rows still point at the deleted %s", got, r.parent)
					}
					if got := count("shop_id = ?", a.shop); got != rowsOfA {
						t.Errorf("%s rows of the shop: %d after the delete, want all %d kept", r.child, got, rowsOfA)
					}
					if got := count(fmt.Sprintf("shop_id = ? AND %s IS NULL", r.column), a.shop); got < pointing {
						t.Errorf("%s rows with %s nulled: %d, want %d", r.child, r.column, got, pointing)
					}
				case cascade:
					if err != nil {
						t.Fatal(err)
					}
					if got := count("shop_id = ?", a.shop); got != rowsOfA-pointing {
						t.Errorf("%s rows of the shop: %d after the delete, want %d (its rows deleted with it)", r.child, got, rowsOfA-pointing)
					}
				}
				if got := count(fmt.Sprintf("shop_id = ? AND %s = ?", r.column), b.shop, b.ids[r.parent]); got != rowsOfB {
					t.Errorf("the other shop's %s rows pointing at its %s: %d, want %d", r.child, r.parent, got, rowsOfB)
				}
			})
		}
	})
}

// Deleting a shop deletes every row it holds, in every table with a
// shop_id, through composite and SET NULL references alike; the other
// shop keeps all of its rows.
func TestDeletingAShopDeletesAllItsRows(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a, b := seedShop(t, db, "alpha"), seedShop(t, db, "beta")
		s := readSchema(t, ctx, db)
		count := func(table string, shop int64) int {
			t.Helper()
			var n int
			if err := db.QueryRow(ctx, "SELECT COUNT(*) FROM "+table+" WHERE shop_id = ?", shop).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := map[string]int{}
		for table, columns := range s.tables {
			if !slices.Contains(columns, "shop_id") {
				continue
			}
			if before[table] = count(table, b.shop); before[table] == 0 || count(table, a.shop) == 0 {
				t.Fatalf("seedShop writes no row to %s: add one, so this test covers it", table)
			}
		}
		mustExec(t, db, `DELETE FROM shops WHERE id = ?`, a.shop)
		for table, n := range before {
			if got := count(table, a.shop); got != 0 {
				t.Errorf("%s: %d rows of the deleted shop remain", table, got)
			}
			if got := count(table, b.shop); got != n {
				t.Errorf("%s: the other shop has %d rows, want %d", table, got, n)
			}
		}
	})
}
