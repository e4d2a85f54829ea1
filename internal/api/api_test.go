package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/api"
	"github.com/hubdesk/hubdesk/internal/api/apitest"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// scenario is one call and what its answer must hold. Every answer is also
// validated against openapi.json by fixture.do.
type scenario struct {
	name string
	request
	status int
	code   string            // error.code, for error answers
	field  string            // error.field, when the error names one
	want   map[string]string // JSON path -> fmt.Sprint of the value
	text   []string          // substrings of the body
}

func (s scenario) run(t *testing.T, f *fixture) response {
	t.Helper()
	res := f.do(t, s.request)
	if res.status != s.status {
		t.Fatalf("status = %d, want %d\n%s", res.status, s.status, res.body)
	}
	if s.code != "" {
		f.check(t, res.body, map[string]string{"error.code": s.code})
	}
	if s.field != "" {
		f.check(t, res.body, map[string]string{"error.field": s.field})
	}
	f.check(t, res.body, s.want)
	for _, text := range s.text {
		if !strings.Contains(string(res.body), text) {
			t.Errorf("body lacks %q:\n%s", text, res.body)
		}
	}
	return res
}

func runScenarios(t *testing.T, scenarios []scenario) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		for _, s := range scenarios {
			t.Run(s.name, func(t *testing.T) { s.run(t, f) })
		}
	})
}

func TestReadScenarios(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "openapi document needs no user", request: request{method: "GET", url: "/api/v1/openapi.json", user: "none"},
			status: 200, want: map[string]string{"openapi": "3.1.0"}},

		{name: "list customers", request: request{method: "GET", url: "/api/v1/customers"},
			status: 200, want: map[string]string{"items.#": "2", "items.0.external_id": "c-grace", "items.1.external_id": "c-ada", "next_cursor": ""}},
		{name: "search customers by name", request: request{method: "GET", url: "/api/v1/customers?q=lovelace"},
			status: 200, want: map[string]string{"items.#": "1", "items.0.id": "{c-ada}", "items.0.email": "ada@example.com"}},
		{name: "search customers by external id", request: request{method: "GET", url: "/api/v1/customers?q=c-grace"},
			status: 200, want: map[string]string{"items.#": "1", "items.0.first_name": "Grace"}},
		{name: "customers first page", request: request{method: "GET", url: "/api/v1/customers?limit=1"},
			status: 200, want: map[string]string{"items.#": "1", "items.0.external_id": "c-grace"}},
		{name: "customers need a user", request: request{method: "GET", url: "/api/v1/customers", user: "none"},
			status: 401, code: "unauthorized"},
		{name: "limit zero", request: request{method: "GET", url: "/api/v1/customers?limit=0"},
			status: 400, code: "invalid_request", field: "limit"},
		{name: "limit too large", request: request{method: "GET", url: "/api/v1/orders?limit=201"},
			status: 400, code: "invalid_request", field: "limit"},
		{name: "limit not a number", request: request{method: "GET", url: "/api/v1/customers/{c-ada}/orders?limit=ten"},
			status: 400, code: "invalid_request", field: "limit"},
		{name: "bad customer cursor", request: request{method: "GET", url: "/api/v1/customers?cursor=not-ours"},
			status: 400, code: "invalid_request", field: "cursor"},
		{name: "bad order cursor", request: request{method: "GET", url: "/api/v1/orders?cursor=%21%21"},
			status: 400, code: "invalid_request", field: "cursor"},

		{name: "get customer", request: request{method: "GET", url: "/api/v1/customers/{c-ada}"},
			status: 200, want: map[string]string{"id": "{c-ada}", "external_id": "c-ada", "first_name": "Ada", "last_name": "Lovelace",
				"created_at": "2026-10-01T12:00:00Z"}},
		{name: "missing customer", request: request{method: "GET", url: "/api/v1/customers/999999"},
			status: 404, code: "not_found"},
		{name: "customer id not a number", request: request{method: "GET", url: "/api/v1/customers/ada"},
			status: 404, code: "not_found"},
		{name: "get customer needs a user", request: request{method: "GET", url: "/api/v1/customers/{c-ada}", user: "none"},
			status: 401, code: "unauthorized"},

		{name: "customer orders newest first", request: request{method: "GET", url: "/api/v1/customers/{c-ada}/orders"},
			status: 200, want: map[string]string{"items.#": "2", "items.0.name": "#1002", "items.1.name": "#1001",
				"items.0.customer_id": "{c-ada}", "next_cursor": ""}},
		{name: "customer without orders", request: request{method: "GET", url: "/api/v1/customers/{c-grace}/orders"},
			status: 200, want: map[string]string{"items.#": "0", "next_cursor": ""}},
		{name: "orders of a missing customer", request: request{method: "GET", url: "/api/v1/customers/999999/orders"},
			status: 404, code: "not_found"},

		{name: "list orders", request: request{method: "GET", url: "/api/v1/orders"},
			status: 200, want: map[string]string{"items.#": "3", "items.0.name": "#1003", "items.0.status": "cancelled",
				"items.0.customer_id": "<nil>", "items.0.cancelled_at": "2026-10-01T15:00:00Z", "items.1.status": "processing",
				"items.2.status": "delivered"}},
		{name: "search orders by name without #", request: request{method: "GET", url: "/api/v1/orders?q=1001"},
			status: 200, want: map[string]string{"items.#": "1", "items.0.id": "{o-1001}"}},
		{name: "search orders by customer name", request: request{method: "GET", url: "/api/v1/orders?q=ada"},
			status: 200, want: map[string]string{"items.#": "2"}},
		{name: "orders need a user", request: request{method: "GET", url: "/api/v1/orders", user: "none"},
			status: 401, code: "unauthorized"},

		{name: "get order", request: request{method: "GET", url: "/api/v1/orders/{o-1001}"},
			status: 200, want: map[string]string{
				"external_id": "o-1001", "name": "#1001", "status": "delivered", "customer_id": "{c-ada}", "email": "ada@example.com",
				"currency": "USD", "subtotal": "42.00", "shipping": "0.00", "total": "42.00", "financial_status": "paid",
				"shipping_address.zip": "N1 9GU", "shipping_address.country_code": "GB",
				"line_items.#": "1", "line_items.0.price": "21.00", "line_items.0.variant_id": "4001",
				"line_items.0.variant_available": "true", "line_items.0.current_quantity": "2",
				"fulfillments.#": "1", "fulfillments.0.carrier": "UPS", "fulfillments.0.tracking_number": "1Z1001",
				"fulfillments.0.delivered_at": "2026-10-03T12:00:00Z", "fulfillments.0.in_transit_at": "<nil>",
				"cancelled_at": "<nil>"}},
		{name: "missing order", request: request{method: "GET", url: "/api/v1/orders/0"},
			status: 404, code: "not_found"},
		{name: "get order needs a user", request: request{method: "GET", url: "/api/v1/orders/{o-1001}", user: "none"},
			status: 401, code: "unauthorized"},
	})
}

