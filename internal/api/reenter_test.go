package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
)

// A Loop API key and webhook secret sealed with a HUBDESK_SECRET_KEY this
// server is not given can be entered again through the API: GET answers
// 200 saying which cannot be read, a PUT that would keep one is refused
// (422 on that field, nothing changed), and a PUT that gives a new value
// or removes it replaces the unreadable one, audited as re-entered or
// removed by name; another shop is untouched.
func TestReturnsSettingsAPIReentersUnreadableLoopCredentials(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		const bWebhookSecret = "whsec-b-kept-7a1c"
		put := func(user, body string, want int) response {
			t.Helper()
			r := f.do(t, request{method: "PUT", url: "/api/v1/settings/returns", body: body, user: user})
			if r.status != want {
				t.Fatalf("PUT %s: %d, want %d\n%s", body, r.status, want, r.body)
			}
			return r
		}
		put("b-manager", `{"provider":"loop","lookup_field":"zip","loop_api_key":"`+sandbox.KeyFull+`","loop_webhook_secret":"`+bWebhookSecret+`"}`, http.StatusOK)
		// Shop A's were saved by a process given another key (before this
		// server read them: it would use what it read for connection.CacheTTL).
		sealedElsewhere := sealWithAnotherKey(t, db, f.shopA, connection.ProviderLoop, connection.ProviderLoopWebhook)
		if _, err := returns.NewStore(db).Update(ctx, f.shopA, func(cfg *returns.Config) error {
			cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyFull, LookupField: returns.LookupZip}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		r := f.do(t, request{method: "GET", url: "/api/v1/settings/returns", user: "a-manager"})
		if r.status != http.StatusOK {
			t.Fatalf("GET with unreadable credentials: %d\n%s", r.status, r.body)
		}
		checkJSON(t, r.body, map[string]string{"loop_api_key_unreadable": "true", "loop_webhook_secret_unreadable": "true",
			"loop_api_key_last4": "", "loop_webhook_secret_last4": "", "provider": "loop"})

		// The answer of GET, sent back as it is, keeps both: refused.
		r = put("a-manager", string(r.body), http.StatusUnprocessableEntity)
		checkJSON(t, r.body, map[string]string{"error.field": "loop_api_key"})
		if msg := get(t, r.body, "error.message").(string); !strings.Contains(msg, "cannot be read") || !strings.Contains(msg, "Enter it again") {
			t.Errorf("the refusal does not say what to do: %s", msg)
		}
		// A new key alone still keeps the unreadable webhook secret.
		r = put("a-manager", `{"provider":"loop","lookup_field":"zip","loop_api_key":"`+sandbox.KeyOrders+`"}`, http.StatusUnprocessableEntity)
		checkJSON(t, r.body, map[string]string{"error.field": "loop_webhook_secret"})
		checkSealed(t, db, f.shopA, sealedElsewhere)

		// Both given again: they replace what could not be read.
		const newSecret = "whsec-a-new-0002"
		r = put("a-manager", `{"provider":"loop","lookup_field":"zip","loop_api_key":"`+sandbox.KeyOrders+`","loop_webhook_secret":"`+newSecret+`"}`, http.StatusOK)
		checkJSON(t, r.body, map[string]string{"loop_api_key_unreadable": "false", "loop_webhook_secret_unreadable": "false",
			"loop_api_key_last4": "ders", "loop_webhook_secret_last4": "0002", "key_check.orders": "granted"})
		if st, err := f.app.Server.Settings.Load(ctx, f.shopA); err != nil || st.Draft.Returns.LoopAPIKey != sandbox.KeyOrders {
			t.Fatalf("the key in force after re-entry: %v", err)
		}
		f.app.CheckLoopWebhookSecret(t, f.tenants["a"], newSecret)
		if names, err := f.app.Server.Secrets.Unreadable(ctx, f.shopA); err != nil || len(names) != 0 {
			t.Fatalf("still unreadable after re-entry: %v %v", names, err)
		}
		audit := f.do(t, request{method: "GET", url: "/api/v1/audit?action=settings.changed", user: "a-manager"})
		checkJSON(t, audit.body, map[string]string{"items.0.details.reentered": "[returns.loop_api_key returns.loop_webhook_secret]",
			"items.0.details.fields": "[returns.loop_api_key returns.loop_webhook_secret]"})
		if strings.Contains(string(audit.body), `"removed"`) {
			t.Fatal("a re-entered credential is logged as removed")
		}
		if strings.Contains(string(audit.body), sandbox.KeyOrders) || strings.Contains(string(audit.body), newSecret) {
			t.Fatal("the audit log holds a credential")
		}
		// Saved again without them: kept, nothing refused.
		put("a-manager", `{"provider":"loop","lookup_field":"email"}`, http.StatusOK)

		// Shop B saw none of it.
		r = f.do(t, request{method: "GET", url: "/api/v1/settings/returns", user: "b-manager"})
		checkJSON(t, r.body, map[string]string{"loop_api_key_unreadable": "false", "loop_webhook_secret_unreadable": "false", "loop_api_key_last4": "full"})
		f.app.CheckLoopWebhookSecret(t, f.tenants["b"], bWebhookSecret)
	})
}

// sealWithAnotherKey replaces the shop's connections to providers with
// values sealed by a box this server is not given, as a process started
// with another HUBDESK_SECRET_KEY would have saved them, and returns the
// sealed values by provider.
func sealWithAnotherKey(t *testing.T, db *database.DB, shopID int64, providers ...connection.Provider) map[connection.Provider]string {
	t.Helper()
	otherKey, err := secret.NewBox(1, map[int][]byte{1: bytes.Repeat([]byte{9}, secret.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	store := connection.NewStore(db, otherKey)
	sealed := map[connection.Provider]string{}
	for _, p := range providers {
		if err := store.Save(context.Background(), shopID, &connection.Connection{Provider: p, Credentials: "sealed-elsewhere-" + string(p),
			Status: connection.StatusUnverified}, time.Now()); err != nil {
			t.Fatal(err)
		}
		sealed[p] = storedCredentials(t, db, shopID, p)
	}
	return sealed
}

// checkSealed fails t unless the shop's connections still hold exactly
// the sealed values given.
func checkSealed(t *testing.T, db *database.DB, shopID int64, want map[connection.Provider]string) {
	t.Helper()
	for p, sealed := range want {
		if got := storedCredentials(t, db, shopID, p); got != sealed {
			t.Fatalf("the %s connection changed on a refused save", p)
		}
	}
}

func storedCredentials(t *testing.T, db *database.DB, shopID int64, p connection.Provider) string {
	t.Helper()
	var sealed string
	if err := db.QueryRow(context.Background(), `SELECT credentials FROM connections WHERE shop_id = ? AND provider = ?`, shopID, string(p)).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	return sealed
}
