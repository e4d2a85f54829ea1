package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	loopsandbox "github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/ticket/tickettest"
)

// The seeded shop: a shopper (store customer 5000) with 50 orders among
// the shop's others, Loop as the returns provider, the hub live.
const (
	shopDomain    = "bench.myshopify.com"
	clientSecret  = "bench-client-secret"
	adminEmail    = "admin@bench.test"
	adminPassword = "bench password 1"
	shopperID     = "5000"
	shopperEmail  = "olivia@example.com"
	shopperOrders = 50
)

// seeded is one engine's seeded shop, the template every run copies.
type seeded struct {
	engine   string
	sqlite   string // the seeded SQLite file
	template string // the seeded PostgreSQL database
	shopID   int64
	token    string   // the admin's API token (a copy keeps it)
	orderIDs []string // the shopper's orders, hubdesk ids, newest first
	tickets  []int64  // the ids of the shop's tickets
	took     time.Duration
}

// seed builds the engine's shop: the shop, its admin and settings and the
// shopper's orders through hubdesk itself (its CLI and API), then the
// bulk (tickets with their messages, customers, orders with items and
// shipments, returns) in multi-row inserts straight into the database.
func (h *harness) seed(ctx context.Context, engine string) (*seeded, error) {
	start := time.Now()
	s := &seeded{engine: engine}
	dataDir := filepath.Join(h.dir, engine, "seed")
	if err := os.RemoveAll(filepath.Join(h.dir, engine)); err != nil { // a kept -workdir's last run
		return nil, err
	}
	dbURL := ""
	if engine == "postgres" {
		s.template = h.prefix + "_seed"
		if err := h.createDatabase(ctx, s.template, ""); err != nil {
			return nil, err
		}
		dbURL = h.pgDatabaseURL(s.template)
	} else {
		s.sqlite = filepath.Join(dataDir, "hubdesk.db")
	}
	env := h.env(dataDir, dbURL)
	h.logf("%s: seeding the shop", engine)
	out, err := h.command(ctx, env, "shop", "create", "--name", "Bench Outfitters", "--domain", shopDomain, "--client-secret", clientSecret)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Sscanf(out, "created shop %d", &s.shopID); err != nil {
		return nil, fmt.Errorf("shop create said %q", out)
	}
	if _, err := h.command(ctx, env, "user", "create", adminEmail, "--shop", shopDomain, "--role", "admin", "--password", adminPassword); err != nil {
		return nil, err
	}
	if s.token, err = h.command(ctx, env, "user", "token", adminEmail); err != nil {
		return nil, err
	}
	s.token = strings.TrimSpace(s.token)

	p, err := h.serve(ctx, env, engine+"-seed.log")
	if err != nil {
		return nil, err
	}
	err = h.seedThroughHubdesk(ctx, p, s)
	p.stop()
	if err != nil {
		return nil, err
	}

	db, err := database.Open(ctx, dbURL, dataDir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if err := h.seedBulk(ctx, db, s); err != nil {
		return nil, err
	}
	if engine == "sqlite" {
		if _, err := db.Exec(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return nil, err
		}
	}
	s.took = time.Since(start)
	h.logf("%s: seeded in %s", engine, s.took.Round(time.Second))
	return s, nil
}

// seedThroughHubdesk sets the shop up as a merchant would: Loop's key and
// webhook secret (the sandbox's), the hub live, and the shopper's orders
// through the REST API (each also known to Loop).
func (h *harness) seedThroughHubdesk(ctx context.Context, p *process, s *seeded) error {
	body := fmt.Sprintf(`{"provider":"loop","loop_api_key":%q,"loop_webhook_secret":%q,"lookup_field":"email"}`,
		loopsandbox.KeyFull, h.loop.WebhookSecret())
	if _, err := apiCall(ctx, "PUT", p.base+"/api/v1/settings/returns", s.token, body); err != nil {
		return err
	}
	agent, err := login(ctx, p.base)
	if err != nil {
		return err
	}
	resp, err := agent.PostForm(p.base+"/settings/live", url.Values{"live": {"on"}, "confirmed": {"1"}}) // as the go-live confirmation sends it
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK { // after the redirect
		return fmt.Errorf("POST /settings/live: %s", resp.Status)
	}

	now := time.Now().UTC().Truncate(time.Second)
	s.orderIDs = make([]string, shopperOrders)
	errs := make(chan error, shopperOrders)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for n := range shopperOrders {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ext := 7_000_000 + n
			name := "#" + strconv.Itoa(500_000+n)
			created := now.Add(-time.Duration(n) * 7 * time.Hour)
			delivered := created.Add(72 * time.Hour)
			ts := func(t time.Time) string { return t.Format(time.RFC3339) }
			body := fmt.Sprintf(`{"external_id":"%d","name":%q,"email":%q,"currency":"USD","financial_status":"paid","fulfillment_status":"fulfilled",
				"subtotal":"98.00","shipping":"6.95","tax":"7.84","total":"112.79","created_at":%q,"updated_at":%q,
				"customer":{"external_id":%q,"email":%q,"first_name":"Olivia","last_name":"Johnson"},
				"shipping_address":{"name":"Olivia Johnson","address1":"1120 SW 5th Ave","city":"Portland","province":"OR","zip":"97204","country_code":"US"},
				"line_items":[{"external_id":"%d1","title":"Merino Hiking Socks","variant_id":"44010001","quantity":1,"price":"18.00","image_url":"https://cdn.shopify.com/s/files/socks.png"},
					{"external_id":"%d2","title":"Stoneware Camp Mug","variant_id":"44010002","quantity":2,"price":"24.00","image_url":"https://cdn.shopify.com/s/files/mug.png"},
					{"external_id":"%d3","title":"Dot Grid Notebook","variant_id":"44010007","quantity":2,"price":"16.00","image_url":"https://cdn.shopify.com/s/files/notebook.png"}],
				"fulfillments":[{"external_id":"f%d","shipment_status":"delivered","carrier":"UPS","tracking_number":"1Z%d","tracking_url":"https://www.ups.com/track?tracknum=1Z%d",
					"created_at":%q,"updated_at":%q,"in_transit_at":%q,"delivered_at":%q}]}`,
				ext, name, shopperEmail, ts(created), ts(delivered), shopperID, shopperEmail, ext, ext, ext,
				ext, ext, ext, ts(created), ts(delivered), ts(created), ts(delivered))
			out, err := apiCall(ctx, "PUT", p.base+"/api/v1/orders", s.token, body)
			if err != nil {
				errs <- err
				return
			}
			var o struct {
				ID json.Number `json:"id"`
			}
			if err := json.Unmarshal(out, &o); err != nil || o.ID == "" {
				errs <- fmt.Errorf("PUT /api/v1/orders answered %s", out)
				return
			}
			s.orderIDs[n] = o.ID.String()
			h.loop.AddOrder(loopsandbox.Order{Name: name, ProviderOrderID: int64(ext), Email: shopperEmail, Zip: "97204",
				FirstName: "Olivia", LastName: "Johnson", CreatedAt: created, DeliveredAt: delivered, ReturnWindowDays: 365})
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// seedBulk writes the rest of the shop in bulk.
func (h *harness) seedBulk(ctx context.Context, db *database.DB, s *seeded) (err error) {
	now := time.Now().UTC()
	var adminID int64
	if err := db.QueryRow(ctx, `SELECT id FROM users WHERE shop_id = ? AND email = ?`, s.shopID, adminEmail).Scan(&adminID); err != nil {
		return fmt.Errorf("the admin: %w", err)
	}
	// The helpdesk's own seeder (the inbox benchmarks'): tickets with five
	// messages each, tags and read markers.
	h.logf("%s: %d tickets", s.engine, h.cfg.tickets)
	if err := callSeeder(func(tb testing.TB) {
		tickettest.Seed(tb, db, s.shopID, []int64{adminID}, h.cfg.tickets, now)
	}); err != nil {
		return err
	}
	rest := h.cfg.orders - shopperOrders - h.cfg.tickets
	if rest < 0 {
		return fmt.Errorf("%d orders cannot hold the shopper's %d and one per ticket (%d)", h.cfg.orders, shopperOrders, h.cfg.tickets)
	}
	var firstTicket int64
	if err := db.QueryRow(ctx, `SELECT MIN(id) FROM tickets WHERE shop_id = ?`, s.shopID).Scan(&firstTicket); err != nil {
		return err
	}
	h.logf("%s: %d more orders, %d returns", s.engine, h.cfg.orders-shopperOrders, h.cfg.returns)
	nowMS := now.UnixMilli()
	seq := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE seq(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM seq WHERE i < %d) ", n-1)
	}
	// As tickettest.SeedCommerce does, in set-wise statements: a customer
	// for every five tickets, each ticket about an order of its customer
	// with two items (the customer's email is the ticket's requester's).
	ticketCustomers := (h.cfg.tickets + 4) / 5
	statements := []string{
		seq(ticketCustomers) + fmt.Sprintf(`INSERT INTO customers (shop_id, external_id, email, first_name, last_name, created_at, updated_at)
			SELECT %d, 'c' || i, 'shopper' || i || '@example.com', 'Shopper', '' || i, %d, %d FROM seq`, s.shopID, nowMS-200*86_400_000, nowMS-200*86_400_000),
		// The statistics of the empty tables would have the planner scan
		// them for every row looked up below.
		"ANALYZE customers",
		seq(h.cfg.tickets) + fmt.Sprintf(`INSERT INTO orders (shop_id, external_id, customer_id, name, email, financial_status, fulfillment_status, currency,
				subtotal_minor, shipping_minor, tax_minor, total_minor, ship_name, ship_address1, ship_city, ship_province, ship_zip, ship_country_code,
				created_at, updated_at)
			SELECT %d, 'o' || i, (SELECT c.id FROM customers c WHERE c.shop_id = %d AND c.external_id = 'c' || (i %% %d)),
				'#' || (1000 + i), 'shopper' || (i %% %d) || '@example.com', 'paid', 'fulfilled', 'USD', 9800, 695, 784, 11279, 'Shopper ' || (i %% %d),
				'1120 SW 5th Ave', 'Portland', 'OR', '97204', 'US', %d - (%d - i) * 420000, %d - (%d - i) * 420000
			FROM seq`,
			s.shopID, s.shopID, ticketCustomers, ticketCustomers, ticketCustomers, nowMS-48*3_600_000, h.cfg.tickets, nowMS-48*3_600_000, h.cfg.tickets),
		"ANALYZE orders",
		fmt.Sprintf(`UPDATE tickets SET order_id = (SELECT o.id FROM orders o WHERE o.shop_id = tickets.shop_id AND o.external_id = 'o' || (tickets.id - %d)),
			customer_id = (SELECT o.customer_id FROM orders o WHERE o.shop_id = tickets.shop_id AND o.external_id = 'o' || (tickets.id - %d))
			WHERE shop_id = %d`, firstTicket, firstTicket, s.shopID),
	}
	for k, title := range []string{"Merino Hiking Socks", "Stoneware Camp Mug"} {
		statements = append(statements, fmt.Sprintf(`INSERT INTO line_items (shop_id, order_id, position, external_id, variant_id, sku, title,
			variant_title, quantity, current_quantity, price_minor)
			SELECT shop_id, id, %d, external_id || '-%d', '4401000%d', 'SKU-%d', '%s', 'M', 1, 1, 4900
			FROM orders WHERE shop_id = %d AND external_id LIKE 'o%%'`, k, k, k, k, title, s.shopID))
	}
	// Other shoppers' orders, up to the shop's size, over two years.
	customers := max(1, rest/5)
	step := int64(2*365*24*time.Hour/time.Millisecond) / int64(max(rest, 1))
	statements = append(statements,
		seq(customers)+fmt.Sprintf(`INSERT INTO customers (shop_id, external_id, email, first_name, last_name, created_at, updated_at)
			SELECT %d, 'bc' || i, 'buyer' || i || '@example.com', 'Buyer', 'No. ' || i, %d, %d FROM seq`, s.shopID, nowMS-3*365*86_400_000, nowMS),
		"ANALYZE customers")
	if rest > 0 {
		statements = append(statements,
			seq(rest)+fmt.Sprintf(`INSERT INTO orders (shop_id, external_id, customer_id, name, email, financial_status, fulfillment_status, currency,
				subtotal_minor, shipping_minor, tax_minor, total_minor, ship_name, ship_address1, ship_city, ship_province, ship_zip, ship_country_code,
				created_at, updated_at)
				SELECT %d, 'b' || i, (SELECT c.id FROM customers c WHERE c.shop_id = %d AND c.external_id = 'bc' || (i %% %d)),
					'#' || (100000 + i), 'buyer' || (i %% %d) || '@example.com', 'paid', 'fulfilled', 'USD', 9800, 695, 784, 11279,
					'Buyer No. ' || (i %% %d), '1120 SW 5th Ave', 'Portland', 'OR', '97204', 'US', %d - i * %d, %d - i * %d
				FROM seq`,
				s.shopID, s.shopID, customers, customers, customers, nowMS, step, nowMS, step))
		for k, title := range []string{"Merino Hiking Socks", "Stoneware Camp Mug", "Dot Grid Notebook"} {
			statements = append(statements, fmt.Sprintf(`INSERT INTO line_items (shop_id, order_id, position, external_id, variant_id, sku, title,
				variant_title, quantity, current_quantity, price_minor, image_url)
				SELECT shop_id, id, %d, external_id || '-%d', '4401000%d', 'SKU-%d', '%s', 'M', 1, 1, %d, 'https://cdn.shopify.com/s/files/p%d.png'
				FROM orders WHERE shop_id = %d AND external_id LIKE 'b%%'`, k, k, k, k, title, 1800+600*k, k, s.shopID))
		}
		statements = append(statements, fmt.Sprintf(`INSERT INTO fulfillments (shop_id, order_id, external_id, status, shipment_status, carrier,
			tracking_number, tracking_url, created_at, updated_at, in_transit_at, delivered_at)
			SELECT shop_id, id, 'f' || external_id, 'success', 'delivered', 'UPS', '1Z' || id, 'https://www.ups.com/track?tracknum=1Z' || id,
				created_at + 3600000, created_at + 259200000, created_at + 86400000, created_at + 259200000
			FROM orders WHERE shop_id = %d AND external_id LIKE 'b%%'`, s.shopID))
	}
	statements = append(statements, fmt.Sprintf(`INSERT INTO fulfillments (shop_id, order_id, external_id, status, shipment_status, carrier,
		tracking_number, tracking_url, created_at, updated_at, in_transit_at, delivered_at)
		SELECT shop_id, id, 'f' || external_id, 'success', 'delivered', 'UPS', '1Z' || id, 'https://www.ups.com/track?tracknum=1Z' || id,
			created_at + 3600000, created_at + 172800000, created_at + 86400000, created_at + 172800000
		FROM orders WHERE shop_id = %d AND external_id LIKE 'o%%'`, s.shopID))
	// Returns on the newest orders (other shoppers' and the tickets'), a
	// quarter of them still open.
	statements = append(statements, fmt.Sprintf(`INSERT INTO returns (shop_id, provider, external_id, order_name, order_external_id, order_id,
		state, outcome, carrier, tracking_number, label_status, created_at, updated_at, synced_at)
		SELECT shop_id, 'loop', 'lr' || id, name, external_id, id,
			CASE WHEN id %% 4 = 0 THEN 'open' WHEN id %% 4 = 1 THEN 'closed' WHEN id %% 4 = 2 THEN 'closed' ELSE 'cancelled' END,
			'refund', 'USPS', '94001' || id, 'delivered', created_at + 432000000, created_at + 604800000, created_at + 604800000
		FROM (SELECT shop_id, id, name, external_id, created_at FROM orders
			WHERE shop_id = %d AND external_id NOT LIKE '7%%' ORDER BY created_at DESC, id DESC LIMIT %d) o`, s.shopID, h.cfg.returns))
	// The webhooks of the retention's 30 days, processed, as a shop of
	// this size keeps them: about a thousand Shopify deliveries a day
	// (each order's updates and shipments, its customer), each with its
	// webhook and event claims, and a hundred of Loop's. Without them the
	// tables' statistics say nothing of the shop and PostgreSQL's plans
	// for a chunk's lookups read all of the shop's rows by its id.
	historyMS := int64(30 * 24 * time.Hour / time.Millisecond)
	shopifyHistory, loopHistory := 30_000, 3_000
	statements = append(statements,
		seq(shopifyHistory)+fmt.Sprintf(`INSERT INTO webhook_events (shop_id, provider, topic, delivery_id, body, received_at, processed_at, outcome)
			SELECT %d, 'shopify', 'orders/updated', 'w:hw' || i || ' e:he' || i, '{"id":' || (95000000 + i) || ',"name":"#H' || i || '"}%s',
				%d + i * %d, %d + i * %d + 200, 'order #H' || i || ' updated' FROM seq`,
			s.shopID, strings.Repeat(" ", 1400), nowMS-historyMS, historyMS/int64(shopifyHistory), nowMS-historyMS, historyMS/int64(shopifyHistory)),
		fmt.Sprintf(`INSERT INTO shopify_webhook_claims (shop_id, claim, event_row, claimed_at)
			SELECT shop_id, 'webhook:hw' || id, id, processed_at FROM webhook_events WHERE shop_id = %d AND provider = 'shopify'
			UNION ALL SELECT shop_id, 'event:orders/updated:he' || id, id, processed_at FROM webhook_events WHERE shop_id = %d AND provider = 'shopify'`,
			s.shopID, s.shopID),
		seq(loopHistory)+fmt.Sprintf(`INSERT INTO webhook_events (shop_id, provider, topic, delivery_id, body, received_at, processed_at, outcome)
			SELECT %d, 'loop', 'return.updated', 'lh' || i, '{"id":' || i || '}%s',
				%d + i * %d, %d + i * %d + 200, 'return updated' FROM seq`,
			s.shopID, strings.Repeat(" ", 800), nowMS-historyMS, historyMS/int64(loopHistory), nowMS-historyMS, historyMS/int64(loopHistory)))
	err = db.InTx(ctx, func(tx *database.Tx) error {
		for _, q := range statements {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("%w\n%s", err, q)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// As a running hubdesk keeps them (database_statistics_refresh); on
	// PostgreSQL with the visibility map too, for index-only scans.
	if db.Dialect == database.Postgres {
		if _, err := db.Exec(ctx, "VACUUM ANALYZE"); err != nil {
			return err
		}
	} else if err := db.RefreshStatistics(ctx); err != nil {
		return err
	}
	var orders, tickets, returns int
	if err := db.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM orders WHERE shop_id = ?), (SELECT COUNT(*) FROM tickets WHERE shop_id = ?),
		(SELECT COUNT(*) FROM returns WHERE shop_id = ?)`, s.shopID, s.shopID, s.shopID).Scan(&orders, &tickets, &returns); err != nil {
		return err
	}
	if orders != h.cfg.orders || tickets != h.cfg.tickets || returns != h.cfg.returns {
		return fmt.Errorf("seeded %d orders, %d tickets, %d returns; want %d, %d, %d", orders, tickets, returns, h.cfg.orders, h.cfg.tickets, h.cfg.returns)
	}
	rows, err := db.Query(ctx, `SELECT id FROM tickets WHERE shop_id = ? ORDER BY id`, s.shopID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		s.tickets = append(s.tickets, id)
	}
	return rows.Err()
}

// seedTB lets the helpdesk's test seeders run outside a test: Fatalf
// becomes an error.
type seedTB struct{ testing.TB }

type seedFailure struct{ err error }

func (seedTB) Helper() {}
func (seedTB) Fatalf(format string, args ...any) {
	panic(seedFailure{fmt.Errorf(format, args...)})
}
func (seedTB) Fatal(args ...any) { panic(seedFailure{fmt.Errorf("%s", fmt.Sprint(args...))}) }

func callSeeder(fn func(tb testing.TB)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(seedFailure)
			if !ok {
				panic(r)
			}
			err = f.err
		}
	}()
	fn(seedTB{})
	return nil
}

// apiCall sends a JSON request with the bearer token; a status other than
// 200 or 201 is an error.
func apiCall(ctx context.Context, method, u, token, body string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("%s %s: %s %s", method, u, resp.Status, out)
	}
	return out, nil
}

// login signs the admin in through the form and returns a client with
// the session cookie.
func login(ctx context.Context, base string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/login", strings.NewReader(url.Values{"email": {adminEmail}, "password": {adminPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	u, _ := url.Parse(base)
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "hubdesk_session" {
			return c, nil
		}
	}
	return nil, fmt.Errorf("login as %s: %s and no session cookie", adminEmail, resp.Status)
}

// sessionCookie is the client's session cookie as a header value.
func sessionCookie(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "hubdesk_session" {
			return ck.Name + "=" + ck.Value
		}
	}
	return ""
}