// TestBadInput sends requests that must be refused with a useful answer,
// then checks that none of them wrote anything.
func TestBadInput(t *testing.T) {
	huge := `{"external_id": "c-huge", "first_name": "` + strings.Repeat("a", api.MaxBodyBytes) + `"}`
	scenarios := []scenario{
		{name: "malformed JSON says where", request: request{method: "PUT", url: "/api/v1/customers", body: "{\n  \"external_id\": \"c-new\",\n  \"email\" \"x@example.com\"\n}"},
			status: 400, code: "invalid_request", text: []string{"line 3, column"}},
		{name: "truncated JSON", request: request{method: "PUT", url: "/api/v1/orders", body: `{"external_id": "o-new", "name": `},
			status: 400, code: "invalid_request", text: []string{"malformed JSON"}},
		{name: "empty body", request: request{method: "PUT", url: "/api/v1/customers", body: " ", contentType: "application/json"},
			status: 400, code: "invalid_request", text: []string{"empty"}},
		{name: "two JSON values", request: request{method: "PUT", url: "/api/v1/customers", body: `{"external_id": "c-new"} {"external_id": "c-new2"}`},
			status: 400, code: "invalid_request", text: []string{"single JSON object"}},
		{name: "array instead of object", request: request{method: "PUT", url: "/api/v1/customers", body: `[{"external_id": "c-new"}]`},
			status: 400, code: "invalid_request", text: []string{"must be a JSON object"}},
		{name: "unknown field", request: request{method: "PUT", url: "/api/v1/customers", body: `{"external_id": "c-new", "nickname": "Ada"}`},
			status: 400, code: "invalid_request", field: "nickname"},
		{name: "unknown nested field", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"line_items": []any{map[string]any{"title": "Hat", "colour": "red"}}})},
			status: 400, code: "invalid_request", field: "colour"},
		{name: "read-only id is refused", request: request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, map[string]any{"id": 5})},
			status: 400, code: "invalid_request", field: "id"},
		{name: "wrong type", request: request{method: "PUT", url: "/api/v1/customers", body: `{"external_id": 42}`},
			status: 400, code: "invalid_request", field: "external_id", text: []string{"must be a JSON string"}},
		{name: "wrong nested type", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"line_items": []any{map[string]any{"title": "Hat", "quantity": "two"}}})},
			status: 400, code: "invalid_request", field: "line_items.quantity", text: []string{"JSON integer"}},
		{name: "money as a number", request: request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, map[string]any{"total": 129.9})},
			status: 400, code: "invalid_request", field: "total"},
		{name: "body over 1 MiB", request: request{method: "PUT", url: "/api/v1/customers", body: huge},
			status: 413, code: "payload_too_large"},
		{name: "text content type", request: request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, nil), contentType: "text/plain"},
			status: 415, code: "unsupported_media_type"},
		{name: "no content type", request: request{method: "PUT", url: "/api/v1/customers", body: `{"external_id": "c-new"}`, contentType: "-"},
			status: 415, code: "unsupported_media_type"},
		{name: "put needs a user", request: request{method: "PUT", url: "/api/v1/customers", body: `{"external_id": "c-new"}`, user: "none"},
			status: 401, code: "unauthorized"},

		{name: "customer without external id", request: request{method: "PUT", url: "/api/v1/customers", body: `{"email": "new@example.com"}`},
			status: 422, code: "invalid_request", field: "external_id"},
		{name: "customer with a bad email", request: request{method: "PUT", url: "/api/v1/customers", body: `{"external_id": "c-new", "email": "nope"}`},
			status: 422, code: "invalid_request", field: "email"},
		{name: "customer with a bad time", request: request{method: "PUT", url: "/api/v1/customers", body: `{"external_id": "c-new", "updated_at": "yesterday"}`},
			status: 422, code: "invalid_request", field: "updated_at", text: []string{"RFC 3339"}},
		{name: "order without name", request: request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, map[string]any{"name": nil})},
			status: 422, code: "invalid_request", field: "name"},
		{name: "order with a bad currency", request: request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, map[string]any{"currency": "EURO"})},
			status: 422, code: "invalid_request", field: "currency"},
		{name: "too many decimals", request: request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, map[string]any{"total": "129.905"})},
			status: 422, code: "invalid_request", field: "total"},
		{name: "decimals in a currency without them", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"currency": "JPY", "subtotal": "1500", "total": "1500.5", "line_items": nil})},
			status: 422, code: "invalid_request", field: "total"},
		{name: "money not a number", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"line_items": []any{map[string]any{"title": "Hat", "price": "free"}}})},
			status: 422, code: "invalid_request", field: "line_items[0].price"},
		{name: "line item without title", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"line_items": []any{map[string]any{"title": "Hat"}, map[string]any{"quantity": 1}}})},
			status: 422, code: "invalid_request", field: "line_items[1].title"},
		{name: "negative quantity", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"line_items": []any{map[string]any{"title": "Hat", "quantity": -1}}})},
			status: 422, code: "invalid_request", field: "line_items[0].quantity"},
		{name: "fulfillment without external id", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"fulfillments": []any{map[string]any{"carrier": "DHL"}}})},
			status: 422, code: "invalid_request", field: "fulfillments[0].external_id"},
		{name: "fulfillment with a bad time", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"fulfillments": []any{map[string]any{"external_id": "f-1", "delivered_at": "2026-10-02"}}})},
			status: 422, code: "invalid_request", field: "fulfillments[0].delivered_at"},
		{name: "embedded customer with a bad email", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"customer": map[string]any{"external_id": "c-new", "email": "nope"}})},
			status: 422, code: "invalid_request", field: "customer.email"},
		{name: "embedded customer without external id", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"customer": map[string]any{"email": "new@example.com"}})},
			status: 422, code: "invalid_request", field: "customer.external_id"},
		{name: "customer and customer_id together", request: request{method: "PUT", url: "/api/v1/orders",
			body: orderJSON(t, map[string]any{"customer_id": "{c-ada}", "customer": map[string]any{"external_id": "c-new"}})},
			status: 422, code: "invalid_request", field: "customer_id"},
		{name: "unknown customer_id", request: request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, map[string]any{"customer_id": 999999})},
			status: 422, code: "invalid_request", field: "customer_id"},
	}
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		before := countRows(t, db)
		for _, s := range scenarios {
			t.Run(s.name, func(t *testing.T) { s.run(t, f) })
		}
		if after := countRows(t, db); after != before {
			t.Errorf("refused requests wrote data: rows before %v, after %v", before, after)
		}
	})
}

