package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// The Shopify settings: Owner and Admin only; the connection's state
// without its token or secret, valid against the OpenAPI schema; a
// connect refused before Shopify is asked; a disconnect.
func TestShopifySettingsAPI(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		if r := f.do(t, request{method: "GET", url: "/api/v1/settings/shopify", user: "a-manager"}); r.status != http.StatusForbidden {
			t.Fatalf("manager GET: %d", r.status)
		}
		r := f.do(t, request{method: "GET", url: "/api/v1/settings/shopify", user: "a-admin"})
		checkJSON(t, r.body, map[string]string{"connected": "false", "method": "", "scopes.#": "5", "scopes.0.scope": "read_customers",
			"scopes.0.required": "true", "webhooks.topics.#": "13", "webhooks.topics.0.topic": "orders/create", "install_url": ""})

		// Refused before Shopify is asked: no token.
		r = f.do(t, request{method: "PUT", url: "/api/v1/settings/shopify", user: "a-admin", body: `{"method":"admin_token","client_secret":"s"}`})
		if r.status != http.StatusUnprocessableEntity {
			t.Fatalf("PUT without a token: %d %s", r.status, r.body)
		}
		checkJSON(t, r.body, map[string]string{"error.field": "access_token"})

		// A stored connection is shown without its secrets.
		conn := &connection.Connection{Status: connection.StatusConnected, Scopes: map[string]string{"read_orders": "granted"}}
		expires := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
		if err := conn.SetShopifyCredentials(&connection.ShopifyCredentials{Method: connection.ShopifyClientCredentials, ClientID: "cid",
			ClientSecret: "very-secret", AccessToken: "shpat_secret_token", ExpiresAt: &expires}); err != nil {
			t.Fatal(err)
		}
		if err := connection.NewStore(db, f.app.Box).Save(context.Background(), f.shopA, conn, time.Now()); err != nil {
			t.Fatal(err)
		}
		// Saved by another store, as another process would: in force within
		// the connection cache's 2 s.
		jobstest.Eventually(t, "the saved connection", func() bool {
			r = f.do(t, request{method: "GET", url: "/api/v1/settings/shopify", user: "a-admin"})
			return strings.Contains(string(r.body), `"connected":true`)
		})
		checkJSON(t, r.body, map[string]string{"connected": "true", "state": "connected", "method": "client_credentials", "client_id": "cid",
			"expires_at": "2026-12-06T08:00:00Z", "missing_required_scopes.#": "2"})
		if strings.Contains(string(r.body), "very-secret") || strings.Contains(string(r.body), "shpat_secret_token") {
			t.Fatalf("a secret in the answer: %s", r.body)
		}
		// Shop B's admin sees shop B's (none).
		if r := f.do(t, request{method: "GET", url: "/api/v1/settings/shopify", user: "b-manager"}); r.status != http.StatusForbidden {
			t.Fatalf("b manager: %d", r.status)
		}

		if r := f.do(t, request{method: "DELETE", url: "/api/v1/settings/shopify", user: "a-admin"}); r.status != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", r.status, r.body)
		}
		r = f.do(t, request{method: "GET", url: "/api/v1/settings/shopify", user: "a-admin"})
		checkJSON(t, r.body, map[string]string{"connected": "false"})
	})
}
