package desk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// deliveredOrder stores an order delivered yesterday, with a customer, so
// the hub preview offers Start a return for it.
func deliveredOrder(t *testing.T, app *testapp.App, tn *testapp.Tenant) *commerce.Order {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	at := now.Add(-24 * time.Hour)
	return app.Ingest(tn.Shop.ID, commerce.Order{
		ExternalID: "5001", Name: "#1001", Email: "ada@example.com", Currency: "USD", CreatedAt: now.Add(-72 * time.Hour), UpdatedAt: now,
		ShippingAddress: commerce.Address{Zip: "N1 9GU", Phone: "+44 20 7946 0321", CountryCode: "GB"},
		Fulfillments:    []commerce.Fulfillment{{ExternalID: "f1", ShipmentStatus: "delivered", DeliveredAt: &at, CreatedAt: at, UpdatedAt: at}},
	}, &commerce.Customer{ExternalID: "c-ada", Email: "ada@example.com", FirstName: "Ada", UpdatedAt: now})
}

// inText is s as html/template writes it into element text.
func inText(s string) string { return strings.ReplaceAll(html.EscapeString(s), "+", "&#43;") }

type previewJSON struct {
	URL, Text, Error, Field string
}

func askPreview(t *testing.T, app *testapp.App, c *http.Client, form url.Values) (int, previewJSON) {
	t.Helper()
	status, body, _ := post(t, app, c, "/settings/returns/preview", form)
	var p previewJSON
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("preview answer %d is not JSON: %s", status, body)
	}
	return status, p
}

// The settings page's live preview (asked while typing) and its
// server-rendered preview (after saving, without JavaScript) show exactly
// where Start a return then goes in the admin's hub preview: every portal
// provider by email and by postal code, fragment URLs with the query
// before the "#".
func TestPreviewAndStartAReturnAgree(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		o := deliveredOrder(t, app, tn)
		// A newer order not delivered yet: the sample stays the one a
		// shopper can start a return for.
		app.Order(tn, "5002", "noah@example.com")
		admin := app.LoginAs(tn.Admin)
		cases := []struct {
			form url.Values
			want string
		}{
			{url.Values{"provider": {"aftership"}, "portal_url": {"https://acme.returnscenter.com/"}, "portal_lookup": {"email"}},
				"https://acme.returnscenter.com/?order_number=%231001&email=ada%40example.com"},
			{url.Values{"provider": {"aftership"}, "portal_url": {"https://acme.returnscenter.com/"}, "portal_lookup": {"zip"}},
				"https://acme.returnscenter.com/?order_number=%231001&postal_code=N1+9GU"},
			{url.Values{"provider": {"parcellab"}, "portal_url": {"https://acme.example/returns/#/start"}, "portal_lookup": {"email"}},
				"https://acme.example/returns/?orderNo=%231001&email=ada%40example.com#/start"},
			{url.Values{"provider": {"parcellab"}, "portal_url": {"https://acme.example/returns/?lang=de#/start"}, "portal_lookup": {"zip"},
				"param_parcellab_postal": {"postcode"}},
				"https://acme.example/returns/?lang=de&orderNo=%231001&postcode=N1+9GU#/start"},
			{url.Values{"provider": {"narvar"}, "portal_url": {"https://returns.narvar.com/acme/returns"}},
				"https://returns.narvar.com/acme/returns?order=%231001&email=ada%40example.com"},
			{url.Values{"provider": {"narvar"}, "portal_url": {"https://returns.narvar.com/acme/returns"}, "portal_lookup": {"zip"}},
				"https://returns.narvar.com/acme/returns?order=%231001&dzip=N1+9GU"},
			{url.Values{"provider": {"other"}, "portal_url": {"https://acme.example/returns#/x"}}, "https://acme.example/returns#/x"},
		}
		for _, c := range cases {
			name := c.form.Get("provider") + " " + c.form.Get("portal_lookup") + " " + c.form.Get("portal_url")
			status, p := askPreview(t, app, admin, c.form)
			if status != http.StatusOK || p.URL != c.want || p.Text != c.want {
				t.Errorf("%s: live preview %d %+v, want %s", name, status, p, c.want)
			}
			if status, body, _ := post(t, app, admin, "/settings/returns", c.form); status != http.StatusSeeOther {
				t.Fatalf("%s: save %d: %s", name, status, body)
			}
			_, page, _ := app.Do(admin, "GET", "/settings/returns", "", "")
			if !strings.Contains(page, `<output id="preview-url" for="returns-form" aria-live="polite">`+inText(c.want)+`</output>`) {
				t.Errorf("%s: the saved page's preview is not %s", name, c.want)
			}
			status, _, h := post(t, app, admin, fmt.Sprintf("/settings/hub-preview/orders/%d/return?customer=%d", o.ID, o.CustomerID), nil)
			if status != http.StatusSeeOther || h.Get("Location") != c.want {
				t.Errorf("%s: Start a return in the hub preview: %d to %s, the preview said %s", name, status, h.Get("Location"), c.want)
			}
		}
	})
}