// countRows counts every table an upsert writes to.
func countRows(t *testing.T, db *database.DB) [4]int {
	t.Helper()
	var n [4]int
	for i, table := range []string{"customers", "orders", "line_items", "fulfillments"} {
		if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n[i]); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
	}
	return n
}

func TestUpsertCustomer(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "insert", request: request{method: "PUT", url: "/api/v1/customers",
			body: `{"external_id": " c-new ", "email": "New@Example.com", "first_name": "Nia", "updated_at": "2026-10-02T09:00:00+02:00"}`},
			status: 200, want: map[string]string{"external_id": "c-new", "email": "new@example.com", "updated_at": "2026-10-02T07:00:00Z"}},
		{name: "update", request: request{method: "PUT", url: "/api/v1/customers",
			body: `{"external_id": "c-new", "email": "nia@example.com", "first_name": "Nia", "updated_at": "2026-10-03T09:00:00Z"}`},
			status: 200, want: map[string]string{"email": "nia@example.com"}},
		{name: "stale update is ignored", request: request{method: "PUT", url: "/api/v1/customers",
			body: `{"external_id": "c-new", "email": "old@example.com", "updated_at": "2026-10-01T09:00:00Z"}`},
			status: 200, want: map[string]string{"email": "nia@example.com", "first_name": "Nia"}},
		{name: "one customer remains", request: request{method: "GET", url: "/api/v1/customers?q=c-new"},
			status: 200, want: map[string]string{"items.#": "1"}},
	})
}

