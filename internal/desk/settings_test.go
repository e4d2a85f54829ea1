package desk_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

func post(t *testing.T, app *testapp.App, c *http.Client, path string, form url.Values) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", app.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String(), resp.Header
}

func TestSettingsPagesAreForManagersAndAbove(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	agent := app.LoginAs(tn.Agent)
	for _, path := range []string{"/settings", "/settings/general", "/settings/returns", "/audit"} {
		if status, body, _ := app.Do(agent, "GET", path, "", ""); status != http.StatusForbidden ||
			!strings.Contains(body, "This page is for these roles: Owner, Admin or Manager. Your role is Agent; an owner or admin can change it.") {
			t.Errorf("agent GET %s: %d\n%s", path, status, body)
		}
	}
	for _, path := range []string{"/settings/general", "/settings/returns", "/settings/live"} {
		if status, _, _ := post(t, app, agent, path, url.Values{"provider": {"disabled"}}); status != http.StatusForbidden {
			t.Errorf("agent POST %s: %d", path, status)
		}
	}
	if _, body, _ := app.Do(agent, "GET", "/customers", "", ""); strings.Contains(body, `href="/settings"`) {
		t.Error("agents see the Settings menu item")
	}
	for _, u := range []string{"owner", "admin", "manager"} {
		var c *http.Client
		switch u {
		case "owner":
			c = app.LoginAs(tn.Owner)
		case "admin":
			c = app.LoginAs(tn.Admin)
		default:
			c = app.LoginAs(tn.Manager)
		}
		status, body, _ := app.Do(c, "GET", "/settings/returns", "", "")
		if status != http.StatusOK || !strings.Contains(body, `href="/settings"`) {
			t.Errorf("%s: %d", u, status)
		}
	}
}

