package commerce_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// TestOrdersVersionFollowsEveryWrite holds the triggers of migrations 0043
// and 0047: every write to a customer's orders, line items, shipments,
// returns or the returns platform's eligibility answers —
// through the store or in plain SQL, as another process or a later write
// path would — moves that customer's version, and only theirs. A table
// rebuilt without its triggers fails here.
func TestOrdersVersionFollowsEveryWrite(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		ada := &commerce.Customer{ExternalID: "c1", Email: "ada@example.com", FirstName: "Ada", UpdatedAt: t0}
		bob := &commerce.Customer{ExternalID: "c2", Email: "bob@example.com", FirstName: "Bob", UpdatedAt: t0}
		o, _, err := s.UpsertOrder(ctx, shopID, sampleOrder("A", t0), ada)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.UpsertOrder(ctx, shopID, sampleOrder("B", t0), bob); err != nil {
			t.Fatal(err)
		}
		bobOrders, _, err := s.ListOrders(ctx, shopID, commerce.OrderFilter{Search: "#B"}, database.Page{})
		if err != nil || len(bobOrders) == 0 {
			t.Fatalf("bob's order: %v", err)
		}
		bobID := bobOrders[0].CustomerID
		version := func(id int64) int64 {
			t.Helper()
			v, err := s.OrdersVersion(ctx, shopID, id)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		adaV, bobV := version(o.CustomerID), version(bobID)
		if adaV == 0 || bobV == 0 {
			t.Fatalf("versions after the first orders: ada %d, bob %d; want both moved from 0", adaV, bobV)
		}
		exec := func(query string, args ...any) func() error {
			return func() error { _, err := db.Exec(ctx, query, args...); return err }
		}
		later := t0.Add(time.Hour)
		steps := []struct {
			name  string
			write func() error
		}{
			{"order updated", func() error { _, _, err := s.UpsertOrder(ctx, shopID, sampleOrder("A", later), ada); return err }},
			{"shipment stored", func() error {
				_, err := s.UpsertFulfillment(ctx, shopID, "A", commerce.Fulfillment{ExternalID: "f2", Carrier: "DHL", CreatedAt: later, UpdatedAt: later})
				return err
			}},
			{"shipment event", func() error {
				_, err := s.ApplyShipmentEvent(ctx, shopID, "A", "f2", commerce.ShipmentEvent{Status: "in_transit", HappenedAt: later})
				return err
			}},
			{"line item changed in SQL", exec(`UPDATE line_items SET title = 'Socks' WHERE shop_id = ? AND order_id = ?`, shopID, o.ID)},
			{"return stored in SQL", exec(`INSERT INTO returns (shop_id, provider, external_id, order_name, state, created_at, updated_at, synced_at, order_id)
				VALUES (?, 'loop', 'r1', '#A', 'open', ?, ?, ?, ?)`, shopID, database.Time(later), database.Time(later), database.Time(later), o.ID)},
			{"return changed in SQL", exec(`UPDATE returns SET state = 'closed' WHERE shop_id = ? AND external_id = 'r1'`, shopID)},
			{"return deleted in SQL", exec(`DELETE FROM returns WHERE shop_id = ? AND external_id = 'r1'`, shopID)},
			{"eligibility answer stored in SQL", exec(`INSERT INTO return_eligibility (shop_id, order_id, verdict, reason, basis, checked_at)
				VALUES (?, ?, 'eligible', '', 'b1', ?)`, shopID, o.ID, database.Time(later))},
			{"eligibility answer replaced in SQL", exec(`INSERT INTO return_eligibility (shop_id, order_id, verdict, reason, basis, checked_at)
				VALUES (?, ?, 'ineligible', 'outside_window', 'b2', ?)
				ON CONFLICT (shop_id, order_id) DO UPDATE SET verdict = excluded.verdict, reason = excluded.reason, basis = excluded.basis`,
				shopID, o.ID, database.Time(later))},
			{"eligibility answer deleted in SQL", exec(`DELETE FROM return_eligibility WHERE shop_id = ? AND order_id = ?`, shopID, o.ID)},
			{"shipment deleted in SQL", exec(`DELETE FROM fulfillments WHERE shop_id = ? AND order_id = ? AND external_id = 'f2'`, shopID, o.ID)},
			{"line item deleted in SQL", exec(`DELETE FROM line_items WHERE shop_id = ? AND order_id = ?`, shopID, o.ID)},
		}
		for _, step := range steps {
			if err := step.write(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if v := version(o.CustomerID); v == adaV {
				t.Errorf("%s: ada's version stayed %d", step.name, v)
			} else {
				adaV = v
			}
			if v := version(bobID); v != bobV {
				t.Errorf("%s: bob's version moved %d → %d; another customer's write must not touch it", step.name, bobV, v)
			}
		}
		// An order moved to another customer changes both customers' pages.
		if _, err := db.Exec(ctx, `UPDATE orders SET customer_id = ? WHERE shop_id = ? AND id = ?`, bobID, shopID, o.ID); err != nil {
			t.Fatal(err)
		}
		if version(o.CustomerID) == adaV || version(bobID) == bobV {
			t.Errorf("an order moved from ada to bob left a version unchanged")
		}
		// The order goes with an eligibility answer: its triggers run in
		// the cascade too.
		if _, err := db.Exec(ctx, `INSERT INTO return_eligibility (shop_id, order_id, verdict, reason, basis, checked_at)
			VALUES (?, ?, 'eligible', '', 'b3', ?)`, shopID, o.ID, database.Time(later)); err != nil {
			t.Fatal(err)
		}
		bobV = version(bobID)
		if _, err := db.Exec(ctx, `DELETE FROM orders WHERE shop_id = ? AND id = ?`, shopID, o.ID); err != nil {
			t.Fatal(err)
		}
		if version(bobID) == bobV {
			t.Errorf("a deleted order left its customer's version unchanged")
		}
		if _, err := s.OrdersVersion(ctx, shopID+1000, bobID); err != commerce.ErrNotFound {
			t.Errorf("another shop's customer: %v, want ErrNotFound", err)
		}
	})
}