func TestUpsertResultHeader(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		put := func(body string) response {
			t.Helper()
			return f.do(t, request{method: "PUT", url: "/api/v1/customers", body: body})
		}
		for _, step := range []struct{ body, want string }{
			{`{"external_id": "c-new", "updated_at": "2026-10-02T09:00:00Z"}`, "inserted"},
			{`{"external_id": "c-new", "updated_at": "2026-10-02T09:00:00Z"}`, "updated"},
			{`{"external_id": "c-new", "updated_at": "2026-10-01T09:00:00Z"}`, "stale"},
		} {
			if got := put(step.body).header.Get(api.UpsertResultHeader); got != step.want {
				t.Errorf("%s = %q, want %q", api.UpsertResultHeader, got, step.want)
			}
		}
	})
}

// TestUpsertOrderIsIdempotent: the same order twice is one order with one
// id; an older version is ignored; a newer one replaces items and shipments.
func TestUpsertOrderIsIdempotent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		customer := map[string]any{"external_id": "c-nia", "email": "Nia@Example.com", "first_name": "Nia", "updated_at": "2026-10-02T09:00:00Z"}
		body := orderJSON(t, map[string]any{"customer": customer, "email": nil})
		put := func(body string) response {
			t.Helper()
			res := f.do(t, request{method: "PUT", url: "/api/v1/orders", body: body})
			if res.status != http.StatusOK {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			return res
		}

		first := put(body)
		if got := first.header.Get(api.UpsertResultHeader); got != "inserted" {
			t.Errorf("first upsert: %s", got)
		}
		f.check(t, first.body, map[string]string{
			"name": "#5001", "status": "in_transit", "email": "nia@example.com", "currency": "EUR", "total": "129.90",
			"line_items.#": "1", "line_items.0.variant_available": "true", "line_items.0.current_quantity": "1",
			"fulfillments.#": "1", "fulfillments.0.status": "success", "fulfillments.0.in_transit_at": "2026-10-02T10:00:00Z",
		})
		id := fmt.Sprint(get(t, first.body, "id"))
		customerID := fmt.Sprint(get(t, first.body, "customer_id"))

		again := put(body)
		if got := again.header.Get(api.UpsertResultHeader); got != "updated" {
			t.Errorf("replay: %s", got)
		}
		f.check(t, again.body, map[string]string{"id": id, "customer_id": customerID, "line_items.#": "1", "fulfillments.#": "1"})

		stale := put(orderJSON(t, map[string]any{"total": "1.00", "updated_at": "2026-10-01T09:00:00Z", "line_items": nil}))
		if got := stale.header.Get(api.UpsertResultHeader); got != "stale" {
			t.Errorf("older version: %s", got)
		}
		f.check(t, stale.body, map[string]string{"id": id, "total": "129.90", "line_items.#": "1", "updated_at": "2026-10-02T09:00:00Z"})

		newer := put(orderJSON(t, map[string]any{"updated_at": "2026-10-04T09:00:00Z",
			"fulfillments": []any{map[string]any{"external_id": "f-1", "shipment_status": "delivered", "delivered_at": "2026-10-04T08:00:00Z"}}}))
		f.check(t, newer.body, map[string]string{"id": id, "status": "delivered", "customer_id": customerID, "fulfillments.#": "1"})

		list := f.do(t, request{method: "GET", url: "/api/v1/orders?q=5001"})
		f.check(t, list.body, map[string]string{"items.#": "1", "items.0.id": id})
		orders := f.do(t, request{method: "GET", url: "/api/v1/customers/" + customerID + "/orders"})
		f.check(t, orders.body, map[string]string{"items.#": "1", "items.0.id": id})

		// An order linked by customer_id.
		linked := put(orderJSON(t, map[string]any{"external_id": "o-5002", "name": "#5002", "customer_id": "{c-grace}"}))
		f.check(t, linked.body, map[string]string{"customer_id": "{c-grace}", "email": ""})
	})
}

