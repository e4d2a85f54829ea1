package commerce_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

func newShop(t *testing.T, db *database.DB, domain string) int64 {
	t.Helper()
	var id int64
	err := db.ExecReturning(context.Background(), `INSERT INTO shops (name, domain, created_at) VALUES (?, ?, ?) RETURNING id`,
		domain, domain, database.Time(time.Now())).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var t0 = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

func sampleOrder(ext string, updated time.Time) commerce.Order {
	delivered := updated.Add(-time.Hour)
	return commerce.Order{
		ExternalID: ext, Name: "#" + ext, Currency: "USD", TotalMinor: 4200, FulfillmentStatus: "fulfilled",
		CreatedAt: t0, UpdatedAt: updated,
		ShippingAddress: commerce.Address{Name: "Ada Lovelace", City: "London", Zip: "N1 9GU", CountryCode: "GB"},
		LineItems:       []commerce.LineItem{{Title: "Wool socks", VariantID: "4001", VariantAvailable: true, Quantity: 2, CurrentQuantity: 2, PriceMinor: 2100}},
		Fulfillments: []commerce.Fulfillment{{ExternalID: "f1", Carrier: "UPS", TrackingNumber: "1Z999", ShipmentStatus: "delivered",
			DeliveredAt: &delivered, CreatedAt: t0, UpdatedAt: updated}},
	}
}

func TestUpsertOrderIsIdempotentAndNewerWins(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		cust := &commerce.Customer{ExternalID: "c1", Email: "Ada@Example.com", FirstName: "Ada", LastName: "Lovelace", UpdatedAt: t0}

		o, res, err := s.UpsertOrder(ctx, shopID, sampleOrder("1001", t0), cust)
		if err != nil || res != commerce.Inserted {
			t.Fatalf("insert: %v %v", res, err)
		}
		if o.CustomerID == 0 || o.Email != "ada@example.com" || len(o.LineItems) != 1 || len(o.Fulfillments) != 1 {
			t.Fatalf("stored order incomplete: %+v", o)
		}
		if commerce.DeriveStatus(o, commerce.NoReturn) != commerce.StatusDelivered {
			t.Fatalf("status = %s", commerce.DeriveStatus(o, commerce.NoReturn))
		}

		// The same event again changes nothing and duplicates nothing.
		again, res, err := s.UpsertOrder(ctx, shopID, sampleOrder("1001", t0), cust)
		if err != nil || res != commerce.Updated || again.ID != o.ID || len(again.LineItems) != 1 || len(again.Fulfillments) != 1 {
			t.Fatalf("replay: res=%v err=%v order=%+v", res, err, again)
		}

		// A newer update applies.
		newer := sampleOrder("1001", t0.Add(time.Hour))
		newer.LineItems[0].CurrentQuantity = 1
		if _, res, err := s.UpsertOrder(ctx, shopID, newer, nil); err != nil || res != commerce.Updated {
			t.Fatalf("newer: %v %v", res, err)
		}
		// An older one arriving late is ignored.
		older := sampleOrder("1001", t0.Add(-time.Hour))
		older.LineItems[0].CurrentQuantity = 0
		got, res, err := s.UpsertOrder(ctx, shopID, older, nil)
		if err != nil || res != commerce.Stale {
			t.Fatalf("older: %v %v", res, err)
		}
		if got.LineItems[0].CurrentQuantity != 1 || got.CustomerID != o.CustomerID {
			t.Fatalf("stale update overwrote newer data: %+v", got.LineItems[0])
		}
	})
}

func TestUpsertRejectsBadInputAndWritesNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		bad := sampleOrder("1002", t0)
		bad.LineItems = append(bad.LineItems, commerce.LineItem{Title: ""})
		_, _, err := s.UpsertOrder(ctx, shopID, bad, &commerce.Customer{ExternalID: "c9", Email: "x@example.com"})
		var ve *commerce.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("want validation error, got %v", err)
		}
		// Duplicate fulfillment ids are refused, and the embedded customer
		// is not written either. (Rollback inside a transaction is tested in
		// package database.)
		dup := sampleOrder("1003", t0)
		dup.Fulfillments = append(dup.Fulfillments, dup.Fulfillments[0])
		if _, _, err := s.UpsertOrder(ctx, shopID, dup, &commerce.Customer{ExternalID: "c10", Email: "y@example.com"}); err == nil {
			t.Fatal("duplicate fulfillment ids should fail")
		}
		if _, err := s.CustomerByExternalID(ctx, shopID, "c10"); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("customer of a failed order upsert was kept: %v", err)
		}
		if _, err := s.OrderByExternalID(ctx, shopID, "1003"); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("failed order was kept: %v", err)
		}
	})
}

