package desk_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
	"github.com/hubdesk/hubdesk/internal/server"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// TestDeskShowsAReplysDeliveryAndSignsIt: an agent sets their signature
// on their account page; their reply from the ticket view goes out signed
// and its delivery shows on the message — "Retrying" with the relay's
// words while the relay refuses, "Sent" once it took the mail. A
// signature too long is refused and kept in the form.
func TestDeskShowsAReplysDeliveryAndSignsIt(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		smtp := mailtest.Start(t)
		app := testapp.New(t, db, testapp.WithMail(smtp.URL()))
		jobstest.Work(t, app.Server.Jobs)
		tn := app.NewTenant("shopa")
		c := app.LoginAs(tn.Agent)

		long := strings.Repeat("x", user.MaxSignatureRunes+1)
		if status, body, _ := post(t, app, c, "/account/signature", url.Values{"signature": {long}}); status != http.StatusUnprocessableEntity ||
			!strings.Contains(body, long) {
			t.Fatalf("a long signature: %d", status)
		}
		if status, _, h := post(t, app, c, "/account/signature", url.Values{"signature": {"Grace <Support>\r\nshopa"}}); status != http.StatusSeeOther ||
			h.Get("Location") != "/account/notifications?saved=signature" {
			t.Fatalf("signature: %d %v", status, h)
		}
		if _, page := get(t, app, c, "/account/notifications"); !strings.Contains(string(page), "Grace &lt;Support&gt;\nshopa</textarea>") {
			t.Errorf("the signature is not in its form:\n%s", page)
		}

		tk, err := app.Server.Helpdesk.Create(ctx, tn.Manager, helpdesk.NewTicket{Subject: "Parcel", CustomerEmail: "ada@example.com",
			Body: "Where is it?", Channel: ticket.ChannelEmail, FromCustomer: true})
		if err != nil {
			t.Fatal(err)
		}
		smtp.SetFailing(true)
		path := "/tickets/" + strconv.FormatInt(tk.ID, 10)
		if status, _, _ := post(t, app, c, path+"/reply", url.Values{"body": {"It left today."}}); status != http.StatusSeeOther {
			t.Fatalf("reply: %d", status)
		}
		jobstest.Eventually(t, "the ticket view shows the retry", func() bool {
			_, page := get(t, app, c, path)
			return strings.Contains(string(page), `data-delivery="retrying"`) && strings.Contains(string(page), "Retrying — ") &&
				strings.Contains(string(page), "451")
		})
		smtp.SetFailing(false)
		queued, _, err := app.Server.Jobs.List(ctx, tn.Shop.ID, jobs.Queued, database.Page{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range queued {
			if j.Kind == (helpdesk.ShopperMailArgs{}).Kind() {
				if _, err := app.Server.Jobs.Retry(ctx, tn.Shop.ID, j.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := smtp.WaitFor(t, "ada@example.com", 1)
		if !strings.Contains(got.Text, "-- \r\nGrace <Support>\r\nshopa") || !strings.Contains(got.HTML, "Grace &lt;Support&gt;<br>shopa") {
			t.Errorf("the reply is not signed:\n%s\n%s", got.Text, got.HTML)
		}
		jobstest.Eventually(t, "the ticket view shows it sent", func() bool {
			_, page := get(t, app, c, path)
			return strings.Contains(string(page), `data-delivery="sent"`) && !strings.Contains(string(page), "Retrying")
		})
	})
}

// TestDemoMailboxShowsTheShoppersMail: in the demo, a reply sent through
// the demo's relay shows on the mailbox page with its threading headers
// and its HTML in a sandboxed frame, served under a sandboxing CSP; the
// desk's navigation links the page. Staff of another shop, and servers
// that are not the demo, have no mailbox.
func TestDemoMailboxShowsTheShoppersMail(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		mb, err := demo.StartMailbox()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mb.Close() })
		app := testapp.New(t, db, testapp.WithMail(mb.URL()), func(o *server.Options) { o.DemoMailbox, o.DemoMailboxShop = mb, "shopa.myshopify.com" })
		jobstest.Work(t, app.Server.Jobs)
		tn, other := app.NewTenant("shopa"), app.NewTenant("shopb")
		c := app.LoginAs(tn.Agent)

		tk, err := app.Server.Helpdesk.Create(ctx, tn.Manager, helpdesk.NewTicket{Subject: "Parcel", CustomerEmail: "ada@example.com",
			Body: "Where is it?", Channel: ticket.ChannelEmail, FromCustomer: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.Server.Helpdesk.Reply(ctx, tn.Agent, tk.ID, "It left <today>."); err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "the reply reaches the mailbox", func() bool { return len(mb.Mails()) == 1 })
		id := strconv.Itoa(mb.Mails()[0].ID)

		resp, page := get(t, app, c, "/demo/mailbox?id="+id)
		for _, want := range []string{"Re: Parcel [#" + strconv.FormatInt(tk.ID, 10) + "]", "Message-Id", `href="/demo/mailbox"`,
			`<iframe class="mail-frame" sandbox src="/demo/mailbox/` + id + `/html"`, "It left &lt;today&gt;."} {
			if !strings.Contains(string(page), want) {
				t.Errorf("mailbox page (%d) lacks %q", resp.StatusCode, want)
			}
		}
		resp, body := get(t, app, c, "/demo/mailbox/"+id+"/html")
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox;") || !strings.Contains(string(body), "It left &lt;today&gt;.") {
			t.Errorf("mail HTML: CSP %q\n%s", csp, body)
		}
		oc := app.LoginAs(other.Agent)
		for _, path := range []string{"/demo/mailbox", "/demo/mailbox/" + id + "/html"} {
			if resp, _ := get(t, app, oc, path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("another shop's %s: %d", path, resp.StatusCode)
			}
		}
		if _, page := get(t, app, oc, "/tickets"); strings.Contains(string(page), "/demo/mailbox") {
			t.Error("another shop's navigation links the mailbox")
		}
	})
}
