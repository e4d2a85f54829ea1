package hub_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// fixture is a whole hubdesk over a fresh database, with a Loop sandbox,
// two shops and these shoppers:
//
//	acme: Ada (external id 1001): #1001 delivered 3 days ago, #1002 in
//	      transit, #1003 delivered with an open return, #1004 cancelled,
//	      #1005 delivered 60 days ago; Bob (2002): #2001 delivered.
//	other: Olga (1001 too — ids are per shop): #9001 delivered.
type fixture struct {
	t       *testing.T
	app     *testapp.App
	loop    *sandbox.Sandbox
	loopURL string
	acme    *testapp.Tenant
	other   *testapp.Tenant
	ada     *commerce.Customer
	bob     *commerce.Customer
	orders  map[string]*commerce.Order // by name
	now     time.Time
}

const (
	acmeSecret  = "acme-client-secret" // testapp: NAME + "-client-secret"
	otherSecret = "other-client-secret"
	acmeDomain  = "acme.myshopify.com"
	otherDomain = "other.myshopify.com"
)

func newFixture(t *testing.T, db *database.DB, opts ...testapp.Option) *fixture {
	t.Helper()
	sb := sandbox.New(sandbox.Options{NoSeed: true})
	loopSrv := httptest.NewServer(sb)
	t.Cleanup(loopSrv.Close)
	f := &fixture{t: t, loop: sb, loopURL: loopSrv.URL, orders: map[string]*commerce.Order{}, now: time.Now().UTC().Truncate(time.Second)}
	f.app = testapp.New(t, db, append([]testapp.Option{testapp.WithLoop(loopSrv.URL)}, opts...)...)
	f.acme = f.app.NewTenant("acme")
	f.other = f.app.NewTenant("other")

	day := 24 * time.Hour
	ada := &commerce.Customer{ExternalID: "1001", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", UpdatedAt: f.now}
	bob := &commerce.Customer{ExternalID: "2002", Email: "bob@example.com", FirstName: "Bob", LastName: "Builder", UpdatedAt: f.now}
	olga := &commerce.Customer{ExternalID: "1001", Email: "olga@example.com", FirstName: "Olga", UpdatedAt: f.now}
	f.seed(f.acme, "#1001", ada, f.now.Add(-7*day), "delivered", f.now.Add(-3*day))
	f.seed(f.acme, "#1002", ada, f.now.Add(-2*day), "in_transit", time.Time{})
	f.seed(f.acme, "#1003", ada, f.now.Add(-20*day), "delivered", f.now.Add(-15*day))
	f.seed(f.acme, "#1004", ada, f.now.Add(-30*day), "cancelled", time.Time{})
	f.seed(f.acme, "#1005", ada, f.now.Add(-70*day), "delivered", f.now.Add(-60*day))
	f.seed(f.acme, "#2001", bob, f.now.Add(-5*day), "delivered", f.now.Add(-2*day))
	f.seed(f.other, "#9001", olga, f.now.Add(-5*day), "delivered", f.now.Add(-2*day))
	f.ada, _ = f.app.Server.Commerce.Customer(context.Background(), f.acme.Shop.ID, f.orders["#1001"].CustomerID)
	f.bob, _ = f.app.Server.Commerce.Customer(context.Background(), f.acme.Shop.ID, f.orders["#2001"].CustomerID)

	_, err := f.app.Server.Returns.Upsert(context.Background(), f.acme.Shop.ID, returns.Return{
		Provider: returns.ProviderLoop, ExternalID: "r-1003", OrderName: "#1003", State: returns.StateOpen,
		StatusPageURL: loopSrv.URL + "/portal/return/abc", UpdatedAt: f.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// seed stores an order with three lines: an available variant bought
// twice, a sold-out variant, and a deleted one.
func (f *fixture) seed(tn *testapp.Tenant, name string, c *commerce.Customer, created time.Time, status string, delivered time.Time) {
	f.t.Helper()
	o := commerce.Order{
		ExternalID: strings.TrimPrefix(name, "#"), Name: name, Email: c.Email, FinancialStatus: "paid", Currency: "EUR",
		SubtotalMinor: 123450, ShippingMinor: 495, TaxMinor: 0, TotalMinor: 123945, CreatedAt: created, UpdatedAt: created,
		ShippingAddress: commerce.Address{Name: c.FirstName + " " + c.LastName, Address1: "Torstraße 1", City: "Berlin", Zip: "10119", CountryCode: "DE"},
		LineItems: []commerce.LineItem{
			{ExternalID: name + "-1", VariantID: "44010001", VariantAvailable: true, Title: "Merino Socks", VariantTitle: "M", Quantity: 2, CurrentQuantity: 2, PriceMinor: 1800, ImageURL: "https://cdn.example.com/socks.png"},
			{ExternalID: name + "-2", VariantID: "44010006", VariantAvailable: false, Title: "Cedar Candle", Quantity: 1, CurrentQuantity: 1, PriceMinor: 2900},
			{ExternalID: name + "-3", VariantID: "", VariantAvailable: false, Title: "Alpaca Scarf", Quantity: 1, CurrentQuantity: 1, PriceMinor: 6400},
		},
	}
	switch status {
	case "cancelled":
		at := created.Add(time.Hour)
		o.CancelledAt = &at
	case "in_transit":
		shipped := created.Add(20 * time.Hour)
		eta := shipped.Add(96 * time.Hour)
		o.FulfillmentStatus = "fulfilled"
		o.Fulfillments = []commerce.Fulfillment{{ExternalID: name + "-f1", Status: "success", ShipmentStatus: "in_transit", Carrier: "DHL Express",
			TrackingNumber: "JD014600", TrackingURL: "https://www.dhl.com/track?AWB=JD014600", CreatedAt: shipped, UpdatedAt: shipped, InTransitAt: &shipped, EstimatedDeliveryAt: &eta}}
	case "delivered":
		shipped := created.Add(20 * time.Hour)
		o.FulfillmentStatus = "fulfilled"
		o.Fulfillments = []commerce.Fulfillment{{ExternalID: name + "-f1", Status: "success", ShipmentStatus: "delivered", Carrier: "UPS",
			TrackingNumber: "1Z999AA1", TrackingURL: "https://www.ups.com/track?tracknum=1Z999AA1", CreatedAt: shipped, UpdatedAt: delivered, InTransitAt: &shipped, DeliveredAt: &delivered}}
		f.loop.AddOrder(sandbox.Order{Name: name, Email: c.Email, Zip: "10119", FirstName: c.FirstName, LastName: c.LastName, Currency: "EUR", CreatedAt: created, DeliveredAt: delivered})
	}
	f.orders[name] = f.app.Ingest(tn.Shop.ID, o, c)
}

// configure saves cfg for shop and publishes it.
func (f *fixture) configure(tn *testapp.Tenant, cfg returns.Config) {
	f.t.Helper()
	ctx := context.Background()
	actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
	if _, err := f.app.Server.Settings.Save(ctx, tn.Shop.ID, cfg, actor); err != nil {
		f.t.Fatal(err)
	}
	if err := f.app.Server.Settings.SetLive(ctx, tn.Shop.ID, true, actor); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) useLoop(tn *testapp.Tenant) {
	cfg := returns.DefaultConfig()
	cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyFull,
		LoopPortalURL: f.loopURL + "/portal/", LookupField: returns.LookupZip}
	f.configure(tn, cfg)
}

// proxy builds the hub URL the App Proxy would forward for a shopper:
// path plus the shopper's own query, signed with secret.
type proxyReq struct {
	shop, customer, prefix, secret string
	at                             time.Time
	query                          url.Values
}

func (f *fixture) proxyURL(path string, p proxyReq) string {
	if p.shop == "" {
		p.shop = acmeDomain
	}
	if p.prefix == "" {
		p.prefix = "/apps/hub"
	}
	if p.secret == "" {
		p.secret = acmeSecret
	}
	if p.at.IsZero() {
		p.at = time.Now()
	}
	q := shopify.SignedProxyQuery(p.query, shopify.ProxyParams{Shop: p.shop, LoggedInCustomerID: p.customer, PathPrefix: p.prefix, Timestamp: p.at}, p.secret)
	return path + "?" + q.Encode()
}

// adaURL is a signed URL for Ada.
func (f *fixture) adaURL(path string) string {
	return f.proxyURL(path, proxyReq{customer: "1001"})
}

type response struct {
	status int
	body   string
	header http.Header
}

// do sends a request like a browser on the storefront would (through the
// proxy: the Origin is the shop's).
func (f *fixture) do(method, path string, form url.Values, header ...string) response {
	f.t.Helper()
	return send(f.t, f.app.Browser(), method, f.app.URL+path, form, header...)
}

// send sends a request with client c: a form when form is not nil, and
// header as name, value pairs.
func send(t *testing.T, c *http.Client, method, u string, form url.Values, header ...string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header}
}

func (f *fixture) get(path string, header ...string) response {
	f.t.Helper()
	return f.do(http.MethodGet, path, nil, header...)
}

func id(o *commerce.Order) string { return itoa(o.ID) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustContain(t *testing.T, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}
}

func mustNotContain(t *testing.T, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("page contains %q", w)
		}
	}
}
