package returns

import (
	"context"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// Webhooks arrive twice and out of order: the newest state wins and a
// replay changes nothing.
func TestRecordsUpsertNewestWins(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		s := NewRecords(db)
		t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		order := putOrder(t, db, shopID, "5001037", "#1037", "c-ada")
		r := Return{Provider: ProviderLoop, ExternalID: "48210475", OrderName: "#1037", State: StateOpen, UpdatedAt: t0}
		steps := []struct {
			state ReturnState
			at    time.Time
			want  commerce.UpsertResult
		}{
			{StateOpen, t0, commerce.Inserted},
			{StateOpen, t0, commerce.Updated}, // a replay re-applies the same state
			{StateClosed, t0.Add(time.Hour), commerce.Updated},
			{StateOpen, t0.Add(time.Minute), commerce.Stale}, // late, older event
		}
		for i, step := range steps {
			r.State, r.UpdatedAt = step.state, step.at
			got, err := s.Upsert(ctx, shopID, r)
			if err != nil || got != step.want {
				t.Fatalf("step %d: %v %v, want %v", i, got, err, step.want)
			}
		}
		byOrder, err := s.ForOrders(ctx, shopID, []int64{order.ID, order.ID + 1000})
		if err != nil || len(byOrder) != 1 || len(byOrder[order.ID]) != 1 || byOrder[order.ID][0].State != StateClosed {
			t.Fatalf("stored: %+v %v", byOrder, err)
		}
		if Progress(byOrder[order.ID]) != commerce.ReturnCompleted || ActiveReturn(byOrder[order.ID]) != nil {
			t.Fatal("a closed return is completed, not active")
		}
		if _, err := s.Upsert(ctx, shopID, Return{Provider: ProviderLoop, OrderName: "#1"}); err == nil {
			t.Fatal("a return without id and state was accepted")
		}
	})
}

// putOrder stores an order of its own customer.
func putOrder(t *testing.T, db *database.DB, shopID int64, externalID, name, customerExternalID string) *commerce.Order {
	t.Helper()
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	o, _, err := commerce.NewStore(db).UpsertOrder(context.Background(), shopID, commerce.Order{
		ExternalID: externalID, Name: name, Currency: "USD", CreatedAt: at, UpdatedAt: at,
	}, &commerce.Customer{ExternalID: customerExternalID, Email: customerExternalID + "@example.com", UpdatedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Names repeat across customers: a return belongs to the one order its
// platform order id names; a name alone attaches only when exactly one
// order carries it, never to one of several.
func TestReturnsAttachToOneOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		s := NewRecords(db)
		olivia := putOrder(t, db, shopID, "5001032", "#1032", "c-olivia")
		noah := putOrder(t, db, shopID, "5009032", "#1032", "c-noah")
		single := putOrder(t, db, shopID, "5001040", "#1040", "c-olivia")
		open := func(id, name, orderExternalID string) {
			t.Helper()
			r := Return{Provider: ProviderLoop, ExternalID: id, OrderName: name, OrderExternalID: orderExternalID, State: StateOpen,
				Carrier: "USPS", TrackingNumber: "9400" + id}
			if _, err := s.Upsert(ctx, shopID, r); err != nil {
				t.Fatal(err)
			}
		}
		open("1", "#1032", olivia.ExternalID) // the platform id decides
		open("2", "#1032", "")                // ambiguous name: neither order
		open("3", "#1040", "")                // the one order of that name

		orders := []*commerce.Order{olivia, noah, single}
		byOrder, err := s.ForOrders(ctx, shopID, OrderIDs(orders))
		if err != nil {
			t.Fatal(err)
		}
		if got := byOrder[olivia.ID]; len(got) != 1 || got[0].ExternalID != "1" || got[0].TrackingNumber != "94001" || got[0].OrderID != olivia.ID {
			t.Errorf("Olivia's #1032 returns: %+v", got)
		}
		if got := byOrder[noah.ID]; len(got) != 0 {
			t.Errorf("Noah's #1032 shows returns that are not his: %+v", got)
		}
		if got := byOrder[single.ID]; len(got) != 1 || got[0].ExternalID != "3" {
			t.Errorf("#1040 returns: %+v", got)
		}
		want := map[int64]commerce.Status{olivia.ID: commerce.StatusReturnInProgress, noah.ID: commerce.StatusProcessing,
			single.ID: commerce.StatusReturnInProgress}
		for _, o := range orders {
			if got := commerce.DeriveStatus(o, Progress(byOrder[o.ID])); got != want[o.ID] {
				t.Errorf("order %d: status %s, want %s", o.ID, got, want[o.ID])
			}
		}

		// A later name-only update of an attached return keeps its order,
		// even when the name has become ambiguous since.
		putOrder(t, db, shopID, "5002040", "#1040", "c-noah")
		open("3", "#1040", "")
		if byOrder, err = s.ForOrders(ctx, shopID, []int64{single.ID}); err != nil || len(byOrder[single.ID]) != 1 {
			t.Errorf("#1040 lost its return: %+v %v", byOrder, err)
		}
	})
}

// Migration 0005 attaches the returns stored by name before it: by the
// platform order id when it names a stored order, else by a name only one
// order of the shop carries; the rest wait unattached.
func TestMigrationAttachesExistingReturns(t *testing.T) {
	const before, returnsOrderID = 4, 5
	dbtest.ForEachAt(t, before, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		_, otherShop := withShopNamed(t, db, "b.myshopify.com")
		at := database.Time(time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC))
		order := func(shop int64, externalID, name string) int64 {
			t.Helper()
			var id int64
			if err := db.ExecReturning(ctx, `INSERT INTO orders (shop_id, external_id, name, currency, created_at, updated_at)
				VALUES (?, ?, ?, 'USD', ?, ?) RETURNING id`, shop, externalID, name, at, at).Scan(&id); err != nil {
				t.Fatal(err)
			}
			return id
		}
		olivia := order(shopID, "5001032", "#1032")
		order(shopID, "5009032", "#1032")
		single := order(shopID, "5001040", "#1040")
		order(otherShop, "7001040", "#1040") // another shop's namesake does not make #1040 ambiguous
		for _, r := range []struct{ id, name, orderExternalID string }{
			{"by-platform-id", "#1032", "5001032"},
			{"ambiguous-name", "#1032", ""},
			{"unique-name", "#1040", ""},
			{"unknown-platform-id", "#1040", "5555"},
			{"unknown-name", "#9999", ""},
		} {
			if _, err := db.Exec(ctx, `INSERT INTO returns (shop_id, provider, external_id, order_name, order_external_id, state,
				created_at, updated_at, synced_at) VALUES (?, 'loop', ?, ?, ?, 'open', ?, ?, ?)`,
				shopID, r.id, r.name, r.orderExternalID, at, at, at); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.MigrateTo(ctx, returnsOrderID); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(ctx, `SELECT external_id, COALESCE(order_id, 0) FROM returns WHERE shop_id = ?`, shopID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		got := map[string]int64{}
		for rows.Next() {
			var ext string
			var orderID int64
			if err := rows.Scan(&ext, &orderID); err != nil {
				t.Fatal(err)
			}
			got[ext] = orderID
		}
		want := map[string]int64{"by-platform-id": olivia, "ambiguous-name": 0, "unique-name": single, "unknown-platform-id": 0, "unknown-name": 0}
		if len(got) != len(want) {
			t.Fatalf("returns after migrating: %v", got)
		}
		for ext, id := range want {
			if got[ext] != id {
				t.Errorf("%s: order %d, want %d", ext, got[ext], id)
			}
		}
	})
}
