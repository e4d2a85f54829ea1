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
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// A shop whose stored credentials were sealed with a HUBDESK_SECRET_KEY
// this server is not given gets 503 secrets_unreadable, saying so and what
// mends it, from every endpoint that needs them — never a bare 500, never
// the value; another shop is served as before.
func TestEndpointsNeedingUnreadableSecretsAnswer503(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		otherKey, err := secret.NewBox(1, map[int][]byte{1: bytes.Repeat([]byte{9}, secret.KeySize)})
		if err != nil {
			t.Fatal(err)
		}
		// Shop A's Loop key and client secret were sealed by a process given another key.
		if err := connection.NewStore(db, otherKey).Save(ctx, f.shopA, &connection.Connection{Provider: connection.ProviderLoop,
			Credentials: sandbox.KeyFull, Status: connection.StatusUnverified}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := shop.NewStore(db, otherKey).SetClientSecret(ctx, f.shopA, "a-rotated-secret"); err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			name string
			req  request
		}{
			{"list orders", request{method: "GET", url: "/api/v1/orders"}},
			{"one order", request{method: "GET", url: "/api/v1/orders/{o-1001}"}},
			{"a customer's orders", request{method: "GET", url: "/api/v1/customers/{c-ada}/orders"}},
			{"upsert an order", request{method: "PUT", url: "/api/v1/orders", body: orderJSON(t, nil)}},
			{"read returns settings", request{method: "GET", url: "/api/v1/settings/returns", user: "a-manager"}},
			{"save returns settings", request{method: "PUT", url: "/api/v1/settings/returns", user: "a-manager",
				body: `{"provider":"loop","loop_portal_url":"https://acme.loopreturns.com/","lookup_field":"zip"}`}},
			{"issue a shopper token", request{method: "POST", url: "/api/v1/hub/tokens", user: "a-admin", body: `{"customer_id":"{c-ada}"}`}},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := f.do(t, c.req)
				if r.status != http.StatusServiceUnavailable {
					t.Fatalf("%d, want 503\n%s", r.status, r.body)
				}
				checkJSON(t, r.body, map[string]string{"error.code": "secrets_unreadable"})
				msg := get(t, r.body, "error.message").(string)
				for _, want := range []string{"HUBDESK_SECRET_KEY", "re-enter"} {
					if !strings.Contains(msg, want) {
						t.Errorf("the message does not say %q: %s", want, msg)
					}
				}
				if r.header.Get("Retry-After") != "" {
					t.Error("Retry-After on a failure that waiting does not mend")
				}
				if strings.Contains(string(r.body), sandbox.KeyFull) || strings.Contains(string(r.body), "a-rotated-secret") {
					t.Fatal("the answer holds a secret")
				}
			})
		}
		if strings.Contains(f.logs.String(), "level=ERROR") {
			t.Fatalf("an unreadable secret is logged as an error:\n%s", f.logs.String())
		}
		if r := f.do(t, request{method: "GET", url: "/api/v1/orders", user: "b"}); r.status != http.StatusOK {
			t.Fatalf("shop B's orders: %d %s", r.status, r.body)
		}
	})
}