func TestReturnsSettingsPage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		sb := sandbox.New(sandbox.Options{})
		defer sb.Close()
		loopSrv := httptest.NewServer(sb)
		defer loopSrv.Close()
		app := testapp.New(t, db, testapp.WithLoop(loopSrv.URL))
		tn := app.NewTenant("shopa")
		c := app.LoginAs(tn.Manager)
		ctx := context.Background()

		// A valid key: saved with the per-scope report, never rendered back.
		status, body, _ := post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "loop_api_key": {sandbox.KeyFull}, "lookup_field": {"zip"}})
		if status != http.StatusOK || !strings.Contains(body, "Loop key check") || strings.Count(body, "scope-granted") < 3 {
			t.Fatalf("full key: %d\n%s", status, body)
		}
		if strings.Contains(body, sandbox.KeyFull) {
			t.Fatal("the key was rendered into the page")
		}
		if !strings.Contains(body, "Saved key ending in full") {
			t.Fatal("the masked key is not shown")
		}
		if !strings.Contains(body, "A new key takes effect as soon as it is saved") {
			t.Fatal("the page does not say that a key takes effect when saved")
		}
		// Not live: a draft.
		if pub, _ := app.Server.Settings.Published(ctx, tn.Shop.ID); pub.ReturnsEnabled() {
			t.Fatal("a draft reached shoppers")
		}
		// A refused key: clear message, old key kept.
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "loop_api_key": {"bogus-key"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Loop refused this API key") || strings.Contains(body, "bogus-key") {
			t.Fatalf("bad key: %d", status)
		}
		st, _ := app.Server.Settings.Load(ctx, tn.Shop.ID)
		if st.Draft.Returns.LoopAPIKey != sandbox.KeyFull {
			t.Fatal("a refused key replaced the saved one")
		}
		// The page goes on describing the saved key, which stays in
		// effect: its last check, Loop's webhooks registered by hubdesk,
		// Loop's deep link for the sample order.
		for _, want := range []string{"Last check", `id="loop-webhooks-automatic"`, "A deep link created by Loop"} {
			if !strings.Contains(body, want) {
				t.Errorf("after a refused key the page lacks %q, which the saved key still does", want)
			}
		}
		// Orders-only key: saved, with the warning.
		_, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "loop_api_key": {sandbox.KeyOrders}})
		if !strings.Contains(body, "lacks the Returns scope") {
			t.Fatal("no warning for an Orders-only key")
		}
		// Going live warns about it before publishing.
		_, body, _ = app.Do(c, http.MethodGet, "/settings/general", "", "")
		if i := strings.Index(body, `<dialog id="live-confirm"`); i < 0 || !strings.Contains(body[i:], "lacks the Returns scope") {
			t.Fatalf("the go-live confirmation does not warn about the key:\n%s", body)
		}
		// A refused key now: one message, no scope table, no warnings
		// about the saved key.
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "loop_api_key": {"bogus-key"}})
		body = withoutGoLiveDialog(body) // which speaks of the saved draft
		if status != http.StatusUnprocessableEntity || strings.Count(body, "Loop refused this API key") != 1 ||
			strings.Contains(body, `id="key-report"`) || strings.Contains(body, `class="alert warn"`) {
			t.Fatalf("refused key: %d\n%s", status, body)
		}
		// Another provider chosen (the save refused for its portal URL):
		// Loop's scopes are no longer worth a warning.
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"aftership"}, "portal_url": {"http://insecure.example/"}})
		body = withoutGoLiveDialog(body)
		if status != http.StatusUnprocessableEntity || strings.Contains(body, "lacks the Returns scope") {
			t.Fatalf("aftership chosen: %d, Loop warnings shown: %v", status, strings.Contains(body, "lacks the Returns scope"))
		}
		// Loop down: the page offers "Save anyway".
		sb.SetFaults(sandbox.Faults{Outage: true})
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "loop_api_key": {sandbox.KeyReturns}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, `name="save_anyway"`) {
			t.Fatalf("Loop down: %d, save anyway offered: %v", status, strings.Contains(body, "save_anyway"))
		}
		status, _, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "loop_api_key": {sandbox.KeyReturns}, "save_anyway": {"1"}})
		if status != http.StatusOK {
			t.Fatalf("save anyway: %d", status)
		}
		sb.SetFaults(sandbox.Faults{})
		// A portal provider: bad URL refused, good one saved with a preview.
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"aftership"}, "portal_url": {"http://returns.example.com/"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "must use https") || !strings.Contains(body, `aria-invalid="true"`) {
			t.Fatalf("http portal URL: %d", status)
		}
		status, _, h := post(t, app, c, "/settings/returns", url.Values{"provider": {"aftership"}, "portal_url": {"https://acme.returnscenter.com/"},
			"param_aftership_order": {"order_number"}, "param_aftership_email": {"customer_email"}})
		if status != http.StatusSeeOther || h.Get("Location") != "/settings/returns?saved=1" {
			t.Fatalf("aftership: %d %s", status, h.Get("Location"))
		}
		app.Order(tn, "1001", "ada@example.com")
		_, body, _ = app.Do(c, "GET", "/settings/returns?saved=1", "", "")
		if !strings.Contains(body, "https://acme.returnscenter.com/?order_number=%231001&amp;customer_email=ada%40example.com") {
			t.Fatalf("preview missing:\n%s", body)
		}
		// Going live first says what will change for shoppers and
		// publishes nothing; confirmed, it publishes the draft.
		status, body, _ = post(t, app, c, "/settings/live", url.Values{"live": {"on"}, "tab": {"returns"}})
		if status != http.StatusOK || !strings.Contains(body, `<dialog id="live-confirm" aria-labelledby="live-confirm-title" open>`) ||
			!strings.Contains(body, "<li>Shoppers will see Start a return, going to AfterShip Returns.</li>") || !strings.Contains(body, `id="returns-form"`) {
			t.Fatalf("unconfirmed go live: %d\n%s", status, body)
		}
		if pub, _ := app.Server.Settings.Published(ctx, tn.Shop.ID); pub.Returns.Provider == returns.ProviderAfterShip {
			t.Fatal("an unconfirmed go live published the draft")
		}
		if status, _, h := post(t, app, c, "/settings/live", url.Values{"live": {"on"}, "tab": {"returns"}, "confirmed": {"1"}}); status != http.StatusSeeOther ||
			h.Get("Location") != "/settings/returns?saved=1" {
			t.Fatalf("live: %d %s", status, h.Get("Location"))
		}
		pub, _ := app.Server.Settings.Published(ctx, tn.Shop.ID)
		if pub.Returns.Provider != returns.ProviderAfterShip || pub.ParamsFor(returns.ProviderAfterShip).Email != "customer_email" {
			t.Fatalf("published: %+v", pub.Returns)
		}
		// The audit page lists the changes in words, without the key.
		_, body, _ = app.Do(c, "GET", "/audit", "", "")
		if !strings.Contains(body, "<td>Hub published</td>") || !strings.Contains(body, "Fields: Loop API key") || strings.Contains(body, sandbox.KeyFull) {
			t.Fatalf("audit page:\n%s", body)
		}
	})
}

