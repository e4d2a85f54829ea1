package hub_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// A refunded order tells the shopper so: the order is partially refunded
// (then refunded), each refund says how much and when and which items it
// gave back, a refunded unit is marked on its line, and the totals say
// what came back in all.
func TestOrderPageShowsRefunds(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		o := f.orders["#1001"]
		at := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
		if _, err := f.app.Server.Commerce.ApplyRefund(ctx, f.acme.Shop.ID, o.ExternalID, commerce.Refund{ExternalID: "r-1", CreatedAt: at, AmountMinor: 1800,
			Lines: []commerce.RefundLine{{LineItemID: "#1001-1", Quantity: 1, SubtotalMinor: 1800, RestockType: "return"}}}); err != nil {
			t.Fatal(err)
		}
		res := f.get(f.adaURL("/hub/orders/" + id(o)))
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		mustContain(t, res.body, `<span class="badge partially_refunded">Partially refunded</span>`, `id="refunds"`,
			"Refunded €18.00 on November 28, 2026", "<li>1 × Merino Socks (M)</li>", "1 refunded", "<dt>Refunded</dt><dd>−€18.00</dd>")

		// The rest, with a line the order no longer lists; in German.
		if _, err := f.app.Server.Commerce.ApplyRefund(ctx, f.acme.Shop.ID, o.ExternalID, commerce.Refund{ExternalID: "r-2", CreatedAt: at.Add(24 * time.Hour),
			AmountMinor: o.TotalMinor - 1800, Lines: []commerce.RefundLine{{LineItemID: "gone-9", Quantity: 1}}}); err != nil {
			t.Fatal(err)
		}
		res = f.get(f.adaURL("/hub/orders/"+id(o)), "Accept-Language", "de")
		mustContain(t, res.body, `<span class="badge refunded">Erstattet</span>`, "erstattet am 28. November 2026", "erstattet am 29. November 2026")
		mustNotContain(t, res.body, "gone-9") // a line the order does not list: its id means nothing to her
		if strings.Count(res.body, `<div class="refund">`) != 2 {
			t.Errorf("want two refunds listed:\n%s", res.body)
		}

		// An order with no refund says nothing of refunds.
		res = f.get(f.adaURL("/hub/orders/" + id(f.orders["#1002"])))
		mustNotContain(t, res.body, `id="refunds"`, "Partially refunded", "<dt>Refunded</dt>")
	})
}

// Reorder puts what it can in the cart and names what it left out and
// why: a sold-out variant and a deleted one.
func TestReorderNamesTheItemsLeftOut(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		res := f.get(f.adaURL("/hub/orders/" + id(f.orders["#1001"])))
		mustContain(t, res.body, "/cart/44010001:2", "Not added to your cart:", "<li>Cedar Candle — sold out</li>", "<li>Alpaca Scarf — no longer sold</li>")
		mustNotContain(t, res.body, "Merino Socks (M) — ")

		// Nothing can be reordered: no button, and the page says why.
		o := f.app.Ingest(f.acme.Shop.ID, commerce.Order{ExternalID: "7001", Name: "#7001", Email: f.ada.Email, Currency: "EUR", TotalMinor: 2900,
			CreatedAt: f.now.Add(-time.Hour), UpdatedAt: f.now.Add(-time.Hour),
			LineItems: []commerce.LineItem{{ExternalID: "7001-1", VariantID: "44010006", Title: "Cedar Candle", Quantity: 1, CurrentQuantity: 1, PriceMinor: 2900}}}, f.ada)
		res = f.get(f.adaURL("/hub/orders/"+id(o)), "Accept-Language", "fr")
		mustContain(t, res.body, "Ces articles ne peuvent pas être recommandés", "<li>Cedar Candle — épuisé</li>")
		mustNotContain(t, res.body, "/cart/")
	})
}

// Every step the timeline shows as done carries its date: a delivered
// order whose carrier never dated "out for delivery" leaves that step out
// instead of showing it undated.
func TestTimelineLeavesOutUndatedSteps(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		res := f.get(f.adaURL("/hub/orders/" + id(f.orders["#1001"])))
		mustContain(t, res.body, `<li class="delivered done current"`)
		mustNotContain(t, res.body, `class="out_for_delivery`)
		for _, li := range regexp.MustCompile(`<li class="[a-z_]+ done[^"]*"[^>]*>.*?</li>`).FindAllString(res.body, -1) {
			if !strings.Contains(li, "<time ") {
				t.Errorf("a done step without a date: %s", li)
			}
		}
		// In transit: the steps still to come are listed, undone.
		res = f.get(f.adaURL("/hub/orders/" + id(f.orders["#1002"])))
		mustContain(t, res.body, `<li class="out_for_delivery">`, `<li class="delivered">`)
	})
}

// The shopper follows a return: the one under way with its items, its
// return shipment's tracking link and the label; a closed one with what
// came of it (here store credit).
func TestOrderPageFollowsReturns(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.useLoop(f.acme)
		ctx := context.Background()
		o := f.orders["#1001"]
		put := func(r returns.Return) {
			t.Helper()
			r.Provider, r.OrderName, r.OrderExternalID = returns.ProviderLoop, o.Name, o.ExternalID
			if _, err := f.app.Server.Returns.Upsert(ctx, f.acme.Shop.ID, r); err != nil {
				t.Fatal(err)
			}
		}
		put(returns.Return{ExternalID: "ret-old", State: returns.StateClosed, Outcome: "credit", UpdatedAt: f.now.Add(-48 * time.Hour),
			CreatedAt: f.now.Add(-72 * time.Hour), LineItems: []returns.ReturnedItem{{Title: "Cedar Candle", Quantity: 1, Reason: "Too big"}}})
		res := f.get(f.adaURL("/hub/orders/" + id(o)))
		mustContain(t, res.body, "Outcome: Store credit", "Items in this return", "<li>1 × Cedar Candle</li>")
		mustNotContain(t, res.body, "Too big")

		put(returns.Return{ExternalID: "ret-new", State: returns.StateOpen, Carrier: "UPS", TrackingNumber: "1ZRETURN01",
			LabelURL: "https://labels.example.com/ret-new.pdf", StatusPageURL: f.loopURL + "/portal/return/new",
			UpdatedAt: f.now, CreatedAt: f.now.Add(-time.Hour), LineItems: []returns.ReturnedItem{{Title: "Merino Socks", Variant: "M", Quantity: 2}}})
		res = f.get(f.adaURL("/hub/orders/"+id(o)), "Accept-Language", "nl")
		mustContain(t, res.body, "<li>2 × Merino Socks (M)</li>", "1ZRETURN01", `href="https://www.ups.com/track?tracknum=1ZRETURN01"`,
			`href="https://labels.example.com/ret-new.pdf"`, "Retourlabel", "Uitkomst: Tegoed in de winkel", f.loopURL+"/portal/return/new")
	})
}
