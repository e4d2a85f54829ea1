package hub_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// An order shipped in two parcels: each shipment lists the items it
// carries ("In this shipment", with quantities), a line no parcel carries
// is in none and listed as not shipped yet, and the timeline dates "Out for delivery" with the day the
// carrier said so.
func TestShipmentItemsAndOutForDeliveryDate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		created := f.now.Add(-4 * 24 * time.Hour)
		shipped := created.Add(20 * time.Hour)
		out := f.now.Add(-30 * time.Hour).Truncate(time.Second)
		o := commerce.Order{
			ExternalID: "3001", Name: "#3001", Email: f.ada.Email, FinancialStatus: "paid", FulfillmentStatus: "partial", Currency: "EUR",
			SubtotalMinor: 12000, TotalMinor: 12000, CreatedAt: created, UpdatedAt: out,
			LineItems: []commerce.LineItem{
				{ExternalID: "l-socks", VariantID: "44010001", VariantAvailable: true, Title: "Merino Socks", VariantTitle: "M", Quantity: 3, CurrentQuantity: 3, PriceMinor: 1800},
				{ExternalID: "l-candle", VariantID: "44010006", Title: "Cedar Candle", Quantity: 1, CurrentQuantity: 1, PriceMinor: 2900},
				{ExternalID: "l-scarf", VariantID: "44010008", VariantAvailable: true, Title: "Alpaca Scarf", VariantTitle: "Mustard", Quantity: 1, CurrentQuantity: 1, PriceMinor: 6400},
			},
			Fulfillments: []commerce.Fulfillment{
				{ExternalID: "f-a", Status: "success", ShipmentStatus: "out_for_delivery", Carrier: "UPS", TrackingNumber: "1ZPARCELA",
					CreatedAt: shipped, UpdatedAt: out, InTransitAt: &shipped, OutForDeliveryAt: &out,
					LineItems: []commerce.FulfillmentLine{{LineItemID: "l-socks", Quantity: 2}}},
				{ExternalID: "f-b", Status: "success", ShipmentStatus: "in_transit", Carrier: "DHL Express", TrackingNumber: "JDPARCELB",
					CreatedAt: shipped.Add(time.Hour), UpdatedAt: shipped.Add(time.Hour), InTransitAt: &shipped,
					LineItems: []commerce.FulfillmentLine{{LineItemID: "l-socks", Quantity: 1}, {LineItemID: "l-scarf", Quantity: 1}}},
			},
		}
		stored := f.app.Ingest(f.acme.Shop.ID, o, f.ada)
		res := f.get(f.adaURL("/hub/orders/" + id(stored)))
		if res.status != http.StatusOK {
			t.Fatalf("status %d\n%s", res.status, res.body)
		}
		blocks := strings.Split(res.body, `<div class="ship">`)
		if len(blocks) != 3 {
			t.Fatalf("%d shipment blocks, want 2:\n%s", len(blocks)-1, res.body)
		}
		first, second := blocks[1], blocks[2]
		mustContain(t, first, "1ZPARCELA", "In this shipment", "<li>2 × Merino Socks (M)</li>")
		mustNotContain(t, first, "JDPARCELB", "Alpaca Scarf", "Cedar Candle")
		second, unshipped, ok := strings.Cut(second[:strings.Index(second, "</section>")], `<div class="ship unshipped">`)
		if !ok {
			t.Fatalf("no list of items not shipped yet:\n%s", res.body)
		}
		mustContain(t, second, "JDPARCELB", "In this shipment", "<li>1 × Merino Socks (M)</li>", "<li>1 × Alpaca Scarf (Mustard)</li>")
		mustNotContain(t, second, "1ZPARCELA", "× Cedar Candle")
		mustContain(t, unshipped, "Not shipped yet", "<li>1 × Cedar Candle</li>")
		mustNotContain(t, unshipped, "Merino Socks", "Alpaca Scarf")
		// The timeline's out-for-delivery step, done and dated.
		step := regexp.MustCompile(`<li class="out_for_delivery done[^"]*"[^>]*>Out for delivery<span class="sr-only">[^<]*</span><time datetime="([0-9-]+)">([^<]+)</time></li>`).
			FindStringSubmatch(res.body)
		if step == nil {
			t.Fatalf("no dated out-for-delivery step in the timeline:\n%s", res.body)
		}
		if want := out.UTC().Format("2006-01-02"); step[1] != want {
			t.Errorf("out for delivery dated %s, want %s", step[1], want)
		}
		// Delivery has not happened: that step is neither done nor dated.
		if regexp.MustCompile(`<li class="delivered done`).MatchString(res.body) ||
			regexp.MustCompile(`<li class="delivered"[^>]*>[^<]*<span[^>]*>[^<]*</span><time`).MatchString(res.body) {
			t.Errorf("the delivered step is marked or dated:\n%s", res.body)
		}
	})
}