func TestShopsAreIsolated(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		a := newShop(t, db, "a.myshopify.com")
		b := newShop(t, db, "b.myshopify.com")
		o, _, err := s.UpsertOrder(ctx, a, sampleOrder("1001", t0), &commerce.Customer{ExternalID: "c1", Email: "ada@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Order(ctx, b, o.ID); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("shop B read shop A's order: %v", err)
		}
		if _, err := s.Customer(ctx, b, o.CustomerID); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("shop B read shop A's customer: %v", err)
		}
		if list, _, _ := s.ListOrders(ctx, b, commerce.OrderFilter{}, database.Page{}); len(list) != 0 {
			t.Fatalf("shop B lists %d of shop A's orders", len(list))
		}
		// Linking an order to another shop's customer is refused.
		other := sampleOrder("2001", t0)
		other.CustomerID = o.CustomerID
		if _, _, err := s.UpsertOrder(ctx, b, other, nil); err == nil {
			t.Fatal("shop B linked an order to shop A's customer")
		}
		// The same external ids in two shops are two records.
		if _, res, err := s.UpsertOrder(ctx, b, sampleOrder("1001", t0), &commerce.Customer{ExternalID: "c1", Email: "z@example.com"}); err != nil || res != commerce.Inserted {
			t.Fatalf("same external id in shop B: %v %v", res, err)
		}
	})
}

func TestListOrdersPaginatesNewestFirst(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		cust := &commerce.Customer{ExternalID: "c1", Email: "ada@example.com", FirstName: "Ada"}
		for i := range 7 {
			o := sampleOrder(string(rune('A'+i)), t0)
			o.CreatedAt = t0.Add(time.Duration(i%3) * time.Hour) // ties on created_at
			if _, _, err := s.UpsertOrder(ctx, shopID, o, cust); err != nil {
				t.Fatal(err)
			}
		}
		c, _ := s.CustomerByExternalID(ctx, shopID, "c1")
		var seen []*commerce.Order
		p := database.Page{Limit: 3}
		for {
			page, next, err := s.ListOrders(ctx, shopID, commerce.OrderFilter{CustomerID: c.ID}, p)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, page...)
			if next == "" {
				break
			}
			if p.After, err = database.DecodeCursor(next); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != 7 {
			t.Fatalf("paged through %d orders, want 7", len(seen))
		}
		ids := map[int64]bool{}
		for i, o := range seen {
			if ids[o.ID] {
				t.Fatalf("order %d listed twice", o.ID)
			}
			ids[o.ID] = true
			if i > 0 && o.CreatedAt.After(seen[i-1].CreatedAt) {
				t.Fatalf("not newest first at %d", i)
			}
			if len(o.LineItems) != 1 || len(o.Fulfillments) != 1 {
				t.Fatalf("children not loaded for %s", o.Name)
			}
		}
		found, _, err := s.ListOrders(ctx, shopID, commerce.OrderFilter{Search: "#C"}, database.Page{})
		if err != nil || len(found) != 1 || found[0].Name != "#C" {
			t.Fatalf("search by name without #: %v %d", err, len(found))
		}
		found, _, _ = s.ListOrders(ctx, shopID, commerce.OrderFilter{Search: "ada"}, database.Page{})
		if len(found) != 7 {
			t.Fatalf("search by customer name found %d", len(found))
		}
	})
}

func TestUpsertFulfillment(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		o := sampleOrder("1001", t0)
		o.Fulfillments = nil
		if _, _, err := s.UpsertOrder(ctx, shopID, o, nil); err != nil {
			t.Fatal(err)
		}
		f := commerce.Fulfillment{ExternalID: "f9", Carrier: "DHL", TrackingNumber: "JD01", ShipmentStatus: "in_transit", UpdatedAt: t0}
		if res, err := s.UpsertFulfillment(ctx, shopID, "1001", f); err != nil || res != commerce.Inserted {
			t.Fatalf("insert: %v %v", res, err)
		}
		f.ShipmentStatus, f.UpdatedAt = "delivered", t0.Add(time.Hour)
		if res, err := s.UpsertFulfillment(ctx, shopID, "1001", f); err != nil || res != commerce.Updated {
			t.Fatalf("update: %v %v", res, err)
		}
		f.ShipmentStatus, f.UpdatedAt = "in_transit", t0
		if res, err := s.UpsertFulfillment(ctx, shopID, "1001", f); err != nil || res != commerce.Stale {
			t.Fatalf("stale: %v %v", res, err)
		}
		got, _ := s.OrderByExternalID(ctx, shopID, "1001")
		if commerce.DeriveStatus(got, commerce.NoReturn) != commerce.StatusDelivered {
			t.Fatalf("status = %s", commerce.DeriveStatus(got, commerce.NoReturn))
		}
		if _, err := s.UpsertFulfillment(ctx, shopID, "nope", f); !errors.Is(err, commerce.ErrNotFound) {
			t.Fatalf("unknown order: %v", err)
		}
	})
}

