package loopsync_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// ticketBench is a ticket whose customer has 20 orders, each with an open
// Loop return, opened by an agent over HTTP, with Loop 150 ms away.
type ticketBench struct {
	*env
	ctx      context.Context
	agent    *http.Client
	url      string
	returns  []int64 // the sandbox's return ids, one per order
	orderIDs []int64
}

func newTicketBench(b *testing.B, d database.Dialect) *ticketBench {
	db := dbtest.Open(b, d)
	ctx := context.Background()
	e := newEnv(b, db, sandbox.Options{RateLimit: 100000})
	e.connect(sandbox.KeyReturns)
	e.settled()
	tb := &ticketBench{env: e, ctx: ctx}
	now := time.Now().UTC().Truncate(time.Second)
	ada := &commerce.Customer{ExternalID: "c-ada", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", UpdatedAt: now}
	for i := range 20 {
		ext := int64(7500 + i)
		name := "#" + strconv.FormatInt(ext, 10)
		placed := now.Add(-time.Duration(40-i) * time.Hour)
		delivered := placed.Add(12 * time.Hour)
		o := e.app.Ingest(e.tn.Shop.ID, commerce.Order{ExternalID: strconv.FormatInt(ext, 10), Name: name, Email: ada.Email, Currency: "USD",
			TotalMinor: 5800, CreatedAt: placed, UpdatedAt: placed,
			ShippingAddress: commerce.Address{Name: "Ada Lovelace", Address1: "Main St 1", City: "Berlin", Zip: "10115", CountryCode: "DE"},
			LineItems: []commerce.LineItem{{ExternalID: strconv.FormatInt(ext, 10) + "1", Title: "Linen shirt", VariantTitle: "M", Quantity: 1, CurrentQuantity: 1,
				PriceMinor: 4900, VariantID: "1", VariantAvailable: true}},
			Fulfillments: []commerce.Fulfillment{{ExternalID: strconv.FormatInt(ext, 10) + "-f", Status: "success", ShipmentStatus: "delivered", Carrier: "UPS",
				TrackingNumber: "1Z" + strconv.FormatInt(ext, 10), CreatedAt: placed, UpdatedAt: delivered, DeliveredAt: &delivered}},
		}, ada)
		e.sb.AddOrder(sandbox.Order{Name: name, ProviderOrderID: ext, Email: ada.Email, Zip: "10115", DeliveredAt: delivered,
			Items: []sandbox.Item{{Title: "Linen shirt", SKU: "LS-M", Price: "49.00"}}})
		info, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: ext, State: loop.StateOpen})
		if err != nil {
			b.Fatal(err)
		}
		r := returns.Return{Provider: returns.ProviderLoop, ExternalID: strconv.FormatInt(info.ID, 10), OrderExternalID: strconv.FormatInt(ext, 10),
			State: returns.StateOpen, UpdatedAt: time.Now().Add(-time.Hour)}
		if _, err := e.app.Server.Returns.Upsert(ctx, e.tn.Shop.ID, r); err != nil {
			b.Fatal(err)
		}
		tb.returns = append(tb.returns, info.ID)
		tb.orderIDs = append(tb.orderIDs, o.ID)
	}
	tk, err := e.app.Server.Helpdesk.Create(ctx, e.tn.Agent, helpdesk.NewTicket{Subject: "Twenty orders", CustomerEmail: "ada@example.com",
		Body: "Where are my refunds?", OrderID: tb.orderIDs[0], Channel: ticket.ChannelDesk})
	if err != nil {
		b.Fatal(err)
	}
	tb.agent = e.app.LoginAs(e.tn.Agent)
	tb.url = e.app.URL + "/tickets/" + strconv.FormatInt(tk.ID, 10)
	e.sb.SetFaults(sandbox.Faults{Latency: 150 * time.Millisecond})
	return tb
}

var cardOrder = regexp.MustCompile(`data-order-returns="(\d+)"`)

// open GETs the ticket view and returns how long the answer took and the
// orders whose cards it shows.
func (tb *ticketBench) open(b *testing.B) (time.Duration, []int64) {
	start := time.Now()
	resp, err := tb.agent.Get(tb.url)
	if err != nil {
		b.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("ticket view: %d %v", resp.StatusCode, err)
	}
	var ids []int64
	for _, m := range cardOrder.FindAllSubmatch(page, -1) {
		id, _ := strconv.ParseInt(string(m[1]), 10, 64)
		ids = append(ids, id)
	}
	return took, ids
}

