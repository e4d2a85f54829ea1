package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// rowCounts counts the rows of every table a request could write to.
func rowCounts(t *testing.T, db *database.DB) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, table := range []string{"shops", "users", "sessions", "api_tokens", "customers", "orders", "line_items",
		"fulfillments", "shop_settings", "audit_log", "returns", "tickets", "ticket_messages"} {
		var n int
		if err := db.QueryRow(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		counts[table] = n
	}
	return counts
}

// hubShopper publishes the default settings (hub on) and returns a signed
// App Proxy query for the shopper with the given platform id.
func hubShopper(t *testing.T, app *testapp.App, tn *testapp.Tenant, customerExternalID string) string {
	t.Helper()
	ctx := context.Background()
	actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
	if _, err := app.Server.Settings.Save(ctx, tn.Shop.ID, returns.DefaultConfig(), actor); err != nil {
		t.Fatal(err)
	}
	if err := app.Server.Settings.SetLive(ctx, tn.Shop.ID, true, actor); err != nil {
		t.Fatal(err)
	}
	return shopify.SignedProxyQuery(nil, shopify.ProxyParams{Shop: tn.Shop.Domain, LoggedInCustomerID: customerExternalID,
		PathPrefix: "/apps/hub", Timestamp: time.Now()}, tn.Shop.Name+"-client-secret").Encode()
}

