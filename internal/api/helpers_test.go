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

	"github.com/hubdesk/hubdesk/internal/api"
	"github.com/hubdesk/hubdesk/internal/api/apitest"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/user"
)

// route is one line of the route list, registered exactly as the real
// route list does it.
type route struct {
	pattern string
	handler http.HandlerFunc
}

func routes(a *api.API) []route {
	return []route{
		{"GET /api/v1/openapi.json", a.OpenAPI},
		{"GET /api/v1/customers", a.ListCustomers},
		{"PUT /api/v1/customers", a.UpsertCustomer},
		{"GET /api/v1/customers/{id}", a.GetCustomer},
		{"GET /api/v1/customers/{id}/orders", a.ListCustomerOrders},
		{"GET /api/v1/orders", a.ListOrders},
		{"PUT /api/v1/orders", a.UpsertOrder},
		{"GET /api/v1/orders/{id}", a.GetOrder},
		{"GET /api/v1/settings/returns", a.GetReturnsSettings},
		{"PUT /api/v1/settings/returns", a.PutReturnsSettings},
		{"GET /api/v1/audit", a.ListAudit},
		{"POST /api/v1/hub/tokens", new(api.HubTokens).Issue},
	}
}

// Test requests pick their user with this header: "a" (the default), "b",
// or "none" for an unauthenticated call.
const testUserHeader = "X-Test-User"

// routeHeader carries the matched pattern back to the client so each
// response is validated against the operation that actually served it.
const routeHeader = "X-Test-Route"

var t0 = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

// fixture is a running API over a fresh database with two shops: A (Ada
// and Grace, three orders) and B (Bob, one order).
type fixture struct {
	t         *testing.T
	srv       *httptest.Server
	validator *apitest.Validator
	commerce  *commerce.Store
	shopA     int64
	shopB     int64
	ids       map[string]int64 // customer and order ids by external id
	logs      *bytes.Buffer
	loop      *sandbox.Sandbox // the Loop the settings check keys against
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	box, err := secret.NewBox(1, map[int][]byte{1: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	shops := shop.NewStore(db, box)
	users := user.NewStore(db)
	f := &fixture{t: t, commerce: commerce.NewStore(db), ids: map[string]int64{}, logs: &bytes.Buffer{}}
	byName := map[string]*user.User{}
	for _, name := range []string{"a", "b"} {
		sh, err := shops.Create(ctx, shop.NewShop{Name: "Shop " + name, Domain: name + ".myshopify.com"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := users.Create(ctx, user.NewUser{ShopID: sh.ID, Email: "agent@" + name + ".example", Role: user.RoleAgent, Password: "long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		byName[name] = u
		m, err := users.Create(ctx, user.NewUser{ShopID: sh.ID, Email: "manager@" + name + ".example", Role: user.RoleManager, Password: "long enough password"})
		if err != nil {
			t.Fatal(err)
		}
		byName[name+"-manager"] = m
	}
	f.shopA, f.shopB = byName["a"].ShopID, byName["b"].ShopID

	ada := &commerce.Customer{ExternalID: "c-ada", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", UpdatedAt: t0}
	f.seedOrder(f.shopA, sampleOrder("1001", t0, "delivered"), ada)
	f.seedOrder(f.shopA, sampleOrder("1002", t0.Add(time.Hour), ""), ada)
	guest := sampleOrder("1003", t0.Add(2*time.Hour), "")
	cancelled := t0.Add(3 * time.Hour)
	guest.CancelledAt, guest.Email = &cancelled, "guest@example.com"
	f.seedOrder(f.shopA, guest, nil)
	grace, _, err := f.commerce.UpsertCustomer(ctx, f.shopA, commerce.Customer{ExternalID: "c-grace", Email: "grace@example.com", FirstName: "Grace", UpdatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	f.ids["c-grace"] = grace.ID
	bob := &commerce.Customer{ExternalID: "c-bob", Email: "bob@example.com", FirstName: "Bob", UpdatedAt: t0}
	f.seedOrder(f.shopB, sampleOrder("2001", t0, "in_transit"), bob)

	f.loop = sandbox.New(sandbox.Options{})
	t.Cleanup(f.loop.Close)
	loopSrv := httptest.NewServer(f.loop)
	t.Cleanup(loopSrv.Close)
	loopClient := loop.New(loop.Options{BaseURL: loopSrv.URL + "/api/v1", MaxAttempts: 1})
	auditLog := audit.New(db)
	store := returns.NewStore(db, box, auditLog)
	editor := settings.New(db, store, auditLog, settings.LoopKeyChecker{Client: loopClient})
	orders := orderview.New(orderview.Options{Commerce: f.commerce, Returns: returns.NewRecords(db), Settings: store,
		Resolver: returns.NewResolver(returns.LoopLinker{Client: loopClient}, auditLog)})
	a := api.New(api.Options{Commerce: f.commerce, Settings: editor, Orders: orders, Audit: auditLog,
		Logger: slog.New(slog.NewTextHandler(f.logs, nil))})
	mux := http.NewServeMux()
	for _, rt := range routes(a) {
		mux.Handle(rt.pattern, withTestUser(byName, rt.handler))
	}
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.validator = apitest.NewValidator(t)
	return f
}

// withTestUser stands in for the route list's bearer-token middleware.
func withTestUser(users map[string]*user.User, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(routeHeader, r.Pattern)
		name := r.Header.Get(testUserHeader)
		if name == "" {
			name = "a"
		}
		if u := users[name]; u != nil {
			r = r.WithContext(auth.WithUser(r.Context(), u))
		}
		next(w, r)
	})
}

func (f *fixture) seedOrder(shopID int64, o commerce.Order, c *commerce.Customer) {
	f.t.Helper()
	stored, _, err := f.commerce.UpsertOrder(context.Background(), shopID, o, c)
	if err != nil {
		f.t.Fatal(err)
	}
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
	r, err := http.NewRequest(req.method, f.srv.URL+f.expand(req.url), body)
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
	if req.user != "" {
		r.Header.Set(testUserHeader, req.user)
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
	pattern := res.Header.Get(routeHeader)
	if pattern == "" {
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