// TestCrossShopIsolation: shop A's user cannot see or touch shop B's
// records, and the answers do not reveal that they exist.
func TestCrossShopIsolation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		notFound := []struct{ user, url string }{
			{"a", "/api/v1/customers/{c-bob}"},
			{"a", "/api/v1/customers/{c-bob}/orders"},
			{"a", "/api/v1/orders/{o-2001}"},
			{"b", "/api/v1/customers/{c-ada}"},
			{"b", "/api/v1/customers/{c-ada}/orders"},
			{"b", "/api/v1/orders/{o-1001}"},
		}
		for _, c := range notFound {
			res := f.do(t, request{method: "GET", url: c.url, user: c.user})
			if res.status != http.StatusNotFound {
				t.Errorf("user %s GET %s = %d, want 404: %s", c.user, f.expand(c.url), res.status, res.body)
			}
			before, rest, _ := strings.Cut(c.url, "{")
			_, after, _ := strings.Cut(rest, "}")
			missing := f.do(t, request{method: "GET", url: before + "999999" + after, user: c.user})
			if string(missing.body) != string(res.body) {
				t.Errorf("another shop's record answers %s, a missing one %s", res.body, missing.body)
			}
		}

		lists := []struct{ url, want string }{
			{"/api/v1/customers", "c-bob"},
			{"/api/v1/customers?q=bob", "c-bob"},
			{"/api/v1/orders", "#2001"},
			{"/api/v1/orders?q=2001", "#2001"},
		}
		for _, l := range lists {
			a := f.do(t, request{method: "GET", url: l.url})
			if strings.Contains(string(a.body), l.want) {
				t.Errorf("shop A's %s lists shop B's %s", l.url, l.want)
			}
			b := f.do(t, request{method: "GET", url: l.url, user: "b"})
			if !strings.Contains(string(b.body), l.want) {
				t.Errorf("shop B's %s lacks its own %s", l.url, l.want)
			}
		}

		res := f.do(t, request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, map[string]any{"customer_id": "{c-bob}"})})
		if res.status != http.StatusUnprocessableEntity || get(t, res.body, "error.field") != "customer_id" {
			t.Errorf("order onto shop B's customer: %d %s", res.status, res.body)
		}
		if _, err := f.commerce.OrderByExternalID(context.Background(), f.shopA, "o-5001"); !errors.Is(err, commerce.ErrNotFound) {
			t.Errorf("refused order was stored: %v", err)
		}

		// The same external ids in shop A make shop A's own records and
		// leave shop B's alone.
		res = f.do(t, request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, map[string]any{
			"external_id": "o-2001", "name": "#A2001", "customer": map[string]any{"external_id": "c-bob", "email": "a-bob@example.com"}})})
		if res.status != http.StatusOK || res.header.Get(api.UpsertResultHeader) != "inserted" {
			t.Fatalf("shop A's own o-2001: %d %s", res.status, res.body)
		}
		if id := fmt.Sprint(get(t, res.body, "id")); id == fmt.Sprint(f.ids["o-2001"]) {
			t.Errorf("shop A's upsert reused shop B's order id %s", id)
		}
		b := f.do(t, request{method: "GET", url: "/api/v1/orders/{o-2001}", user: "b"})
		f.check(t, b.body, map[string]string{"name": "#2001", "email": "bob@example.com", "customer_id": "{c-bob}"})
		bob := f.do(t, request{method: "GET", url: "/api/v1/customers/{c-bob}", user: "b"})
		f.check(t, bob.body, map[string]string{"email": "bob@example.com"})
	})
}

