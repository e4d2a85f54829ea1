package returns

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// fakeLinker stands in for Loop where the resolver's own logic is under
// test; the sandbox-backed tests below use real HTTP.
type fakeLinker struct {
	calls atomic.Int32
	err   error
	delay time.Duration
	got   loop.DeepLinkRequest
	mu    sync.Mutex
}

func (f *fakeLinker) CreateDeepLink(ctx context.Context, key string, r loop.DeepLinkRequest) (loop.DeepLink, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.got = r
	f.mu.Unlock()
	time.Sleep(f.delay)
	if f.err != nil {
		return loop.DeepLink{}, f.err
	}
	return loop.DeepLink{URL: "https://acme.loopreturns.com/#/link/" + url.PathEscape(r.OrderName) + "-" + r.Lookup}, nil
}

func testOrder() (*commerce.Order, *commerce.Customer) {
	return &commerce.Order{ID: 7, Name: "#1001", Email: "ada@example.com",
			ShippingAddress: commerce.Address{Zip: "N1 9GU", Phone: "+44 20 7946 0321"}},
		&commerce.Customer{Email: "ada@example.com", Phone: "+44 7700 900123"}
}

func cfgWith(rc ReturnsConfig) Config {
	c := DefaultConfig()
	c.Returns = rc
	return c
}

