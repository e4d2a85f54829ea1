package hub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/hub"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// orderPages reads order pages the way two processes over one database
// would: through the test server's hub and through a second hub of its
// own, each asked twice (the second answer comes from its cache).
type orderPages struct {
	f     *fixture
	other *hub.Hub
	mux   *http.ServeMux
}

func newOrderPages(f *fixture) *orderPages {
	f.t.Helper()
	s := f.app.Server
	other, err := hub.New(hub.Options{Shops: s.Shops, Commerce: s.Commerce, Settings: s.Settings,
		Orders: s.Orders, Tickets: s.Tickets, BaseURL: f.app.URL})
	if err != nil {
		f.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /hub/orders/{id}", other.Shopper(other.Order))
	return &orderPages{f: f, other: other, mux: mux}
}

// viaOther is the second hub's answer to path.
func (p *orderPages) viaOther(path string, header ...string) response {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	p.mux.ServeHTTP(rec, req)
	return response{rec.Code, rec.Body.String(), rec.Header()}
}

// both asks each hub twice for Ada's page of order name and checks
// every answer shows want and none shows unwanted.
func (p *orderPages) both(name string, want []string, unwanted ...string) {
	p.f.t.Helper()
	path := p.f.adaURL("/hub/orders/" + id(p.f.orders[name]))
	for _, process := range []string{"server", "other"} {
		for range 2 {
			var res response
			if process == "server" {
				res = p.f.get(path)
			} else {
				res = p.viaOther(path)
			}
			if res.status != http.StatusOK {
				p.f.t.Fatalf("%s: %s: status %d", process, name, res.status)
			}
			for _, w := range want {
				if !strings.Contains(res.body, w) {
					p.f.t.Errorf("%s: page of %s lacks %q", process, name, w)
				}
			}
			for _, u := range unwanted {
				if strings.Contains(res.body, u) {
					p.f.t.Errorf("%s: page of %s still shows %q", process, name, u)
				}
			}
		}
	}
}

// TestOrderPageShowsEveryChangeAtOnce holds the order page's cache to its
// promise: a page kept by any process is shown only while nothing it
// shows has changed. Each write — Shopify's order update, a shipment and
// its carrier events, a refund, a return and its progress, a line item
// changed in plain SQL as another process or a later write path would —
// shows on the very next request to either hub.
func TestOrderPageShowsEveryChangeAtOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := f.app.Server
		p := newOrderPages(f)
		shopID := f.acme.Shop.ID

		p.both("#1002", []string{`class="badge in_transit"`, "DHL Express"})
		if n := hub.CachedOrderPagesForTest(p.other); n != 1 {
			t.Fatalf("the other hub keeps %d order pages after showing one twice, want 1", n)
		}

		// Shopify's orders/updated: #1002 delivered.
		o := *f.orders["#1002"]
		delivered := f.now
		o.UpdatedAt = f.now.Add(time.Minute)
		o.Fulfillments = append(o.Fulfillments[:0:0], o.Fulfillments...)
		o.Fulfillments[0].ShipmentStatus, o.Fulfillments[0].DeliveredAt, o.Fulfillments[0].UpdatedAt = "delivered", &delivered, o.UpdatedAt
		f.app.Ingest(shopID, o, f.ada)
		p.both("#1002", []string{`class="badge delivered"`}, `class="badge in_transit"`)

		// A second shipment (fulfillments/create) and its carrier's event.
		later := f.now.Add(2 * time.Minute)
		if _, err := s.Commerce.UpsertFulfillment(ctx, shopID, "1002", commerce.Fulfillment{ExternalID: "1002-f2", Status: "success",
			Carrier: "PostNL", TrackingNumber: "3SPOST77", CreatedAt: later, UpdatedAt: later}); err != nil {
			t.Fatal(err)
		}
		p.both("#1002", []string{"PostNL", "3SPOST77"})
		if _, err := s.Commerce.ApplyShipmentEvent(ctx, shopID, "1002", "1002-f2", commerce.ShipmentEvent{Status: "out_for_delivery", HappenedAt: later}); err != nil {
			t.Fatal(err)
		}
		p.both("#1002", []string{"<strong>Out for delivery</strong>"})

		// refunds/create.
		if _, err := s.Commerce.ApplyRefund(ctx, shopID, "1002", commerce.Refund{ExternalID: "rf-1", CreatedAt: later, AmountMinor: 1800,
			Lines: []commerce.RefundLine{{LineItemID: "#1002-1", Quantity: 1, SubtotalMinor: 1800}}}); err != nil {
			t.Fatal(err)
		}
		p.both("#1002", []string{`id="refunds"`, "<dt>Refunded</dt><dd>−€18.00</dd>"})

		// Loop's return.created for #1001, then its label and its close.
		if _, err := s.Returns.Upsert(ctx, shopID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "r-1001",
			OrderName: "#1001", State: returns.StateOpen, UpdatedAt: later}); err != nil {
			t.Fatal(err)
		}
		p.both("#1001", []string{`class="badge return_in_progress"`, "Status: Open"})
		if _, err := s.Returns.Upsert(ctx, shopID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "r-1001",
			OrderName: "#1001", State: returns.StateClosed, Outcome: "refund", UpdatedAt: later.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		p.both("#1001", []string{"Outcome: Refund"}, "Status: Open")

		// A write that goes through no store at all.
		if _, err := db.Exec(ctx, `UPDATE line_items SET title = 'Merino Socks Deluxe' WHERE shop_id = ? AND order_id = ? AND title = 'Merino Socks'`,
			shopID, f.orders["#1005"].ID); err != nil {
			t.Fatal(err)
		}
		p.both("#1005", []string{"<strong>Merino Socks Deluxe</strong>"})
	})
}

