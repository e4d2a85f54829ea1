package returns

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
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

func newStore(t *testing.T, db *database.DB) *Store {
	return NewStore(db)
}

// replaceWith is an Update edit that stores cfg as the whole draft.
func replaceWith(cfg Config) func(*Config) error {
	return func(c *Config) error {
		*c = cfg
		return nil
	}
}

func TestValidationRefusesBadInput(t *testing.T) {
	db, shopID := openTestDB(t)
	s := newStore(t, db)
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
		_, err := s.Update(context.Background(), shopID, replaceWith(cfg))
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
	a := newStore(t, db)
	b := newStore(t, db)
	clock := time.Now()
	b.now = func() time.Time { return clock }
	if cfg, _ := b.Published(ctx, shopID); cfg.ReturnsEnabled() {
		t.Fatal("defaults should have returns off")
	}
	a.SetLive(ctx, shopID, true)
	cfg := DefaultConfig()
	cfg.Returns = ReturnsConfig{Provider: ProviderOther, PortalURL: "https://acme.example/returns"}
	if _, err := a.Update(ctx, shopID, replaceWith(cfg)); err != nil {
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

// A store bound to a transaction drops the published cache only once the
// transaction commits: a read between its write and its commit would
// otherwise put the old settings back in the cache for PublishedTTL.
func TestPublishedCacheIsDroppedOnCommit(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		s := newStore(t, db)
		if _, err := s.SetLive(ctx, shopID, true); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Returns = ReturnsConfig{Provider: ProviderOther, PortalURL: "https://acme.example/returns"}
		err := db.InTx(ctx, func(tx *database.Tx) error {
			if _, err := s.With(tx).Update(ctx, shopID, replaceWith(cfg)); err != nil {
				return err
			}
			// Inside the transaction its own write is visible, and not cached.
			if got, _ := s.With(tx).Published(ctx, shopID); got.Returns.Provider != ProviderOther {
				t.Errorf("the transaction does not read its own write: %s", got.Returns.Provider)
			}
			// Outside it, the committed settings are read (and cached).
			if got, _ := s.Published(ctx, shopID); got.Returns.Provider != ProviderDisabled {
				t.Errorf("an uncommitted save was read: %s", got.Returns.Provider)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Published(ctx, shopID); got.Returns.Provider != ProviderOther {
			t.Fatalf("after the commit the cache still serves %s", got.Returns.Provider)
		}
		// A rolled-back save leaves what is published, cached or not.
		db.InTx(ctx, func(tx *database.Tx) error {
			s.With(tx).Update(ctx, shopID, replaceWith(DefaultConfig()))
			return errors.New("roll back")
		})
		if got, _ := s.Published(ctx, shopID); got.Returns.Provider != ProviderOther {
			t.Fatalf("a rolled-back save changed what is published: %s", got.Returns.Provider)
		}
	})
}

// The logo shown in shopper mail must be an https URL (or loopback http)
// without credentials; a good one is kept as given.
func TestLogoURLIsChecked(t *testing.T) {
	for raw, ok := range map[string]bool{"https://cdn.example.com/logo.png": true, "http://cdn.example.com/logo.png": false,
		"javascript:alert(1)": false, "https://u:p@cdn.example.com/l.png": false, "": true} {
		cfg := DefaultConfig()
		cfg.General.LogoURL = raw
		err := cfg.Validate()
		var fe *FieldError
		if ok && err != nil || !ok && (!errors.As(err, &fe) || fe.Field != "general.logo_url") {
			t.Errorf("%q: %v", raw, err)
		}
		if ok && cfg.General.LogoURL != raw {
			t.Errorf("%q kept as %q", raw, cfg.General.LogoURL)
		}
	}
}

// Showing the hub inside the store's theme is on for a new shop and for a
// configuration stored before the setting existed, and stays off once
// switched off.
func TestInThemeDefaultsOn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		_, shopID := withShop(t, db)
		s := newStore(t, db)
		if cfg, _ := s.Published(ctx, shopID); !cfg.General.InTheme {
			t.Fatal("a new shop's hub is not inside its theme")
		}
		old := `{"general":{"hub_enabled":true,"helpdesk_enabled":true,"return_window_days":30,"help_centre_url":""},"returns":{"provider":"disabled"}}`
		if _, err := db.Exec(ctx, `INSERT INTO shop_settings (shop_id, live, draft, published, draft_updated_at) VALUES (?, ?, ?, ?, ?)`,
			shopID, true, old, old, database.Time(time.Now())); err != nil {
			t.Fatal(err)
		}
		st, err := s.Load(ctx, shopID)
		if err != nil || !st.Draft.General.InTheme || !st.Published.General.InTheme {
			t.Fatalf("stored before the setting: %+v, %v", st, err)
		}
		if _, err := s.Update(ctx, shopID, func(c *Config) error { c.General.InTheme = false; return nil }); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.Load(ctx, shopID); st.Draft.General.InTheme || st.Published.General.InTheme {
			t.Fatal("switched off, but still on")
		}
	})
}
