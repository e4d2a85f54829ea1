package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/api/apitest"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/user"
)

var t0 = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

// fixture is the whole server on loopback over a fresh database with two
// shops: A (Ada and Grace, three orders) and B (Bob, one order). Requests
// go through the real route list and its access rules with real bearer
// tokens: "a" (shop A's agent), "a-manager", "a-admin", "b", "b-manager", or "none"
// for no token. A request naming none is shop A's with the least role the
// route list lets read (agent) or write (manager).
type fixture struct {
	t         *testing.T
	app       *testapp.App
	routes    *http.ServeMux // the server's patterns, to name the operation that served a request
	validator *apitest.Validator
	commerce  *commerce.Store
	shopA     int64
	shopB     int64
	tenants   map[string]*testapp.Tenant // "a", "b": for the desk's pages
	ids       map[string]int64           // customer and order ids by external id
	tokens    map[string]string          // by caller name
	logs      *bytes.Buffer
	loop      *sandbox.Sandbox // the Loop the settings check keys against
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	f := &fixture{t: t, ids: map[string]int64{}, tokens: map[string]string{}, logs: &bytes.Buffer{}}
	f.loop = sandbox.New(sandbox.Options{})
	t.Cleanup(f.loop.Close)
	loopSrv := httptest.NewServer(f.loop)
	t.Cleanup(loopSrv.Close)
	f.app = testapp.New(t, db, testapp.WithLoop(loopSrv.URL), testapp.WithLogger(slog.New(slog.NewTextHandler(f.logs, nil))))
	f.commerce = f.app.Server.Commerce
	a, b := f.app.NewTenant("a"), f.app.NewTenant("b")
	f.shopA, f.shopB = a.Shop.ID, b.Shop.ID
	f.tenants = map[string]*testapp.Tenant{"a": a, "b": b}
	for name, u := range map[string]*user.User{"a": a.Agent, "a-manager": a.Manager, "a-admin": a.Admin, "b": b.Agent, "b-manager": b.Manager} {
		f.tokens[name] = f.app.Token(u)
	}
	f.routes = http.NewServeMux()
	for _, p := range f.app.Server.Routes() {
		f.routes.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}

	ada := &commerce.Customer{ExternalID: "c-ada", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", UpdatedAt: t0}
	f.seedOrder(f.shopA, sampleOrder("1001", t0, "delivered"), ada)
	f.seedOrder(f.shopA, sampleOrder("1002", t0.Add(time.Hour), ""), ada)
	guest := sampleOrder("1003", t0.Add(2*time.Hour), "")
	cancelled := t0.Add(3 * time.Hour)
	guest.CancelledAt, guest.Email = &cancelled, "guest@example.com"
	f.seedOrder(f.shopA, guest, nil)
	grace, _, err := f.commerce.UpsertCustomer(context.Background(), f.shopA, commerce.Customer{ExternalID: "c-grace", Email: "grace@example.com", FirstName: "Grace", UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	f.ids["c-grace"] = grace.ID
	bob := &commerce.Customer{ExternalID: "c-bob", Email: "bob@example.com", FirstName: "Bob", UpdatedAt: t0}
	f.seedOrder(f.shopB, sampleOrder("2001", t0, "in_transit"), bob)
	f.validator = apitest.NewValidator(t)
	return f
}

func (f *fixture) seedOrder(shopID int64, o commerce.Order, c *commerce.Customer) {
	f.t.Helper()
	stored := f.app.Ingest(shopID, o, c)
	f.ids[stored.ExternalID] = stored.ID
	if c != nil {
		f.ids[c.ExternalID] = stored.CustomerID
	}
}

// sampleOrder is a one-item order; shipment is "" (not shipped), or the
// carrier status of its one fulfillment.
func sampleOrder(ext string, created time.Time, shipment string) commerce.Order {
	o := commerce.Order{
		ExternalID: "o-" + ext, Name: "#" + ext, Currency: "USD", FinancialStatus: "paid",
		SubtotalMinor: 4200, TotalMinor: 4200, CreatedAt: created, UpdatedAt: created,
		ShippingAddress: commerce.Address{Name: "Ada Lovelace", City: "London", Zip: "N1 9GU", CountryCode: "GB"},
		LineItems: []commerce.LineItem{{ExternalID: "li-" + ext, Title: "Wool socks", VariantID: "4001", VariantAvailable: true,
			Quantity: 2, CurrentQuantity: 2, PriceMinor: 2100}},
	}
	if shipment != "" {
		o.FulfillmentStatus = "fulfilled"
		f := commerce.Fulfillment{ExternalID: "f-" + ext, ShipmentStatus: shipment, Carrier: "UPS", TrackingNumber: "1Z" + ext,
			TrackingURL: "https://ups.example/1Z" + ext, CreatedAt: created, UpdatedAt: created}
		if shipment == "delivered" {
			at := created.Add(48 * time.Hour)
			f.DeliveredAt = &at
		}
		o.Fulfillments = []commerce.Fulfillment{f}
	}
	return o
}

// expand replaces {external-id} placeholders in a URL, body or expected
// value with the hubdesk id the fixture got for that record. A quoted
// placeholder in a JSON body becomes a bare number.
func (f *fixture) expand(s string) string {
	for ext, id := range f.ids {
		n := strconv.FormatInt(id, 10)
		s = strings.ReplaceAll(s, `"{`+ext+`}"`, n)
		s = strings.ReplaceAll(s, "{"+ext+"}", n)
	}
	return s
}

// check is checkJSON with placeholders in the expected values expanded.
func (f *fixture) check(t *testing.T, body []byte, want map[string]string) {
	t.Helper()
	expanded := make(map[string]string, len(want))
	for path, w := range want {
		expanded[path] = f.expand(w)
	}
	checkJSON(t, body, expanded)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// request is one HTTP call. contentType defaults to application/json when
// there is a body; "-" sends none.
type request struct {
	method, url, body, contentType, user string
}

// do sends the request over real HTTP and validates the response against
// openapi.json, whatever the test goes on to check.
func (f *fixture) do(t *testing.T, req request) response {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(f.expand(req.body))
	}
	r, err := http.NewRequest(req.method, f.app.URL+f.expand(req.url), body)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case req.contentType == "-":
	case req.contentType != "":
		r.Header.Set("Content-Type", req.contentType)
	case req.body != "":
		r.Header.Set("Content-Type", "application/json")
	}
	caller := req.user
	switch {
	case caller != "":
	case req.method == http.MethodGet:
		caller = "a"
	default:
		caller = "a-manager"
	}
	if tok := f.tokens[caller]; tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	_, pattern := f.routes.Handler(r)
	if pattern == "" || pattern == "/api/" {
		t.Fatalf("%s %s: no route matched (status %d)", req.method, req.url, res.StatusCode)
	}
	f.validator.ValidateResponse(t, pattern, res, data)
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// get reads a value from a JSON body by a dotted path ("items.0.name");
// a "#" segment is the length of the array or object before it.
func get(t *testing.T, body []byte, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	for _, seg := range strings.Split(path, ".") {
		switch node := v.(type) {
		case []any:
			if seg == "#" {
				return len(node)
			}
			i, err := strconv.Atoi(seg)
			if err != nil || i >= len(node) {
				t.Fatalf("%s: no element %q in %s", path, seg, body)
			}
			v = node[i]
		case map[string]any:
			if seg == "#" {
				return len(node)
			}
			var ok bool
			if v, ok = node[seg]; !ok {
				t.Fatalf("%s: no key %q in %s", path, seg, body)
			}
		default:
			t.Fatalf("%s: %q is inside a %T in %s", path, seg, v, body)
		}
	}
	return v
}

// checkJSON compares values at paths with their expected fmt.Sprint form.
func checkJSON(t *testing.T, body []byte, want map[string]string) {
	t.Helper()
	for path, w := range want {
		if got := fmt.Sprint(get(t, body, path)); got != w {
			t.Errorf("%s = %q, want %q\n%s", path, got, w, body)
		}
	}
}

// orderJSON builds an order input body.
func orderJSON(t *testing.T, fields map[string]any) string {
	t.Helper()
	o := map[string]any{
		"external_id": "o-5001", "name": "#5001", "currency": "EUR", "financial_status": "paid",
		"subtotal": "129.90", "total": "129.90", "updated_at": "2026-10-02T09:00:00Z",
		"shipping_address": map[string]any{"name": "Ada Lovelace", "city": "Berlin", "zip": "10115", "country_code": "DE"},
		"line_items":       []any{map[string]any{"external_id": "li-1", "title": "Rain jacket", "variant_id": "77", "quantity": 1, "price": "129.90"}},
		"fulfillments": []any{map[string]any{"external_id": "f-1", "shipment_status": "in_transit", "carrier": "DHL",
			"tracking_number": "JD0001", "in_transit_at": "2026-10-02T10:00:00Z"}},
	}
	for k, v := range fields {
		if v == nil {
			delete(o, k)
			continue
		}
		o[k] = v
	}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