func TestGeneralSettingsPage(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	c := app.LoginAs(tn.Admin)
	status, body, _ := post(t, app, c, "/settings/general", url.Values{"hub_enabled": {"on"}, "return_window_days": {"0"}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Return window") {
		t.Fatalf("bad window: %d", status)
	}
	status, _, _ = post(t, app, c, "/settings/general", url.Values{"return_window_days": {"45"}, "help_centre_url": {"https://help.example.com/"}})
	if status != http.StatusSeeOther {
		t.Fatalf("save: %d", status)
	}
	st, _ := app.Server.Settings.Load(context.Background(), tn.Shop.ID)
	if st.Draft.General.HubEnabled || st.Draft.General.ReturnWindowDays != 45 || st.Draft.General.HelpCentreURL != "https://help.example.com/" {
		t.Fatalf("draft: %+v", st.Draft.General)
	}
}

// The General tab lists the storefront domains one a line, saves them
// normalised, and shows a bad one back with the reason and what was typed.
func TestGeneralSettingsStorefrontDomains(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	c := app.LoginAs(tn.Admin)
	form := url.Values{"hub_enabled": {"on"}, "return_window_days": {"30"}}
	form.Set("storefront_domains", "https://shop.example.com/\nwww.shop.example.com")
	status, body, _ := post(t, app, c, "/settings/general", form)
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Storefront domains:") || !strings.Contains(body, "https://shop.example.com/\nwww.shop.example.com\n</textarea>") {
		t.Fatalf("bad domain: %d\n%s", status, body)
	}
	form.Set("storefront_domains", "Shop.Example.com, www.shop.example.com\r\nshop.example.com\r\n")
	if status, body, _ = post(t, app, c, "/settings/general", form); status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", status, body)
	}
	st, _ := app.Server.Settings.Load(context.Background(), tn.Shop.ID)
	if got := strings.Join(st.Draft.General.StorefrontDomains, " "); got != "shop.example.com www.shop.example.com" {
		t.Fatalf("draft storefront domains: %q", got)
	}
	status, body, _ = app.Do(c, http.MethodGet, "/settings/general", "", "")
	if status != http.StatusOK || !strings.Contains(body, ">shop.example.com\nwww.shop.example.com\n</textarea>") || !strings.Contains(body, "shopa.myshopify.com") {
		t.Fatalf("page after save: %d\n%s", status, body)
	}
}

// The General tab shows "Show the hub inside the store's theme" ticked
// for a new shop and saves it switched off and on.
func TestGeneralSettingsInTheme(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	c := app.LoginAs(tn.Admin)
	_, body, _ := app.Do(c, http.MethodGet, "/settings/general", "", "")
	if !strings.Contains(body, `<input type="checkbox" name="in_theme" aria-describedby="in-theme-hint" checked>`) {
		t.Fatalf("a new shop's setting is not shown on:\n%s", body)
	}
	for _, on := range []bool{false, true} {
		form := url.Values{"hub_enabled": {"on"}, "return_window_days": {"30"}}
		if on {
			form.Set("in_theme", "on")
		}
		if status, body, _ := post(t, app, c, "/settings/general", form); status != http.StatusSeeOther {
			t.Fatalf("save: %d\n%s", status, body)
		}
		if st, _ := app.Server.Settings.Load(context.Background(), tn.Shop.ID); st.Draft.General.InTheme != on {
			t.Fatalf("saved %v, stored %v", on, st.Draft.General.InTheme)
		}
	}
}

