package webhook_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// shopifyBenchDelivery is the i-th delivery of BenchmarkShopifyIngestion
// (i from 1): its topic, X-Shopify-Webhook-Id, X-Shopify-Event-Id and
// body. Of every ten, the one ending in 0 repeats delivery i-15 exactly
// (Shopify's retry: stored once), the one ending in 5 carries delivery
// i-3's event under a new webhook id (stored, applied once: a duplicate);
// the others are, in turn, an orders/updated of a new order with its
// customer, two lines and a shipment, a fulfillments/create of a shipment
// of an order the shop has, and a customers/update.
func shopifyBenchDelivery(i int64) (topic, webhookID, eventID, body string) {
	switch {
	case i%10 == 0 && i > 20:
		return shopifyBenchDelivery(i - 15)
	case i%10 == 5 && i > 20:
		topic, _, eventID, body = shopifyBenchDelivery(i - 3)
		return topic, "w" + strconv.FormatInt(i, 10), eventID, body
	}
	s := strconv.FormatInt(i, 10)
	webhookID, eventID = "w"+s, "e"+s
	switch i % 3 {
	case 0:
		id := strconv.FormatInt(91000000+i, 10)
		return shopify.TopicOrdersUpdated, webhookID, eventID, `{"id":` + id + `,"admin_graphql_api_id":"gid://shopify/Order/` + id +
			`","name":"#S` + s + `","email":"c` + s + `@example.com","created_at":"2026-11-30T09:00:00-05:00","updated_at":"2026-12-01T10:00:00Z",` +
			`"cancelled_at":null,"currency":"EUR","financial_status":"paid","fulfillment_status":"partial","subtotal_price":"40.00",` +
			`"total_price":"44.90","total_tax":"0.00","total_shipping_price_set":{"shop_money":{"amount":"4.90","currency_code":"EUR"}},` +
			`"shipping_address":{"first_name":"Ada","last_name":"Lovelace","address1":"1 Analytical St","city":"London","zip":"N1 9GU","country_code":"GB"},` +
			`"customer":{"id":` + strconv.FormatInt(81000000+i, 10) + `,"email":"c` + s + `@example.com","first_name":"Ada","last_name":"Lovelace",` +
			`"updated_at":"2026-11-30T09:00:00-05:00","default_address":{"first_name":"Ada","last_name":"Lovelace","address1":"1 Analytical St",` +
			`"city":"London","zip":"N1 9GU","country_code":"GB"}},` +
			`"line_items":[{"id":` + s + `1,"variant_id":101,"title":"Tee","variant_title":"M","quantity":2,"current_quantity":2,"price":"10.00"},` +
			`{"id":` + s + `2,"variant_id":102,"title":"Mug","quantity":2,"price":"10.00"}],` +
			`"fulfillments":[{"id":` + s + `,"order_id":` + id + `,"status":"success","shipment_status":"in_transit","tracking_company":"UPS",` +
			`"tracking_number":"1Z` + s + `","created_at":"2026-12-01T09:00:00Z","updated_at":"2026-12-01T10:00:00Z","line_items":[{"id":` + s + `1,"quantity":2}]}]}`
	case 1:
		order := strconv.Itoa(shopifyHistoryOrder(i))
		return shopify.TopicFulfillmentsCreate, webhookID, eventID, `{"id":` + strconv.FormatInt(92000000+i, 10) + `,"order_id":` + order +
			`,"status":"success","shipment_status":"confirmed","tracking_company":"DHL","tracking_numbers":["JD` + s + `"],` +
			`"created_at":"2026-12-02T08:00:00Z","updated_at":"2026-12-02T08:00:00Z","line_items":[{"id":1,"quantity":1}]}`
	}
	return shopify.TopicCustomersUpdate, webhookID, eventID, `{"id":` + strconv.FormatInt(83000000+i, 10) + `,"email":"u` + s +
		`@example.com","first_name":"Grace","last_name":"Hopper","phone":"+15550100","created_at":"2026-11-01T09:00:00Z",` +
		`"updated_at":"2026-12-01T09:00:00Z","default_address":{"first_name":"Grace","last_name":"Hopper","address1":"2 Compiler Rd",` +
		`"city":"Arlington","zip":"22201","country_code":"US"}}`
}

