package returns

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

func openTestDB(t *testing.T) (*database.DB, int64) {
	return withShop(t, dbtest.Open(t, database.SQLite))
}

func withShop(t *testing.T, db *database.DB) (*database.DB, int64) {
	t.Helper()
	return withShopNamed(t, db, "a.myshopify.com")
}

func withShopNamed(t *testing.T, db *database.DB, domain string) (*database.DB, int64) {
	t.Helper()
	var id int64
	if err := db.ExecReturning(context.Background(), `INSERT INTO shops (name, domain, created_at) VALUES (?, ?, ?) RETURNING id`,
		domain, domain, database.Time(time.Now())).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return db, id
}

func newStore(t *testing.T, db *database.DB) (*Store, *audit.Log) {
	log := audit.New(db)
	return NewStore(db, fixtures.Box(t), log), log
}

var admin = audit.Actor{Kind: audit.ActorUser, ID: "1", Label: "admin@a.test"}

func TestDraftAndLive(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		s, log := newStore(t, db)

		// A new shop publishes defaults: hub on, returns off.
		pub, err := s.Published(ctx, shopID)
		if err != nil || pub.ReturnsEnabled() || !pub.General.HubEnabled {
			t.Fatalf("defaults: %+v %v", pub, err)
		}
		// Not live: a save is a draft only.
		cfg := DefaultConfig()
		cfg.Returns = ReturnsConfig{Provider: ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/"}
		res, err := s.Save(ctx, shopID, cfg, admin)
		if err != nil || res.Published {
			t.Fatalf("save draft: %+v %v", res, err)
		}
		if pub, _ = s.Published(ctx, shopID); pub.Returns.Provider != ProviderDisabled {
			t.Fatalf("a draft save changed what shoppers see: %s", pub.Returns.Provider)
		}
		st, _ := s.Load(ctx, shopID)
		if st.Draft.Returns.Provider != ProviderAfterShip || !st.Unpublished() {
			t.Fatalf("draft not stored: %+v", st.Draft.Returns)
		}
		// Going live publishes the draft.
		if err := s.SetLive(ctx, shopID, true, admin); err != nil {
			t.Fatal(err)
		}
		if pub, _ = s.Published(ctx, shopID); pub.Returns.Provider != ProviderAfterShip {
			t.Fatalf("going live did not publish: %s", pub.Returns.Provider)
		}
		// Live: a save publishes at once.
		cfg.Returns = ReturnsConfig{Provider: ProviderDisabled}
		if res, err := s.Save(ctx, shopID, cfg, admin); err != nil || !res.Published {
			t.Fatalf("live save: %+v %v", res, err)
		}
		if pub, _ = s.Published(ctx, shopID); pub.ReturnsEnabled() {
			t.Fatal("disabling while live did not publish")
		}
		// Leaving live keeps what is published and drafts from then on.
		s.SetLive(ctx, shopID, false, admin)
		cfg.Returns = ReturnsConfig{Provider: ProviderOther, PortalURL: "https://acme.example/returns"}
		s.Save(ctx, shopID, cfg, admin)
		if pub, _ = s.Published(ctx, shopID); pub.ReturnsEnabled() {
			t.Fatal("a save after leaving live was published")
		}
		// Every change is in the audit log.
		entries, _, _ := log.List(ctx, shopID, audit.Filter{Action: "settings."}, database.Page{Limit: 50})
		if len(entries) != 5 {
			t.Fatalf("audit has %d settings entries, want 5", len(entries))
		}
	})
}

func TestLoopKeyIsSealedMaskedAndKept(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		s, log := newStore(t, db)
		cfg := DefaultConfig()
		cfg.Returns = ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "loop_live_abcdef123456"}
		if _, err := s.Save(ctx, shopID, cfg, admin); err != nil {
			t.Fatal(err)
		}
		var draft, published string
		db.QueryRow(ctx, `SELECT draft, published FROM shop_settings WHERE shop_id = ?`, shopID).Scan(&draft, &published)
		if strings.Contains(draft+published, "abcdef123456") || !strings.Contains(draft, "hdsec:v1:") {
			t.Fatalf("key stored in clear: %s", draft)
		}
		st, _ := s.Load(ctx, shopID)
		if st.Draft.Returns.LoopAPIKey != "loop_live_abcdef123456" || st.Draft.Returns.LoopKeyLast4 != "3456" {
			t.Fatalf("key not restored: %+v", st.Draft.Returns)
		}
		// Saving again without the key keeps it.
		cfg.Returns = ReturnsConfig{Provider: ProviderLoop, LookupField: LookupEmail}
		if _, err := s.Save(ctx, shopID, cfg, admin); err != nil {
			t.Fatal(err)
		}
		st, _ = s.Load(ctx, shopID)
		if st.Draft.Returns.LoopAPIKey != "loop_live_abcdef123456" || st.Draft.Returns.LookupField != LookupEmail {
			t.Fatalf("re-save lost the key: %+v", st.Draft.Returns)
		}
		entries, _, _ := log.List(ctx, shopID, audit.Filter{}, database.Page{Limit: 50})
		for _, e := range entries {
			if strings.Contains(strings.Join(anyStrings(e.Details), " "), "abcdef") {
				t.Fatal("the key reached the audit log")
			}
		}
		if got := entries[len(entries)-1].Details["fields"]; !strings.Contains(strings.Join(anyStrings(map[string]any{"f": got}), ","), "returns.loop_api_key") {
			t.Fatalf("first save should name the key field: %v", got)
		}
	})
}

