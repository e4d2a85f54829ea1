package returns

import (
	"context"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// The basis changes with everything Loop's answer depends on, and with
// nothing else.
func TestEligibilityBasis(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	cfg := Config{Returns: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "key-one"}}
	order := func() *commerce.Order {
		return &commerce.Order{ID: 1, Name: "#1001", UpdatedAt: at, LineItems: []commerce.LineItem{{ExternalID: "li1", CurrentQuantity: 1}},
			Fulfillments: []commerce.Fulfillment{{ExternalID: "f1", Status: "success", UpdatedAt: at}}}
	}
	rets := []Return{{ExternalID: "r1", State: StateOpen, UpdatedAt: at}}
	base := EligibilityBasis(cfg, order(), rets)
	if again := EligibilityBasis(cfg, order(), []Return{rets[0]}); again != base {
		t.Fatal("the same order and returns give another basis")
	}
	otherKey := cfg
	otherKey.Returns.LoopAPIKey = "key-two"
	windowChanged := cfg
	windowChanged.General.ReturnWindowDays = 60 // not something Loop's answer depends on
	for name, changed := range map[string]string{
		"order updated": EligibilityBasis(cfg, func() *commerce.Order { o := order(); o.UpdatedAt = at.Add(time.Second); return o }(), rets),
		"item removed":  EligibilityBasis(cfg, func() *commerce.Order { o := order(); o.LineItems[0].CurrentQuantity = 0; return o }(), rets),
		"delivered":     EligibilityBasis(cfg, func() *commerce.Order { o := order(); o.Fulfillments[0].UpdatedAt = at.Add(time.Hour); return o }(), rets),
		"return closed": EligibilityBasis(cfg, order(), []Return{{ExternalID: "r1", State: StateClosed, UpdatedAt: at.Add(time.Hour)}}),
		"new return":    EligibilityBasis(cfg, order(), append([]Return{{ExternalID: "r2", State: StateCancelled, UpdatedAt: at}}, rets...)),
		"key changed":   EligibilityBasis(otherKey, order(), rets),
	} {
		if changed == base {
			t.Errorf("%s: the basis did not change", name)
		}
	}
	if EligibilityBasis(windowChanged, order(), rets) != base {
		t.Error("the hub's window changed the basis of Loop's answer")
	}
}

func TestIneligibleReason(t *testing.T) {
	item := func(reasons ...string) loop.EligibilityItem { return loop.EligibilityItem{Reasons: reasons} }
	for _, c := range []struct {
		name  string
		items []loop.EligibilityItem
		want  NotEligible
	}{
		{"all outside the window", []loop.EligibilityItem{item("outside_return_window"), item("outside_return_window", "already_returned")}, OutsideWindow},
		{"all returned", []loop.EligibilityItem{item("already_returned"), item("already_returned")}, AlreadyReturned},
		{"none delivered", []loop.EligibilityItem{item("not_delivered")}, NotDelivered},
		{"no reasons given", []loop.EligibilityItem{item(), item()}, OutsideWindow},
		{"mixed", []loop.EligibilityItem{item("already_returned"), item("final_sale")}, PlatformRefused},
	} {
		if got := IneligibleReason(c.items); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// Answers are kept per shop and order, replaced by the next one, and one
// shop never reads another's.
func TestEligibilityCacheStore(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		_, shopA := withShop(t, db)
		_, shopB := withShopNamed(t, db, "b.myshopify.com")
		var orderID int64
		if err := db.ExecReturning(ctx, `INSERT INTO orders (shop_id, external_id, name, currency, created_at, updated_at) VALUES (?, '1', '#1', 'USD', 0, 0) RETURNING id`,
			shopA).Scan(&orderID); err != nil {
			t.Fatal(err)
		}
		cache := NewEligibilityCache(db)
		at := time.UnixMilli(time.Now().UnixMilli()).UTC()
		if err := cache.Put(ctx, shopA, PlatformAnswer{OrderID: orderID, Verdict: VerdictIneligible, Reason: OutsideWindow, Basis: "b1", CheckedAt: at}); err != nil {
			t.Fatal(err)
		}
		if err := cache.Put(ctx, shopA, PlatformAnswer{OrderID: orderID, Verdict: VerdictEligible, Basis: "b2", CheckedAt: at}); err != nil {
			t.Fatal(err)
		}
		got, err := cache.ForOrders(ctx, shopA, []int64{orderID})
		if err != nil || got[orderID].Verdict != VerdictEligible || got[orderID].Reason != "" || got[orderID].Basis != "b2" || !got[orderID].CheckedAt.Equal(at) {
			t.Fatalf("cached: %+v, %v", got, err)
		}
		if other, err := cache.ForOrders(ctx, shopB, []int64{orderID}); err != nil || len(other) != 0 {
			t.Errorf("another shop reads %+v, %v", other, err)
		}
	})
}
