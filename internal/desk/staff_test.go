package desk_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

func TestStaffPageIsForOwnersAndAdmins(t *testing.T) {
	app := testapp.New(t, dbtest.Open(t, database.SQLite))
	tn := app.NewTenant("shopa")
	for _, u := range []struct {
		name    string
		client  *http.Client
		allowed bool
	}{
		{"agent", app.LoginAs(tn.Agent), false},
		{"manager", app.LoginAs(tn.Manager), false},
		{"admin", app.LoginAs(tn.Admin), true},
		{"owner", app.LoginAs(tn.Owner), true},
	} {
		status, body, _ := app.Do(u.client, "GET", "/settings/staff", "", "")
		if u.allowed != (status == http.StatusOK) {
			t.Errorf("%s GET /settings/staff: %d", u.name, status)
		}
		_, home, _ := app.Do(u.client, "GET", "/customers", "", "")
		if u.allowed != strings.Contains(home, `href="/settings/staff"`) {
			t.Errorf("%s: Staff in the menu is %v", u.name, !u.allowed)
		}
		if u.allowed {
			if !strings.Contains(body, `<a href="/settings/staff" aria-current="page">Staff</a>`) || strings.Contains(body, `<a href="/settings" aria-current="page">`) {
				t.Errorf("%s: the Staff page is not the current menu item", u.name)
			}
			continue
		}
		for _, path := range []string{
			fmt.Sprintf("/settings/staff/%d/disable", tn.Owner.ID),
			fmt.Sprintf("/settings/staff/%d/enable", tn.Owner.ID),
			"/settings/staff/tokens/1/revoke",
		} {
			if status, _, _ := post(t, app, u.client, path, nil); status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d", u.name, path, status)
			}
		}
	}
}

func TestOwnerOffboardsAnAgent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn, other := app.NewTenant("shopa"), app.NewTenant("shopb")
		agent := app.LoginAs(tn.Agent)
		agentToken := app.Token(tn.Agent)
		owner := app.LoginAs(tn.Owner)
		app.Do(nil, "GET", "/api/v1/orders", agentToken, "")

		_, page, _ := app.Do(owner, "GET", "/settings/staff", "", "")
		for _, want := range []string{tn.Agent.Email, "Agent", "Active", "You cannot disable yourself.", "test", "Never"} {
			if !strings.Contains(page, want) {
				t.Errorf("the Staff page lacks %q", want)
			}
		}
		if strings.Contains(page, agentToken) {
			t.Fatal("the Staff page shows a token's value")
		}
		if status, _, h := post(t, app, owner, fmt.Sprintf("/settings/staff/%d/disable", tn.Agent.ID), nil); status != http.StatusSeeOther || h.Get("Location") != "/settings/staff" {
			t.Fatalf("disable: %d %s", status, h.Get("Location"))
		}
		if status, _, h := app.Do(agent, "GET", "/orders", "", ""); status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
			t.Errorf("the disabled agent's session: %d %s", status, h.Get("Location"))
		}
		if status, _, _ := app.Do(nil, "GET", "/api/v1/orders", agentToken, ""); status != http.StatusUnauthorized {
			t.Errorf("the disabled agent's token: %d", status)
		}
		status, body, _ := post(t, app, app.Browser(), "/login", url.Values{"email": {tn.Agent.Email}, "password": {testapp.Password}})
		if status != http.StatusForbidden || !strings.Contains(body, "This account is disabled") {
			t.Errorf("the disabled agent signs in: %d", status)
		}
		if _, page, _ := app.Do(owner, "GET", "/settings/staff", "", ""); !strings.Contains(page, "Disabled") || !strings.Contains(page, fmt.Sprintf("/settings/staff/%d/enable", tn.Agent.ID)) {
			t.Error("the Staff page does not show the agent disabled")
		}
		if status, _, _ := post(t, app, owner, fmt.Sprintf("/settings/staff/%d/enable", tn.Agent.ID), nil); status != http.StatusSeeOther {
			t.Fatalf("enable: %d", status)
		}
		if status, _, _ := app.Do(nil, "GET", "/api/v1/orders", agentToken, ""); status != http.StatusOK {
			t.Errorf("the re-enabled agent's token: %d", status)
		}

		// Revoking a token of anyone in the shop.
		list, _ := app.Server.Users.APITokens(context.Background(), tn.Agent)
		admin := app.LoginAs(tn.Admin)
		if status, _, _ := post(t, app, admin, fmt.Sprintf("/settings/staff/tokens/%d/revoke", list[0].ID), nil); status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", status)
		}
		if status, _, _ := app.Do(nil, "GET", "/api/v1/orders", agentToken, ""); status != http.StatusUnauthorized {
			t.Errorf("a revoked token: %d", status)
		}
		_, log, _ := app.Do(owner, "GET", "/audit?action=token.", "", "")
		if !strings.Contains(log, "token.revoked") || !strings.Contains(log, tn.Admin.Email) || !strings.Contains(log, "token.created") {
			t.Error("the audit log lacks the token's creation or revocation")
		}

		// The rules: not yourself, an owner only by an owner.
		status, body, _ = post(t, app, admin, fmt.Sprintf("/settings/staff/%d/disable", tn.Owner.ID), nil)
		if status != http.StatusForbidden || !strings.Contains(body, "Only an owner can disable an owner.") {
			t.Errorf("admin disables the owner: %d", status)
		}
		status, body, _ = post(t, app, owner, fmt.Sprintf("/settings/staff/%d/disable", tn.Owner.ID), nil)
		if status != http.StatusForbidden || !strings.Contains(body, "You cannot disable yourself.") {
			t.Errorf("owner disables themselves: %d", status)
		}
		if status, _, _ := app.Do(owner, "GET", "/orders", "", ""); status != http.StatusOK {
			t.Error("the owner lost their session")
		}

		// Another shop's people and tokens do not exist here.
		otherToken := app.Token(other.Agent)
		otherList, _ := app.Server.Users.APITokens(context.Background(), other.Agent)
		for _, path := range []string{
			fmt.Sprintf("/settings/staff/%d/disable", other.Agent.ID),
			fmt.Sprintf("/settings/staff/%d/enable", other.Agent.ID),
			fmt.Sprintf("/settings/staff/tokens/%d/revoke", otherList[0].ID),
			"/settings/staff/nope/disable",
		} {
			if status, _, _ := post(t, app, owner, path, nil); status != http.StatusNotFound {
				t.Errorf("POST %s for another shop: %d", path, status)
			}
		}
		if status, _, _ := app.Do(nil, "GET", "/api/v1/orders", otherToken, ""); status != http.StatusOK {
			t.Error("another shop's token was touched")
		}
		if _, page, _ := app.Do(owner, "GET", "/settings/staff", "", ""); strings.Contains(page, other.Agent.Email) {
			t.Error("the Staff page lists another shop's people")
		}
	})
}