func anyStrings(m map[string]any) []string {
	var out []string
	for _, v := range m {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case []any:
			for _, y := range x {
				out = append(out, y.(string))
			}
		}
	}
	return out
}

func TestValidationRefusesBadInput(t *testing.T) {
	db, shopID := openTestDB(t)
	s, _ := newStore(t, db)
	cases := map[string]ReturnsConfig{
		"returns.provider":        {Provider: "shipbob"},
		"returns.loop_api_key":    {Provider: ProviderLoop},
		"returns.portal_url":      {Provider: ProviderNarvar, PortalURL: "http://returns.example.com/"},
		"returns.loop_portal_url": {Provider: ProviderLoop, LoopAPIKey: "k", LoopPortalURL: "https://u:p@x.example/"},
		"returns.lookup_field":    {Provider: ProviderLoop, LoopAPIKey: "k", LookupField: "name"},
		"returns.params":          {Provider: ProviderOther, PortalURL: "https://x.example/", Params: map[Provider]ParamNames{ProviderOther: {Order: "o"}}},
	}
	for field, rc := range cases {
		cfg := DefaultConfig()
		cfg.Returns = rc
		_, err := s.Save(context.Background(), shopID, cfg, admin)
		var fe *FieldError
		if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	st, _ := s.Load(context.Background(), shopID)
	if st.Draft.Returns.Provider != ProviderDisabled {
		t.Fatal("a refused save was stored")
	}
}

// The key check runs against the Loop sandbox over real HTTP.
func TestSaveReturnsChecksTheKeyWithLoop(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	defer sb.Close()
	srv := httptest.NewServer(sb)
	defer srv.Close()
	checker := LoopKeyChecker{Client: loop.New(loop.Options{BaseURL: srv.URL + "/api/v1", MaxAttempts: 1, Timeout: 2 * time.Second})}
	db, shopID := openTestDB(t)
	s, _ := newStore(t, db)
	ctx := context.Background()
	rc := func(key string) ReturnsConfig { return ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: key} }

	out, err := s.SaveReturns(ctx, shopID, rc(sandbox.KeyFull), checker, false, admin)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Report.Has(loop.ScopeOrders) || !out.Report.Has(loop.ScopeReturns) || !out.Report.Has(loop.ScopeDeveloperTools) || len(out.Warnings) != 0 {
		t.Fatalf("full key: %+v warnings %v", out.Report, out.Warnings)
	}

	_, err = s.SaveReturns(ctx, shopID, rc("not-a-loop-key"), checker, false, admin)
	if !errors.Is(err, ErrKeyRefused) {
		t.Fatalf("bad key: %v", err)
	}
	if st, _ := s.Load(ctx, shopID); st.Draft.Returns.LoopAPIKey != sandbox.KeyFull {
		t.Fatal("a refused key replaced the stored one")
	}

	out, err = s.SaveReturns(ctx, shopID, rc(sandbox.KeyOrders), checker, false, admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Warnings) == 0 || !strings.Contains(strings.Join(out.Warnings, " "), "Returns scope") {
		t.Fatalf("orders-only key should warn that statuses fail: %v", out.Warnings)
	}

	sb.SetFaults(sandbox.Faults{Outage: true})
	_, err = s.SaveReturns(ctx, shopID, rc(sandbox.KeyReturns), checker, false, admin)
	if !errors.Is(err, ErrLoopUnreachable) {
		t.Fatalf("Loop down: %v", err)
	}
	out, err = s.SaveReturns(ctx, shopID, rc(sandbox.KeyReturns), checker, true, admin)
	if err != nil || out.Report == nil || !out.Report.Unreachable() {
		t.Fatalf("save anyway: %v %+v", err, out)
	}
	st, _ := s.Load(ctx, shopID)
	if st.Draft.Returns.LoopAPIKey != sandbox.KeyReturns || st.Draft.Returns.KeyCheck.Orders != "unknown" {
		t.Fatalf("saved anyway: %+v", st.Draft.Returns)
	}
}

