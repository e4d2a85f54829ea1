package orderview_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

var system = audit.Actor{Kind: audit.ActorSystem, Label: "test"}

// shipped is a fulfillment with the carrier status given; delivered ones
// arrived deliveredAgo before now.
func shipped(status string, deliveredAgo time.Duration) commerce.Fulfillment {
	f := commerce.Fulfillment{ExternalID: "f", ShipmentStatus: status, CreatedAt: now.Add(-60 * 24 * time.Hour), UpdatedAt: now.Add(-60 * 24 * time.Hour)}
	if status == "delivered" {
		at := now.Add(-deliveredAgo)
		f.DeliveredAt = &at
	}
	return f
}

// Every status and every reason, through the stores on both engines: the
// published configuration decides for agents and the API, the one given
// (a draft) for the admin's preview.
func TestOrderView(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db, testapp.WithClock(func() time.Time { return now }))
		tn := app.NewTenant("shopa")
		shopID := tn.Shop.ID
		cancelledAt := now.Add(-time.Hour)
		day := 24 * time.Hour
		cases := []struct {
			name        string
			fulfillment []commerce.Fulfillment
			partial     bool
			cancelled   bool
			returnState returns.ReturnState
			status      commerce.Status
			reason      returns.NotEligible
		}{
			{name: "processing", status: commerce.StatusProcessing, reason: returns.NotDelivered},
			{name: "partially shipped", fulfillment: []commerce.Fulfillment{shipped("in_transit", 0)}, partial: true,
				status: commerce.StatusPartiallyShipped, reason: returns.NotDelivered},
			{name: "in transit", fulfillment: []commerce.Fulfillment{shipped("in_transit", 0)}, status: commerce.StatusInTransit, reason: returns.NotDelivered},
			{name: "out for delivery", fulfillment: []commerce.Fulfillment{shipped("out_for_delivery", 0)}, status: commerce.StatusOutForDelivery, reason: returns.NotDelivered},
			{name: "delivered, inside the window", fulfillment: []commerce.Fulfillment{shipped("delivered", 29*day)}, status: commerce.StatusDelivered},
			{name: "delivered, outside the window", fulfillment: []commerce.Fulfillment{shipped("delivered", 31*day)}, status: commerce.StatusDelivered, reason: returns.OutsideWindow},
			{name: "cancelled", cancelled: true, status: commerce.StatusCancelled, reason: returns.OrderCancelled},
			{name: "return open", fulfillment: []commerce.Fulfillment{shipped("delivered", day)}, returnState: returns.StateOpen,
				status: commerce.StatusReturnInProgress, reason: returns.ReturnOpen},
			{name: "returned", fulfillment: []commerce.Fulfillment{shipped("delivered", day)}, returnState: returns.StateClosed,
				status: commerce.StatusReturned, reason: returns.AlreadyReturned},
		}
		var orders []*commerce.Order
		for i, c := range cases {
			in := commerce.Order{ExternalID: "o" + string(rune('a'+i)), Name: "#" + string(rune('A'+i)), Currency: "USD",
				CreatedAt: now.Add(-90 * day), UpdatedAt: now.Add(-90 * day), Fulfillments: c.fulfillment}
			if c.partial {
				in.FulfillmentStatus = "partial"
			}
			if c.cancelled {
				in.CancelledAt = &cancelledAt
			}
			o := app.Ingest(shopID, in, nil)
			if c.returnState != "" {
				if _, err := app.Server.Returns.Upsert(ctx, shopID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "r" + o.ExternalID,
					OrderName: o.Name, OrderExternalID: o.ExternalID, State: c.returnState}); err != nil {
					t.Fatal(err)
				}
			}
			orders = append(orders, o)
		}
		view := app.Server.Orders

		// Nothing published yet: no provider, so only the return states
		// outrank it.
		viewed, err := view.Published(ctx, shopID, orders)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			want := returns.NoProvider
			if c.reason == returns.ReturnOpen || c.reason == returns.AlreadyReturned {
				want = c.reason
			}
			if got := viewed[i]; got.Status != c.status || got.Return.Reason != want {
				t.Errorf("%s, returns off: status %s, reason %q; want %s, %q", c.name, got.Status, got.Return.Reason, c.status, want)
			}
		}

		// A provider chosen but not set up is not connected.
		loopUnset := returns.DefaultConfig()
		loopUnset.Returns.Provider = returns.ProviderLoop
		viewed, err = view.Orders(ctx, shopID, loopUnset, orders[4:5])
		if err != nil || viewed[0].Return.Reason != returns.NotConnected {
			t.Errorf("Loop without key or portal: %+v %v", viewed, err)
		}

		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderOther, PortalURL: "https://returns.example.com/"}
		if _, err := app.Server.Settings.Save(ctx, shopID, cfg, system); err != nil {
			t.Fatal(err)
		}
		if err := app.Server.Settings.SetLive(ctx, shopID, true, system); err != nil {
			t.Fatal(err)
		}
		viewed, err = view.Published(ctx, shopID, orders)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cases {
			got := viewed[i]
			if got.Status != c.status || got.Return.Reason != c.reason || got.Return.Eligible() != (c.reason == "") {
				t.Errorf("%s: status %s, reason %q; want %s, %q", c.name, got.Status, got.Return.Reason, c.status, c.reason)
			}
			if (got.ActiveReturn() != nil) != (c.reason == returns.ReturnOpen) {
				t.Errorf("%s: active return %+v", c.name, got.ActiveReturn())
			}
			dest, err := view.StartReturn(ctx, got, returns.Request{ShopID: shopID, Actor: system, Config: cfg})
			var ne *orderview.NotEligibleError
			switch {
			case c.reason == "" && (err != nil || dest.URL != "https://returns.example.com/"):
				t.Errorf("%s: Start a return went to %+v, %v", c.name, dest, err)
			case c.reason != "" && (!errors.As(err, &ne) || ne.Reason != c.reason):
				t.Errorf("%s: Start a return was not refused: %+v, %v", c.name, dest, err)
			}
		}
	})
}