// The live preview takes the draft as typed — an empty Loop key means the
// stored one, as on save — and answers a field the save would refuse with
// 422 and the reason. Agents cannot ask.
func TestPreviewEndpoint(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	deliveredOrder(t, app, tn)
	manager := app.LoginAs(tn.Manager)

	status, p := askPreview(t, app, manager, url.Values{"provider": {"parcellab"}, "portal_url": {"returns.example.com"}})
	if status != http.StatusUnprocessableEntity || p.Field != "returns.portal_url" || !strings.Contains(p.Error, "Portal URL") {
		t.Errorf("a relative portal URL: %d %+v", status, p)
	}
	status, p = askPreview(t, app, manager, url.Values{"provider": {"narvar"}, "portal_url": {"https://r.example/"}, "param_narvar_postal": {"a b"}})
	if status != http.StatusUnprocessableEntity || p.Field != "returns.params.narvar" {
		t.Errorf("a parameter name with a space: %d %+v", status, p)
	}
	status, p = askPreview(t, app, manager, url.Values{"provider": {"loop"}, "loop_api_key": {"lk_test_key"}, "lookup_field": {"email"},
		"loop_portal_url": {"https://acme.loopreturns.com/"}})
	want := "A deep link created by Loop for #1001 when the shopper presses the button; if Loop cannot make one: " +
		"https://acme.loopreturns.com/?order=%231001&email=ada%40example.com"
	if status != http.StatusOK || p.URL != "" || p.Text != want {
		t.Errorf("Loop by email: %d %+v", status, p)
	}
	status, p = askPreview(t, app, manager, url.Values{"provider": {"loop"}, "lookup_field": {"phone"}})
	if status != http.StatusUnprocessableEntity || p.Field != "returns.loop_api_key" {
		t.Errorf("Loop without a stored key: %d %+v", status, p)
	}
	agent := app.LoginAs(tn.Agent)
	if status, _, _ := post(t, app, agent, "/settings/returns/preview", url.Values{"provider": {"other"}}); status != http.StatusForbidden {
		t.Errorf("agent: %d", status)
	}
}

// Parameter names follow one rule on the page and in the API: a name equal
// to the default is no override, and names for a provider that takes none
// are refused by both.
func TestParamNamesOneRule(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	admin := app.LoginAs(tn.Admin)
	token := app.Token(tn.Admin)

	status, body, _ := post(t, app, admin, "/settings/returns", url.Values{"provider": {"other"}, "portal_url": {"https://r.example/"},
		"param_loop_order": {"ord"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "loop takes no parameter names") {
		t.Errorf("page, names for Loop: %d", status)
	}
	status, body, _ = app.Do(nil, "PUT", "/api/v1/settings/returns", token,
		`{"provider":"other","portal_url":"https://r.example/","params":{"loop":{"order":"ord"}}}`)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "loop takes no parameter names") {
		t.Errorf("API, names for Loop: %d %s", status, body)
	}

	ctx := context.Background()
	if status, _, _ := post(t, app, admin, "/settings/returns", url.Values{"provider": {"parcellab"}, "portal_url": {"https://r.example/"},
		"param_parcellab_order": {"orderNo"}, "param_parcellab_email": {" mail "}, "param_parcellab_postal": {""}}); status != http.StatusSeeOther {
		t.Fatalf("page save: %d", status)
	}
	st, _ := app.Server.Settings.Load(ctx, tn.Shop.ID)
	fromPage := st.Draft.Returns.Params
	if status, body, _ := app.Do(nil, "PUT", "/api/v1/settings/returns", token,
		`{"provider":"parcellab","portal_url":"https://r.example/","params":{"parcellab":{"order":"orderNo","email":" mail ","postal":""}}}`); status != http.StatusOK {
		t.Fatalf("API save: %d %s", status, body)
	}
	st, _ = app.Server.Settings.Load(ctx, tn.Shop.ID)
	if fmt.Sprint(st.Draft.Returns.Params) != fmt.Sprint(fromPage) || fmt.Sprint(fromPage) != "map[parcellab:{ mail }]" {
		t.Errorf("page stored %v, API stored %v", fromPage, st.Draft.Returns.Params)
	}
}
