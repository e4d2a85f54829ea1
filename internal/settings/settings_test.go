package settings_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/shop"
)

var admin = audit.Actor{Kind: audit.ActorUser, ID: "1", Label: "admin@a.test"}

// newEditor returns the settings use cases over db for a new shop, and
// the audit log they write.
func newEditor(t *testing.T, db *database.DB, checker settings.KeyChecker) (*settings.Editor, *audit.Log, int64) {
	t.Helper()
	log := audit.New(db)
	return settings.New(db, returns.NewStore(db), connection.NewStore(db, fixtures.Box(t)), log, checker), log, fixtures.Shop(t, db, "a").ID
}

func TestDraftAndLive(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, log, shopID := newEditor(t, db, nil)

		// A new shop publishes defaults: hub on, returns off.
		pub, err := s.Published(ctx, shopID)
		if err != nil || pub.ReturnsEnabled() || !pub.General.HubEnabled {
			t.Fatalf("defaults: %+v %v", pub, err)
		}
		// Not live: a save is a draft only.
		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderAfterShip, PortalURL: "https://acme.returnscenter.com/"}
		res, err := s.Save(ctx, shopID, cfg, admin)
		if err != nil || res.Published {
			t.Fatalf("save draft: %+v %v", res, err)
		}
		if pub, _ = s.Published(ctx, shopID); pub.Returns.Provider != returns.ProviderDisabled {
			t.Fatalf("a draft save changed what shoppers see: %s", pub.Returns.Provider)
		}
		st, _ := s.Load(ctx, shopID)
		if st.Draft.Returns.Provider != returns.ProviderAfterShip || !st.Unpublished() {
			t.Fatalf("draft not stored: %+v", st.Draft.Returns)
		}
		// Going live publishes the draft.
		if err := s.SetLive(ctx, shopID, true, admin); err != nil {
			t.Fatal(err)
		}
		if pub, _ = s.Published(ctx, shopID); pub.Returns.Provider != returns.ProviderAfterShip {
			t.Fatalf("going live did not publish: %s", pub.Returns.Provider)
		}
		// Live: a save publishes at once.
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderDisabled}
		if res, err := s.Save(ctx, shopID, cfg, admin); err != nil || !res.Published {
			t.Fatalf("live save: %+v %v", res, err)
		}
		if pub, _ = s.Published(ctx, shopID); pub.ReturnsEnabled() {
			t.Fatal("disabling while live did not publish")
		}
		// Leaving live keeps what is published and drafts from then on.
		s.SetLive(ctx, shopID, false, admin)
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderOther, PortalURL: "https://acme.example/returns"}
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
		s, log, shopID := newEditor(t, db, nil)
		cfg := returns.DefaultConfig()
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: "loop_live_abcdef123456"}
		if _, err := s.Save(ctx, shopID, cfg, admin); err != nil {
			t.Fatal(err)
		}
		var draft, published, credentials string
		db.QueryRow(ctx, `SELECT draft, published FROM shop_settings WHERE shop_id = ?`, shopID).Scan(&draft, &published)
		if strings.Contains(draft+published, "abcdef123456") || strings.Contains(draft+published, "hdsec:") {
			t.Fatalf("the key is in the settings: %s", draft)
		}
		db.QueryRow(ctx, `SELECT credentials FROM connections WHERE shop_id = ? AND provider = 'loop'`, shopID).Scan(&credentials)
		if strings.Contains(credentials, "abcdef123456") || !strings.HasPrefix(credentials, "hdsec:v1:") {
			t.Fatalf("key not sealed in its connection: %q", credentials)
		}
		st, _ := s.Load(ctx, shopID)
		if st.Draft.Returns.LoopAPIKey != "loop_live_abcdef123456" || st.Draft.Returns.LoopKeyLast4 != "3456" {
			t.Fatalf("key not restored: %+v", st.Draft.Returns)
		}
		// Saving again without the key keeps it.
		cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderLoop, LookupField: returns.LookupEmail}
		if _, err := s.Save(ctx, shopID, cfg, admin); err != nil {
			t.Fatal(err)
		}
		st, _ = s.Load(ctx, shopID)
		if st.Draft.Returns.LoopAPIKey != "loop_live_abcdef123456" || st.Draft.Returns.LookupField != returns.LookupEmail {
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

// The key check runs against the Loop sandbox over real HTTP.
func TestSaveReturnsChecksTheKeyWithLoop(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	defer sb.Close()
	srv := httptest.NewServer(sb)
	defer srv.Close()
	checker := settings.LoopKeyChecker{Client: loop.New(loop.Options{BaseURL: srv.URL + "/api/v1", MaxAttempts: 1, Timeout: 2 * time.Second})}
	s, _, shopID := newEditor(t, dbtest.Open(t, database.SQLite), checker)
	ctx := context.Background()
	rc := func(key string) returns.ReturnsConfig {
		return returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: key}
	}

	out, err := s.SaveReturns(ctx, shopID, rc(sandbox.KeyFull), settings.SaveOptions{}, admin)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Report.Has(loop.ScopeOrders) || !out.Report.Has(loop.ScopeReturns) || !out.Report.Has(loop.ScopeDeveloperTools) || len(out.Warnings) != 0 {
		t.Fatalf("full key: %+v warnings %v", out.Report, out.Warnings)
	}

	_, err = s.SaveReturns(ctx, shopID, rc("not-a-loop-key"), settings.SaveOptions{}, admin)
	if !errors.Is(err, settings.ErrKeyRefused) {
		t.Fatalf("bad key: %v", err)
	}
	if st, _ := s.Load(ctx, shopID); st.Draft.Returns.LoopAPIKey != sandbox.KeyFull {
		t.Fatal("a refused key replaced the stored one")
	}

	out, err = s.SaveReturns(ctx, shopID, rc(sandbox.KeyOrders), settings.SaveOptions{}, admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Warnings) == 0 || !strings.Contains(strings.Join(out.Warnings, " "), "Returns scope") {
		t.Fatalf("orders-only key should warn that statuses fail: %v", out.Warnings)
	}

	sb.SetFaults(sandbox.Faults{Outage: true})
	_, err = s.SaveReturns(ctx, shopID, rc(sandbox.KeyReturns), settings.SaveOptions{}, admin)
	if !errors.Is(err, settings.ErrLoopUnreachable) {
		t.Fatalf("Loop down: %v", err)
	}
	out, err = s.SaveReturns(ctx, shopID, rc(sandbox.KeyReturns), settings.SaveOptions{SaveAnyway: true}, admin)
	if err != nil || out.Report == nil || !out.Report.Unreachable() {
		t.Fatalf("save anyway: %v %+v", err, out)
	}
	st, _ := s.Load(ctx, shopID)
	if st.Draft.Returns.LoopAPIKey != sandbox.KeyReturns || st.Draft.Returns.KeyCheck.Orders != "unknown" {
		t.Fatalf("saved anyway: %+v", st.Draft.Returns)
	}
}