// shopifyHistoryOrder is the platform id of a seeded order a shipment
// delivery names.
func shopifyHistoryOrder(i int64) int { return 70000000 + int(i%shopifyHistorySize) }

// shopifyHistorySize is how many orders (and processed events) the
// benchmark's shop has before it starts.
const shopifyHistorySize = 1000

// BenchmarkShopifyIngestion is BenchmarkLoopIngestion's twin for POST
// /webhooks/shopify: 32 senders post deliveries signed with the shop's
// client secret (X-Shopify-Hmac-Sha256 over the raw body), orders,
// shipments and customers in turn, with Shopify's retries (the same
// Webhook-Id: stored once) and the same event under a new Webhook-Id
// (applied once). The job queue starts once every delivery is
// acknowledged; the same figures are reported. Afterwards none may be
// lost or doubled: every distinct delivery is stored once and processed,
// each repeated event is a duplicate, and every order, shipment and
// customer is there once.
func BenchmarkShopifyIngestion(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.Open(b, d)
			app := testapp.New(b, db)
			tn := app.NewTenant("shopa")
			seedShopifyHistory(b, app, tn.Shop.ID)
			clientSecret := tn.Shop.Name + "-client-secret"
			url := app.URL + "/webhooks/shopify"
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			pg := postgresBackends(b, db)
			var next, acked, refused atomic.Int64
			const senders = 32
			b.ResetTimer()
			cpu0, pg0, st0 := cpuTime(), pg.cpu(), db.TxStatements()
			start := time.Now()
			var wg sync.WaitGroup
			for range senders {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						topic, webhookID, eventID, body := shopifyBenchDelivery(i)
						req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set(shopify.HeaderShopDomain, tn.Shop.Domain)
						req.Header.Set(shopify.HeaderHmac, shopify.SignWebhook([]byte(body), clientSecret))
						req.Header.Set(shopify.HeaderTopic, topic)
						req.Header.Set(shopify.HeaderWebhookID, webhookID)
						req.Header.Set(shopify.HeaderEventID, eventID)
						req.Header.Set(shopify.HeaderAPIVersion, "2026-10")
						resp, err := client.Do(req)
						if err != nil {
							refused.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							acked.Add(1)
						} else {
							refused.Add(1)
						}
					}
				})
			}
			wg.Wait()
			ackTime := time.Since(start)
			cpu1, pg1, st1 := cpuTime(), pg.cpu(), db.TxStatements()
			var distinct, duplicates, orders, shipments, customers int
			for i := int64(1); i <= int64(b.N); i++ {
				switch {
				case i%10 == 0 && i > 20:
				case i%10 == 5 && i > 20:
					distinct++
					duplicates++
				default:
					distinct++
					switch i % 3 {
					case 0:
						orders++
						shipments++
						customers++
					case 1:
						shipments++
					default:
						customers++
					}
				}
			}
			groups := count(b, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process'`)
			drainStart := time.Now()
			jobstest.Work(b, app.Server.Jobs)
			if os.Getenv("BENCH_PGNAME") != "" {
				os.WriteFile(os.Getenv("BENCH_PGNAME"), []byte(pg.name), 0o644)
			}
			deadline := time.Now().Add(3 * time.Minute)
			for count(b, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process' AND state NOT IN ('completed', 'cancelled', 'discarded')`) > 0 &&
				time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			drainTime := time.Since(drainStart)
			cpu2, pg2, st2 := cpuTime(), pg.cpu(), db.TxStatements()
			b.StopTimer()
			perEvent := func(t time.Duration, n int64) float64 { return float64(t.Microseconds()) / float64(max(n, 1)) }
			b.ReportMetric(float64(acked.Load())/ackTime.Seconds(), "events/s")
			b.ReportMetric(perEvent(cpu1-cpu0, acked.Load()), "cpu-µs/event")
			b.ReportMetric(float64(distinct)/float64(max(groups, 1)), "events/job")
			b.ReportMetric(float64(distinct)/drainTime.Seconds(), "processed/s")
			b.ReportMetric(perEvent(cpu2-cpu1, int64(distinct)), "drain-cpu-µs/event")
			b.ReportMetric(float64(st1-st0)/float64(max(acked.Load(), 1)), "stmts/event")
			b.ReportMetric(float64(st2-st1)/float64(max(distinct, 1)), "drain-stmts/event")
			if d == database.Postgres {
				b.ReportMetric(perEvent(pg1-pg0, acked.Load()), "pg-cpu-µs/event")
				b.ReportMetric(perEvent(pg2-pg1, int64(distinct)), "pg-drain-cpu-µs/event")
			}
			if refused.Load() != 0 {
				b.Fatalf("%d deliveries refused", refused.Load())
			}
			const fresh = `provider = 'shopify' AND delivery_id NOT LIKE 'history-%'`
			stored := count(b, db, `SELECT COUNT(*) FROM webhook_events WHERE `+fresh)
			processed := count(b, db, `SELECT COUNT(*) FROM webhook_events WHERE `+fresh+` AND processed_at IS NOT NULL AND error = ''`)
			dups := count(b, db, `SELECT COUNT(*) FROM webhook_events WHERE `+fresh+` AND outcome LIKE 'duplicate%'`)
			if stored != distinct || processed != distinct || dups != duplicates {
				b.Fatalf("%d distinct deliveries acknowledged: %d stored, %d processed, %d duplicates (want %d)",
					distinct, stored, processed, dups, duplicates)
			}
			madeOrders := count(b, db, `SELECT COUNT(*) FROM orders`) - shopifyHistorySize
			madeShipments := count(b, db, `SELECT COUNT(*) FROM fulfillments`)
			madeCustomers := count(b, db, `SELECT COUNT(*) FROM customers`) - shopifyHistorySize
			lines := count(b, db, `SELECT COUNT(*) FROM line_items`) - shopifyHistorySize
			if madeOrders != orders || madeShipments != shipments || madeCustomers != customers || lines != 2*orders {
				b.Fatalf("%d orders (want %d), %d shipments (want %d), %d customers (want %d), %d lines (want %d)",
					madeOrders, orders, madeShipments, shipments, madeCustomers, customers, lines, 2*orders)
			}
		})
	}
}

