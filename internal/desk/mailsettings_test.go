package desk_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/inbound"
	"github.com/hubdesk/hubdesk/internal/inbound/imaptest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// Settings → Mail: an admin adds and removes the shop's support
// addresses; a bad or taken address is refused with a reason and keeps
// what was typed; another shop's address cannot be removed.
func TestMailSettingsAddresses(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn, other := app.NewTenant("shopa"), app.NewTenant("shopb")
		admin := app.LoginAs(tn.Admin)
		if status, _, _ := app.Do(app.LoginAs(tn.Manager), "GET", "/settings/mail", "", ""); status != http.StatusForbidden {
			t.Errorf("manager GET /settings/mail: %d, want 403", status)
		}
		status, _, h := post(t, app, admin, "/settings/mail/addresses", url.Values{"address": {"Help@ShopA.example"}})
		if status != http.StatusSeeOther || h.Get("Location") != "/settings/mail?done=address-added" {
			t.Fatalf("add: %d %s", status, h.Get("Location"))
		}
		_, page, _ := app.Do(admin, "GET", "/settings/mail?done=address-added", "", "")
		if !strings.Contains(page, "<td>help@shopa.example</td>") || !strings.Contains(page, "Address added") {
			t.Fatalf("the page does not list the address:\n%s", page)
		}
		for in, want := range map[string]string{
			"not an address":      "That is not an email address",
			"HELP@shopa.example":  "already in use",
			"x@" + "localhost":    "", // no mail domain configured in this app: any domain is the shop's to claim
			"shopb@" + "mail.xyz": "",
		} {
			status, page, _ := post(t, app, app.LoginAs(other.Admin), "/settings/mail/addresses", url.Values{"address": {in}})
			if want == "" {
				if status != http.StatusSeeOther {
					t.Errorf("add %q: %d", in, status)
				}
				continue
			}
			if status != http.StatusUnprocessableEntity || !strings.Contains(page, want) || !strings.Contains(page, `value="`+in+`"`) {
				t.Errorf("add %q: %d, want 422 saying %q with the input kept", in, status, want)
			}
		}
		addresses, err := app.Server.MailSettings.Addresses.List(context.Background(), tn.Shop.ID)
		if err != nil || len(addresses) != 1 {
			t.Fatalf("addresses %v, %v", addresses, err)
		}
		path := fmt.Sprintf("/settings/mail/addresses/%d/delete", addresses[0].ID)
		if status, _, _ := post(t, app, app.LoginAs(other.Owner), path, nil); status != http.StatusNotFound {
			t.Errorf("another shop removes the address: %d, want 404", status)
		}
		if status, _, _ := post(t, app, admin, path, nil); status != http.StatusSeeOther {
			t.Errorf("remove: %d", status)
		}
	})
}

// Connecting a mailbox checks it: a wrong password saves nothing and says
// what the server answered; a good one is saved, its password never shown
// again; a failure of the poller shows on the page.
func TestMailSettingsIMAP(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		owner := app.LoginAs(tn.Owner)
		mailbox := imaptest.Start(t)
		a := mailbox.Account()
		form := url.Values{"host": {a.Host}, "port": {strconv.Itoa(a.Port)}, "security": {"none"}, "username": {a.Username}, "password": {"wrong-password"}}
		status, page, _ := post(t, app, owner, "/settings/mail/imap", form)
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, "nothing was saved") || !strings.Contains(page, "Bad username or password") {
			t.Fatalf("wrong password: %d\n%s", status, page)
		}
		if strings.Contains(page, "wrong-password") {
			t.Fatal("the page shows the password typed")
		}
		form.Set("password", "password")
		if status, _, _ := post(t, app, owner, "/settings/mail/imap", form); status != http.StatusSeeOther {
			t.Fatalf("good account: %d", status)
		}
		if err := inbound.NewMailboxes(db).Failed(context.Background(), tn.Shop.ID, "INBOX", "connect to 127.0.0.1:1: connection refused", time.Now()); err != nil {
			t.Fatal(err)
		}
		_, page, _ = app.Do(owner, "GET", "/settings/mail", "", "")
		if !strings.Contains(page, "could not be reached") || !strings.Contains(page, "connection refused") {
			t.Fatalf("the poller's failure is not shown:\n%s", page)
		}
		if strings.Contains(page, `value="password"`) {
			t.Fatal("the page shows the saved password")
		}
		if status, _, _ := post(t, app, owner, "/settings/mail/imap/delete", nil); status != http.StatusSeeOther {
			t.Fatalf("disconnect: %d", status)
		}
		_, page, _ = app.Do(owner, "GET", "/settings/mail", "", "")
		if strings.Contains(page, "Disconnect the mailbox") {
			t.Fatal("still connected after disconnecting")
		}
	})
}