// Staff create their own API tokens in the desk, see each once, use it,
// and revoke it; another user's token cannot be revoked.
func TestAPITokenPages(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	agent := app.LoginAs(tn.Agent)
	status, body, _ := post(t, app, agent, "/account/tokens", url.Values{"name": {"Shopify sync"}})
	i := strings.Index(body, `<output id="new-token">`)
	if status != http.StatusOK || i < 0 {
		t.Fatalf("create: %d", status)
	}
	token := body[i+len(`<output id="new-token">`):]
	token = token[:strings.Index(token, "<")]
	if status, _, _ := app.Do(nil, "GET", "/api/v1/orders", token, ""); status != http.StatusOK {
		t.Fatalf("the new token does not work: %d", status)
	}
	_, page, _ := app.Do(agent, "GET", "/account/tokens", "", "")
	if !strings.Contains(page, "Shopify sync") || strings.Contains(page, token) {
		t.Fatal("the list must name the token and never show it again")
	}
	list, _ := app.Server.Users.APITokens(context.Background(), tn.Agent)
	// The owner cannot revoke the agent's token by id.
	owner := app.LoginAs(tn.Owner)
	if status, _, _ := post(t, app, owner, fmt.Sprintf("/account/tokens/%d/revoke", list[0].ID), nil); status != http.StatusNotFound {
		t.Fatalf("revoking another user's token: %d", status)
	}
	if status, _, _ := post(t, app, agent, fmt.Sprintf("/account/tokens/%d/revoke", list[0].ID), nil); status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", status)
	}
	if status, _, _ := app.Do(nil, "GET", "/api/v1/orders", token, ""); status != http.StatusUnauthorized {
		t.Fatalf("a revoked token still works: %d", status)
	}
	if status, _, _ := post(t, app, agent, "/account/tokens", url.Values{"name": {""}}); status != http.StatusUnprocessableEntity {
		t.Fatalf("a nameless token: %d", status)
	}
}

// The Loop webhook secret is set on the Returns tab, stored sealed,
// verifies Loop's deliveries at once, is kept when the field is left
// empty and never rendered; the page shows where Loop is to deliver.
func TestReturnsSettingsPageSetsTheLoopWebhookSecret(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		c := app.LoginAs(tn.Manager)
		const whSecret = "whsec-desk-51b2e8"

		_, body, _ := app.Do(c, "GET", "/settings/returns", "", "")
		if !strings.Contains(body, app.URL+"/webhooks/loop/shopa.myshopify.com") {
			t.Fatal("the page does not show the webhook URL to give Loop")
		}
		status, _, _ := post(t, app, c, "/settings/returns", url.Values{"provider": {"disabled"}, "loop_webhook_secret": {whSecret}})
		if status != http.StatusSeeOther {
			t.Fatalf("save the secret: %d", status)
		}
		app.CheckLoopWebhookSecret(t, tn, whSecret)

		// Left empty: kept.
		status, _, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"disabled"}, "loop_webhook_secret": {""}})
		if status != http.StatusSeeOther {
			t.Fatalf("save without the secret: %d", status)
		}
		app.CheckLoopWebhookSecret(t, tn, whSecret)
		_, body, _ = app.Do(c, "GET", "/settings/returns", "", "")
		if strings.Contains(body, whSecret) || !strings.Contains(body, "Saved secret ending in b2e8") {
			t.Fatal("the page renders the secret, or not its last four characters")
		}
		if !strings.Contains(body, "A new secret takes effect as soon as it is saved") {
			t.Fatal("the page does not say that the secret takes effect when saved")
		}
		// Refused with another field: neither secret rendered back.
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"aftership"}, "portal_url": {"http://x.example/"}, "loop_webhook_secret": {"whsec-new-0000"}})
		if status != http.StatusUnprocessableEntity || strings.Contains(body, "whsec-new-0000") || strings.Contains(body, whSecret) {
			t.Fatalf("refused save: %d, or a secret rendered back", status)
		}
		app.CheckLoopWebhookSecret(t, tn, whSecret)
	})
}

