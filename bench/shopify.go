package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// shopifyDelivery is the i-th Shopify delivery of the row (i from 1): its
// topic, X-Shopify-Webhook-Id, X-Shopify-Event-Id and body. Of every ten,
// the one ending in 0 is Shopify's retry of delivery i-15 (the same
// webhook id: stored once), the one ending in 5 carries delivery i-3's
// event under a new webhook id (stored, applied once: a duplicate); the
// others are, in turn, an orders/updated of a new order with its new
// customer, two lines and a shipment, a fulfillments/create of a new
// shipment of an order the shop has (order names the order's platform id
// for delivery i), and a customers/update of a new customer.
func shopifyDelivery(i int64, order func(int64) string) (topic, webhookID, eventID, body string) {
	switch {
	case i%10 == 0 && i > 20:
		return shopifyDelivery(i-15, order)
	case i%10 == 5 && i > 20:
		topic, _, eventID, body = shopifyDelivery(i-3, order)
		return topic, "bw" + strconv.FormatInt(i, 10), eventID, body
	}
	s := strconv.FormatInt(i, 10)
	webhookID, eventID = "bw"+s, "be"+s
	switch i % 3 {
	case 0:
		id := strconv.FormatInt(91_000_000+i, 10)
		return shopify.TopicOrdersUpdated, webhookID, eventID, `{"id":` + id + `,"admin_graphql_api_id":"gid://shopify/Order/` + id +
			`","name":"#SB` + s + `","email":"sb` + s + `@example.com","created_at":"2026-11-30T09:00:00-05:00","updated_at":"2026-12-01T10:00:00Z",` +
			`"cancelled_at":null,"currency":"USD","financial_status":"paid","fulfillment_status":"partial","subtotal_price":"40.00",` +
			`"total_price":"44.90","total_tax":"0.00","total_shipping_price_set":{"shop_money":{"amount":"4.90","currency_code":"USD"}},` +
			`"shipping_address":{"first_name":"Ada","last_name":"Lovelace","address1":"1 Analytical St","city":"Portland","zip":"97204","country_code":"US"},` +
			`"customer":{"id":` + strconv.FormatInt(81_000_000+i, 10) + `,"email":"sb` + s + `@example.com","first_name":"Ada","last_name":"Lovelace",` +
			`"updated_at":"2026-11-30T09:00:00-05:00","default_address":{"first_name":"Ada","last_name":"Lovelace","address1":"1 Analytical St",` +
			`"city":"Portland","zip":"97204","country_code":"US"}},` +
			`"line_items":[{"id":` + s + `1,"variant_id":44010001,"title":"Merino Hiking Socks","variant_title":"M","quantity":2,"current_quantity":2,"price":"10.00"},` +
			`{"id":` + s + `2,"variant_id":44010002,"title":"Stoneware Camp Mug","quantity":2,"price":"10.00"}],` +
			`"fulfillments":[{"id":` + strconv.FormatInt(93_000_000+i, 10) + `,"order_id":` + id + `,"status":"success","shipment_status":"in_transit",` +
			`"tracking_company":"UPS","tracking_number":"SZ` + s + `","created_at":"2026-12-01T09:00:00Z","updated_at":"2026-12-01T10:00:00Z",` +
			`"line_items":[{"id":` + s + `1,"quantity":2}]}]}`
	case 1:
		return shopify.TopicFulfillmentsCreate, webhookID, eventID, `{"id":` + strconv.FormatInt(92_000_000+i, 10) + `,"order_id":` + order(i) +
			`,"status":"success","shipment_status":"confirmed","tracking_company":"DHL","tracking_numbers":["JD` + s + `"],` +
			`"created_at":"2026-12-02T08:00:00Z","updated_at":"2026-12-02T08:00:00Z","line_items":[{"id":1,"quantity":1}]}`
	}
	return shopify.TopicCustomersUpdate, webhookID, eventID, `{"id":` + strconv.FormatInt(83_000_000+i, 10) + `,"email":"su` + s +
		`@example.com","first_name":"Grace","last_name":"Hopper","phone":"+15550100","created_at":"2026-11-01T09:00:00Z",` +
		`"updated_at":"2026-12-01T09:00:00Z","default_address":{"first_name":"Grace","last_name":"Hopper","address1":"2 Compiler Rd",` +
		`"city":"Arlington","zip":"22201","country_code":"US"}}`
}