// The order page kept for one shopper is never another's: Bob asking for
// Ada's order (kept by both hubs) gets the 404 of a missing order, Olga of
// the other shop with the same store customer id gets hers, and a page in
// another language or with the drawer's links is a page of its own.
func TestOrderPageKeptPerShopperAndPage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		p := newOrderPages(f)
		p.both("#1001", []string{"Order #1001"})

		for _, u := range []string{
			f.proxyURL("/hub/orders/"+id(f.orders["#1001"]), proxyReq{customer: "2002"}),
			f.proxyURL("/hub/orders/"+id(f.orders["#1001"]), proxyReq{shop: otherDomain, secret: otherSecret, customer: "1001"}),
		} {
			if res := f.get(u); res.status != http.StatusNotFound || strings.Contains(res.body, "#1001") {
				t.Errorf("another shopper's view of #1001: %d\n%s", res.status, res.body)
			}
			if res := p.viaOther(u); res.status != http.StatusNotFound || strings.Contains(res.body, "#1001") {
				t.Errorf("another shopper's view of #1001 through the other hub: %d\n%s", res.status, res.body)
			}
		}
		olga := f.proxyURL("/hub/orders/"+id(f.orders["#9001"]), proxyReq{shop: otherDomain, secret: otherSecret, customer: "1001"})
		for range 2 {
			res := p.viaOther(olga)
			mustContain(t, res.body, "Order #9001", "Olga")
			mustNotContain(t, res.body, "Ada", "#1001")
		}

		ada := f.adaURL("/hub/orders/" + id(f.orders["#1001"]))
		for range 2 {
			mustContain(t, p.viaOther(ada, "Accept-Language", "de").body, `lang="de"`, "Bestellung #1001")
			mustContain(t, p.viaOther(ada).body, `lang="en"`, "Order #1001")
		}
		drawer := f.proxyURL("/hub/orders/"+id(f.orders["#1001"]), proxyReq{customer: "1001", query: url.Values{"view": {"drawer"}}})
		for range 2 {
			res := p.viaOther(drawer)
			mustContain(t, res.body, "<!doctype html>", `action="/apps/hub/orders/`+id(f.orders["#1001"])+`/contact?view=drawer"`)
			if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("drawer page's type %q", ct)
			}
		}
		if ct := p.viaOther(ada).header.Get("Content-Type"); !strings.HasPrefix(ct, "application/liquid") {
			t.Errorf("theme page's type %q", ct)
		}
		if n := hub.CachedOrderPagesForTest(p.other); n != 4 {
			t.Errorf("the other hub keeps %d order pages, want 4 (Ada's in English, in German and in the drawer; Olga's)", n)
		}
	})
}

