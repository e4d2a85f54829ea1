package hub_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// A process not given the key that sealed a shop's secret (another key
// version, or another key altogether) tells the shoppers of that shop
// that its hub is being set up, its staff on the settings page what cannot
// be read, and the log once at start-up and once on the hub, never the
// value; the other shops are served as before.
func TestSecretsSealedWithAnotherKeyAreReportedNotFailed(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var logs bytes.Buffer
		f := newFixture(t, db, testapp.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		f.useLoop(f.acme)

		// acme's client secret was sealed by a process given key v2 only.
		newerVersion, err := secret.NewBox(2, map[int][]byte{2: bytes.Repeat([]byte{2}, secret.KeySize)})
		if err != nil {
			t.Fatal(err)
		}
		if err := shop.NewStore(db, newerVersion).SetClientSecret(ctx, f.acme.Shop.ID, "acme-rotated-secret"); err != nil {
			t.Fatal(err)
		}
		// other's Loop key was sealed by a process given another v1 key.
		otherKey, err := secret.NewBox(1, map[int][]byte{1: bytes.Repeat([]byte{9}, secret.KeySize)})
		if err != nil {
			t.Fatal(err)
		}
		if err := connection.NewStore(db, otherKey).Save(ctx, f.other.Shop.ID, &connection.Connection{Provider: connection.ProviderLoop,
			Credentials: sandbox.KeyFull, Status: connection.StatusUnverified}, time.Now()); err != nil {
			t.Fatal(err)
		}
		otherSettings := returns.NewStore(db)
		if _, err := otherSettings.Update(ctx, f.other.Shop.ID, func(cfg *returns.Config) error {
			cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyFull,
				LoopPortalURL: f.loopURL + "/portal/", LookupField: returns.LookupZip}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := otherSettings.SetLive(ctx, f.other.Shop.ID, true); err != nil {
			t.Fatal(err)
		}

		if err := f.app.Server.Secrets.Report(ctx, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
			t.Fatal(err)
		}
		report := logs.String()
		if !hasLine(report, "level=WARN", "shop=acme.myshopify.com", "Shopify client secret") ||
			!hasLine(report, "level=WARN", "shop=other.myshopify.com", "Loop API key") || strings.Count(report, "\n") != 2 {
			t.Fatalf("want one warning per shop naming what cannot be read, got:\n%s", report)
		}

		for range 2 {
			r := f.do("GET", f.proxyURL("/hub", proxyReq{customer: "1001", secret: "acme-rotated-secret"}), nil)
			if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "help centre is being set up") {
				t.Fatalf("acme's hub with an unreadable client secret: %d %.300s", r.status, r.body)
			}
			r = f.do("GET", f.proxyURL("/hub", proxyReq{shop: otherDomain, secret: otherSecret, customer: "1001"}), nil)
			if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "help centre is being set up") {
				t.Fatalf("other's hub with an unreadable Loop key: %d %.300s", r.status, r.body)
			}
		}
		hubLogs := strings.TrimPrefix(logs.String(), report)
		if strings.Count(hubLogs, "shop=acme.myshopify.com") != 1 || strings.Count(hubLogs, "shop=other.myshopify.com") != 1 || strings.Contains(hubLogs, "level=ERROR") {
			t.Fatalf("want the hub to log each shop once, as a warning; got:\n%s", hubLogs)
		}

		status, body, _ := f.app.Do(f.app.LoginAs(f.acme.Manager), "GET", "/settings", "", "")
		if status != http.StatusOK || !strings.Contains(body, "cannot read the shop&#39;s stored Shopify client secret") {
			t.Fatalf("acme's settings page: %d, want the notice naming the client secret:\n%.2000s", status, body)
		}
		otherAdmin := f.app.LoginAs(f.other.Admin)
		status, body, _ = f.app.Do(otherAdmin, "GET", "/settings/returns", "", "")
		if status != http.StatusOK || !strings.Contains(body, "HUBDESK_SECRET_KEY") ||
			!strings.Contains(body, "The saved Loop API key was sealed with another secret key and cannot be read: enter it again") {
			t.Fatalf("other's settings page: %d, want it open with the notices:\n%.2000s", status, body)
		}
		for _, value := range []string{"acme-rotated-secret", sandbox.KeyFull} {
			if strings.Contains(logs.String(), value) {
				t.Fatalf("the log holds a secret's value:\n%s", logs.String())
			}
		}

		// other's admin, without the lost key, enters the Loop key again:
		// its hub is back at once, the start-up warning names acme alone,
		// the audit log says re-entered, and acme is as it was.
		form := url.Values{"provider": {"loop"}, "lookup_field": {"zip"}, "loop_portal_url": {f.loopURL + "/portal/"}, "loop_api_key": {sandbox.KeyFull}}
		req, _ := http.NewRequest("POST", f.app.URL+"/settings/returns", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := otherAdmin.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("re-entering other's Loop key: %d", resp.StatusCode)
		}
		r := f.do("GET", f.proxyURL("/hub", proxyReq{shop: otherDomain, secret: otherSecret, customer: "1001"}), nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, "#9001") {
			t.Fatalf("other's hub after the key was entered again: %d %.300s", r.status, r.body)
		}
		r = f.do("GET", f.proxyURL("/hub", proxyReq{customer: "1001", secret: "acme-rotated-secret"}), nil)
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("acme's hub: %d, want 503 still", r.status)
		}
		var again bytes.Buffer
		if err := f.app.Server.Secrets.Report(ctx, slog.New(slog.NewTextHandler(&again, nil))); err != nil {
			t.Fatal(err)
		}
		if strings.Count(again.String(), "\n") != 1 || !strings.Contains(again.String(), "shop=acme.myshopify.com") {
			t.Fatalf("start-up warnings after other's key was entered again, want acme's alone:\n%s", again.String())
		}
		_, body, _ = f.app.Do(otherAdmin, "GET", "/audit?action=settings.changed", "", "")
		if !strings.Contains(body, "Re-entered: Loop API key") || strings.Contains(body, sandbox.KeyFull) {
			t.Fatalf("other's audit log does not say the key was re-entered, or holds it:\n%.3000s", body)
		}
	})
}

func hasLine(logs string, parts ...string) bool {
	for line := range strings.Lines(logs) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