// Saves racing "go live", and saves of the two tabs racing each other, all
// land: live always means the draft is published, and neither tab undoes
// the other.
func TestConcurrentSettingsChangesAllLand(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, shopID := newEditor(t, db, nil)
		for round := range 8 {
			s.SetLive(ctx, shopID, false, admin)
			var wg sync.WaitGroup
			url := fmt.Sprintf("https://acme.example/returns/%d", round)
			wg.Go(func() {
				if _, err := s.Update(ctx, shopID, admin, func(c *returns.Config) error {
					c.Returns = returns.ReturnsConfig{Provider: returns.ProviderNarvar, PortalURL: url}
					return nil
				}); err != nil {
					t.Error(err)
				}
			})
			wg.Go(func() {
				if _, err := s.Update(ctx, shopID, admin, func(c *returns.Config) error {
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

// Storefront domains go through the draft/published flow like every
// General field, and a change is audited by name.
func TestStorefrontDomainsDraftPublishedAndAudited(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, log, shopID := newEditor(t, db, nil)
		res, err := s.Update(ctx, shopID, admin, func(c *returns.Config) error {
			c.General.StorefrontDomains = []string{"Shop.Example.com", "www.shop.example.com"}
			return nil
		})
		if err != nil || res.Published || !slices.Equal(res.Changed, []string{"general.storefront_domains"}) {
			t.Fatalf("save: %+v %v", res, err)
		}
		st, _ := s.Load(ctx, shopID)
		if want := []string{"shop.example.com", "www.shop.example.com"}; !slices.Equal(st.Draft.General.StorefrontDomains, want) {
			t.Fatalf("draft = %q, want %q", st.Draft.General.StorefrontDomains, want)
		}
		if pub, _ := s.Published(ctx, shopID); len(pub.General.StorefrontDomains) != 0 {
			t.Fatalf("a draft save published %q", pub.General.StorefrontDomains)
		}
		if err := s.SetLive(ctx, shopID, true, admin); err != nil {
			t.Fatal(err)
		}
		if pub, _ := s.Published(ctx, shopID); len(pub.General.StorefrontDomains) != 2 {
			t.Fatalf("going live published %q", pub.General.StorefrontDomains)
		}
		// Emptying the list is a change too, and leaves nothing behind.
		res, err = s.Update(ctx, shopID, admin, func(c *returns.Config) error {
			c.General.StorefrontDomains = []string{""}
			return nil
		})
		if err != nil || !slices.Equal(res.Changed, []string{"general.storefront_domains"}) {
			t.Fatalf("emptying: %+v %v", res, err)
		}
		if st, _ := s.Load(ctx, shopID); st.Draft.General.StorefrontDomains != nil || st.Unpublished() {
			t.Fatalf("after emptying: draft %q, unpublished %v", st.Draft.General.StorefrontDomains, st.Unpublished())
		}
		// A refused list is not stored.
		_, err = s.Update(ctx, shopID, admin, func(c *returns.Config) error {
			c.General.StorefrontDomains = []string{"https://evil.example/"}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "storefront_domains") {
			t.Fatalf("a bad domain: %v", err)
		}
		entries, _, _ := log.List(ctx, shopID, audit.Filter{Action: "settings."}, database.Page{Limit: 50})
		fields := 0
		for _, e := range entries {
			if fs, _ := e.Details["fields"].([]any); len(fs) == 1 && fs[0] == "general.storefront_domains" {
				fields++
			}
		}
		if fields != 2 {
			t.Fatalf("%d audit entries name general.storefront_domains, want 2 (%+v)", fields, entries)
		}
	})
}

// Each settings change and its audit entry are one transaction: when the
// audit entry cannot be written, the settings stay as they were — in the
// database and in the published cache.
func TestNoChangeWithoutItsAuditEntry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, _, shopID := newEditor(t, db, nil)
		before, err := s.Load(ctx, shopID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Published(ctx, shopID); err != nil { // cached now
			t.Fatal(err)
		}

		dbtest.BreakTable(t, db, "audit_log")
		general := before.Draft.General
		general.ReturnWindowDays = 60
		if _, err := s.SaveGeneral(ctx, shopID, general, admin); err == nil {
			t.Error("the General tab was saved without its audit entry")
		}
		rc := returns.ReturnsConfig{Provider: returns.ProviderOther, PortalURL: "https://acme.example/returns"}
		if _, err := s.SaveReturns(ctx, shopID, rc, settings.SaveOptions{}, admin); err == nil {
			t.Error("the Returns tab was saved without its audit entry")
		}
		if err := s.SetLive(ctx, shopID, true, admin); err == nil {
			t.Error("the hub went live without the audit entry")
		}
		after, err := s.Load(ctx, shopID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Live || after.Draft.General.ReturnWindowDays != before.Draft.General.ReturnWindowDays ||
			after.Draft.Returns.Provider != returns.ProviderDisabled || after.PublishedAt != nil {
			t.Fatalf("a failed change was stored: %+v", after)
		}
		if pub, _ := s.Published(ctx, shopID); pub.ReturnsEnabled() {
			t.Fatal("a failed change is published")
		}
	})
}

// Keys saved before connections existed move out of the settings, sealed
// as they were, with their check: the draft's key (the latest saved) wins
// over the published one.
func TestMigrationMovesLoopKeysToConnections(t *testing.T) {
	const connections = 7
	dbtest.ForEachAt(t, connections-1, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		box := fixtures.Box(t)
		blob := func(key, check string) string {
			sealed, err := box.Seal(key)
			if err != nil {
				t.Fatal(err)
			}
			return `{"general":{"hub_enabled":true,"helpdesk_enabled":true,"return_window_days":30},` +
				`"returns":{"provider":"loop","loop_api_key":"` + sealed + `","loop_key_last4":"` + returns.MaskKey(key) + `",` +
				`"lookup_field":"email","portal_lookup":"email"` + check + `}}`
		}
		checked := `,"key_check":{"checked_at":"2026-11-02T10:30:00.5Z","orders":"granted","returns":"denied","developer_tools":"unknown"}`
		live, draftOnly, none := fixtures.Shop(t, db, "live").ID, fixtures.Shop(t, db, "drafted").ID, fixtures.Shop(t, db, "keyless").ID
		updatedAt := database.Time(time.Date(2026, 11, 2, 10, 30, 0, 0, time.UTC))
		rows := []struct {
			shop             int64
			draft, published string
		}{
			{live, blob("loop_live_new1", checked), blob("loop_live_old2", "")},
			{draftOnly, blob("loop_live_draft3", ""), `{"general":{"hub_enabled":true,"return_window_days":30},"returns":{"provider":"disabled"}}`},
			{none, `{"general":{"hub_enabled":true,"return_window_days":30},"returns":{"provider":"disabled"}}`,
				`{"general":{"hub_enabled":true,"return_window_days":30},"returns":{"provider":"disabled"}}`},
		}
		for _, r := range rows {
			if _, err := db.Exec(ctx, `INSERT INTO shop_settings (shop_id, live, draft, published, draft_updated_at) VALUES (?, ?, ?, ?, ?)`,
				r.shop, false, r.draft, r.published, updatedAt); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.MigrateTo(ctx, connections); err != nil {
			t.Fatal(err)
		}

		s, _, _ := newEditor(t, db, nil)
		st, err := s.Load(ctx, live)
		if err != nil {
			t.Fatal(err)
		}
		kc := st.Published.Returns.KeyCheck
		if st.Published.Returns.LoopAPIKey != "loop_live_new1" || st.Published.Returns.LoopKeyLast4 != "new1" || kc == nil ||
			kc.Orders != "granted" || kc.Returns != "denied" || kc.DeveloperTools != "unknown" ||
			!kc.CheckedAt.Equal(time.Date(2026, 11, 2, 10, 30, 0, 500e6, time.UTC)) || st.Draft.Returns.LookupField != returns.LookupEmail {
			t.Fatalf("live shop's key after the migration: %+v %+v", st.Published.Returns, kc)
		}
		if st, err := s.Load(ctx, draftOnly); err != nil || st.Draft.Returns.LoopAPIKey != "loop_live_draft3" || st.Draft.Returns.KeyCheck != nil {
			t.Fatalf("draft-only key after the migration: %+v %v", st.Draft.Returns, err)
		}
		var status string
		db.QueryRow(ctx, `SELECT status FROM connections WHERE shop_id = ? AND provider = 'loop'`, live).Scan(&status)
		var unverified string
		db.QueryRow(ctx, `SELECT status FROM connections WHERE shop_id = ? AND provider = 'loop'`, draftOnly).Scan(&unverified)
		if status != "connected" || unverified != "unverified" {
			t.Fatalf("statuses: %q, %q", status, unverified)
		}
		var n int
		db.QueryRow(ctx, `SELECT COUNT(*) FROM connections WHERE shop_id = ?`, none).Scan(&n)
		if n != 0 {
			t.Fatalf("a shop without a key got %d connections", n)
		}
		var draft, published string
		db.QueryRow(ctx, `SELECT draft, published FROM shop_settings WHERE shop_id = ?`, live).Scan(&draft, &published)
		if strings.Contains(draft+published, "hdsec:") || strings.Contains(draft+published, "key_check") || strings.Contains(draft+published, "last4") {
			t.Fatalf("the settings still hold the key: %s / %s", draft, published)
		}
	})
}

// A saved Loop webhook secret is audited by its field name only; one this
// process cannot open is named by Secrets.Unreadable and does not keep
// shoppers and agents from the published settings.
func TestLoopWebhookSecretAuditedAndReportedWhenUnreadable(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s, log, shopID := newEditor(t, db, nil)
		const whSecret = "whsec-audit-91d0"
		if _, err := s.SaveReturns(ctx, shopID, returns.ReturnsConfig{Provider: returns.ProviderDisabled, LoopWebhookSecret: whSecret}, settings.SaveOptions{}, admin); err != nil {
			t.Fatal(err)
		}
		entries, _, err := log.List(ctx, shopID, audit.Filter{Action: "settings."}, database.Page{Limit: 50})
		if err != nil || len(entries) != 1 {
			t.Fatalf("want one audit entry: %d %v", len(entries), err)
		}
		if fields := anyStrings(entries[0].Details); !slices.Equal(fields, []string{"returns.loop_webhook_secret"}) ||
			strings.Contains(fmt.Sprint(entries[0].Details), whSecret) {
			t.Fatalf("audit details: %v", entries[0].Details)
		}

		// Each with its own connection cache, as a newly started process.
		secrets := func() settings.Secrets {
			return settings.Secrets{Shops: shop.NewStore(db, fixtures.Box(t)), Connections: connection.NewStore(db, fixtures.Box(t))}
		}
		if names, err := secrets().Unreadable(ctx, shopID); err != nil || len(names) != 0 {
			t.Fatalf("readable secrets reported: %v %v", names, err)
		}
		otherKey, err := secret.NewBox(1, map[int][]byte{1: bytes.Repeat([]byte{9}, secret.KeySize)})
		if err != nil {
			t.Fatal(err)
		}
		if err := connection.NewStore(db, otherKey).Save(ctx, shopID, &connection.Connection{Provider: connection.ProviderLoopWebhook,
			Credentials: whSecret, Status: connection.StatusUnverified}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if names, err := secrets().Unreadable(ctx, shopID); err != nil || !slices.Equal(names, []string{settings.UnreadableLoopWebhook}) {
			t.Fatalf("unreadable webhook secret: %v %v", names, err)
		}
		if _, err := s.Published(ctx, shopID); err != nil {
			t.Fatalf("an unreadable webhook secret closed the published settings: %v", err)
		}
	})
}
