package desk_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/qr/qrtest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
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

// Shops on AfterShip, parcelLab, Narvar or Other get the same Initiate
// return on the ticket's order card and the order page: the panel holds
// their portal link pre-filled with the order (Other: the portal as
// configured), Copy link, Insert into reply beside a ticket, and the QR
// code with its PNG download. No return status shows: those portals are
// not connected by API, so there is nothing stored and no Loop notice.
func TestInitiateReturnForPortalProviders(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db)
		actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
		for i, c := range []struct {
			provider returns.Provider
			portal   string
			want     string // the link's start
		}{
			{returns.ProviderAfterShip, "https://returns.aftership.com/acme", "https://returns.aftership.com/acme?"},
			{returns.ProviderParcelLab, "https://returns.parcellab.com/acme", "https://returns.parcellab.com/acme?"},
			{returns.ProviderNarvar, "https://returns.narvar.com/acme/returns", "https://returns.narvar.com/acme/returns?"},
			{returns.ProviderOther, "https://returns.example.com/start", "https://returns.example.com/start"},
		} {
			tn := app.NewTenant("portal" + strconv.Itoa(i))
			cfg := returns.DefaultConfig()
			cfg.Returns = returns.ReturnsConfig{Provider: c.provider, PortalURL: c.portal, PortalLookup: returns.LookupEmail}
			if _, err := app.Server.Settings.Save(ctx, tn.Shop.ID, cfg, actor); err != nil {
				t.Fatal(err)
			}
			if err := app.Server.Settings.SetLive(ctx, tn.Shop.ID, true, actor); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			delivered := now.Add(-2 * 24 * time.Hour)
			o := app.Ingest(tn.Shop.ID, commerce.Order{ExternalID: "8" + strconv.Itoa(i), Name: "#80" + strconv.Itoa(i), Email: "ada@example.com", Currency: "USD",
				CreatedAt: now.Add(-5 * 24 * time.Hour), UpdatedAt: now,
				Fulfillments: []commerce.Fulfillment{{ExternalID: "f", Status: "success", ShipmentStatus: "delivered", DeliveredAt: &delivered, CreatedAt: now, UpdatedAt: now}}},
				&commerce.Customer{ExternalID: "c8" + strconv.Itoa(i), Email: "ada@example.com", FirstName: "Ada", UpdatedAt: now})
			tk, err := app.Server.Helpdesk.Create(ctx, tn.Agent, helpdesk.NewTicket{Subject: "Return", CustomerEmail: "ada@example.com", Body: "I want to send it back.",
				OrderID: o.ID, Channel: ticket.ChannelDesk})
			if err != nil {
				t.Fatal(err)
			}
			agent := app.LoginAs(tn.Agent)
			for _, path := range []string{fmt.Sprintf("/tickets/%d", tk.ID), fmt.Sprintf("/orders/%d", o.ID)} {
				status, page, _ := app.Do(agent, "GET", path, "", "")
				if status != http.StatusOK || strings.Count(page, "data-initiate-return") != 1 || strings.Contains(page, "data-returns-health") ||
					strings.Contains(page, "badge--return-") {
					t.Errorf("%s %s: %d, want one Initiate return and no return status", c.provider, path, status)
				}
			}
			req, _ := http.NewRequest("POST", fmt.Sprintf("%s/orders/%d/return-link", app.URL, o.ID), strings.NewReader(url.Values{"ticket": {strconv.FormatInt(tk.ID, 10)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Hubdesk-Fragment", "1")
			resp, err := agent.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			panel := string(body)
			m := regexp.MustCompile(`class="return-link" type="url" readonly value="([^"]+)"`).FindStringSubmatch(panel)
			if resp.StatusCode != http.StatusOK || m == nil {
				t.Fatalf("%s: panel %d %s", c.provider, resp.StatusCode, panel)
			}
			link := html.UnescapeString(m[1])
			if !strings.HasPrefix(link, c.want) || c.provider != returns.ProviderOther && !strings.Contains(link, "%2380"+strconv.Itoa(i)) {
				t.Errorf("%s: link %s, want the portal pre-filled with the order", c.provider, link)
			}
			for _, want := range []string{"(" + c.provider.Label() + " portal)", `data-copy-text=`, `data-insert-reply=`, `<svg xmlns="http://www.w3.org/2000/svg"`, `/return-qr.png?url=`} {
				if !strings.Contains(panel, want) {
					t.Errorf("%s: the panel lacks %s", c.provider, want)
				}
			}
			status, png, hdr := app.Do(agent, "GET", fmt.Sprintf("/orders/%d/return-qr.png?url=%s", o.ID, url.QueryEscape(link)), "", "")
			if status != http.StatusOK || hdr.Get("Content-Type") != "image/png" {
				t.Errorf("%s: QR download %d %s", c.provider, status, hdr.Get("Content-Type"))
			} else if got, err := qrtest.DecodePNG([]byte(png)); err != nil || got != link {
				t.Errorf("%s: the QR code reads %q (%v), want %s", c.provider, got, err, link)
			}
		}
	})
}
