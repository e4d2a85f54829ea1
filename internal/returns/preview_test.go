package returns

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
)

// Every provider × lookup: the settings preview (PreviewFor) shows exactly
// the URL the click (Resolve) goes to, email or postal code for the
// portals, postal code, email or phone for Loop's portal fallback, and a
// query placed before a fragment (#/…) that is kept as given.
func TestPreviewIsWhereTheClickGoes(t *testing.T) {
	order, customer := testOrder()
	guest := &commerce.Order{ID: 8, Name: "#1002", ShippingAddress: commerce.Address{Zip: "10115"}}
	parcelLab := "https://acme.parcellab.com/returns/#/start"
	cases := []struct {
		name  string
		rc    ReturnsConfig
		order *commerce.Order
		want  string
	}{
		{name: "aftership by email", rc: ReturnsConfig{Provider: ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/", PortalLookup: LookupEmail},
			want: "https://acme.returnscenter.com/?order_number=%231001&email=ada%40example.com"},
		{name: "aftership by postal code", rc: ReturnsConfig{Provider: ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/", PortalLookup: LookupZip},
			want: "https://acme.returnscenter.com/?order_number=%231001&postal_code=N1+9GU"},
		{name: "parcellab by email, fragment URL", rc: ReturnsConfig{Provider: ProviderParcelLab, PortalURL: parcelLab, PortalLookup: LookupEmail},
			want: "https://acme.parcellab.com/returns/?orderNo=%231001&email=ada%40example.com#/start"},
		{name: "parcellab by postal code, fragment URL", rc: ReturnsConfig{Provider: ProviderParcelLab, PortalURL: parcelLab, PortalLookup: LookupZip},
			want: "https://acme.parcellab.com/returns/?orderNo=%231001&zip=N1+9GU#/start"},
		{name: "parcellab fragment URL with the merchant's query", rc: ReturnsConfig{Provider: ProviderParcelLab, PortalURL: "https://acme.example/r?lang=de#/start/step?x=1", PortalLookup: LookupZip},
			want: "https://acme.example/r?lang=de&orderNo=%231001&zip=N1+9GU#/start/step?x=1"},
		{name: "narvar by email", rc: ReturnsConfig{Provider: ProviderNarvar, PortalURL: "https://returns.narvar.com/acme/returns"},
			want: "https://returns.narvar.com/acme/returns?order=%231001&email=ada%40example.com"},
		{name: "narvar by postal code", rc: ReturnsConfig{Provider: ProviderNarvar, PortalURL: "https://returns.narvar.com/acme/returns", PortalLookup: LookupZip},
			want: "https://returns.narvar.com/acme/returns?order=%231001&dzip=N1+9GU"},
		{name: "overridden postal name", rc: ReturnsConfig{Provider: ProviderNarvar, PortalURL: "https://returns.narvar.com/acme/returns", PortalLookup: LookupZip,
			Params: map[Provider]ParamNames{ProviderNarvar: {Postal: "postcode"}}},
			want: "https://returns.narvar.com/acme/returns?order=%231001&postcode=N1+9GU"},
		{name: "guest order's email from nowhere is left out", order: guest,
			rc:   ReturnsConfig{Provider: ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/"},
			want: "https://acme.returnscenter.com/?order_number=%231002"},
		{name: "other", rc: ReturnsConfig{Provider: ProviderOther, PortalURL: "https://acme.example/returns#/x"}, want: "https://acme.example/returns#/x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := order
			if c.order != nil {
				o = c.order
			}
			cfg := cfgWith(c.rc)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("the case's settings are refused: %v", err)
			}
			p := PreviewFor(cfg, o, customer)
			if c.order != nil {
				p = PreviewFor(cfg, o, nil)
			}
			if p.URL != c.want || p.Text() != c.want {
				t.Errorf("preview = %+v, want %s", p, c.want)
			}
			r := NewResolver(&fakeLinker{}, nil)
			req := Request{ShopID: 1, Order: o, Customer: customer, Config: cfg}
			if c.order != nil {
				req.Customer = nil
			}
			dest, err := r.Resolve(context.Background(), req)
			if err != nil || dest.URL != p.URL {
				t.Errorf("the click goes to %+v (%v), the preview says %s", dest, err, p.URL)
			}
		})
	}
}

// Loop's portal fallback by postal code, email or phone: the preview names
// the same link the click offers when Loop cannot make a deep link (and
// goes to when no key is set).
func TestPreviewLoopFallback(t *testing.T) {
	order, customer := testOrder()
	cases := []struct {
		name, portal string
		lookup       LookupField
		want         string
	}{
		{"postal code", "https://acme.loopreturns.com/", LookupZip, "https://acme.loopreturns.com/?order=%231001&zip=N1+9GU"},
		{"email", "https://acme.loopreturns.com/", LookupEmail, "https://acme.loopreturns.com/?order=%231001&email=ada%40example.com"},
		{"phone", "https://acme.loopreturns.com/", LookupPhone, "https://acme.loopreturns.com/?order=%231001&phone=%2B44+20+7946+0321"},
		{"fragment URL", "https://acme.loopreturns.com/#/", LookupEmail, "https://acme.loopreturns.com/?order=%231001&email=ada%40example.com#/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cfgWith(ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k", LoopPortalURL: c.portal, LookupField: c.lookup})
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			p := PreviewFor(cfg, order, customer)
			if p.URL != "" || p.FallbackURL != c.want {
				t.Errorf("preview %+v, want the fallback %s", p, c.want)
			}
			r := NewResolver(&fakeLinker{err: errors.New("loop is down")}, nil)
			_, err := r.Resolve(context.Background(), Request{ShopID: 1, Order: order, Customer: customer, Config: cfg})
			var f *Failure
			if !errors.As(err, &f) || f.FallbackURL != p.FallbackURL {
				t.Errorf("the click offers %+v, the preview %s", err, p.FallbackURL)
			}
			// Without a key (a draft not saved yet) the click goes there.
			cfg.Returns.LoopAPIKey = ""
			p = PreviewFor(cfg, order, customer)
			dest, err := r.Resolve(context.Background(), Request{ShopID: 1, Order: order, Customer: customer, Config: cfg})
			if err != nil || p.URL != c.want || dest.URL != p.URL {
				t.Errorf("without a key: preview %+v, click %+v %v", p, dest, err)
			}
		})
	}
}

