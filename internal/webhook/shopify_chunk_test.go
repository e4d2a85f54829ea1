package webhook_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shopifyhooks"
)

// chunkOrder is an orders/* body: order id with one customer, two lines
// and the shipments given.
func chunkOrder(id, customerID, email, updated, shipments string) string {
	return `{"id":` + id + `,"name":"#` + id + `","email":"` + email + `","created_at":"2026-11-30T09:00:00Z","updated_at":"` + updated + `",` +
		`"currency":"EUR","financial_status":"paid","subtotal_price":"20.00","total_price":"20.00","total_tax":"0.00",` +
		`"customer":{"id":` + customerID + `,"email":"` + email + `","first_name":"Ada","last_name":"Lovelace","updated_at":"2026-11-30T09:00:00Z"},` +
		`"line_items":[{"id":` + id + `1,"variant_id":101,"title":"Tee","quantity":1,"price":"10.00"},` +
		`{"id":` + id + `2,"variant_id":102,"title":"Mug","quantity":1,"price":"10.00"}],"fulfillments":[` + shipments + `]}`
}

func chunkShipment(id, orderID, status, updated string) string {
	return `{"id":` + id + `,"order_id":` + orderID + `,"status":"success","shipment_status":"` + status + `","tracking_company":"DHL",` +
		`"tracking_numbers":["JD` + id + `"],"created_at":"2026-12-01T08:00:00Z","updated_at":"` + updated + `","line_items":[{"id":` + orderID + `1,"quantity":1}]}`
}

func chunkCustomer(id, email, updated string) string {
	return `{"id":` + id + `,"email":"` + email + `","first_name":"Grace","last_name":"Hopper","created_at":"2026-11-01T09:00:00Z",` +
		`"updated_at":"` + updated + `"}`
}

