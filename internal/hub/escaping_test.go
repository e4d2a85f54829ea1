package hub_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// TestShopDataIsEscapedOnEveryHubPage stores an order whose name, product
// titles, image URL and carrier carry markup, quotes and ampersands, and
// checks that the orders tab (hand-built rows) and the order page
// (templates) show them as text and never as markup.
func TestShopDataIsEscapedOnEveryHubPage(t *testing.T) {
	const (
		name    = `#1<script>alert("name")</script>'&`
		title   = `"><img src=x onerror=alert('title')>&amp;`
		variant = `</span><b>variant</b>`
		carrier = `<script>alert("carrier")</script> & "Co"`
		image   = `https://cdn.example.com/p.png?a=1&b="><script>alert('img')</script>`
	)
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		created := f.now.Add(-time.Hour)
		o := commerce.Order{ExternalID: "evil", Name: name, Email: f.ada.Email, FinancialStatus: "paid", Currency: "EUR", TotalMinor: 1000,
			CreatedAt: created, UpdatedAt: created,
			LineItems: []commerce.LineItem{
				{ExternalID: "evil-1", Title: title, VariantTitle: variant, Quantity: 1, CurrentQuantity: 1, PriceMinor: 1000, ImageURL: image},
				{ExternalID: "evil-2", Title: title, Quantity: 1, CurrentQuantity: 1, PriceMinor: 0},
			},
			Fulfillments: []commerce.Fulfillment{{ExternalID: "evil-f", Status: "success", ShipmentStatus: "in_transit", Carrier: carrier,
				TrackingNumber: `1Z"<b>`, TrackingURL: `https://track.example.com/?n="><script>alert(1)</script>`, CreatedAt: created, UpdatedAt: created}},
		}
		stored := f.app.Ingest(f.acme.Shop.ID, o, f.ada)
		for _, page := range []string{"/hub", "/hub/orders/" + id(stored)} {
			res := f.get(f.adaURL(page))
			if res.status != 200 {
				t.Fatalf("%s: %d", page, res.status)
			}
			mustNotContain(t, res.body, `<script>alert`, `<img src=x`, `<b>variant`, `<b>"`, `"><script`, `'title')>`)
			mustContain(t, res.body, `#1&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;&#39;&amp;`)
			if strings.Count(res.body, "&lt;script&gt;") == 0 {
				t.Errorf("%s shows no escaped markup", page)
			}
		}
		rows := f.get(f.adaURL("/hub")).body
		mustContain(t, rows, `alt="&#34;&gt;&lt;img src=x onerror=alert(&#39;title&#39;)&gt;&amp;amp;"`)
		detail := f.get(f.adaURL("/hub/orders/" + id(stored))).body
		mustContain(t, detail, `&lt;script&gt;alert(&#34;carrier&#34;)&lt;/script&gt; &amp; &#34;Co&#34;`, `&#34;&gt;&lt;img src=x onerror=alert(&#39;title&#39;)&gt;&amp;amp;`)
	})
}
