package desk_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// Without JavaScript, Initiate return posts and answers with a page
// holding the link, its QR code and the way back; the order page shows
// the returns section with the button; a manager's hiding it removes the
// button and refuses the post; a Manager+ setting saved from the form.
func TestInitiateReturnPages(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		sb := sandbox.New(sandbox.Options{NoSeed: true})
		loopSrv := httptest.NewServer(sb)
		t.Cleanup(func() { loopSrv.Close(); sb.Close() })
		sb.SetBaseURL(loopSrv.URL)
		app := testapp.New(t, db, testapp.WithLoop(loopSrv.URL+"/api/v1"))
		tn := app.NewTenant("shopa")
		app.UseLoop(tn, loopSrv.URL)
		o := app.SeedLoopOrder(tn, sb, testapp.LoopOrder{Name: "#4001", DeliveredAgo: 2 * 24 * time.Hour,
			Return: returns.StateCancelled, Carrier: "UPS", Tracking: "1Z999AA10123456784", Label: "in_transit"})
		agent := app.LoginAs(tn.Agent)

		status, body, _ := app.Do(agent, "GET", fmt.Sprintf("/orders/%d", o.ID), "", "")
		for _, want := range []string{`class="badge badge--return-cancelled"`, `href="https://www.ups.com/track?tracknum=1Z999AA10123456784"`,
			`data-copy-text="` + loopSrv.URL + `/portal/return/`, `data-initiate-return`, "updated "} {
			if status != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("order page: %d, lacks %s", status, want)
			}
		}
		if strings.Contains(body, "data-insert-reply") {
			t.Error("the order page offers Insert into reply, but has no reply box")
		}

		status, body, _ = post(t, app, agent, fmt.Sprintf("/orders/%d/return-link", o.ID), url.Values{"ticket": {"12"}})
		for _, want := range []string{`class="return-link" type="url" readonly value="` + loopSrv.URL + `/portal/link/`, `<svg xmlns="http://www.w3.org/2000/svg"`,
			`/return-qr.png?url=`, `href="/tickets/12"`, `data-insert-reply=`} {
			if status != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("Initiate return page: %d, lacks %s", status, want)
			}
		}

		// Another shop's order is not found.
		other := app.NewTenant("shopb")
		theirs := app.Order(other, "9001", "x@example.com")
		if status, _, _ := post(t, app, agent, fmt.Sprintf("/orders/%d/return-link", theirs.ID), nil); status != http.StatusNotFound {
			t.Errorf("another shop's order: %d", status)
		}

		// A manager hides the button on Settings → Returns.
		manager := app.LoginAs(tn.Manager)
		if status, body, _ := post(t, app, manager, "/settings/returns", url.Values{"provider": {"loop"}, "lookup_field": {"zip"},
			"loop_portal_url": {loopSrv.URL + "/portal/"}, "hide_initiate_return": {"1"}}); status != http.StatusSeeOther {
			t.Fatalf("save: %d %s", status, body)
		}
		cfg, err := app.Server.Settings.Published(context.Background(), tn.Shop.ID)
		if err != nil || !cfg.Returns.HideInitiateReturn {
			t.Fatalf("hidden not published: %+v %v", cfg.Returns, err)
		}
		if _, body, _ := app.Do(agent, "GET", fmt.Sprintf("/orders/%d", o.ID), "", ""); strings.Contains(body, "data-initiate-return") {
			t.Error("the hidden button still shows")
		}
		if status, body, _ := post(t, app, agent, fmt.Sprintf("/orders/%d/return-link", o.ID), nil); status != http.StatusConflict ||
			!strings.Contains(body, "Initiate return is turned off") {
			t.Errorf("hidden: %d", status)
		}
	})
}
