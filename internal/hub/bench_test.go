package hub_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/hub"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// perfShop is a shop sized for the SPEC §9 hub budget: one shopper with
// 50 orders (three items and a shipment each, a few with returns) among
// 100 other customers' 500 orders, served by a hub that lists all 50 on
// one page.
type perfShop struct {
	mux      *http.ServeMux
	hub      *hub.Hub
	shop     string
	secret   string
	shopper  string // the shopper's store customer id
	orderIDs []int64
}

func newPerfShop(tb testing.TB, db *database.DB) *perfShop {
	tb.Helper()
	app := testapp.New(tb, db)
	tn := app.NewTenant("perf")
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	p := &perfShop{shop: tn.Shop.Domain, secret: "perf-client-secret", shopper: "5000"}
	add := func(n int, c *commerce.Customer) *commerce.Order {
		created := now.Add(-time.Duration(n) * 7 * time.Hour)
		delivered := created.Add(72 * time.Hour)
		o := commerce.Order{ExternalID: strconv.Itoa(n), Name: "#" + strconv.Itoa(1000+n), Email: c.Email, Currency: "USD",
			SubtotalMinor: 9800, ShippingMinor: 695, TaxMinor: 784, TotalMinor: 11279, CreatedAt: created, UpdatedAt: created,
			FulfillmentStatus: "fulfilled",
			ShippingAddress:   commerce.Address{Name: c.FirstName, Address1: "1120 SW 5th Ave", City: "Portland", Province: "OR", Zip: "97204", CountryCode: "US"},
			Fulfillments: []commerce.Fulfillment{{ExternalID: "f" + strconv.Itoa(n), Status: "success", ShipmentStatus: "delivered", Carrier: "UPS",
				TrackingNumber: "1Z" + strconv.Itoa(n), TrackingURL: "https://www.ups.com/track?tracknum=1Z" + strconv.Itoa(n),
				CreatedAt: created, UpdatedAt: delivered, InTransitAt: &created, DeliveredAt: &delivered}},
		}
		for k := range 3 {
			o.LineItems = append(o.LineItems, commerce.LineItem{ExternalID: fmt.Sprintf("%d-%d", n, k), VariantID: strconv.Itoa(44010001 + k),
				VariantAvailable: true, Title: "Product " + strconv.Itoa(k), VariantTitle: "M", Quantity: 1, CurrentQuantity: 1, PriceMinor: 3200 + int64(k)*100,
				ImageURL: "https://cdn.example.com/p" + strconv.Itoa(k) + ".png"})
		}
		return app.Ingest(tn.Shop.ID, o, c)
	}
	shopper := &commerce.Customer{ExternalID: p.shopper, Email: "olivia@example.com", FirstName: "Olivia", LastName: "Johnson", UpdatedAt: now}
	for n := range 50 {
		o := add(n, shopper)
		p.orderIDs = append(p.orderIDs, o.ID)
		if n%10 == 3 {
			if _, err := app.Server.Returns.Upsert(ctx, tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "r" + strconv.Itoa(n),
				OrderName: o.Name, State: returns.StateOpen, UpdatedAt: now}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for n := 50; n < 550; n++ {
		add(n, &commerce.Customer{ExternalID: strconv.Itoa(6000 + n%100), Email: fmt.Sprintf("c%d@example.com", n%100), FirstName: "C", UpdatedAt: now})
	}
	cfg := returns.DefaultConfig()
	cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderAfterShip, PortalURL: "https://perf.returnscenter.com/"}
	if _, err := app.Server.Settings.Save(ctx, tn.Shop.ID, cfg, systemActor); err != nil {
		tb.Fatal(err)
	}
	if err := app.Server.Settings.SetLive(ctx, tn.Shop.ID, true, systemActor); err != nil {
		tb.Fatal(err)
	}
	s := app.Server
	h, err := hub.New(hub.Options{Shops: s.Shops, Commerce: s.Commerce, Settings: s.Settings,
		Orders: s.Orders, Tickets: s.Tickets, PageSize: 50, BaseURL: app.URL})
	if err != nil {
		tb.Fatal(err)
	}
	p.hub = h
	p.mux = http.NewServeMux()
	p.mux.Handle("GET /hub", h.Shopper(h.Orders))
	p.mux.Handle("GET /hub/orders/{id}", h.Shopper(h.Order))
	return p
}

var systemActor = audit.Actor{Kind: audit.ActorSystem, Label: "test"}

// url is a freshly signed App Proxy URL for the shopper.
func (p *perfShop) url(path string) string {
	q := shopify.SignedProxyQuery(nil, shopify.ProxyParams{Shop: p.shop, LoggedInCustomerID: p.shopper, PathPrefix: "/apps/hub", Timestamp: time.Now()}, p.secret)
	return path + "?" + q.Encode()
}

func benchmarkHub(b *testing.B, path func(p *perfShop, i int) string) {
	benchmarkHubPages(b, path, false)
}

// benchmarkHubPages is benchmarkHub; forget drops the rendered pages the
// hub keeps before each request, so every one is rendered.
func benchmarkHubPages(b *testing.B, path func(p *perfShop, i int) string, forget bool) {
	for _, d := range dbtest.Dialects {
		b.Run(string(d), func(b *testing.B) {
			p := newPerfShop(b, dbtest.Open(b, d))
			signed, at := map[string]string{}, time.Now()
			b.ReportAllocs()
			i := 0
			cpu := processCPU(b)
			for b.Loop() {
				if time.Since(at) > time.Minute { // signatures last 90 s
					clear(signed)
					at = time.Now()
				}
				raw := path(p, i)
				u, ok := signed[raw]
				if !ok {
					u = p.url(raw)
					signed[raw] = u
				}
				req := httptest.NewRequest(http.MethodGet, u, nil)
				rec := httptest.NewRecorder()
				if forget {
					hub.ForgetPagesForTest(p.hub)
				}
				p.mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", raw, rec.Code)
				}
				i++
			}
			// Wall time on a shared machine measures the neighbours; the
			// process's own CPU time (the server's side only: PostgreSQL
			// runs apart) is the figure to compare between runs.
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkOrderList is the orders tab with all 50 orders on the page:
// signature check, shop, customer, settings, orders with items and
// shipments, returns, render.
func BenchmarkOrderList(b *testing.B) {
	benchmarkHub(b, func(*perfShop, int) string { return "/hub" })
}

// BenchmarkOrderDetail is one order's page, cycling through the 50.
func BenchmarkOrderDetail(b *testing.B) {
	benchmarkHub(b, func(p *perfShop, i int) string {
		return "/hub/orders/" + strconv.FormatInt(p.orderIDs[i%len(p.orderIDs)], 10)
	})
}

// BenchmarkOrderDetailFirstView is one order's page as a shopper first
// sees it (or first after a change): not kept yet, read and rendered.
func BenchmarkOrderDetailFirstView(b *testing.B) {
	benchmarkHubPages(b, func(p *perfShop, i int) string {
		return "/hub/orders/" + strconv.FormatInt(p.orderIDs[i%len(p.orderIDs)], 10)
	}, true)
}

// TestLoad drives the hub over loopback at a steady 500 requests per
// second (half orders tab, half order details) for HUBDESK_LOAD_SECONDS
// (default 10) per database and prints the server-time percentiles —
// SPEC §9 asks p99 ≤ 5 ms. It runs only with HUBDESK_LOAD=1:
//
//	HUBDESK_LOAD=1 gt ./internal/hub -run TestLoad -v
func TestLoad(t *testing.T) {
	if os.Getenv("HUBDESK_LOAD") != "1" {
		t.Skip("set HUBDESK_LOAD=1 to run the load test")
	}
	seconds := 10
	if s, err := strconv.Atoi(os.Getenv("HUBDESK_LOAD_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	const rate = 500
	for _, d := range dbtest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			p := newPerfShop(t, dbtest.Open(t, d))
			total := rate * seconds
			server := make([][]time.Duration, 2) // by route: list, detail
			var mu sync.Mutex
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start := time.Now()
				p.mux.ServeHTTP(w, r)
				elapsed := time.Since(start)
				route := 0
				if r.URL.Path != "/hub" {
					route = 1
				}
				mu.Lock()
				server[route] = append(server[route], elapsed)
				mu.Unlock()
			}))
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}, Timeout: 10 * time.Second}
			// Sign ahead of time so the generator only sends.
			urls := make([]string, total)
			for i := range urls {
				path := "/hub"
				if i%2 == 1 {
					path = "/hub/orders/" + strconv.FormatInt(p.orderIDs[i/2%len(p.orderIDs)], 10)
				}
				urls[i] = srv.URL + p.url(path)
			}
			var failures atomic.Int64
			client.Get(urls[0]) // warm up one connection
			var wg sync.WaitGroup
			tick := time.NewTicker(time.Second / rate)
			begin := time.Now()
			for i := range total {
				<-tick.C
				wg.Add(1)
				go func(u string) {
					defer wg.Done()
					resp, err := client.Get(u)
					if err != nil {
						failures.Add(1)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						failures.Add(1)
					}
				}(urls[i])
			}
			tick.Stop()
			wg.Wait()
			took := time.Since(begin)
			t.Logf("%s: %d requests in %.1f s (%.0f/s), %d failed", d, total, took.Seconds(), float64(total)/took.Seconds(), failures.Load())
			for route, name := range []string{"orders tab (50 orders)", "order detail"} {
				lat := server[route]
				slices.Sort(lat)
				pct := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
				t.Logf("%s %-22s server time p50 %v  p90 %v  p99 %v  max %v  (n=%d)", d, name,
					pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), len(lat))
				if p99 := pct(0.99); p99 > 5*time.Millisecond {
					t.Errorf("%s %s: p99 %v is over the 5 ms budget", d, name, p99)
				}
			}
			if failures.Load() > 0 {
				t.Errorf("%d requests failed", failures.Load())
			}
		})
	}
}