// Against the sandbox, a resolved Loop link opens the sandbox's portal.
func TestResolverAgainstTheLoopSandbox(t *testing.T) {
	sb := sandbox.New(sandbox.Options{NoSeed: true})
	defer sb.Close()
	srv := httptest.NewServer(sb)
	defer srv.Close()
	sb.AddOrder(sandbox.Order{Name: "#1001", Email: "ada@example.com", Zip: "N1 9GU", DeliveredAt: time.Now().Add(-48 * time.Hour)})
	client := loop.New(loop.Options{BaseURL: srv.URL + "/api/v1", MaxAttempts: 1})
	r := NewResolver(LoopLinker{Client: client}, nil)
	order, customer := testOrder()
	dest, err := r.Resolve(context.Background(), Request{ShopID: 1, Order: order, Customer: customer,
		Config: cfgWith(ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: sandbox.KeyFull})})
	if err != nil || !strings.HasPrefix(dest.URL, srv.URL+"/portal/") {
		t.Fatalf("deep link: %+v %v", dest, err)
	}
	order.Name = "#9999"
	_, err = r.Resolve(context.Background(), Request{ShopID: 1, Order: order, Customer: customer,
		Config: cfgWith(ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: sandbox.KeyFull})})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != ReasonOrderUnknown {
		t.Fatalf("unknown order: %v", err)
	}
	_, err = r.Resolve(context.Background(), Request{ShopID: 1, Order: order, Customer: customer,
		Config: cfgWith(ReturnsConfig{Provider: ProviderLoop, LoopAPIKey: "wrong"})})
	if !errors.As(err, &f) || f.Reason != ReasonLoopAuth {
		t.Fatalf("bad key: %v", err)
	}
}

// Another process (another Store on the same database) sees a publish
// within PublishedTTL; the process that made it sees it at once.
func TestPublishedCache(t *testing.T) {
	ctx := context.Background()
	db, shopID := openTestDB(t)
	a, _ := newStore(t, db)
	b, _ := newStore(t, db)
	clock := time.Now()
	b.now = func() time.Time { return clock }
	if cfg, _ := b.Published(ctx, shopID); cfg.ReturnsEnabled() {
		t.Fatal("defaults should have returns off")
	}
	a.SetLive(ctx, shopID, true, admin)
	cfg := DefaultConfig()
	cfg.Returns = ReturnsConfig{Provider: ProviderOther, PortalURL: "https://acme.example/returns"}
	if _, err := a.Save(ctx, shopID, cfg, admin); err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Published(ctx, shopID); got.Returns.Provider != ProviderOther {
		t.Fatal("the saving process must see its publish at once")
	}
	if got, _ := b.Published(ctx, shopID); got.Returns.Provider != ProviderDisabled {
		t.Fatal("within the TTL the other process may still serve the old settings")
	}
	clock = clock.Add(PublishedTTL)
	if got, _ := b.Published(ctx, shopID); got.Returns.Provider != ProviderOther {
		t.Fatal("after the TTL the other process must see the publish")
	}
}

// Saves racing "go live", and saves of the two tabs racing each other, all
// land: live always means the draft is published, and neither tab undoes
// the other.
func TestConcurrentSettingsChangesAllLand(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		s, _ := newStore(t, db)
		for round := range 8 {
			s.SetLive(ctx, shopID, false, admin)
			var wg sync.WaitGroup
			url := fmt.Sprintf("https://acme.example/returns/%d", round)
			wg.Go(func() {
				if _, err := s.Update(ctx, shopID, admin, func(c *Config) error {
					c.Returns = ReturnsConfig{Provider: ProviderNarvar, PortalURL: url}
					return nil
				}); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if _, err := s.Update(ctx, shopID, admin, func(c *Config) error {
					c.General.ReturnWindowDays = 10 + round
					return nil
				}); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if err := s.SetLive(ctx, shopID, true, admin); err != nil {
					t.Error(err)
				}
			})
			wg.Wait()
			st, err := s.Load(ctx, shopID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Draft.Returns.PortalURL != url || st.Draft.General.ReturnWindowDays != 10+round {
				t.Fatalf("round %d: a concurrent save was lost: %+v", round, st.Draft)
			}
			if !st.Live || st.Unpublished() {
				t.Fatalf("round %d: live but the draft is not what is published", round)
			}
		}
	})
}
