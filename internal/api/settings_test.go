package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

func TestReturnsSettingsAPI(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		put := func(body, who string) response {
			return f.do(t, request{method: "PUT", url: "/api/v1/settings/returns", body: body, user: who})
		}
		// Agents may not read or change settings.
		if r := f.do(t, request{method: "GET", url: "/api/v1/settings/returns", user: "a"}); r.status != http.StatusForbidden {
			t.Fatalf("agent GET: %d", r.status)
		}
		if r := put(`{"provider":"disabled"}`, "a"); r.status != http.StatusForbidden {
			t.Fatalf("agent PUT: %d", r.status)
		}
		r := f.do(t, request{method: "GET", url: "/api/v1/settings/returns", user: "a-manager"})
		checkJSON(t, r.body, map[string]string{"provider": "disabled", "live": "false", "params.aftership.order": "order_number", "params.parcellab.order": "orderNo"})

		// A portal provider, with an overridden parameter name.
		r = put(`{"provider":"aftership","portal_url":"https://acme.returnscenter.com/","params":{"aftership":{"order":"order","email":"email"}}}`, "a-manager")
		if r.status != http.StatusOK {
			t.Fatalf("aftership: %d %s", r.status, r.body)
		}
		checkJSON(t, r.body, map[string]string{"provider": "aftership", "params.aftership.order": "order", "published": "false", "portal_lookup": "email"})

		// Narvar by postal code, with its default and an overridden name.
		r = put(`{"provider":"narvar","portal_url":"https://returns.narvar.com/acme/returns","portal_lookup":"zip","params":{"parcellab":{"postal":"plz"}}}`, "a-manager")
		if r.status != http.StatusOK {
			t.Fatalf("narvar by postal code: %d %s", r.status, r.body)
		}
		checkJSON(t, r.body, map[string]string{"portal_lookup": "zip", "params.narvar.postal": "dzip", "params.parcellab.postal": "plz",
			"params.aftership.postal": "postal_code"})

		// A valid Loop key: checked, masked, never echoed.
		r = put(`{"provider":"loop","loop_api_key":"`+sandbox.KeyFull+`","lookup_field":"email"}`, "a-manager")
		if r.status != http.StatusOK {
			t.Fatalf("loop full key: %d %s", r.status, r.body)
		}
		checkJSON(t, r.body, map[string]string{"loop_api_key_last4": "full", "key_check.orders": "granted", "key_check.returns": "granted",
			"key_check.developer_tools": "granted", "warnings.#": "0", "lookup_field": "email"})
		if strings.Contains(string(r.body), sandbox.KeyFull) {
			t.Fatal("the key came back in the answer")
		}
		// GET, edit, PUT round trip keeps the key (read-only fields ignored).
		r = f.do(t, request{method: "GET", url: "/api/v1/settings/returns", user: "a-manager"})
		round := strings.Replace(string(r.body), `"lookup_field":"email"`, `"lookup_field":"zip"`, 1)
		r = put(round, "a-manager")
		checkJSON(t, r.body, map[string]string{"loop_api_key_last4": "full", "lookup_field": "zip", "key_check.orders": "granted"})

		// A key Loop refuses.
		r = put(`{"provider":"loop","loop_api_key":"nope-not-a-key"}`, "a-manager")
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("bad key: %d %s", r.status, r.body)
		}
		checkJSON(t, r.body, map[string]string{"error.field": "loop_api_key", "error.code": "invalid_request"})

		// An Orders-only key saves with a warning that statuses will fail.
		r = put(`{"provider":"loop","loop_api_key":"`+sandbox.KeyOrders+`"}`, "a-manager")
		checkJSON(t, r.body, map[string]string{"key_check.returns": "denied", "loop_api_key_last4": "ders"})
		if !strings.Contains(string(r.body), "Returns scope") {
			t.Fatalf("no warning about the Returns scope: %s", r.body)
		}

		// Loop down: refused unless save_anyway.
		f.loop.SetFaults(sandbox.Faults{Outage: true})
		r = put(`{"provider":"loop","loop_api_key":"`+sandbox.KeyReturns+`"}`, "a-manager")
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("Loop down: %d %s", r.status, r.body)
		}
		checkJSON(t, r.body, map[string]string{"error.code": "loop_unreachable"})
		r = put(`{"provider":"loop","loop_api_key":"`+sandbox.KeyReturns+`","save_anyway":true}`, "a-manager")
		checkJSON(t, r.body, map[string]string{"loop_api_key_last4": "urns", "key_check.orders": "unknown"})
		f.loop.SetFaults(sandbox.Faults{})

		// Bad input: clear field errors, nothing written.
		for body, field := range map[string]string{
			`{"provider":"narvar","portal_url":"http://returns.example.com/"}`: "portal_url",
			`{"provider":"other"}`:                        "portal_url",
			`{"provider":"shipbob"}`:                      "provider",
			`{"provider":"other","portal_url":"ftp://x"}`: "portal_url",
			`{"provider":"narvar","portal_url":"https://r.example/","portal_lookup":"phone"}`: "portal_lookup",
		} {
			r = put(body, "a-manager")
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d", body, r.status)
			}
			checkJSON(t, r.body, map[string]string{"error.field": field})
		}
		if r = put(`{"provider":"loop","secret":1}`, "a-manager"); r.status != http.StatusBadRequest {
			t.Errorf("unknown field: %d", r.status)
		}

		// Shop B's manager sees shop B's settings only.
		r = f.do(t, request{method: "GET", url: "/api/v1/settings/returns", user: "b-manager"})
		checkJSON(t, r.body, map[string]string{"provider": "disabled", "loop_api_key_last4": ""})
	})
}