// Publishing settings shows on the next view: the return window's length,
// the returns provider, Contact support switched off.
func TestOrderPageFollowsPublishedSettings(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		page := func() string {
			t.Helper()
			var body string
			for range 2 {
				res := f.get(f.adaURL("/hub/orders/" + id(f.orders["#1001"])))
				if res.status != http.StatusOK {
					t.Fatalf("status %d", res.status)
				}
				body = res.body
			}
			return body
		}
		mustContain(t, page(), `id="contact"`)
		mustNotContain(t, page(), "Start a return")

		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/"}
		f.configure(f.acme, cfg)
		until := f.now.Add(-3 * 24 * time.Hour).Add(30 * 24 * time.Hour) // delivered 3 days ago, 30 days to return
		body := page()
		mustContain(t, body, "Start a return", "Returns are possible until "+f.acmeDate(until))

		cfg.General.ReturnWindowDays = 2
		f.configure(f.acme, cfg)
		mustContain(t, page(), "The return window for this order closed on")

		cfg.General.ReturnWindowDays = 30
		cfg.General.HelpdeskEnabled = false
		f.configure(f.acme, cfg)
		body = page()
		mustContain(t, body, "Start a return")
		mustNotContain(t, body, `id="contact"`)
	})
}

// acmeDate is how the hub writes t in English.
func (f *fixture) acmeDate(t time.Time) string { return t.UTC().Format("January 2, 2006") }

// Start a return follows the return window at the time of each request:
// a page kept while the window was open is not shown a moment after it
// closed.
func TestOrderPageWindowClosesOnTime(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/"}
		f.configure(f.acme, cfg)
		page := func() string {
			t.Helper()
			res := f.get(f.proxyURL("/hub/orders/"+id(f.orders["#1001"]), proxyReq{customer: "1001", at: c.Now()}))
			if res.status != http.StatusOK {
				t.Fatalf("status %d", res.status)
			}
			return res.body
		}
		mustContain(t, page(), "Start a return")
		mustContain(t, page(), "Start a return")
		if n := hub.CachedOrderPagesForTest(f.app.Server.Hub); n != 1 {
			t.Fatalf("%d order pages kept, want 1", n)
		}
		// #1001 was delivered 3 days before the fixture's now: the window
		// is open to its last instant, and closed just after it.
		c.Add(27 * 24 * time.Hour)
		mustContain(t, page(), "Start a return")
		c.Add(time.Second)
		body := page()
		mustContain(t, body, "The return window for this order closed on")
		mustNotContain(t, body, "Start a return")
	})
}

// A shop whose returns are Loop's shows Loop's answer on eligibility. While
// the answer is missing or stale the page is not kept, so each view asks
// for it as before; the answer a job stores then shows at once, and so
// does a later one.
func TestOrderPageFollowsLoopsEligibilityAnswer(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		f.useLoop(f.acme)
		s := f.app.Server
		p := newOrderPages(f)
		o := f.orders["#1005"] // delivered 60 days ago: past the window of 30 days
		p.both("#1005", []string{"The return window for this order closed on"}, "Start a return")
		if n := hub.CachedOrderPagesForTest(p.other); n != 0 {
			t.Errorf("the other hub keeps %d order pages waiting for Loop's answer, want none", n)
		}

		// The job asks Loop (the sandbox) and stores the answer.
		w := &orderview.EligibilityWorker{Commerce: s.Commerce, Settings: s.Settings, Cache: returns.NewEligibilityCache(db),
			Loop: returns.LoopLinker{Client: s.Loop}}
		job := &river.Job[orderview.EligibilityArgs]{JobRow: &rivertype.JobRow{}, Args: orderview.EligibilityArgs{ShopID: f.acme.Shop.ID, OrderID: o.ID}}
		if err := w.Work(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		var verdict string
		if err := db.QueryRow(context.Background(), `SELECT verdict FROM return_eligibility WHERE order_id = ?`, o.ID).Scan(&verdict); err != nil {
			t.Fatal(err)
		}
		p.both("#1005", []string{"The return window for this order closed on"}, "Start a return")
		if n := hub.CachedOrderPagesForTest(p.other); n != 1 {
			t.Errorf("the other hub keeps %d order pages once Loop answered (%s), want 1", n, verdict)
		}

		// Loop's policy lets this order be returned after all (its answer
		// decides in place of the window).
		if _, err := db.Exec(context.Background(), `UPDATE return_eligibility SET verdict = 'eligible', reason = '' WHERE order_id = ?`, o.ID); err != nil {
			t.Fatal(err)
		}
		p.both("#1005", []string{"Start a return"}, "The return window for this order closed on")
	})
}
