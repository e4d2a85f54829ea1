package ingest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// orderArrival is an order of its own customer as a platform reports it.
func orderArrival(externalID, name, customerExternalID string) (commerce.Order, *commerce.Customer) {
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	return commerce.Order{ExternalID: externalID, Name: name, Currency: "USD", CreatedAt: at, UpdatedAt: at},
		&commerce.Customer{ExternalID: customerExternalID, Email: customerExternalID + "@example.com", UpdatedAt: at}
}

// A return reported before its order arrives waits unattached — even when
// another order already carries the name — and the order's arrival
// attaches it.
func TestReturnWaitsForItsOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		shopID := fixtures.Shop(t, db, "acme").ID
		records := returns.NewRecords(db)
		orders := ingest.New(db, commerce.NewStore(db), records)
		arrive := func(externalID, name, customerExternalID string) (*commerce.Order, commerce.UpsertResult) {
			t.Helper()
			o, customer := orderArrival(externalID, name, customerExternalID)
			stored, res, err := orders.Upsert(ctx, shopID, o, customer)
			if err != nil {
				t.Fatal(err)
			}
			return stored, res
		}
		other, _ := arrive("5001032", "#1032", "c-noah")
		if _, err := records.Upsert(ctx, shopID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "48210009",
			OrderName: "#1032", OrderExternalID: "5007032", State: returns.StateOpen}); err != nil {
			t.Fatal(err)
		}
		if byOrder, err := records.ForOrders(ctx, shopID, []int64{other.ID}); err != nil || len(byOrder) != 0 {
			t.Fatalf("the return went to another order of its name: %+v %v", byOrder, err)
		}
		arrived, res := arrive("5007032", "#1032", "c-olivia")
		byOrder, err := records.ForOrders(ctx, shopID, []int64{other.ID, arrived.ID})
		if err != nil || res != commerce.Inserted || len(byOrder) != 1 || len(byOrder[arrived.ID]) != 1 {
			t.Fatalf("after the order arrived (%s): %+v %v", res, byOrder, err)
		}
		// The order arriving again (a replayed webhook) keeps its return.
		if _, res := arrive("5007032", "#1032", "c-olivia"); res != commerce.Updated {
			t.Fatalf("replay: %s", res)
		}
		if byOrder, err = records.ForOrders(ctx, shopID, []int64{arrived.ID}); err != nil || len(byOrder[arrived.ID]) != 1 {
			t.Fatalf("after the replay: %+v %v", byOrder, err)
		}
	})
}

// The order and the returns it attaches are one transaction: when the
// returns cannot be attached, the order, its customer and its items are
// not stored either, so the next delivery of the order starts afresh.
func TestOrderIsNotStoredWithoutItsWaitingReturns(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		shopID := fixtures.Shop(t, db, "acme").ID
		store := commerce.NewStore(db)
		orders := ingest.New(db, store, returns.NewRecords(db))

		dbtest.BreakTable(t, db, "returns")
		o, customer := orderArrival("5007032", "#1032", "c-olivia")
		o.LineItems = []commerce.LineItem{{Title: "Mug", Quantity: 1, CurrentQuantity: 1, PriceMinor: 2400}}
		if _, _, err := orders.Upsert(ctx, shopID, o, customer); err == nil {
			t.Fatal("the order was stored although its waiting returns could not be attached")
		}
		if got, err := store.OrderByExternalID(ctx, shopID, o.ExternalID); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("the order outlived its failed ingest: %+v %v", got, err)
		}
		if list, _, err := store.ListCustomers(ctx, shopID, "", database.Page{}); err != nil || len(list) != 0 {
			t.Fatalf("the customer outlived its order's failed ingest: %+v %v", list, err)
		}
	})
}