// TestAuditAPI pages through the settings changes (the fixture's API
// tokens are in the log too).
func TestAuditAPI(t *testing.T) {
	f := newFixture(t, dbtest.Open(t, database.SQLite))
	f.do(t, request{method: "PUT", url: "/api/v1/settings/returns", body: `{"provider":"other","portal_url":"https://acme.example/returns"}`, user: "a-manager"})
	f.do(t, request{method: "PUT", url: "/api/v1/settings/returns", body: `{"provider":"disabled"}`, user: "a-manager"})
	if r := f.do(t, request{method: "GET", url: "/api/v1/audit", user: "a"}); r.status != http.StatusForbidden {
		t.Fatalf("agent: %d", r.status)
	}
	r := f.do(t, request{method: "GET", url: "/api/v1/audit?action=settings.&limit=1", user: "a-manager"})
	checkJSON(t, r.body, map[string]string{"items.#": "1", "items.0.action": "settings.changed", "items.0.actor.label": "manager@a.test",
		"items.0.actor.kind": "user", "items.0.outcome": "ok"})
	next := get(t, r.body, "next_cursor").(string)
	if next == "" {
		t.Fatal("no next cursor")
	}
	r = f.do(t, request{method: "GET", url: "/api/v1/audit?action=settings.&limit=1&cursor=" + next, user: "a-manager"})
	checkJSON(t, r.body, map[string]string{"items.#": "1", "next_cursor": ""})
	for _, bad := range []string{"?cursor=%21%21", "?limit=0", "?limit=x", "?since=yesterday"} {
		if r := f.do(t, request{method: "GET", url: "/api/v1/audit" + bad, user: "a-manager"}); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, r.status)
		}
	}
	// Shop B's log holds only its own entries (its users' API tokens).
	r = f.do(t, request{method: "GET", url: "/api/v1/audit?action=settings.", user: "b-manager"})
	checkJSON(t, r.body, map[string]string{"items.#": "0"})
}