// TestOrdersVersionOneStatementManyRows holds the row triggers of
// PostgreSQL's migration 0049 (SQLite's have always been per row): one
// statement writing the rows of two customers' orders moves both
// versions, whichever of insert, update or delete it is, and an order
// without a customer, or a return without an order, moves nobody's.
func TestOrdersVersionOneStatementManyRows(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		var orders [2]*commerce.Order
		var customers [2]int64
		for i, ext := range []string{"A", "B"} {
			c := &commerce.Customer{ExternalID: "c" + ext, Email: ext + "@example.com", UpdatedAt: t0}
			o, _, err := s.UpsertOrder(ctx, shopID, sampleOrder(ext, t0), c)
			if err != nil {
				t.Fatal(err)
			}
			orders[i], customers[i] = o, o.CustomerID
		}
		g, _, err := s.UpsertOrder(ctx, shopID, sampleOrder("G", t0), nil)
		if err != nil {
			t.Fatal(err)
		}
		guestID := g.ID
		versions := func() [2]int64 {
			t.Helper()
			var v [2]int64
			for i, id := range customers {
				var err error
				if v[i], err = s.OrdersVersion(ctx, shopID, id); err != nil {
					t.Fatal(err)
				}
			}
			return v
		}
		later := database.Time(t0.Add(time.Hour))
		for _, step := range []struct {
			name, query string
			args        []any
			moves       bool
		}{
			{"shipments of both orders inserted", `INSERT INTO fulfillments (shop_id, order_id, external_id, created_at, updated_at)
				VALUES (?, ?, 'm1', ?, ?), (?, ?, 'm1', ?, ?)`,
				[]any{shopID, orders[0].ID, later, later, shopID, orders[1].ID, later, later}, true},
			{"shipments of both orders changed", `UPDATE fulfillments SET carrier = 'DHL' WHERE shop_id = ? AND external_id = 'm1'`,
				[]any{shopID}, true},
			{"shipments of both orders deleted", `DELETE FROM fulfillments WHERE shop_id = ? AND external_id = 'm1'`,
				[]any{shopID}, true},
			{"both orders changed", `UPDATE orders SET email = 'x@example.com' WHERE shop_id = ? AND id IN (?, ?)`,
				[]any{shopID, orders[0].ID, orders[1].ID}, true},
			{"returns of both orders stored", `INSERT INTO returns (shop_id, provider, external_id, order_name, state, created_at, updated_at, synced_at, order_id)
				VALUES (?, 'loop', 'r1', '#A', 'open', ?, ?, ?, ?), (?, 'loop', 'r2', '#B', 'open', ?, ?, ?, ?)`,
				[]any{shopID, later, later, later, orders[0].ID, shopID, later, later, later, orders[1].ID}, true},
			{"the guest order changed", `UPDATE orders SET email = 'g@example.com' WHERE shop_id = ? AND id = ?`,
				[]any{shopID, guestID}, false},
			{"a return of no order stored", `INSERT INTO returns (shop_id, provider, external_id, order_name, state, created_at, updated_at, synced_at)
				VALUES (?, 'loop', 'r3', '#Z', 'open', ?, ?, ?)`, []any{shopID, later, later, later}, false},
			{"the guest order deleted", `DELETE FROM orders WHERE shop_id = ? AND id = ?`, []any{shopID, guestID}, false},
		} {
			before := versions()
			if _, err := db.Exec(ctx, step.query, step.args...); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			after := versions()
			for i := range after {
				if moved := after[i] != before[i]; moved != step.moves {
					t.Errorf("%s: customer %d's version %d → %d; want moved %v", step.name, i, before[i], after[i], step.moves)
				}
			}
		}
	})
}