// shopifyWebhooks posts signed Shopify webhooks (orders, shipments,
// customers in turn, with Shopify's retries and repeated events) from 32
// senders to POST /webhooks/shopify for the row's duration while serve
// processes them, waits until every stored one is processed, and checks
// that none was lost or doubled: every distinct delivery acknowledged is
// stored once and processed without error, one of each pair carrying the
// same event is a duplicate, and every order, shipment and customer is
// there once. The throughput is judged on the events processed: the
// distinct deliveries over the time from the first send to the last
// processed.
func (h *harness) shopifyWebhooks(ctx context.Context, e *engineRun, _ []byte) error {
	const senders = 32
	u := e.p.base + "/webhooks/shopify"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	// The shipments are of the shop's other shoppers' orders (platform ids
	// b0, b1, …), or of the shopper's when the shop has none.
	others := h.cfg.orders - shopperOrders - h.cfg.tickets
	order := func(i int64) string {
		if others > 0 {
			return `"b` + strconv.FormatInt(i%int64(others), 10) + `"`
		}
		return strconv.FormatInt(7_000_000+i%shopperOrders, 10)
	}
	var next, refused atomic.Int64
	var mu sync.Mutex
	acked := map[int64]bool{} // by i
	var lat []time.Duration
	pg := pgBackends(h.prefix+"_run", e.engine == "postgres")
	since := time.Now()
	deadline := since.Add(h.cfg.duration)
	cpu0, pg0 := e.p.cpuTime(), pg.cpu()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				i := next.Add(1)
				topic, webhookID, eventID, body := shopifyDelivery(i, order)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(shopify.HeaderShopDomain, shopDomain)
				req.Header.Set(shopify.HeaderHmac, shopify.SignWebhook([]byte(body), clientSecret))
				req.Header.Set(shopify.HeaderTopic, topic)
				req.Header.Set(shopify.HeaderWebhookID, webhookID)
				req.Header.Set(shopify.HeaderEventID, eventID)
				req.Header.Set(shopify.HeaderAPIVersion, "2026-10")
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					refused.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took := time.Since(start)
				if resp.StatusCode != http.StatusOK {
					refused.Add(1)
					continue
				}
				mu.Lock()
				acked[i] = true
				lat = append(lat, took)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sent := time.Since(since)
	// What the acknowledged deliveries must have made: each distinct
	// delivery (webhook id and event id) stored once, each distinct event
	// applied once — one of two deliveries carrying it is a duplicate.
	deliveries, events := map[string]bool{}, map[string]int64{}
	for i := range acked {
		_, webhookID, eventID, _ := shopifyDelivery(i, order)
		deliveries[webhookID+" "+eventID] = true
		n, _ := strconv.ParseInt(strings.TrimPrefix(eventID, "be"), 10, 64)
		events[eventID] = n // the delivery that first carried the event
	}
	distinct, pairs := int64(len(deliveries)), int64(len(deliveries)-len(events))
	var orders, shipments, customers int64
	for _, n := range events {
		switch n % 3 {
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
	// Every acknowledged delivery stored once, and processed.
	var stored, processed, failed int64
	settle := time.Now().Add(time.Minute)
	for {
		if err := e.db.QueryRow(ctx, `SELECT COUNT(*), COUNT(processed_at), COUNT(CASE WHEN error <> '' THEN 1 END) FROM webhook_events
			WHERE shop_id = ? AND provider = 'shopify' AND received_at >= ?`,
			e.seed.shopID, since.Add(-time.Second).UnixMilli()).Scan(&stored, &processed, &failed); err != nil {
			return err
		}
		if processed >= stored || time.Now().After(settle) || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	done := time.Since(since)
	cpu, pgCPU := e.p.cpuTime()-cpu0, pg.cpu()-pg0
	count := func(query string) (n int64, err error) {
		err = e.db.QueryRow(ctx, query, e.seed.shopID).Scan(&n)
		return n, err
	}
	var dups, madeOrders, madeShipments, madeCustomers int64
	var err error
	if dups, err = count(`SELECT COUNT(*) FROM webhook_events WHERE shop_id = ? AND provider = 'shopify' AND outcome LIKE 'duplicate%'`); err != nil {
		return err
	}
	if madeOrders, err = count(`SELECT COUNT(*) FROM orders WHERE shop_id = ? AND name LIKE '#SB%'`); err != nil {
		return err
	}
	if madeShipments, err = count(`SELECT COUNT(*) FROM fulfillments WHERE shop_id = ? AND (tracking_number LIKE 'JD%' OR tracking_number LIKE 'SZ%')`); err != nil {
		return err
	}
	if madeCustomers, err = count(`SELECT COUNT(*) FROM customers WHERE shop_id = ? AND (email LIKE 'sb%@example.com' OR email LIKE 'su%@example.com')`); err != nil {
		return err
	}
	lost := max(0, distinct-stored) + max(0, orders-madeOrders) + max(0, shipments-madeShipments) + max(0, customers-madeCustomers)
	doubled := max(0, stored-distinct) + max(0, madeOrders-orders) + max(0, madeShipments-shipments) + max(0, madeCustomers-customers) +
		max(0, pairs-dups) // a repeated event applied twice
	ackRate := float64(len(acked)) / sent.Seconds()
	processedRate := float64(processed) / done.Seconds()
	slices.Sort(lat)
	note := fmt.Sprintf("%d acked at %.0f/s (%d distinct), %d stored, %d processed (%d failed) %.1f s after the first send, %d duplicates of %d repeated events, %d refused; "+
		"serve %.0f cpu-µs/event", len(acked), ackRate, distinct, stored, processed, failed, done.Seconds(), dups, pairs, refused.Load(),
		float64(cpu.Microseconds())/float64(max(distinct, 1)))
	if e.engine == "postgres" {
		note += fmt.Sprintf(", PostgreSQL %.0f cpu-µs/event", float64(pgCPU.Microseconds())/float64(max(distinct, 1)))
	}
	h.add(row{key: "shopify", what: "Shopify webhook ingestion (32 senders; 1 in 10 redelivered, 1 in 10 a repeated event), processed", engine: e.engine,
		budget: "≥ 2,000/s, none lost or doubled", p50: msString(percentile(lat, 0.5)), p99: msString(percentile(lat, 0.99)),
		throughput: rateString(processedRate, "events/s") + fmt.Sprintf(", lost %d, doubled %d", lost, doubled),
		pass:       verdict(processedRate >= 2000 && lost == 0 && doubled == 0 && refused.Load() == 0 && failed == 0 && processed == stored),
		note:       note})
	return nil
}

// pgServer is the PostgreSQL server processes serving one database on
// this machine, whose CPU time the rows count too.
type pgServer struct{ name string }

func pgBackends(name string, on bool) pgServer {
	if !on {
		return pgServer{}
	}
	return pgServer{name: name}
}

// cpu sums the CPU time of the backends serving the database now (from
// /proc/PID/stat); one that ended in between is not counted, which serve's
// pool, keeping its connections, makes rare.
func (p pgServer) cpu() time.Duration {
	if p.name == "" {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var ticks int64
	for _, c := range procs {
		cmd, err := os.ReadFile(c)
		if err != nil || !strings.Contains(string(cmd), " "+p.name+" ") {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(filepath.Dir(c), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + k
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