// A fulfillment updated on its own (fulfillment webhook) is not rolled back
// by a replayed order event carrying an older copy of it; one the order no
// longer lists goes away.
func TestOrderReplayKeepsNewerFulfillments(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		o := sampleOrder("1001", t0)
		o.Fulfillments[0].ShipmentStatus, o.Fulfillments[0].DeliveredAt = "in_transit", nil
		o.Fulfillments = append(o.Fulfillments, commerce.Fulfillment{ExternalID: "f2", ShipmentStatus: "in_transit", UpdatedAt: t0})
		if _, _, err := s.UpsertOrder(ctx, shopID, o, nil); err != nil {
			t.Fatal(err)
		}
		delivered := t0.Add(2 * time.Hour)
		f := o.Fulfillments[0]
		f.ShipmentStatus, f.DeliveredAt, f.UpdatedAt = "delivered", &delivered, delivered
		if _, err := s.UpsertFulfillment(ctx, shopID, "1001", f); err != nil {
			t.Fatal(err)
		}
		// The same order event again (equal updated_at), still saying in transit.
		replay := o
		replay.Fulfillments = []commerce.Fulfillment{o.Fulfillments[0]}
		got, res, err := s.UpsertOrder(ctx, shopID, replay, nil)
		if err != nil || res != commerce.Updated {
			t.Fatalf("replay: %v %v", res, err)
		}
		if len(got.Fulfillments) != 1 || got.Fulfillments[0].ShipmentStatus != "delivered" {
			t.Fatalf("fulfillments after replay: %+v", got.Fulfillments)
		}
		dup := sampleOrder("1002", t0)
		dup.Fulfillments = append(dup.Fulfillments, dup.Fulfillments[0])
		var ve *commerce.ValidationError
		if _, _, err := s.UpsertOrder(ctx, shopID, dup, nil); !errors.As(err, &ve) {
			t.Fatalf("duplicate fulfillment ids: %v", err)
		}
	})
}

// A caller's own reads about a page of orders join the batch that reads
// the page: they are given the page's ids as a query (the page and one
// more, to tell whether there is a next page), not another shop's or
// customer's.
func TestOrderReadsJoinThePage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		ada := &commerce.Customer{ExternalID: "c1", Email: "ada@example.com", FirstName: "Ada"}
		bob := &commerce.Customer{ExternalID: "c2", Email: "bob@example.com", FirstName: "Bob"}
		for i, c := range []*commerce.Customer{ada, ada, ada, bob} {
			o := sampleOrder(string(rune('A'+i)), t0)
			o.CreatedAt = t0.Add(time.Duration(i) * time.Hour)
			if _, _, err := s.UpsertOrder(ctx, shopID, o, c); err != nil {
				t.Fatal(err)
			}
		}
		c, err := s.CustomerByExternalID(ctx, shopID, "c1")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		orderNames := func(b *database.Batch, ids string, args []any) {
			b.Read(`SELECT name FROM orders WHERE id IN (`+ids+`) ORDER BY name`, args, func(row database.RowScanner) error {
				var name string
				err := row.Scan(&name)
				names = append(names, name)
				return err
			})
		}
		page, next, err := s.ListOrders(ctx, shopID, commerce.OrderFilter{CustomerID: c.ID}, database.Page{Limit: 2}, orderNames)
		if err != nil || len(page) != 2 || next == "" || page[0].Name != "#C" || len(page[1].LineItems) != 1 || len(page[1].Fulfillments) != 1 {
			t.Fatalf("page %+v next %q: %v", page, next, err)
		}
		if got := strings.Join(names, " "); got != "#A #B #C" {
			t.Errorf("the page's reads were given orders %s, want Ada's three", got)
		}

		names = nil
		o, err := s.OrderOf(ctx, shopID, c.ID, page[1].ID, orderNames)
		if err != nil || o.Name != "#B" || len(o.LineItems) != 1 || strings.Join(names, " ") != "#B" {
			t.Fatalf("Ada's order: %+v, reads given %v: %v", o, names, err)
		}
		bobs, err := s.OrderByExternalID(ctx, shopID, "D")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.OrderOf(ctx, shopID, c.ID, bobs.ID, nil); !errors.Is(err, commerce.ErrNotFound) {
			t.Errorf("Bob's order as Ada's: %v, want not found", err)
		}
	})
}

// A store bound to a transaction reads the transaction's own writes, the
// page's batch included.
func TestListOrdersInATransactionSeesItsWrites(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		err := db.InTx(ctx, func(tx *database.Tx) error {
			if _, _, err := s.With(tx).UpsertOrder(ctx, shopID, sampleOrder("A", t0), nil); err != nil {
				return err
			}
			list, _, err := s.With(tx).ListOrders(ctx, shopID, commerce.OrderFilter{}, database.Page{})
			if err != nil {
				return err
			}
			if len(list) != 1 || len(list[0].LineItems) != 1 || len(list[0].Fulfillments) != 1 {
				t.Errorf("inside the transaction: %+v", list)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
