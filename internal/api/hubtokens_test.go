package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/api/apitest"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// TestHubTokens: Owner and Admin tokens get a shopper token for a
// customer of their own shop; other roles, other shops' customers and
// malformed requests are refused. Every answer matches openapi.json. (The
// hub's acceptance of the tokens is tested in package hub.)
func TestHubTokens(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		a, b := app.NewTenant("tokena"), app.NewTenant("tokenb")
		ada := app.Order(a, "1001", "ada@example.com")
		bob := app.Order(b, "2001", "bob@example.com")
		v := apitest.NewValidator(t)
		call := func(token, body string) (int, string) {
			t.Helper()
			status, resp, _ := app.Do(nil, http.MethodPost, "/api/v1/hub/tokens", token, body)
			v.Validate(t, http.MethodPost, "/api/v1/hub/tokens", status, []byte(resp))
			return status, resp
		}
		owner, admin := app.Token(a.Owner), app.Token(a.Admin)
		cases := []struct {
			name, token, body string
			want              int
		}{
			{"owner by hubdesk id", owner, `{"customer_id": ` + itoa(ada.CustomerID) + `}`, http.StatusOK},
			{"admin by store id", admin, `{"customer_external_id": "c-1001"}`, http.StatusOK},
			{"manager", app.Token(a.Manager), `{"customer_id": ` + itoa(ada.CustomerID) + `}`, http.StatusForbidden},
			{"agent", app.Token(a.Agent), `{"customer_id": ` + itoa(ada.CustomerID) + `}`, http.StatusForbidden},
			{"no token", "", `{"customer_id": 1}`, http.StatusUnauthorized},
			{"another shop's customer", admin, `{"customer_id": ` + itoa(bob.CustomerID) + `}`, http.StatusNotFound},
			{"another shop's store id", admin, `{"customer_external_id": "c-2001"}`, http.StatusNotFound},
			{"neither", admin, `{}`, http.StatusBadRequest},
			{"both", admin, `{"customer_id": 1, "customer_external_id": "x"}`, http.StatusBadRequest},
			{"unknown field", admin, `{"customer": 1}`, http.StatusBadRequest},
			{"wrong type", admin, `{"customer_id": "1"}`, http.StatusBadRequest},
		}
		for _, c := range cases {
			status, resp := call(c.token, c.body)
			if status != c.want {
				t.Errorf("%s: %d, want %d: %s", c.name, status, c.want, resp)
				continue
			}
			if status != http.StatusOK {
				continue
			}
			var got struct {
				Token      string    `json:"token"`
				ExpiresAt  time.Time `json:"expires_at"`
				HubURL     string    `json:"hub_url"`
				CustomerID int64     `json:"customer_id"`
			}
			if err := json.Unmarshal([]byte(resp), &got); err != nil {
				t.Fatal(err)
			}
			if got.CustomerID != ada.CustomerID || got.Token == "" || !strings.HasSuffix(got.HubURL, "/hub?token="+url.QueryEscape(got.Token)) ||
				time.Until(got.ExpiresAt) <= 0 || time.Until(got.ExpiresAt) > 15*time.Minute {
				t.Errorf("%s: %+v", c.name, got)
			}
		}
		// A shop without a client secret cannot sign tokens: a clear 409.
		if err := app.Server.Shops.SetClientSecret(t.Context(), a.Shop.ID, ""); err != nil {
			t.Fatal(err)
		}
		if status, resp := call(owner, `{"customer_id": `+itoa(ada.CustomerID)+`}`); status != http.StatusConflict || !strings.Contains(resp, "no_client_secret") {
			t.Errorf("no client secret: %d %s", status, resp)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