func TestResolverEveryProvider(t *testing.T) {
	order, customer := testOrder()
	loopErr := func(kind loop.Kind) error { return &loop.Error{Kind: kind, Status: http.StatusBadRequest} }
	cases := []struct {
		name      string
		rc        ReturnsConfig
		linkErr   error
		order     *commerce.Order
		want      string
		wantVia   string
		wantFail  Reason
		fallback  string
		lookupGot string
	}{
		{name: "disabled", rc: ReturnsConfig{Provider: ProviderDisabled}, wantFail: ReasonDisabled},
		{name: "aftership without a URL is disabled", rc: ReturnsConfig{Provider: ProviderAfterShip}, wantFail: ReasonDisabled},
		{name: "aftership", rc: ReturnsConfig{Provider: ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/"},
			want: "https://acme.returnscenter.com/?order_number=%231001&email=ada%40example.com", wantVia: "portal"},
		{name: "parcellab keeps the merchant's query", rc: ReturnsConfig{Provider: ProviderParcelLab, PortalURL: "https://acme.example/returns?lang=de"},
			want: "https://acme.example/returns?lang=de&orderNo=%231001&email=ada%40example.com", wantVia: "portal"},
		{name: "narvar", rc: ReturnsConfig{Provider: ProviderNarvar, PortalURL: "https://returns.narvar.com/acme/returns"},
			want: "https://returns.narvar.com/acme/returns?order=%231001&email=ada%40example.com", wantVia: "portal"},
		{name: "overridden parameter names", rc: ReturnsConfig{Provider: ProviderNarvar, PortalURL: "https://returns.narvar.com/acme/returns",
			Params: map[Provider]ParamNames{ProviderNarvar: {Order: "ord", Email: "mail"}}},
			want: "https://returns.narvar.com/acme/returns?ord=%231001&mail=ada%40example.com", wantVia: "portal"},
		{name: "other: the URL untouched", rc: ReturnsConfig{Provider: ProviderOther, PortalURL: "https://acme.example/returns?x=1"},
			want: "https://acme.example/returns?x=1", wantVia: "portal"},
		{name: "loop by postal code", rc: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k", LookupField: LookupZip},
			want: "https://acme.loopreturns.com/#/link/%231001-N1 9GU", wantVia: "loop_api", lookupGot: "N1 9GU"},
		{name: "loop by email", rc: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k", LookupField: LookupEmail},
			want: "https://acme.loopreturns.com/#/link/%231001-ada@example.com", wantVia: "loop_api", lookupGot: "ada@example.com"},
		{name: "loop by phone", rc: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k", LookupField: LookupPhone},
			want: "https://acme.loopreturns.com/#/link/%231001-+44 20 7946 0321", wantVia: "loop_api", lookupGot: "+44 20 7946 0321"},
		{name: "loop without a key uses the portal URL", rc: ReturnsConfig{Provider: ProviderLoop, LoopPortalURL: "https://acme.loopreturns.com/"},
			want: "https://acme.loopreturns.com/?order=%231001&zip=N1+9GU", wantVia: "loop_portal"},
		{name: "loop down with fallback", rc: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k", LoopPortalURL: "https://acme.loopreturns.com/"},
			linkErr: loopErr(loop.KindUnavailable), wantFail: ReasonLoopDown, fallback: "https://acme.loopreturns.com/?order=%231001&zip=N1+9GU"},
		{name: "loop down without fallback", rc: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k"},
			linkErr: loopErr(loop.KindUnavailable), wantFail: ReasonLoopDown},
		{name: "bad key", rc: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k"}, linkErr: loopErr(loop.KindUnauthorized), wantFail: ReasonLoopAuth},
		{name: "order unknown to loop", rc: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k", LoopPortalURL: "https://p.example/"},
			linkErr: loopErr(loop.KindNotFound), wantFail: ReasonOrderUnknown, fallback: "https://p.example/?order=%231001&zip=N1+9GU"},
		{name: "lookup value missing", rc: ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k", LookupField: LookupZip},
			order: &commerce.Order{Name: "#1002"}, wantFail: ReasonLookupMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			linker := &fakeLinker{err: c.linkErr}
			r := NewResolver(linker, nil)
			o := order
			if c.order != nil {
				o = c.order
			}
			dest, err := r.Resolve(context.Background(), Request{ShopID: 1, Order: o, Customer: customer, Config: cfgWith(c.rc)})
			if c.wantFail != "" {
				var f *Failure
				if !errors.As(err, &f) || f.Reason != c.wantFail || f.FallbackURL != c.fallback {
					t.Fatalf("got %v (%+v), want failure %s with fallback %q", err, f, c.wantFail, c.fallback)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dest.URL != c.want || dest.Via != c.wantVia {
				t.Fatalf("got %s via %s, want %s via %s", dest.URL, dest.Via, c.want, c.wantVia)
			}
			if c.lookupGot != "" && linker.got.Lookup != c.lookupGot {
				t.Fatalf("Loop was asked with lookup %q, want %q", linker.got.Lookup, c.lookupGot)
			}
		})
	}
}

// A double click (or ten) costs one Loop call.
func TestResolverCoalescesAndCachesLoopCalls(t *testing.T) {
	order, customer := testOrder()
	linker := &fakeLinker{delay: 50 * time.Millisecond}
	r := NewResolver(linker, nil)
	cfg := cfgWith(ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "k"})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Resolve(context.Background(), Request{ShopID: 1, Order: order, Customer: customer, Config: cfg}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if _, err := r.Resolve(context.Background(), Request{ShopID: 1, Order: order, Customer: customer, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	if n := linker.calls.Load(); n != 1 {
		t.Fatalf("Loop called %d times for one order, want 1", n)
	}
	// Another shop's identical order name is another link.
	r.Resolve(context.Background(), Request{ShopID: 2, Order: order, Customer: customer, Config: cfg})
	if n := linker.calls.Load(); n != 2 {
		t.Fatalf("cache shared across shops: %d calls", n)
	}
	// Failures are not cached.
	linker.err = &loop.Error{Kind: loop.KindUnavailable}
	o2 := *order
	o2.Name = "#2002"
	r.Resolve(context.Background(), Request{ShopID: 1, Order: &o2, Customer: customer, Config: cfg})
	r.Resolve(context.Background(), Request{ShopID: 1, Order: &o2, Customer: customer, Config: cfg})
	if n := linker.calls.Load(); n != 4 {
		t.Fatalf("a failure was cached: %d calls", n)
	}
}

func TestResolverAudits(t *testing.T) {
	// Uses the real audit log over SQLite: see store_test.go for the helper.
	db, shopID := openTestDB(t)
	log := audit.New(db)
	order, customer := testOrder()
	r := NewResolver(&fakeLinker{err: &loop.Error{Kind: loop.KindUnavailable}}, log)
	actor := audit.ShopperActor("7001", "ada@example.com")
	r.Resolve(context.Background(), Request{ShopID: shopID, Order: order, Customer: customer, Actor: actor,
		Config: cfgWith(ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "secret-loop-key", LoopPortalURL: "https://p.example/"})})
	r.Resolve(context.Background(), Request{ShopID: shopID, Order: order, Customer: customer, Actor: actor,
		Config: cfgWith(ReturnsConfig{Provider: ProviderOther, PortalURL: "https://p.example/"})})
	entries, _, err := log.List(context.Background(), shopID, audit.Filter{Action: "return."}, database.Page{Limit: 10})
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit entries: %v %d", err, len(entries))
	}
	failed, ok := entries[1], entries[0]
	if failed.Outcome != audit.OutcomeFailed || failed.Details["reason"] != string(ReasonLoopDown) || failed.Subject != "#1001" || failed.Actor.Kind != audit.ActorShopper {
		t.Fatalf("failure entry: %+v", failed)
	}
	if ok.Outcome != audit.OutcomeOK || ok.Provider != "other" {
		t.Fatalf("success entry: %+v", ok)
	}
	for _, e := range entries {
		for _, v := range e.Details {
			if s, _ := v.(string); s == "secret-loop-key" {
				t.Fatal("the API key reached the audit log")
			}
		}
	}
}