// send makes one request with a raw body (which may hold any bytes).
func send(t *testing.T, app *testapp.App, c *http.Client, method, path, contentType, token, body string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, app.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c == nil {
		c = app.Browser()
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Text that PostgreSQL cannot store (a NUL character, bytes that are not
// UTF-8) is refused with a 400 in each surface's own style before any
// store is reached, on both engines alike: nothing is written, nothing
// fails with a 500.
func TestUnstorableTextIsRefusedEverywhere(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("acme")
		o := app.Order(tn, "1001", "ada@example.com")
		proxy := hubShopper(t, app, tn, "c-1001")
		contact := "/hub/orders/" + strconv.FormatInt(o.ID, 10) + "/contact?" + proxy
		token := app.Token(tn.Manager)
		desk := app.LoginAs(tn.Agent)
		const form, jsonType = "application/x-www-form-urlencoded", "application/json"
		customer := func(firstName string) string {
			return `{"external_id":"c-new","email":"new@example.com","first_name":"` + firstName + `"}`
		}

		type surface int
		const (
			deskPage surface = iota
			hubPage
			apiJSON
		)
		for _, tc := range []struct {
			name                string
			client              *http.Client
			method, path, ctype string
			token, body         string
			surface             surface
			field               string // API: the field the error names
		}{
			{name: "hub contact with NUL", method: "POST", path: contact, ctype: form, body: "message=Hello%00there", surface: hubPage},
			{name: "hub contact with raw NUL byte", method: "POST", path: contact, ctype: form, body: "message=Hello\x00there", surface: hubPage},
			{name: "hub contact not UTF-8", method: "POST", path: contact, ctype: form, body: "message=Gr%FC%DFe", surface: hubPage},
			{name: "hub contact raw bytes not UTF-8", method: "POST", path: contact, ctype: form, body: "message=Gr\xfc\xdfe", surface: hubPage},
			{name: "hub contact multipart with NUL", method: "POST", path: contact, ctype: "multipart/form-data; boundary=XX",
				body: "--XX\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nHello\x00there\r\n--XX--\r\n", surface: hubPage},
			{name: "hub shop with NUL", method: "GET", path: "/hub?shop=acme.myshopify.com%00&timestamp=1&signature=00", surface: hubPage},
			{name: "hub shop not UTF-8", method: "GET", path: "/hub?shop=%FF&timestamp=1&signature=00", surface: hubPage},
			{name: "API customer name with NUL", method: "PUT", path: "/api/v1/customers", ctype: jsonType, token: token,
				body: customer(`Ada\u0000`), surface: apiJSON, field: "first_name"},
			{name: "API customer name not UTF-8", method: "PUT", path: "/api/v1/customers", ctype: jsonType, token: token,
				body: customer("Ada\xff"), surface: apiJSON},
			{name: "API order line title with NUL", method: "PUT", path: "/api/v1/orders", ctype: jsonType, token: token,
				body:    `{"external_id":"9001","name":"#9001","currency":"EUR","total":"1.00","line_items":[{"title":"Mug","quantity":1,"price":"1.00"},{"title":"\u0000","quantity":1,"price":"0.00"}]}`,
				surface: apiJSON, field: "line_items[1].title"},
			{name: "API search with NUL", method: "GET", path: "/api/v1/customers?q=%00", token: token, surface: apiJSON, field: "q"},
			{name: "API search not UTF-8", method: "GET", path: "/api/v1/orders?q=%FF", token: token, surface: apiJSON, field: "q"},
			{name: "API path with NUL", method: "GET", path: "/api/v1/customers/%00", token: token, surface: apiJSON},
			{name: "desk search with NUL", client: desk, method: "GET", path: "/customers?q=%00", surface: deskPage},
			{name: "desk search not UTF-8", client: desk, method: "GET", path: "/customers?q=%FF", surface: deskPage},
			{name: "desk order search with NUL", client: desk, method: "GET", path: "/orders?q=a%00", surface: deskPage},
			{name: "desk path with NUL", client: desk, method: "GET", path: "/customers/%00", surface: deskPage},
			{name: "desk path not UTF-8", client: desk, method: "GET", path: "/orders/%FF", surface: deskPage},
			{name: "login email with NUL", method: "POST", path: "/login", ctype: form, body: "email=agent%40acme.test%00&password=x", surface: deskPage},
			{name: "login password not UTF-8", method: "POST", path: "/login", ctype: form, body: "email=agent%40acme.test&password=%FF", surface: deskPage},
			{name: "API token name with NUL", client: desk, method: "POST", path: "/account/tokens", ctype: form, body: "name=ci%00", surface: deskPage},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := rowCounts(t, db)
				status, h, body := send(t, app, tc.client, tc.method, tc.path, tc.ctype, tc.token, tc.body)
				if status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400\n%s", status, body)
				}
				switch tc.surface {
				case apiJSON:
					var e struct {
						Error struct{ Code, Message, Field string }
					}
					if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "invalid_request" || e.Error.Field != tc.field {
						t.Errorf("API error %s, want code invalid_request, field %q", body, tc.field)
					}
				case hubPage:
					if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "This request was refused") {
						t.Errorf("hub answer %s:\n%s", h.Get("Content-Type"), body)
					}
				case deskPage:
					if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(body, "NUL character or bytes that are not UTF-8") {
						t.Errorf("desk answer %s:\n%s", h.Get("Content-Type"), body)
					}
				}
				if after := rowCounts(t, db); !equalCounts(before, after) {
					t.Errorf("rows changed: %v → %v", before, after)
				}
			})
		}

		// Tabs and newlines are ordinary text: a message with them is
		// stored as written, as is a name in any script.
		msg := "Where is my parcel?\n\tIt was due on Monday. Grüße"
		status, h, body := send(t, app, nil, "POST", contact, form, "", url.Values{"message": {msg}}.Encode())
		if status != http.StatusSeeOther {
			t.Fatalf("contact with tab and newline: %d %s\n%s", status, h.Get("Location"), body)
		}
		list, _, err := app.Server.Tickets.List(context.Background(), tn.Shop.ID, ticket.Filter{}, database.Page{})
		if err != nil || len(list) != 1 {
			t.Fatalf("tickets = %v, %v", list, err)
		}
		msgs, err := app.Server.Tickets.Messages(context.Background(), tn.Shop.ID, list[0].ID)
		if err != nil || len(msgs) != 1 || msgs[0].Body != msg {
			t.Fatalf("stored messages = %+v, %v", msgs, err)
		}
		if status, _, body := send(t, app, nil, "PUT", "/api/v1/customers", jsonType, token, customer(`Zoë\tÅsa`)); status != http.StatusOK || !strings.Contains(body, `"first_name":"Zoë\tÅsa"`) {
			t.Fatalf("customer with a tab: %d %s", status, body)
		}
		if status, _, _ := send(t, app, desk, "GET", "/customers?q="+url.QueryEscape("Zoë"), "", "", ""); status != http.StatusOK {
			t.Fatalf("desk search in UTF-8: %d", status)
		}
	})
}

func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}