// The Loop webhook secret is set through the API, stored sealed, verifies
// Loop's deliveries at once, is kept when left out and never answered.
func TestReturnsSettingsAPISetsTheLoopWebhookSecret(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		const whSecret = "whsec-api-7f3a9c"
		put := func(body string) response {
			r := f.do(t, request{method: "PUT", url: "/api/v1/settings/returns", body: body, user: "a-manager"})
			if r.status != http.StatusOK {
				t.Fatalf("PUT %s: %d %s", body, r.status, r.body)
			}
			return r
		}
		r := put(`{"provider":"disabled","loop_webhook_secret":"` + whSecret + `"}`)
		checkJSON(t, r.body, map[string]string{"loop_webhook_secret_last4": "3a9c"})
		if strings.Contains(string(r.body), whSecret) {
			t.Fatal("the webhook secret came back in the answer")
		}
		f.app.CheckLoopWebhookSecret(t, f.tenants["a"], whSecret)

		// Left out: kept; and no answer ever carries it.
		r = put(`{"provider":"disabled"}`)
		checkJSON(t, r.body, map[string]string{"loop_webhook_secret_last4": "3a9c"})
		got := f.do(t, request{method: "GET", url: "/api/v1/settings/returns", user: "a-manager"})
		for _, body := range [][]byte{r.body, got.body} {
			if strings.Contains(string(body), whSecret) {
				t.Fatal("the webhook secret came back in an answer")
			}
		}
		f.app.CheckLoopWebhookSecret(t, f.tenants["a"], whSecret)

		// A secret that cannot be one is refused, the saved one kept.
		r = f.do(t, request{method: "PUT", url: "/api/v1/settings/returns", body: `{"provider":"disabled","loop_webhook_secret":"two words"}`, user: "a-manager"})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("bad secret: %d %s", r.status, r.body)
		}
		checkJSON(t, r.body, map[string]string{"error.field": "loop_webhook_secret"})
		f.app.CheckLoopWebhookSecret(t, f.tenants["a"], whSecret)
	})
}

// The saved Loop webhook secret and API key are removed only when asked
// explicitly (an empty field keeps them): the removal is audited by name,
// never the value, and Loop's deliveries are refused afterwards. A
// removal together with a new value, or of the key Loop still needs, is
// refused and changes nothing.
func TestReturnsSettingsAPIRemovesLoopCredentials(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		const whSecret = "whsec-api-rm-41d0"
		put := func(body string, want int) response {
			t.Helper()
			r := f.do(t, request{method: "PUT", url: "/api/v1/settings/returns", body: body, user: "a-manager"})
			if r.status != want {
				t.Fatalf("PUT %s: %d, want %d\n%s", body, r.status, want, r.body)
			}
			return r
		}
		put(`{"provider":"loop","lookup_field":"zip","loop_api_key":"`+sandbox.KeyFull+`","loop_webhook_secret":"`+whSecret+`"}`, http.StatusOK)
		f.app.CheckLoopWebhookSecret(t, f.tenants["a"], whSecret)

		r := put(`{"provider":"loop","lookup_field":"zip","loop_webhook_secret":"whsec-other","loop_webhook_secret_remove":true}`, http.StatusUnprocessableEntity)
		checkJSON(t, r.body, map[string]string{"error.field": "loop_webhook_secret"})
		f.app.CheckLoopWebhookSecret(t, f.tenants["a"], whSecret)

		r = put(`{"provider":"loop","lookup_field":"zip","loop_webhook_secret_remove":true}`, http.StatusOK)
		checkJSON(t, r.body, map[string]string{"loop_webhook_secret_last4": "", "loop_api_key_last4": "full"})
		f.app.CheckLoopWebhookSecretRemoved(t, f.tenants["a"], whSecret)
		audit := f.do(t, request{method: "GET", url: "/api/v1/audit?action=settings.changed", user: "a-manager"})
		checkJSON(t, audit.body, map[string]string{"items.0.details.removed": "[returns.loop_webhook_secret]"})
		if strings.Contains(string(audit.body), whSecret) {
			t.Fatal("the audit log holds the secret")
		}

		// The key: not while Loop is the provider; with another provider, yes.
		r = put(`{"provider":"loop","lookup_field":"zip","loop_api_key_remove":true}`, http.StatusUnprocessableEntity)
		checkJSON(t, r.body, map[string]string{"error.field": "loop_api_key"})
		r = put(`{"provider":"disabled","loop_api_key_remove":true}`, http.StatusOK)
		checkJSON(t, r.body, map[string]string{"loop_api_key_last4": "", "key_check": "<nil>"})
		audit = f.do(t, request{method: "GET", url: "/api/v1/audit?action=settings.changed", user: "a-manager"})
		checkJSON(t, audit.body, map[string]string{"items.0.details.removed": "[returns.loop_api_key]"})
		var left int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM connections WHERE shop_id = ?`, f.shopA).Scan(&left); err != nil || left != 0 {
			t.Fatalf("%d connections left after both were removed (%v)", left, err)
		}
	})
}