// A chunk of Shopify events processed in one transaction reads what it
// needs once (who claimed its ids, its customers, orders and shipments),
// records its claims in one insert and the lines and shipments of its new
// orders in one more each, and otherwise costs each event its own writes
// only — at most 3.5 statements an event on average here (two chunks), where asking
// before every write cost about 9 — while every rule holds inside the
// chunk: a shipment of an order the chunk itself made is found, a
// customer it made is updated, an order it made and changed again keeps
// the lines of the change, a return waiting for an order it made is
// attached, an order it made and a redact erased stays erased, the same
// event under a new webhook id is a duplicate, an older payload is stale,
// and a customer first met by email is adopted by the platform's id.
func TestShopifyChunkReadsOnceAndAppliesEveryRule(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		ctx := context.Background()
		shopID := tn.Shop.ID
		if _, _, err := app.Server.Commerce.CustomerForEmail(ctx, shopID, "bea@example.com", "Bea", ""); err != nil {
			t.Fatal(err)
		}
		const at = "2026-12-01T10:00:00Z"
		events := []chunkEvent{
			{shopify.TopicOrdersCreate, "w1", "e1", chunkOrder("5001", "7001", "ada@example.com", at, chunkShipment("61", "5001", "confirmed", at))},
			{shopify.TopicFulfillmentsUpdate, "w2", "e2", chunkShipment("61", "5001", "in_transit", "2026-12-01T11:00:00Z")},
			{shopify.TopicFulfillmentsCreate, "w3", "e3", chunkShipment("62", "5001", "confirmed", at)},
			{shopify.TopicCustomersUpdate, "w4", "e4", chunkCustomer("7001", "ada@example.com", "2026-12-01T11:00:00Z")},
			{shopify.TopicCustomersCreate, "w5", "e5", chunkCustomer("7002", "grace@example.com", at)},
			{shopify.TopicOrdersCreate, "w6", "e1", chunkOrder("5001", "7001", "ada@example.com", at, "")},
			{shopify.TopicOrdersUpdated, "w7", "e7", chunkOrder("5001", "7001", "ada@example.com", "2026-12-01T09:00:00Z", "")},
			{shopify.TopicOrdersCreate, "w8", "e8", chunkOrder("5002", "7003", "bea@example.com", at, "")},
		}
		// An order made and changed again in the chunk (one line, no
		// shipment now), and one a return waited for.
		events = append(events,
			chunkEvent{shopify.TopicOrdersUpdated, "w9", "e9", chunkOrder("5002", "7003", "bea@example.com", "2026-12-01T12:00:00Z", "")},
			chunkEvent{shopify.TopicOrdersCreate, "w10", "e10", chunkOrder("5003", "7004", "cy@example.com", at, chunkShipment("63", "5003", "confirmed", at))},
		)
		events[8].body = strings.Replace(events[8].body, `,{"id":50022,"variant_id":102,"title":"Mug","quantity":1,"price":"10.00"}`, "", 1)
		if _, err := app.Server.Returns.Upsert(ctx, shopID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "r1", OrderExternalID: "5003",
			OrderName: "#5003", State: returns.StateOpen, CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		for i := range 8 {
			id := strconv.Itoa(5100 + i)
			events = append(events, chunkEvent{shopify.TopicOrdersCreate, "wn" + id, "en" + id,
				chunkOrder(id, strconv.Itoa(7100+i), "n"+id+"@example.com", at, chunkShipment("6"+id, id, "confirmed", at))})
		}
		// One chunk, however busy the machine: the chunk is what is measured.
		ids, statements, err := processChunk(t, db, app.Server.ShopifyHooks, shopID, events)
		if err != nil {
			t.Fatal(err)
		}
		// A chunk that makes an order and then erases its customer.
		erased := []chunkEvent{
			{shopify.TopicOrdersCreate, "w11", "e11", chunkOrder("5004", "7005", "dee@example.com", at, chunkShipment("64", "5004", "confirmed", at))},
			{shopify.TopicCustomersRedact, "w12", "e12",
				`{"shop_domain":"` + tn.Shop.Domain + `","customer":{"id":7005,"email":"dee@example.com"},"orders_to_redact":[5004]}`},
		}
		if _, _, err := processChunk(t, db, app.Server.ShopifyHooks, shopID, erased); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL AND error = '' AND topic = 'customers/redact'`); n != 1 {
			t.Errorf("the redact was not processed")
		}

		outcome := func(i int) string {
			var o, e string
			if err := db.QueryRow(ctx, `SELECT outcome, error FROM webhook_events WHERE id = ? AND processed_at IS NOT NULL`, ids[i]).Scan(&o, &e); err != nil {
				t.Fatalf("event %d: %v", i+1, err)
			}
			if e != "" {
				t.Fatalf("event %d failed: %s", i+1, e)
			}
			return o
		}
		for i, want := range map[int]string{
			0: "order #5001 inserted",
			1: "shipment 61 updated",
			2: "shipment 62 inserted",
			3: "customer 7001 updated",
			4: "customer 7002 inserted",
			5: "duplicate: event:orders/create:e1 was applied already",
			6: "order #5001: stale, a newer version is stored",
			7: "order #5002 inserted",
			8: "order #5002 updated",
			9: "order #5003 inserted",
		} {
			if got := outcome(i); got != want {
				t.Errorf("event %d: %q, want %q", i+1, got, want)
			}
		}
		for i := 8; i < len(events); i++ {
			outcome(i)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM orders`); n != 11 {
			t.Errorf("%d orders, want 11", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM line_items`); n != 21 {
			t.Errorf("%d lines, want 21", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM line_items l JOIN orders o ON o.id = l.order_id WHERE o.external_id = '5002'`); n != 1 {
			t.Errorf("order 5002 has %d lines, want the one its update lists", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM fulfillments`); n != 11 {
			t.Errorf("%d shipments, want 11", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM returns r JOIN orders o ON o.id = r.order_id WHERE o.external_id = '5003'`); n != 1 {
			t.Errorf("the return waiting for order 5003 was not attached")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM orders WHERE external_id = '5004'`) + count(t, db, `SELECT COUNT(*) FROM fulfillments WHERE external_id = '64'`); n != 0 {
			t.Errorf("the erased customer's order or shipment is stored")
		}
		// Bea, met by email first, is the platform's customer 7003 now.
		if n := count(t, db, `SELECT COUNT(*) FROM customers WHERE email = 'bea@example.com' AND external_id = '7003'`); n != 1 {
			t.Errorf("the customer met by email was not adopted")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM customers`); n != 12 {
			t.Errorf("%d customers, want 12", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM fulfillments WHERE external_id = '61' AND shipment_status = 'in_transit'`); n != 1 {
			t.Errorf("shipment 61 was not updated")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM customers WHERE external_id = '7001' AND first_name = 'Grace'`); n != 1 {
			t.Errorf("customer 7001 was not updated")
		}
		if perEvent := float64(statements) / float64(len(events)); perEvent > 3.5 {
			t.Errorf("%d statements for %d events: %.1f an event, want at most 3.5", statements, len(events), perEvent)
		}
		t.Logf("%d statements for %d events", statements, len(events))
	})
}

// A chunk's claims are recorded in one insert; a key claimed since the
// chunk read them (by another transaction) is refused and the others
// recorded; the event it makes a duplicate gives back its later keys.
func TestShopifyChunkClaimsRefused(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		ctx := context.Background()
		claims := app.Server.ShopifyHooks.Claims
		at := time.Now()
		if dup, err := claims.Claim(ctx, tn.Shop.ID, 7, at, []string{"event:orders/create:e2"}); err != nil || dup != "" {
			t.Fatalf("claim: %q, %v", dup, err)
		}
		refused, err := claims.TakeAll(ctx, tn.Shop.ID, []shopifyhooks.Claim{
			{Event: 8, Key: "webhook:w1", At: at}, {Event: 8, Key: "event:orders/create:e1", At: at},
			{Event: 9, Key: "event:orders/create:e2", At: at}, {Event: 9, Key: "webhook:w2", At: at},
		})
		if err != nil || !slices.Equal(refused, []string{"event:orders/create:e2"}) {
			t.Fatalf("refused %v, %v: want the key claimed already", refused, err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM shopify_webhook_claims`); n != 4 {
			t.Errorf("%d claims, want the one made before and three new", n)
		}
		if err := claims.GiveBack(ctx, tn.Shop.ID, 9, []string{"webhook:w2"}); err != nil {
			t.Fatal(err)
		}
		if err := claims.GiveBack(ctx, tn.Shop.ID, 9, []string{"webhook:w1"}); err != nil {
			t.Fatal(err) // not event 9's: kept
		}
		owners, err := claims.Owners(ctx, tn.Shop.ID, []string{"webhook:w1", "event:orders/create:e1", "webhook:w2", "event:orders/create:e2"})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int64{"webhook:w1": 8, "event:orders/create:e1": 8, "event:orders/create:e2": 7}; !maps.Equal(owners, want) {
			t.Errorf("owners %v, want %v", owners, want)
		}
	})
}

// chunkEvent is a Shopify event of a chunk test: its topic, its
// webhook and event ids, its body.
type chunkEvent struct{ topic, webhookID, eventID, body string }

// processChunk stores the events and processes them as one job (in one
// chunk, however busy the machine); it returns their ids, the
// statements the job ran, and its error.
func processChunk(t *testing.T, db *database.DB, h intake.Handler, shopID int64, events []chunkEvent) ([]int64, int64, error) {
	t.Helper()
	ctx := context.Background()
	stored := make([]*intake.Event, len(events))
	for i, e := range events {
		stored[i] = &intake.Event{ShopID: shopID, Provider: intake.ProviderShopify, Topic: e.topic,
			DeliveryID: "w:" + e.webhookID + " e:" + e.eventID, Body: []byte(e.body), ReceivedAt: time.Now()}
	}
	ids, err := intake.NewStore(db).InsertMany(ctx, stored)
	if err != nil {
		t.Fatal(err)
	}
	worker := &intake.ProcessWorker{DB: db, Handlers: map[intake.Provider]intake.Handler{intake.ProviderShopify: h}, ChunkTime: time.Minute}
	before := db.TxStatements()
	err = worker.Work(ctx, &river.Job[intake.ProcessArgs]{Args: intake.ProcessArgs{ShopID: shopID, EventIDs: ids}})
	return ids, db.TxStatements() - before, err
}

// A chunk writes its customers (on their own and its orders') in one
// statement and the shipments of orders it did not make in one more,
// and each event's outcome is what applying them in turn would say: the
// same customer three times is inserted, updated, then stale (an older
// payload), an equal one is applied again, a customer or shipment older
// than the stored one is stale, and an order links to the customer the
// chunk wrote.
func TestShopifyChunkWritesCustomersAndShipmentsTogether(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		ctx := context.Background()
		shopID := tn.Shop.ID
		h := app.Server.ShopifyHooks
		const at = "2026-12-01T10:00:00Z"
		if _, _, err := processChunk(t, db, h, shopID, []chunkEvent{
			{shopify.TopicOrdersCreate, "w1", "e1", chunkOrder("5300", "7300", "ada@example.com", at, chunkShipment("6300", "5300", "confirmed", at))},
		}); err != nil {
			t.Fatal(err)
		}
		named := func(id, first, updated string) string {
			return strings.Replace(chunkCustomer(id, "grace@example.com", updated), `"Grace"`, `"`+first+`"`, 1)
		}
		ids, statements, err := processChunk(t, db, h, shopID, []chunkEvent{
			{shopify.TopicCustomersCreate, "w2", "e2", named("7301", "First", at)},
			{shopify.TopicCustomersUpdate, "w3", "e3", named("7301", "Second", "2026-12-01T12:00:00Z")},
			{shopify.TopicCustomersUpdate, "w4", "e4", named("7301", "Older", "2026-12-01T11:00:00Z")},
			{shopify.TopicCustomersUpdate, "w5", "e5", named("7301", "Again", "2026-12-01T12:00:00Z")},
			{shopify.TopicCustomersUpdate, "w6", "e6", chunkCustomer("7300", "ada@example.com", "2026-11-29T09:00:00Z")},
			{shopify.TopicFulfillmentsUpdate, "w7", "e7", chunkShipment("6300", "5300", "delivered", "2026-12-01T09:00:00Z")},
			{shopify.TopicFulfillmentsCreate, "w8", "e8", chunkShipment("6301", "5300", "confirmed", at)},
			{shopify.TopicFulfillmentsUpdate, "w9", "e9", chunkShipment("6301", "5300", "in_transit", "2026-12-01T11:00:00Z")},
			{shopify.TopicOrdersCreate, "w10", "e10", chunkOrder("5302", "7301", "grace@example.com", at, "")},
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{
			"customer 7301 inserted",
			"customer 7301 updated",
			"customer 7301 stale",
			"customer 7301 updated",
			"customer 7300 stale",
			"shipment 6300 stale",
			"shipment 6301 inserted",
			"shipment 6301 updated",
			"order #5302 inserted",
		} {
			var got, failed string
			if err := db.QueryRow(ctx, `SELECT outcome, error FROM webhook_events WHERE id = ? AND processed_at IS NOT NULL`, ids[i]).Scan(&got, &failed); err != nil {
				t.Fatalf("event %d: %v", i+1, err)
			}
			if got != want || failed != "" {
				t.Errorf("event %d: %q (error %q), want %q", i+1, got, failed, want)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM customers WHERE external_id = '7301' AND first_name = 'Again'`); n != 1 {
			t.Errorf("customer 7301 is not the last of its newest versions")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM customers WHERE external_id = '7300' AND first_name = 'Ada'`); n != 1 {
			t.Errorf("customer 7300 was overwritten by an older version")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM fulfillments WHERE external_id = '6300' AND shipment_status = 'confirmed'`); n != 1 {
			t.Errorf("shipment 6300 was overwritten by an older version")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM fulfillments WHERE external_id = '6301' AND shipment_status = 'in_transit'`); n != 1 {
			t.Errorf("shipment 6301 is not its newest version")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.external_id = '5302' AND c.external_id = '7301'`); n != 1 {
			t.Errorf("order 5302 is not linked to customer 7301")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM customers`); n != 2 {
			t.Errorf("%d customers, want 2", n)
		}
		// 12, where a statement for each customer and shipment written
		// made 16.
		if statements > 12 {
			t.Errorf("%d statements for 9 events, want at most 12", statements)
		}
		t.Logf("%d statements for 9 events", statements)
	})
}

// An event about an order not stored yet fails its chunk, whose events
// are then applied one by one: the others are applied once, as they would
// be alone, and it alone is tried again later.
func TestShopifyChunkShipmentOfAMissingOrder(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newShopifyApp(t, db)
		ctx := context.Background()
		shopID := tn.Shop.ID
		h := app.Server.ShopifyHooks
		const at = "2026-12-01T10:00:00Z"
		if _, _, err := processChunk(t, db, h, shopID, []chunkEvent{
			{shopify.TopicOrdersCreate, "w1", "e1", chunkOrder("5300", "7300", "ada@example.com", at, "")},
		}); err != nil {
			t.Fatal(err)
		}
		ids, _, err := processChunk(t, db, h, shopID, []chunkEvent{
			{shopify.TopicCustomersCreate, "w2", "e2", chunkCustomer("7401", "grace@example.com", at)},
			{shopify.TopicFulfillmentsCreate, "w3", "e3", chunkShipment("6302", "5300", "confirmed", at)},
			{shopify.TopicFulfillmentsCreate, "w4", "e4", chunkShipment("6398", "5398", "confirmed", at)},
		})
		if err == nil || !strings.Contains(err.Error(), "not stored yet") {
			t.Fatalf("err %v, want the missing order's", err)
		}
		for i, want := range []string{"customer 7401 inserted", "shipment 6302 inserted"} {
			var got string
			if err := db.QueryRow(ctx, `SELECT outcome FROM webhook_events WHERE id = ? AND processed_at IS NOT NULL AND error = ''`, ids[i]).Scan(&got); err != nil {
				t.Fatalf("event %d: %v", i+1, err)
			}
			if got != want {
				t.Errorf("event %d: %q, want %q", i+1, got, want)
			}
		}
		var failed string
		if err := db.QueryRow(ctx, `SELECT error FROM webhook_events WHERE id = ? AND processed_at IS NULL`, ids[2]).Scan(&failed); err != nil {
			t.Fatalf("the event of the missing order: %v", err)
		}
		if !strings.Contains(failed, "not stored yet") {
			t.Errorf("the event of the missing order failed with %q", failed)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM customers WHERE external_id = '7401'`) + count(t, db, `SELECT COUNT(*) FROM fulfillments WHERE external_id IN ('6302', '6398')`); n != 2 {
			t.Errorf("%d of the customer and the shipments stored, want the customer and shipment 6302", n)
		}
	})
}
