package demo

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
)

// sameAccount compares what the storefront and the Admin API show of a
// customer: the seed's update date is known only to a seeded demo.
func sameAccount(a, b sandbox.Customer) bool {
	return a.ID == b.ID && a.Email == b.Email && a.FirstName == b.FirstName && a.LastName == b.LastName && a.Phone == b.Phone &&
		a.Address != nil && b.Address != nil && *a.Address == *b.Address
}

// The storefront's accounts are the seeded customers under their Shopify
// ids, the demo shopper first, whether the demo was just seeded or
// restarted on its data; the standalone sandbox's defaults are the same.
func TestStorefrontCustomersMatchTheSeed(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		st, now := testStores(t, db), time.Now()
		fresh, err := Seed(ctx, st, demoURL, now)
		if err != nil {
			t.Fatal(err)
		}
		restarted, err := Seed(ctx, st, demoURL, now)
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultStorefrontCustomers()
		for name, res := range map[string]*Result{"fresh": fresh, "restarted": restarted} {
			got := StorefrontCustomers(res)
			if len(got) != len(want) || !sameAccount(got[0], want[0]) || got[0].ID != "7000000100" || got[0].Email != res.Shopper.Email {
				t.Fatalf("%s: storefront customers %+v, want the shopper first of %d", name, got, len(want))
			}
			for _, c := range want {
				if !slices.ContainsFunc(got, func(g sandbox.Customer) bool { return sameAccount(g, c) }) {
					t.Errorf("%s: %+v missing from %+v", name, c, got)
				}
			}
		}
	})
}
