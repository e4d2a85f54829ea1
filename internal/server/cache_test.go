package server_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// No cache may keep an answer that holds a shop's or a shopper's data: the
// API (answers, errors, its 404 and 405 alike) and the desk and hub pages
// say no-store, while hashed static assets stay cached for a year.
func TestCachingOfEveryKindOfAnswer(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("acme")
	o := app.Order(tn, "1001", "ada@example.com")
	orderID, customerID := strconv.FormatInt(o.ID, 10), strconv.FormatInt(o.CustomerID, 10)
	proxy := hubShopper(t, app, tn, "c-1001")
	token := app.Token(tn.Owner)
	desk := app.LoginAs(tn.Owner)
	const noStore = "no-store"
	for _, tc := range []struct {
		name               string
		client             *http.Client
		method, path, body string
		token              string
		status             int
		cacheControl       string
	}{
		{name: "API list", method: "GET", path: "/api/v1/customers", token: token, status: 200, cacheControl: noStore},
		{name: "API record", method: "GET", path: "/api/v1/orders/" + orderID, token: token, status: 200, cacheControl: noStore},
		{name: "API upsert", method: "PUT", path: "/api/v1/customers", body: `{"external_id":"c-2","email":"b@example.com"}`, token: token, status: 200, cacheControl: noStore},
		{name: "API settings", method: "GET", path: "/api/v1/settings/returns", token: token, status: 200, cacheControl: noStore},
		{name: "API without token", method: "GET", path: "/api/v1/customers", status: 401, cacheControl: noStore},
		{name: "API bad request", method: "PUT", path: "/api/v1/customers", body: `{`, token: token, status: 400, cacheControl: noStore},
		{name: "API record not found", method: "GET", path: "/api/v1/orders/999999", token: token, status: 404, cacheControl: noStore},
		{name: "API unknown endpoint", method: "GET", path: "/api/v1/nothing", token: token, status: 404, cacheControl: noStore},
		{name: "API wrong method", method: "DELETE", path: "/api/v1/customers", token: token, status: 405, cacheControl: noStore},
		{name: "API document", method: "GET", path: "/api/v1/openapi.json", status: 200, cacheControl: noStore},
		{name: "desk customers", client: desk, method: "GET", path: "/customers?q=ada", status: 200, cacheControl: noStore},
		{name: "desk customer", client: desk, method: "GET", path: "/customers/" + customerID, status: 200, cacheControl: noStore},
		{name: "desk order", client: desk, method: "GET", path: "/orders/" + orderID, status: 200, cacheControl: noStore},
		{name: "desk settings", client: desk, method: "GET", path: "/settings/returns", status: 200, cacheControl: noStore},
		{name: "desk tokens", client: desk, method: "GET", path: "/account/tokens", status: 200, cacheControl: noStore},
		{name: "desk not found", client: desk, method: "GET", path: "/nothing", status: 404, cacheControl: noStore},
		{name: "desk redirect to login", method: "GET", path: "/orders", status: 303, cacheControl: noStore},
		{name: "login page", method: "GET", path: "/login", status: 200, cacheControl: noStore},
		{name: "hub orders", method: "GET", path: "/hub?" + proxy, status: 200, cacheControl: noStore},
		{name: "hub order", method: "GET", path: "/hub/orders/" + orderID + "?" + proxy, status: 200, cacheControl: noStore},
		{name: "hub refused", method: "GET", path: "/hub", status: 401, cacheControl: noStore},
		{name: "static asset", method: "GET", path: app.Server.Assets().URL("desk.css"), status: 200, cacheControl: "public, max-age=31536000, immutable"},
		{name: "storefront script", method: "GET", path: "/hub/embed.js", status: 200, cacheControl: "public, max-age=3600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, h := app.Do(tc.client, tc.method, tc.path, tc.token, tc.body)
			if status != tc.status || h.Get("Cache-Control") != tc.cacheControl {
				t.Errorf("%s %s: %d with Cache-Control %q, want %d with %q", tc.method, tc.path, status, h.Get("Cache-Control"), tc.status, tc.cacheControl)
			}
		})
	}
}