// Where the click needs Loop's API, the preview says so instead of
// calling Loop; without a provider it says there is no button.
func TestPreviewWithoutAURL(t *testing.T) {
	order, customer := testOrder()
	linker := &fakeLinker{}
	cases := []struct {
		name string
		rc   ReturnsConfig
		o    *commerce.Order
		want string
	}{
		{"disabled", ReturnsConfig{Provider: ProviderDisabled}, order, "— (no Start a return button)"},
		{"not connected", ReturnsConfig{Provider: ProviderParcelLab}, order, "— (no Start a return button)"},
		{"loop key", ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k"}, order, "A deep link created by Loop for #1001 when the shopper presses the button"},
		{"loop key, lookup missing", ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k", LookupField: LookupZip},
			&commerce.Order{Name: "#9"}, "Loop cannot be asked for #9: the order has no shipping postal code"},
	}
	for _, c := range cases {
		p := PreviewFor(cfgWith(c.rc), c.o, customer)
		if p.URL != "" || p.Text() != c.want {
			t.Errorf("%s: preview %+v, want %q", c.name, p, c.want)
		}
	}
	if linker.calls.Load() != 0 {
		t.Error("the preview called Loop")
	}
}

// The parameter names follow one rule wherever they come from: names equal
// to the default and blank names are no override, names are trimmed, a
// provider that appends nothing is refused.
func TestParamNamesNormalised(t *testing.T) {
	cfg := cfgWith(ReturnsConfig{Provider: ProviderParcelLab, PortalURL: "https://acme.example/r", Params: map[Provider]ParamNames{
		ProviderParcelLab: {Order: "orderNo", Email: " mail ", Postal: "zip"},
		ProviderNarvar:    {Order: "", Email: "email", Postal: "dzip"},
	}})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[Provider]ParamNames{ProviderParcelLab: {Email: "mail"}}
	if len(cfg.Returns.Params) != 1 || cfg.Returns.Params[ProviderParcelLab] != want[ProviderParcelLab] {
		t.Errorf("stored overrides %+v, want %+v", cfg.Returns.Params, want)
	}
	if cfg.Returns.PortalLookup != LookupEmail {
		t.Errorf("portal lookup defaults to %q", cfg.Returns.PortalLookup)
	}
	for _, p := range []Provider{ProviderLoop, ProviderOther, "unknown"} {
		bad := cfgWith(ReturnsConfig{Provider: ProviderOther, PortalURL: "https://acme.example/r", Params: map[Provider]ParamNames{p: {Order: "o"}}})
		var fe *FieldError
		if err := bad.Validate(); !errors.As(err, &fe) || fe.Field != "returns.params" {
			t.Errorf("parameter names for %q: %v", p, err)
		}
	}
	bad := cfgWith(ReturnsConfig{Provider: ProviderNarvar, PortalURL: "https://acme.example/r", PortalLookup: LookupPhone})
	var fe *FieldError
	if err := bad.Validate(); !errors.As(err, &fe) || fe.Field != "returns.portal_lookup" {
		t.Errorf("portal lookup by phone: %v", err)
	}
}

// Each reason an order cannot start a return, in the order the shopper is
// told them.
func TestCheckEligibility(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	delivered := func(ago time.Duration) *commerce.Order {
		at := now.Add(-ago)
		return &commerce.Order{Name: "#1", Fulfillments: []commerce.Fulfillment{{ShipmentStatus: "delivered", DeliveredAt: &at}}}
	}
	on := cfgWith(ReturnsConfig{Provider: ProviderOther, PortalURL: "https://acme.example/r"})
	open := []Return{{State: StateOpen}}
	closed := []Return{{State: StateClosed}}
	cases := []struct {
		name   string
		cfg    Config
		o      *commerce.Order
		rets   []Return
		want   NotEligible
		window bool
	}{
		{"eligible inside the window", on, delivered(29 * 24 * time.Hour), nil, "", true},
		{"return open, even with returns off", cfgWith(ReturnsConfig{Provider: ProviderDisabled}), delivered(time.Hour), open, ReturnOpen, false},
		{"already returned", on, delivered(time.Hour), closed, AlreadyReturned, false},
		{"provider disabled", cfgWith(ReturnsConfig{Provider: ProviderDisabled}), delivered(time.Hour), nil, NoProvider, false},
		{"not connected", cfgWith(ReturnsConfig{Provider: ProviderLoop}), delivered(time.Hour), nil, NotConnected, false},
		{"cancelled", on, &commerce.Order{CancelledAt: &now}, nil, OrderCancelled, false},
		{"not delivered", on, &commerce.Order{Fulfillments: []commerce.Fulfillment{{ShipmentStatus: "in_transit"}}}, nil, NotDelivered, false},
		{"outside the window", on, delivered(31 * 24 * time.Hour), nil, OutsideWindow, true},
	}
	for _, c := range cases {
		status := commerce.DeriveStatus(c.o, Progress(c.rets))
		e := CheckEligibility(c.cfg, c.o, status, c.rets, now)
		if e.Reason != c.want || e.Eligible() != (c.want == "") || (e.WindowEnds != nil) != c.window {
			t.Errorf("%s: %+v, want reason %q", c.name, e, c.want)
		}
		if c.want != "" && !slices.Contains(Reasons, c.want) {
			t.Errorf("%s: %q is missing from Reasons", c.name, c.want)
		}
	}
}
