package hub_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// TestRepeatedIdentityThroughTheStorefront puts the Shopify storefront
// sandbox in front of the hub, in the mode where the App Proxy keeps the
// shopper's own identity parameters ahead of its signed ones. Whoever adds
// Ada's customer id (or another shop, prefix or timestamp) to the
// storefront URL gets the same 401 as any bad signature and sees nothing,
// and a post so crafted creates nothing.
func TestRepeatedIdentityThroughTheStorefront(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		sb := sandbox.New(sandbox.Options{Shop: acmeDomain, ClientSecret: acmeSecret, ProxyTarget: f.app.URL + "/hub",
			Customers: []sandbox.Customer{{ID: "2002", Email: "bob@example.com", FirstName: "Bob"}}, ForwardShopperDuplicates: true})
		srv := httptest.NewServer(sb)
		t.Cleanup(srv.Close)
		sb.SetBaseURL(srv.URL)

		loggedOut := f.app.Browser()
		bob := f.app.Browser()
		if res := send(t, bob, http.MethodGet, sb.LoginAsURL("2002", "/"), nil); res.status != http.StatusSeeOther {
			t.Fatalf("log in as Bob: %d", res.status)
		}
		if res := send(t, bob, http.MethodGet, srv.URL+"/apps/hub", nil); res.status != http.StatusOK || !strings.Contains(res.body, "Hello Bob") {
			t.Fatalf("Bob's own hub: %d\n%s", res.status, res.body)
		}

		adas := "/apps/hub/orders/" + id(f.orders["#1001"])
		for _, c := range []struct {
			name   string
			client *http.Client
			path   string
		}{
			{"logged out, Ada's id added", loggedOut, "/apps/hub?logged_in_customer_id=1001"},
			{"Bob, Ada's id added", bob, "/apps/hub?logged_in_customer_id=1001"},
			{"Bob, Ada's order with her id", bob, adas + "?logged_in_customer_id=1001"},
			{"another shop added", bob, "/apps/hub?shop=" + otherDomain},
			{"another prefix added", bob, "/apps/hub?path_prefix=%2Fapps%2Fother"},
			{"an old timestamp added", bob, "/apps/hub?timestamp=1"},
			{"a signature added", bob, "/apps/hub?signature=00"},
			{"an hmac added", bob, "/apps/hub?hmac=00&hmac=11"},
		} {
			t.Run(c.name, func(t *testing.T) {
				res := send(t, c.client, http.MethodGet, srv.URL+c.path, nil)
				if res.status != http.StatusUnauthorized {
					t.Fatalf("status %d, want 401\n%s", res.status, res.body)
				}
				mustNotContain(t, res.body, "Ada", "Bob", "#1001", "#2001", "Merino")
			})
		}

		res := send(t, bob, http.MethodPost, srv.URL+adas+"/contact?logged_in_customer_id=1001", url.Values{"message": {"Send it to me instead"}})
		if res.status != http.StatusUnauthorized {
			t.Fatalf("crafted contact post: %d", res.status)
		}
		if tickets, _, _ := f.app.Server.Tickets.List(t.Context(), f.acme.Shop.ID, ticket.Filter{}, database.Page{}); len(tickets) != 0 {
			t.Fatalf("a crafted post opened %d tickets", len(tickets))
		}
	})
}