// seedShopifyHistory gives the shop shopifyHistorySize orders, each with
// its customer and one line, and as many processed Shopify events, with
// the planner's statistics gathered (see seedHistory).
func seedShopifyHistory(t testing.TB, app *testapp.App, shopID int64) {
	ctx := context.Background()
	at := time.Now().Add(-time.Hour)
	err := app.DB.InTx(ctx, func(tx *database.Tx) error {
		orders := ingest.New(tx, app.Server.Commerce, returns.NewRecords(tx))
		for i := range shopifyHistorySize {
			id := strconv.Itoa(70000000 + i)
			o := commerce.Order{ExternalID: id, Name: "#H" + id, Currency: "EUR", TotalMinor: 1000, SubtotalMinor: 1000,
				CreatedAt: at, UpdatedAt: at, LineItems: []commerce.LineItem{{ExternalID: "1", Title: "Tee", Quantity: 1, CurrentQuantity: 1, PriceMinor: 1000}}}
			c := commerce.Customer{ExternalID: strconv.Itoa(60000000 + i), Email: "h" + id + "@example.com", CreatedAt: at, UpdatedAt: at}
			if _, _, err := orders.Upsert(ctx, shopID, o, &c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	events := make([]*intake.Event, 0, 256)
	flush := func() {
		if _, err := intake.NewStore(app.DB).InsertMany(ctx, events); err != nil {
			t.Fatal(err)
		}
		events = events[:0]
	}
	for i := range shopifyHistorySize {
		events = append(events, &intake.Event{ShopID: shopID, Provider: intake.ProviderShopify, Topic: shopify.TopicOrdersUpdated,
			DeliveryID: "history-" + strconv.Itoa(i), Body: []byte(`{}`), ReceivedAt: at})
		if len(events) == cap(events) {
			flush()
		}
	}
	if len(events) > 0 {
		flush()
	}
	if _, err := app.DB.Exec(ctx, `UPDATE webhook_events SET processed_at = received_at WHERE shop_id = ?`, shopID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
}
