package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// shopScopedVersion is the migration that made every reference between
// a shop's rows composite through shop_id (on SQLite by rebuilding the
// tables).
const shopScopedVersion = 9

// The demo shop written by the release before migration 0009 — its
// orders, Loop returns, staff with sessions and tokens, tickets with
// agent replies — comes through the migration unchanged, row for row, and
// the stores go on working on it.
func TestDemoDatabaseSurvivesShopScopedReferences(t *testing.T) {
	dbtest.ForEachAt(t, shopScopedVersion-1, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Now()
		stores := testStores(t, db)
		seeded, err := Seed(ctx, stores, demoURL, now)
		if err != nil {
			t.Fatal(err)
		}
		connectDemoLoop(t, db, seeded, now)
		agent, err := stores.Users.GetByEmail(ctx, AgentEmail)
		if err != nil {
			t.Fatal(err)
		}
		// Tickets as the release before 0009 wrote them: today's ticket
		// store writes columns later migrations add, so they go in by SQL.
		for i, o := range seeded.Orders[:5] {
			var ticketID int64
			if err := db.ExecReturning(ctx, `INSERT INTO tickets (shop_id, customer_id, order_id, requester_email, subject, channel,
				assignee_id, created_at, updated_at, last_activity_at) VALUES (?, ?, ?, ?, ?, 'hub', ?, ?, ?, ?) RETURNING id`,
				seeded.Shop.ID, o.CustomerID, o.ID, o.Email, fmt.Sprintf("Question %d", i), agent.ID, i, i, i).Scan(&ticketID); err != nil {
				t.Fatal(err)
			}
			for _, m := range []struct {
				kind   string
				author any
				body   string
			}{{"customer", nil, "Where is my parcel?"}, {"agent", agent.ID, "On its way."}} {
				if _, err := db.Exec(ctx, `INSERT INTO ticket_messages (shop_id, ticket_id, author_kind, author_user_id, body, created_at)
					VALUES (?, ?, ?, ?, ?, ?)`, seeded.Shop.ID, ticketID, m.kind, m.author, m.body, i); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := stores.Users.CreateSession(ctx, agent); err != nil {
			t.Fatal(err)
		}
		if _, _, err := stores.Users.CreateAPIToken(ctx, agent, "demo"); err != nil {
			t.Fatal(err)
		}

		before := snapshot(t, db)
		for _, table := range []string{"orders", "line_items", "fulfillments", "returns", "tickets", "ticket_messages", "sessions", "api_tokens", "customers", "users"} {
			if len(before[table]) == 0 {
				t.Fatalf("the demo seed wrote no %s: the test would prove nothing about them", table)
			}
		}
		if _, err := db.MigrateTo(ctx, shopScopedVersion); err != nil {
			t.Fatal(err)
		}
		after := snapshot(t, db)
		for table, rows := range before {
			if !slices.Equal(after[table], rows) {
				t.Errorf("%s: %d rows before, %d after, or their values changed", table, len(rows), len(after[table]))
			}
		}
		if db.Dialect == database.SQLite {
			if problems := queryAll(t, db, `PRAGMA foreign_key_check`); len(problems) != 0 {
				t.Errorf("foreign_key_check: %v", problems)
			}
			if got := queryAll(t, db, `PRAGMA integrity_check`); !slices.Equal(got, []string{"ok"}) {
				t.Errorf("integrity_check: %v", got)
			}
		} else if unchecked := queryAll(t, db, `SELECT conname FROM pg_constraint WHERE NOT convalidated`); len(unchecked) != 0 {
			t.Errorf("constraints not validated: %v", unchecked)
		}

		// The stores work on the migrated database, brought up to date:
		// seeding finds the shop, a ticket opens on an order, an order
		// arrives.
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		again, err := Seed(ctx, stores, demoURL, now)
		if err != nil || again.Created || len(again.Orders) != len(seeded.Orders) {
			t.Fatalf("seeding the migrated demo: created %v, %d orders, %v", again != nil && again.Created, len(again.Orders), err)
		}
		o := seeded.Orders[len(seeded.Orders)-1]
		if _, err := ticket.NewStore(db, time.Now).Create(ctx, seeded.Shop.ID, ticket.NewTicket{CustomerID: o.CustomerID, OrderID: o.ID,
			Subject: "After the upgrade", Channel: ticket.ChannelHub, Body: "Hello"}); err != nil {
			t.Fatal(err)
		}
		newOrder := buildOrder(9001, people[1], shopperPlans[0], now, demoURL, rand.New(rand.NewPCG(1, 2)))
		if _, _, err := stores.Orders.Upsert(ctx, seeded.Shop.ID, newOrder, seeded.Customers[1]); err != nil {
			t.Fatal(err)
		}
	})
}

// connectDemoLoop connects the demo shop to a Loop sandbox, as the demo
// command does, so its returns are seeded.
func connectDemoLoop(t *testing.T, db *database.DB, seeded *Result, now time.Time) {
	t.Helper()
	sb := sandbox.New(sandbox.Options{NoSeed: true})
	t.Cleanup(sb.Close)
	loopSrv := httptest.NewServer(sb)
	t.Cleanup(loopSrv.Close)
	sb.SetBaseURL(loopSrv.URL)
	editor := settings.New(db, returns.NewStore(db), connection.NewStore(db, fixtures.Box(t)), audit.New(db),
		settings.LoopKeyChecker{Client: loop.New(loop.Options{BaseURL: loopSrv.URL})})
	if err := ConnectLoop(context.Background(), sb, LoopStores{Settings: editor, Records: oldRecords{db}}, seeded, now); err != nil {
		t.Fatal(err)
	}
}

// oldRecords writes returns as the release before 0009 did: today's
// returns.Records writes columns later migrations add.
type oldRecords struct{ db *database.DB }

func (o oldRecords) Upsert(ctx context.Context, shopID int64, r returns.Return) (commerce.UpsertResult, error) {
	var orderID any
	var id int64
	err := o.db.QueryRow(ctx, `SELECT id FROM orders WHERE shop_id = ? AND external_id = ?`, shopID, r.OrderExternalID).Scan(&id)
	if err == nil {
		orderID = id
	}
	_, err = o.db.Exec(ctx, `INSERT INTO returns (shop_id, provider, external_id, order_id, order_name, order_external_id, state, outcome,
		carrier, tracking_number, label_status, label_url, status_page_url, created_at, updated_at, synced_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		shopID, string(r.Provider), r.ExternalID, orderID, r.OrderName, r.OrderExternalID, string(r.State), r.Outcome,
		r.Carrier, r.TrackingNumber, r.LabelStatus, r.LabelURL, r.StatusPageURL,
		database.Time(r.CreatedAt), database.Time(r.UpdatedAt), database.Time(r.UpdatedAt))
	return commerce.Inserted, err
}

// snapshot reads every row of every hubdesk table (not the migration
// record, not the job queue's), each as one line, in key order.
func snapshot(t *testing.T, db *database.DB) map[string][]string {
	t.Helper()
	tablesQuery := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if db.Dialect == database.Postgres {
		tablesQuery = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	out := map[string][]string{}
	for _, table := range queryAll(t, db, tablesQuery) {
		if strings.HasPrefix(table, "river_") || table == "schema_migrations" {
			continue
		}
		out[table] = queryAll(t, db, "SELECT * FROM "+table+" ORDER BY 1, 2")
	}
	return out
}

// queryAll runs query and returns each row's values as one line.
func queryAll(t *testing.T, db *database.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		values := make([]any, len(columns))
		ptrs := make([]any, len(columns))
		for i := range values {
			ptrs[i] = &values[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		line := make([]string, len(values))
		for i, v := range values {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			line[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(line, " | "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