func TestPagination(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		for _, c := range []struct {
			url  string
			want []string
			key  string
		}{
			{"/api/v1/orders?limit=1", []string{"#1003", "#1002", "#1001"}, "name"},
			{"/api/v1/orders?limit=2&q=ada", []string{"#1002", "#1001"}, "name"},
			{"/api/v1/customers/{c-ada}/orders?limit=1", []string{"#1002", "#1001"}, "name"},
			{"/api/v1/customers?limit=1", []string{"c-grace", "c-ada"}, "external_id"},
		} {
			var got []string
			url := c.url
			for range 10 {
				res := f.do(t, request{method: "GET", url: url})
				n := get(t, res.body, "items.#").(int)
				for i := range n {
					got = append(got, fmt.Sprint(get(t, res.body, fmt.Sprintf("items.%d.%s", i, c.key))))
				}
				next := get(t, res.body, "next_cursor").(string)
				if next == "" {
					break
				}
				url = c.url + "&cursor=" + next
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s pages through %v, want %v", c.url, got, c.want)
			}
		}
	})
}

// TestInternalErrorsAreNotLeaked: a failing database answers a bare 500
// and the cause goes to the log.
func TestInternalErrorsAreNotLeaked(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		db.Close()
		for _, req := range []request{
			{method: "GET", url: "/api/v1/customers"},
			{method: "GET", url: "/api/v1/orders/{o-1001}"},
			{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, nil)},
		} {
			res := f.do(t, req)
			if res.status != http.StatusInternalServerError {
				t.Fatalf("%s %s = %d: %s", req.method, req.url, res.status, res.body)
			}
			f.check(t, res.body, map[string]string{"error.code": "internal", "error.message": "internal server error"})
		}
		if !strings.Contains(f.logs.String(), "closed") {
			t.Errorf("the cause was not logged:\n%s", f.logs)
		}
	})
}

// TestOpenAPIDocument: the document compiles (NewValidator fails the test
// otherwise), describes exactly the API routes of the server's route list,
// and is what the endpoint serves.
func TestOpenAPIDocument(t *testing.T) {
	v := apitest.NewValidator(t)
	var registered []string
	for _, pattern := range testapp.New(t, dbtest.Open(t, database.SQLite)).Server.Routes() {
		method, path, _ := strings.Cut(pattern, " ")
		if !strings.HasPrefix(path, "/api/v1/") {
			continue // the desk, the hub, and the API's fallback for unknown paths
		}
		if !v.HasOperation(method, path) {
			t.Errorf("route %s is not in openapi.json", pattern)
		}
		registered = append(registered, pattern)
	}
	slices.Sort(registered)
	if ops := v.Operations(); !slices.Equal(ops, registered) {
		t.Errorf("openapi.json describes %v, the routes are %v", ops, registered)
	}
	if !json.Valid(api.OpenAPIDocument()) {
		t.Error("openapi.json is not valid JSON")
	}
}