// freshSince waits until each order was read from Loop at or after since.
func (tb *ticketBench) freshSince(b *testing.B, since time.Time, orderIDs []int64) {
	for {
		checked, err := tb.app.Server.LoopSync.Store().CheckedAt(tb.ctx, tb.tn.Shop.ID, orderIDs)
		if err != nil {
			b.Fatal(err)
		}
		fresh := 0
		for _, id := range orderIDs {
			if at, ok := checked[id]; ok && !at.Before(since.Truncate(time.Millisecond)) {
				fresh++
			}
		}
		if fresh == len(orderIDs) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkTicketView measures SPEC §9's ticket view with 20 orders, Loop
// answering in 150 ms, on each engine:
//
//   - cold: every card's data is stale; the agent opens the ticket.
//     first-paint-ms is the whole answer of GET /tickets/{id} (it queues
//     the refreshes and never waits on Loop; budget 30 ms); fresh-ms is
//     from the request until every card the page shows was read from Loop
//     again and stored (budget 400 ms). Each run starts cold again.
//   - webhook-fed: the cards are fresh and Loop's webhooks keep them so
//     (a stream of signed return webhooks arrives meanwhile); agents open
//     the ticket at a fixed rate (HUBDESK_BENCH_RATE, 150/s) for
//     HUBDESK_BENCH_SECONDS (3 s), with the webhooks unless
//     HUBDESK_BENCH_NO_WEBHOOKS is set; p99-ms is the 99th percentile of the
//     answers (budget 15 ms). Run it with -benchtime 1x: b.N is not used.
//
// The load generator, the server and the database share the machine:
// note the load average with every figure.
func BenchmarkTicketView(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			tb := newTicketBench(b, d)
			// One open warms the pools and statement caches as a running
			// server's are; it is not counted.
			tb.open(b)
			tb.settled()
			b.Run("cold", func(b *testing.B) {
				var paint, fresh, worstPaint, worstFresh time.Duration
				for range b.N {
					b.StopTimer()
					tb.settled()
					if _, err := tb.db.Exec(tb.ctx, `DELETE FROM loop_order_checks`); err != nil {
						b.Fatal(err)
					}
					tb.app.Server.LoopSync.ForgetChecks()
					b.StartTimer()
					start := time.Now()
					took, cards := tb.open(b)
					tb.freshSince(b, start, cards)
					all := time.Since(start)
					paint, fresh = paint+took, fresh+all
					worstPaint, worstFresh = max(worstPaint, took), max(worstFresh, all)
					if len(cards) < 5 {
						b.Fatalf("the page shows %d cards", len(cards))
					}
				}
				b.ReportMetric(ms(paint)/float64(b.N), "first-paint-ms")
				b.ReportMetric(ms(worstPaint), "max-first-paint-ms")
				b.ReportMetric(ms(fresh)/float64(b.N), "fresh-ms")
				b.ReportMetric(ms(worstFresh), "max-fresh-ms")
			})
			b.Run("webhook-fed", func(b *testing.B) {
				tb.settled()
				rate, seconds := envInt("HUBDESK_BENCH_RATE", 100), envInt("HUBDESK_BENCH_SECONDS", 3)
				// Webhooks arrive: the shop counts as fed by them, and a
				// stream of return updates is applied meanwhile.
				stop := make(chan struct{})
				var hooks sync.WaitGroup
				if os.Getenv("HUBDESK_BENCH_NO_WEBHOOKS") == "" {
					hooks.Go(func() { tb.feedWebhooks(b, stop) })
				}
				tb.settled()
				n := rate * seconds
				lat := make([]time.Duration, n)
				interval := time.Second / time.Duration(rate)
				var wg sync.WaitGroup
				b.ResetTimer()
				cpu0 := cpuTime()
				begin := time.Now()
				for i := range n {
					if wait := time.Until(begin.Add(time.Duration(i) * interval)); wait > 0 {
						time.Sleep(wait)
					}
					wg.Go(func() { lat[i], _ = tb.open(b) })
				}
				wg.Wait()
				elapsed := time.Since(begin)
				cpu := cpuTime() - cpu0
				b.StopTimer()
				close(stop)
				hooks.Wait()
				if k := tb.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'loop_order_refresh' AND created_at > ?`, begin.UTC()); k != 0 {
					b.Errorf("%d refreshes while webhook-fed", k)
				}
				slices.Sort(lat)
				b.ReportMetric(ms(lat[n/2]), "p50-ms")
				b.ReportMetric(ms(lat[n*99/100]), "p99-ms")
				b.ReportMetric(ms(lat[n-1]), "max-ms")
				b.ReportMetric(float64(n)/elapsed.Seconds(), "req/s")
				// The machine is shared: CPU time per open (this process:
				// load generator, server, webhooks and their jobs, and
				// SQLite; PostgreSQL's own not counted) holds whatever the
				// load.
				b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/open")
			})
		})
	}
}

// feedWebhooks posts signed return.updated webhooks for the ticket's
// orders, 20 a second, each newer than the last, until stop.
func (tb *ticketBench) feedWebhooks(b *testing.B, stop <-chan struct{}) {
	url := tb.app.URL + "/webhooks/loop/" + tb.tn.Shop.Domain
	secret := tb.sb.WebhookSecret()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		k := i % len(tb.returns)
		edited := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		label := []string{"pre_transit", "in_transit"}[i%2]
		body := fmt.Sprintf(`{"topic":"return","trigger":"return.updated","shop_id":9876,"id":%d,"state":"open","created_at":"2026-11-02T10:00:00.000Z",`+
			`"edited_at":"%s","order_name":"#%d","provider_order_id":%d,"line_items":[],"carrier":"USPS","tracking_number":"94001%d","label_status":"%s"}`,
			tb.returns[k], edited, 7500+k, 7500+k, k, label)
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set(loop.SignatureHeader, loop.Sign([]byte(body), secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Error(err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Errorf("webhook: %d", resp.StatusCode)
			return
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