// Beside a saved Loop webhook secret the Returns tab offers to remove it;
// ticking the box removes it (an empty field alone keeps it), the audit
// log names the removal, never the value, and Loop's deliveries are
// refused afterwards. The box is refused together with a new secret.
func TestReturnsSettingsPageRemovesTheLoopWebhookSecret(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		c := app.LoginAs(tn.Manager)
		const whSecret = "whsec-desk-rm-9e41"

		_, body, _ := app.Do(c, "GET", "/settings/returns", "", "")
		if strings.Contains(body, `name="loop_webhook_secret_remove"`) {
			t.Fatal("the page offers to remove a secret that is not saved")
		}
		if status, _, _ := post(t, app, c, "/settings/returns", url.Values{"provider": {"disabled"}, "loop_webhook_secret": {whSecret}}); status != http.StatusSeeOther {
			t.Fatalf("save the secret: %d", status)
		}
		_, body, _ = app.Do(c, "GET", "/settings/returns", "", "")
		if !strings.Contains(body, `name="loop_webhook_secret_remove"`) || !strings.Contains(body, "data-confirm=") {
			t.Fatal("the page does not offer to remove the saved secret, with a confirmation")
		}

		status, body, _ := post(t, app, c, "/settings/returns", url.Values{"provider": {"disabled"},
			"loop_webhook_secret": {"whsec-new-1111"}, "loop_webhook_secret_remove": {"on"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "not both") {
			t.Fatalf("remove with a new secret: %d, want 422 saying why", status)
		}
		app.CheckLoopWebhookSecret(t, tn, whSecret)

		if status, _, _ := post(t, app, c, "/settings/returns", url.Values{"provider": {"disabled"}, "loop_webhook_secret_remove": {"on"}}); status != http.StatusSeeOther {
			t.Fatalf("remove the secret: %d", status)
		}
		app.CheckLoopWebhookSecretRemoved(t, tn, whSecret)
		_, body, _ = app.Do(c, "GET", "/settings/returns", "", "")
		if strings.Contains(body, "Saved secret ending in") || strings.Contains(body, `name="loop_webhook_secret_remove"`) {
			t.Fatal("the page still shows a saved secret")
		}
		_, body, _ = app.Do(c, "GET", "/audit?action=settings.changed", "", "")
		if !strings.Contains(body, "Removed: Loop webhook secret") || strings.Contains(body, whSecret) {
			t.Fatalf("the audit log does not name the removal, or holds the secret:\n%.3000s", body)
		}
	})
}

