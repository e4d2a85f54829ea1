package hub_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/hub"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// orderRowOf is the orders tab's list item of the order named name.
func orderRowOf(t *testing.T, body, name string) string {
	t.Helper()
	at := strings.Index(body, `<span class="name">`+name+`</span>`)
	if at < 0 {
		t.Fatalf("no row for %s in:\n%s", name, body)
	}
	start := strings.LastIndex(body[:at], "<li>")
	end := strings.Index(body[at:], "</li>")
	return body[start : at+end]
}

// TestOrdersTabShowsEveryChangeAtOnce holds the orders tab's page cache to
// its promise: a page kept by any process is shown only while the
// shopper's orders are unchanged. Two hubs over one database stand for
// two processes; each write — an order update as a webhook brings it, a
// return, a plain SQL change as another process or a later write path
// would make — shows on the very next request to either.
func TestOrdersTabShowsEveryChangeAtOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		s := f.app.Server
		other, err := hub.New(hub.Options{Shops: s.Shops, Commerce: s.Commerce, Settings: s.Settings,
			Orders: s.Orders, Tickets: s.Tickets, BaseURL: f.app.URL})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /hub", other.Shopper(other.Orders))
		viaServer := func() string {
			t.Helper()
			r := f.get(f.adaURL("/hub"))
			if r.status != http.StatusOK {
				t.Fatalf("orders tab: %d", r.status)
			}
			return r.body
		}
		viaOther := func() string {
			t.Helper()
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, f.adaURL("/hub"), nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("orders tab of the other hub: %d", rec.Code)
			}
			return rec.Body.String()
		}
		both := func(name, want string) {
			t.Helper()
			for process, get := range map[string]func() string{"server": viaServer, "other": viaOther} {
				for range 2 { // the second one is served from the cache
					if row := orderRowOf(t, get(), name); !strings.Contains(row, want) {
						t.Errorf("%s: %s's row lacks %q:\n%s", process, name, want, row)
					}
				}
			}
		}
		both("#1002", ">In transit<")
		if n := hub.CachedPagesForTest(other); n != 1 {
			t.Fatalf("the other hub keeps %d pages after showing one twice, want 1", n)
		}
		first := viaOther()

		// Shopify's orders/updated: #1002 delivered.
		o := *f.orders["#1002"]
		delivered := f.now
		o.UpdatedAt = f.now.Add(time.Minute)
		o.Fulfillments = append(o.Fulfillments[:0:0], o.Fulfillments...)
		o.Fulfillments[0].ShipmentStatus, o.Fulfillments[0].DeliveredAt, o.Fulfillments[0].UpdatedAt = "delivered", &delivered, o.UpdatedAt
		f.app.Ingest(f.acme.Shop.ID, o, f.ada)
		both("#1002", ">Delivered<")

		// Loop's return.created for #1001.
		if _, err := s.Returns.Upsert(t.Context(), f.acme.Shop.ID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "r-1001",
			OrderName: "#1001", State: returns.StateOpen, UpdatedAt: f.now}); err != nil {
			t.Fatal(err)
		}
		both("#1001", ">Return in progress<")

		// A write that goes through no store at all.
		if _, err := db.Exec(t.Context(), `UPDATE line_items SET title = 'Merino Socks Deluxe' WHERE shop_id = ? AND order_id = ? AND title = 'Merino Socks'`,
			f.acme.Shop.ID, f.orders["#1005"].ID); err != nil {
			t.Fatal(err)
		}
		both("#1005", `alt="Merino Socks Deluxe"`)

		if viaOther() == first {
			t.Error("the other hub still answers with its first page")
		}
		// Another shopper's page is their own.
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, f.proxyURL("/hub", proxyReq{customer: "2002"}), nil))
		mustContain(t, rec.Body.String(), "#2001", "Hello Bob")
		mustNotContain(t, rec.Body.String(), "#1001", "Ada")
	})
}