// List and Order read the orders with their returns in one batch and view
// them like Orders does; another customer's order is not found, and the
// returns platform is never asked about it.
func TestListAndOrderReadReturnsAlong(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		delivered := shipped("delivered", 24*time.Hour)
		upsert := func(ext string, created time.Time, customer string) *commerce.Order {
			o, _, err := app.Server.Commerce.UpsertOrder(ctx, tn.Shop.ID, commerce.Order{ExternalID: ext, Name: "#" + ext, Currency: "USD",
				CreatedAt: created, UpdatedAt: now, Fulfillments: []commerce.Fulfillment{delivered}},
				&commerce.Customer{ExternalID: customer, Email: customer + "@example.com", UpdatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		returned := upsert("1", now.Add(-3*time.Hour), "ada")
		upsert("2", now.Add(-2*time.Hour), "ada")
		bobs := upsert("3", now.Add(-time.Hour), "bob")
		if _, err := app.Server.Returns.Upsert(ctx, tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "r1",
			OrderName: returned.Name, OrderExternalID: returned.ExternalID, State: returns.StateOpen, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		view := orderview.New(orderview.Options{Commerce: app.Server.Commerce, Returns: app.Server.Returns,
			Now: func() time.Time { return now }})
		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderOther, PortalURL: "https://returns.example.com/"}

		list, next, err := view.List(ctx, tn.Shop.ID, cfg, commerce.OrderFilter{CustomerID: returned.CustomerID}, database.Page{Limit: 1})
		if err != nil || len(list) != 1 || list[0].Name != "#2" || next == "" || len(list[0].Returns) != 0 {
			t.Fatalf("first page: %+v, next %q: %v", list, next, err)
		}
		after, err := database.DecodeCursor(next)
		if err != nil {
			t.Fatal(err)
		}
		list, next, err = view.List(ctx, tn.Shop.ID, cfg, commerce.OrderFilter{CustomerID: returned.CustomerID}, database.Page{Limit: 1, After: after})
		if err != nil || len(list) != 1 || next != "" || len(list[0].Returns) != 1 || list[0].Status != commerce.StatusReturnInProgress ||
			list[0].Return.Reason != returns.ReturnOpen {
			t.Fatalf("second page: %+v, next %q: %v", list, next, err)
		}

		o, err := view.Order(ctx, tn.Shop.ID, cfg, returned.CustomerID, returned.ID)
		if err != nil || o.Name != "#1" || len(o.Returns) != 1 || o.ActiveReturn() == nil {
			t.Fatalf("Ada's order: %+v, %v", o, err)
		}
		if _, err := view.Order(ctx, tn.Shop.ID, cfg, returned.CustomerID, bobs.ID); !errors.Is(err, commerce.ErrNotFound) {
			t.Errorf("Bob's order as Ada's: %v, want not found", err)
		}
		if o, err := view.Order(ctx, tn.Shop.ID, cfg, 0, bobs.ID); err != nil || o.Name != "#3" || !o.Return.Eligible() {
			t.Errorf("Bob's order for any customer: %+v, %v", o, err)
		}
	})
}

// The Loop key is a connection, not a setting: saved while the hub is not
// live, it takes effect at once for Start a return, while the rest of the
// Returns tab saved with it waits in the draft; and neither stored copy of
// the settings ever holds it.
func TestLoopKeyTakesEffectWhenSaved(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sb := sandbox.New(sandbox.Options{})
		t.Cleanup(sb.Close)
		loopSrv := httptest.NewServer(sb)
		t.Cleanup(loopSrv.Close)
		app := testapp.New(t, db, testapp.WithClock(func() time.Time { return now }), testapp.WithLoop(loopSrv.URL))
		shopID := app.NewTenant("shopa").Shop.ID
		order := app.Ingest(shopID, commerce.Order{ExternalID: "o1", Name: "#1001", Currency: "USD",
			CreatedAt: now.Add(-10 * 24 * time.Hour), UpdatedAt: now.Add(-10 * 24 * time.Hour),
			ShippingAddress: commerce.Address{Zip: "10115"}, Fulfillments: []commerce.Fulfillment{shipped("delivered", 24*time.Hour)}}, nil)

		// Live with a key that lacks the Orders scope: Loop refuses links.
		editor := app.Server.Settings
		if _, err := editor.SaveReturns(ctx, shopID, returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyReturns}, settings.SaveOptions{}, system); err != nil {
			t.Fatal(err)
		}
		if err := editor.SetLive(ctx, shopID, true, system); err != nil {
			t.Fatal(err)
		}
		if err := editor.SetLive(ctx, shopID, false, system); err != nil {
			t.Fatal(err)
		}
		// Not live: a new key and a new lookup field.
		if _, err := editor.SaveReturns(ctx, shopID, returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyFull,
			LookupField: returns.LookupEmail}, settings.SaveOptions{}, system); err != nil {
			t.Fatal(err)
		}

		cfg, err := editor.Published(ctx, shopID)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Returns.LookupField != returns.LookupZip {
			t.Fatalf("the lookup field change was published while not live: %q", cfg.Returns.LookupField)
		}
		viewed, err := app.Server.Orders.Published(ctx, shopID, []*commerce.Order{order})
		if err != nil {
			t.Fatal(err)
		}
		dest, err := app.Server.Orders.StartReturn(ctx, viewed[0], returns.Request{ShopID: shopID, Actor: system, Config: cfg})
		if err != nil || dest.Via != "loop_api" {
			t.Fatalf("Start a return with the key just saved: %+v, %v", dest, err)
		}

		var draft, published string
		if err := db.QueryRow(ctx, `SELECT draft, published FROM shop_settings WHERE shop_id = ?`, shopID).Scan(&draft, &published); err != nil {
			t.Fatal(err)
		}
		for _, stored := range []string{draft, published} {
			if strings.Contains(stored, "loop_api_key") || strings.Contains(stored, "hdsec:") || strings.Contains(stored, "sandbox-") {
				t.Fatalf("a stored settings copy holds the key: %s", stored)
			}
		}
	})
}

// The settings' sample order is one whose shopper could start a return
// with the settings given: a delivered order inside its return window,
// though a newer delivered one is past it.
func TestSampleIsAnOrderThatCanStartAReturn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db, testapp.WithClock(func() time.Time { return now }))
		shopID := app.NewTenant("shopa").Shop.ID
		day := 24 * time.Hour
		for _, o := range []struct {
			name         string
			created      time.Duration
			deliveredAgo time.Duration
		}{{"#OLD", 50 * day, 40 * day}, {"#RECENT", 20 * day, 5 * day}, {"#NEWEST", 10 * day, 31 * day}} {
			app.Ingest(shopID, commerce.Order{ExternalID: o.name, Name: o.name, Currency: "USD", CreatedAt: now.Add(-o.created),
				UpdatedAt: now.Add(-o.created), Fulfillments: []commerce.Fulfillment{shipped("delivered", o.deliveredAgo)}}, nil)
		}
		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderOther, PortalURL: "https://returns.example.com/"}
		sample, err := app.Server.Orders.Sample(ctx, shopID, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if sample.Order.Name != "#RECENT" {
			t.Fatalf("sample order %s, want #RECENT, the delivered order inside its return window", sample.Order.Name)
		}
	})
}