// A Loop API key and webhook secret sealed with a HUBDESK_SECRET_KEY this
// server is not given no longer close the Returns tab: it opens, says
// beside each field that the saved value cannot be read, shows no last
// four characters, and refuses (422, on the field) a save that would keep
// one; entering it again or removing it replaces it, the audit log says
// which, by name only. Another shop is untouched.
func TestReturnsSettingsPageReentersUnreadableLoopCredentials(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		sb := sandbox.New(sandbox.Options{})
		defer sb.Close()
		loopSrv := httptest.NewServer(sb)
		defer loopSrv.Close()
		app := testapp.New(t, db, testapp.WithLoop(loopSrv.URL))
		ctx := context.Background()
		tn, neighbour := app.NewTenant("shopa"), app.NewTenant("shopb")
		c, nc := app.LoginAs(tn.Manager), app.LoginAs(neighbour.Manager)
		app.Order(tn, "1001", "ada@example.com") // the preview's sample order
		const neighbourSecret = "whsec-neighbour-5e0d"
		if status, _, _ := post(t, app, nc, "/settings/returns", url.Values{"provider": {"loop"}, "lookup_field": {"zip"},
			"loop_api_key": {sandbox.KeyFull}, "loop_webhook_secret": {neighbourSecret}}); status != http.StatusOK {
			t.Fatalf("the neighbour's save: %d", status)
		}
		// shopa's were saved by a process given another key, before this
		// server read them (it would use what it read for connection.CacheTTL).
		sealWithAnotherKey(t, db, tn.Shop.ID, connection.ProviderLoop, connection.ProviderLoopWebhook)
		if _, err := returns.NewStore(db).Update(ctx, tn.Shop.ID, func(cfg *returns.Config) error {
			cfg.Returns = returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyFull, LookupField: returns.LookupZip}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		const keyNotice = "The saved Loop API key was sealed with another secret key and cannot be read: enter it again"
		const secretNotice = "The saved Loop webhook secret was sealed with another secret key and cannot be read: enter it again"

		status, body, _ := app.Do(c, "GET", "/settings/returns", "", "")
		if status != http.StatusOK {
			t.Fatalf("the Returns tab with unreadable credentials: %d\n%.2000s", status, body)
		}
		for _, want := range []string{keyNotice, secretNotice, `name="loop_api_key_remove"`, `name="loop_webhook_secret_remove"`, "If that key is lost, enter them again"} {
			if !strings.Contains(body, want) {
				t.Errorf("the page does not show %q", want)
			}
		}
		if strings.Contains(body, "Saved key ending in") || strings.Contains(body, "Saved secret ending in") {
			t.Error("the page shows last four characters of a value it cannot read")
		}

		// Any other change keeps them: refused on the field, nothing changed.
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "lookup_field": {"email"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Loop API key cannot be read") ||
			!strings.Contains(body, `id="loop_api_key" name="loop_api_key"`) || !strings.Contains(body, keyNotice) {
			t.Fatalf("a save keeping the unreadable key: %d, want 422 saying so on the field\n%.3000s", status, body)
		}
		if !regexpMatch(body, `id="loop_api_key"[^>]*aria-invalid="true"`) {
			t.Error("the key field is not marked invalid")
		}
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "lookup_field": {"zip"}, "loop_api_key": {sandbox.KeyFull}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "Loop webhook secret cannot be read") {
			t.Fatalf("a new key keeping the unreadable webhook secret: %d, want 422 on the secret", status)
		}
		if names, _ := app.Server.Secrets.Unreadable(ctx, tn.Shop.ID); len(names) != 2 {
			t.Fatalf("a refused save changed what is stored: unreadable now %v", names)
		}

		// A new key, the secret removed: saved.
		status, body, _ = post(t, app, c, "/settings/returns", url.Values{"provider": {"loop"}, "lookup_field": {"zip"},
			"loop_api_key": {sandbox.KeyFull}, "loop_webhook_secret_remove": {"on"}})
		if status != http.StatusOK || !strings.Contains(body, "Saved key ending in full") || strings.Contains(body, keyNotice) || strings.Contains(body, secretNotice) {
			t.Fatalf("re-entering the key and removing the secret: %d\n%.3000s", status, body)
		}
		app.CheckLoopWebhookSecretRemoved(t, tn, "sealed-elsewhere-loop_webhook")
		if names, err := app.Server.Secrets.Unreadable(ctx, tn.Shop.ID); err != nil || len(names) != 0 {
			t.Fatalf("still unreadable: %v %v", names, err)
		}
		if st, err := app.Server.Settings.Load(ctx, tn.Shop.ID); err != nil || st.Draft.Returns.LoopAPIKey != sandbox.KeyFull {
			t.Fatalf("the key in force: %v", err)
		}
		_, body, _ = app.Do(c, "GET", "/audit?action=settings.changed", "", "")
		if !strings.Contains(body, "Re-entered: Loop API key") || !strings.Contains(body, "Removed: Loop webhook secret") || strings.Contains(body, sandbox.KeyFull) {
			t.Fatalf("the audit log does not name the re-entry and the removal, or holds the key:\n%.3000s", body)
		}

		// The neighbour saw none of it.
		_, body, _ = app.Do(nc, "GET", "/settings/returns", "", "")
		if !strings.Contains(body, "Saved key ending in full") || !strings.Contains(body, "Saved secret ending in 5e0d") || strings.Contains(body, "cannot be read") {
			t.Fatal("the neighbour's Returns tab changed")
		}
		app.CheckLoopWebhookSecret(t, neighbour, neighbourSecret)
	})
}

func regexpMatch(s, pattern string) bool {
	return regexp.MustCompile(pattern).MatchString(s)
}

// sealWithAnotherKey saves the shop's connections to providers sealed by a
// box this server is not given, as a process started with another
// HUBDESK_SECRET_KEY would have: the credential is "sealed-elsewhere-"
// and the provider.
func sealWithAnotherKey(t *testing.T, db *database.DB, shopID int64, providers ...connection.Provider) {
	t.Helper()
	otherKey, err := secret.NewBox(1, map[int][]byte{1: bytes.Repeat([]byte{9}, secret.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range providers {
		if err := connection.NewStore(db, otherKey).Save(context.Background(), shopID, &connection.Connection{Provider: p,
			Credentials: "sealed-elsewhere-" + string(p), Status: connection.StatusUnverified}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// withoutGoLiveDialog is a settings page without the Live switch's
// confirmation, which describes the saved draft rather than the form.
func withoutGoLiveDialog(body string) string {
	i := strings.Index(body, `<dialog id="live-confirm"`)
	j := strings.Index(body, "</dialog>")
	if i < 0 || j < i {
		return body
	}
	return body[:i] + body[j:]
}
