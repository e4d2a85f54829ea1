package helpdesk_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// shopperMailApp is a server whose mail goes to an SMTP sink on loopback,
// with its jobs running, and a shop.
func shopperMailApp(t *testing.T, db *database.DB) (*testapp.App, *testapp.Tenant, *mailtest.Server) {
	t.Helper()
	smtp := mailtest.Start(t)
	app := testapp.New(t, db, testapp.WithMail(smtp.URL()))
	jobstest.Work(t, app.Server.Jobs)
	return app, app.NewTenant("shopa"), smtp
}

// mailedTicket is a ticket Ada opened by mail: her first message carries
// the Message-ID her mail came with, as the mail intake records it.
func mailedTicket(t *testing.T, app *testapp.App, tn *testapp.Tenant, subject, messageID string) *ticket.Ticket {
	t.Helper()
	ctx := context.Background()
	tk, err := app.Server.Helpdesk.Create(ctx, tn.Manager, helpdesk.NewTicket{Subject: subject, CustomerEmail: "ada@example.com",
		CustomerName: "Ada Lovelace", Body: "Where is my parcel?", Channel: ticket.ChannelEmail, FromCustomer: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB.Exec(ctx, `UPDATE ticket_messages SET mail_message_id = ? WHERE shop_id = ? AND ticket_id = ?`,
		messageID, tn.Shop.ID, tk.ID); err != nil {
		t.Fatal(err)
	}
	return tk
}

// delivery is the mail that carries message m, once it reached want.
func delivery(t *testing.T, app *testapp.App, shopID, ticketID, messageID int64, want ticket.MailState) *ticket.Mail {
	t.Helper()
	var got *ticket.Mail
	jobstest.Eventually(t, "the reply's mail is "+string(want), func() bool {
		all, err := app.Server.Tickets.Deliveries(context.Background(), shopID, ticketID)
		if err != nil {
			t.Fatal(err)
		}
		got = all[messageID]
		return got != nil && got.State == want
	})
	return got
}

// shopperMailJob is the job that sends the mail.
func shopperMailJob(t *testing.T, app *testapp.App, shopID int64) jobs.Job {
	t.Helper()
	states := append(append(append(append([]rivertype.JobState(nil), jobs.Queued...), jobs.Done...), jobs.Running...), jobs.Dead...)
	list, _, err := app.Server.Jobs.List(context.Background(), shopID, states, database.Page{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range list {
		if j.Kind == (helpdesk.ShopperMailArgs{}).Kind() {
			return j
		}
	}
	t.Fatal("no shopper mail job")
	return jobs.Job{}
}

// TestRepliesAreMailedThreaded: an agent's reply reaches the shopper with
// a Message-ID stored on the reply, In-Reply-To her mail, References the
// conversation's mail, and the ticket's reference in the subject; the
// relay's answer is recorded. A second reply references the first; a note
// is never mailed.
func TestRepliesAreMailedThreaded(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app, tn, smtp := shopperMailApp(t, db)
		tk := mailedTicket(t, app, tn, "Re: Parcel", "in-1@shopper.example")
		if _, err := app.Server.Helpdesk.Note(ctx, tn.Agent, tk.ID, "internal: check the warehouse"); err != nil {
			t.Fatal(err)
		}
		first, err := app.Server.Helpdesk.Reply(ctx, tn.Agent, tk.ID, "Hello Ada,\n\nit left today.\n<b>Tracking</b> & more")
		if err != nil {
			t.Fatal(err)
		}
		got := smtp.WaitFor(t, "ada@example.com", 1)
		got.Text = strings.ReplaceAll(got.Text, "\r\n", "\n")
		ref := "[#" + strconv.FormatInt(tk.ID, 10) + "]"
		if got.Subject != "Re: Parcel "+ref {
			t.Errorf("subject %q", got.Subject)
		}
		sent := delivery(t, app, tn.Shop.ID, tk.ID, first.ID, ticket.MailSent)
		var stored string
		if err := app.DB.QueryRow(ctx, `SELECT mail_message_id FROM ticket_messages WHERE shop_id = ? AND id = ?`, tn.Shop.ID, first.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if got.Header.Get("Message-Id") != "<"+stored+">" || stored != sent.MailMessageID || !strings.HasSuffix(stored, "@"+strings.Trim(strings.Split(testapp.MailFrom, "@")[1], "<>")) {
			t.Errorf("Message-ID %q, stored %q / %q", got.Header.Get("Message-Id"), stored, sent.MailMessageID)
		}
		if got.Header.Get("In-Reply-To") != "<in-1@shopper.example>" || got.Header.Get("References") != "<in-1@shopper.example>" {
			t.Errorf("threading: In-Reply-To %q, References %q", got.Header.Get("In-Reply-To"), got.Header.Get("References"))
		}
		if sent.Attempts != 1 || !strings.HasPrefix(sent.Response, "2") || sent.SentAt == nil {
			t.Errorf("delivery %+v", sent)
		}
		if !strings.Contains(got.Text, "Hello Ada,\n\nit left today.\n<b>Tracking</b> & more") ||
			!strings.Contains(got.HTML, "it left today.<br>&lt;b&gt;Tracking&lt;/b&gt; &amp; more") || strings.Contains(got.HTML, "<b>Tracking") {
			t.Errorf("bodies:\n%s\n%s", got.Text, got.HTML)
		}
		if got.Header.Get("Auto-Submitted") != "" {
			t.Errorf("a person's reply marked Auto-Submitted")
		}

		second, err := app.Server.Helpdesk.Reply(ctx, tn.Agent, tk.ID, "And it arrives tomorrow.")
		if err != nil {
			t.Fatal(err)
		}
		again := smtp.WaitFor(t, "ada@example.com", 2)
		if want := "<in-1@shopper.example> <" + stored + ">"; again.Header.Get("References") != want || again.Header.Get("In-Reply-To") != "<in-1@shopper.example>" {
			t.Errorf("second reply: References %q, want %q", again.Header.Get("References"), want)
		}
		delivery(t, app, tn.Shop.ID, tk.ID, second.ID, ticket.MailSent)
		for _, m := range smtp.Messages() {
			if strings.Contains(m.Text, "warehouse") {
				t.Error("a note was mailed to the shopper")
			}
		}
	})
}

// TestReplyMailSurvivesARelayOutage: while the relay refuses for now
// (4xx), the reply shows as retrying with the relay's words; when it
// takes mail again the next attempt delivers it once. A job that runs
// again after the mail left sends nothing.
func TestReplyMailSurvivesARelayOutage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app, tn, smtp := shopperMailApp(t, db)
		tk := mailedTicket(t, app, tn, "Parcel", "in-1@shopper.example")
		smtp.SetFailing(true)
		reply, err := app.Server.Helpdesk.Reply(ctx, tn.Agent, tk.ID, "On its way.")
		if err != nil {
			t.Fatal(err)
		}
		retrying := delivery(t, app, tn.Shop.ID, tk.ID, reply.ID, ticket.MailRetrying)
		if !strings.Contains(retrying.LastError, "451") || retrying.Attempts != 1 {
			t.Errorf("retrying: %+v", retrying)
		}
		smtp.SetFailing(false)
		job := shopperMailJob(t, app, tn.Shop.ID)
		if _, err := app.Server.Jobs.Retry(ctx, tn.Shop.ID, job.ID); err != nil {
			t.Fatal(err)
		}
		sent := delivery(t, app, tn.Shop.ID, tk.ID, reply.ID, ticket.MailSent)
		if sent.LastError != "" || sent.Attempts != 2 {
			t.Errorf("sent: %+v", sent)
		}
		smtp.WaitFor(t, "ada@example.com", 1)

		// The job runs once more, as after a completion that was lost.
		jobstest.Eventually(t, "the job is completed", func() bool {
			return shopperMailJob(t, app, tn.Shop.ID).State == rivertype.JobStateCompleted
		})
		if _, err := app.Server.Jobs.Retry(ctx, tn.Shop.ID, job.ID); err != nil {
			t.Fatal(err)
		}
		jobstest.Eventually(t, "the job ran again", func() bool {
			j := shopperMailJob(t, app, tn.Shop.ID)
			return j.State == rivertype.JobStateCompleted && j.Attempt == 3
		})
		if n := len(smtp.Messages()); n != 1 {
			t.Errorf("%d mails, want 1: a sent mail was sent again", n)
		}
	})
}

// TestReplyMailRefusedForGoodIsFailed: a relay that refuses the mail
// with a 5xx code fails it at once, with its words, and River does not
// try again.
func TestReplyMailRefusedForGoodIsFailed(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app, tn, smtp := shopperMailApp(t, db)
		tk := mailedTicket(t, app, tn, "Parcel", "in-1@shopper.example")
		smtp.SetRefusing(554)
		reply, err := app.Server.Helpdesk.Reply(ctx, tn.Agent, tk.ID, "On its way.")
		if err != nil {
			t.Fatal(err)
		}
		failed := delivery(t, app, tn.Shop.ID, tk.ID, reply.ID, ticket.MailFailed)
		if !strings.Contains(failed.LastError, "554") || failed.Attempts != 1 {
			t.Errorf("failed: %+v", failed)
		}
		jobstest.Eventually(t, "the job is cancelled", func() bool {
			return shopperMailJob(t, app, tn.Shop.ID).State == rivertype.JobStateCancelled
		})
		if len(smtp.Messages()) != 0 {
			t.Error("a refused mail arrived")
		}
	})
}

// countAcknowledgements is how many acknowledgements the shop queued.
func countAcknowledgements(t *testing.T, app *testapp.App, shopID int64) int {
	t.Helper()
	var n int
	if err := app.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM ticket_mails WHERE shop_id = ? AND kind = 'acknowledgement'`, shopID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNewTicketsAreAcknowledged: a shopper whose mail opens a ticket gets
// an acknowledgement in her language with the ticket's reference,
// threaded on her mail and marked as automatic; a second ticket from her
// within AcknowledgementInterval gets none; mail the intake marks as not
// to be acknowledged (an auto-reply) gets none; a hub contact is
// acknowledged in the hub's language.
func TestNewTicketsAreAcknowledged(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app, tn, smtp := shopperMailApp(t, db)
		create := func(email, subject, lang string, ack bool) *ticket.Ticket {
			tk, err := app.Server.Helpdesk.Create(ctx, tn.Manager, helpdesk.NewTicket{Subject: subject, CustomerEmail: email,
				CustomerName: "Ada Lovelace", Body: "Wo ist mein Paket?\n<script>x</script>", Channel: ticket.ChannelEmail,
				FromCustomer: true, Acknowledge: ack, Lang: lang})
			if err != nil {
				t.Fatal(err)
			}
			return tk
		}
		tk := create("ada@example.com", "Paket", "de-AT", true)
		got := smtp.WaitFor(t, "ada@example.com", 1)
		got.Text = strings.ReplaceAll(got.Text, "\r\n", "\n")
		ref := "[#" + strconv.FormatInt(tk.ID, 10) + "]"
		if got.Subject != "Wir haben Ihre Nachricht erhalten: Paket "+ref {
			t.Errorf("subject %q", got.Subject)
		}
		if !strings.Contains(got.Text, "Hallo Ada Lovelace,") || !strings.Contains(got.Text, "Ihre Referenz lautet "+ref) ||
			!strings.Contains(got.Text, "> Wo ist mein Paket?") || !strings.Contains(got.HTML, "&lt;script&gt;") || strings.Contains(got.HTML, "<script>") {
			t.Errorf("bodies:\n%s\n%s", got.Text, got.HTML)
		}
		if got.Header.Get("Auto-Submitted") != "auto-replied" || got.Header.Get("Message-Id") == "" {
			t.Errorf("headers %v", got.Header)
		}

		create("ADA@example.com", "Noch eine Frage", "de", true) // within the interval
		create("robot@example.com", "Out of office", "", false)  // an auto-reply
		if n := countAcknowledgements(t, app, tn.Shop.ID); n != 1 {
			t.Errorf("%d acknowledgements, want 1", n)
		}

		cust, _, err := app.Server.Commerce.CustomerForEmail(ctx, tn.Shop.ID, "marie@example.com", "Marie", "Curie")
		if err != nil {
			t.Fatal(err)
		}
		out, err := app.Server.Helpdesk.ContactFromHub(ctx, tn.Shop.ID, helpdesk.HubContact{CustomerID: cust.ID, Email: "marie@example.com",
			Name: "Marie Curie", Subject: "Colis", Body: "Où est mon colis ?", Lang: "fr"})
		if err != nil {
			t.Fatal(err)
		}
		hub := smtp.WaitFor(t, "marie@example.com", 1)
		if want := "Nous avons bien reçu votre message : Colis [#" + strconv.FormatInt(out.Ticket.ID, 10) + "]"; hub.Subject != want {
			t.Errorf("hub acknowledgement %q, want %q", hub.Subject, want)
		}
		// Her next message joins the ticket: nothing new to acknowledge.
		if _, err := app.Server.Helpdesk.ContactFromHub(ctx, tn.Shop.ID, helpdesk.HubContact{CustomerID: cust.ID, Email: "marie@example.com",
			Name: "Marie Curie", Subject: "Colis", Body: "Toujours rien.", Lang: "fr"}); err != nil {
			t.Fatal(err)
		}
		if n := countAcknowledgements(t, app, tn.Shop.ID); n != 2 {
			t.Errorf("%d acknowledgements, want 2", n)
		}
	})
}

// TestReplyTemplateCarriesTheBrand: the shop's logo and the agent's
// signature frame the reply.
func TestReplyTemplateCarriesTheBrand(t *testing.T) {
	tk := &ticket.Ticket{ID: 42, Subject: "Re: RE: Parcel [#42]", RequesterEmail: "ada@example.com"}
	m, err := helpdesk.ComposeReply(helpdesk.Brand{ShopName: "Café <Ünï>", LogoURL: "https://cdn.example.com/logo.png?a=1&b=2"}, "nl", tk,
		helpdesk.Agent{Name: "Grace", Signature: "Grace Hopper\nSupport <team>"}, "Dag Ada")
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Re: Parcel [#42]" || m.FromName != "Café <Ünï>" {
		t.Errorf("subject %q, from %q", m.Subject, m.FromName)
	}
	for _, want := range []string{`<img src="https://cdn.example.com/logo.png?a=1&amp;b=2" alt="Café &lt;Ünï&gt;"`, "Grace Hopper<br>Support &lt;team&gt;",
		"Beantwoord deze e-mail", `lang="nl"`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	if !strings.Contains(strings.ReplaceAll(m.Text, "\r\n", "\n"), "Dag Ada\n\n-- \nGrace Hopper\nSupport <team>\n") {
		t.Errorf("text:\n%s", m.Text)
	}
}

// A guest's link mail: the shop's layout, the link as a button and in the
// text, how long it works, in the shopper's language; what the order's
// name holds is text.
func TestComposeGuestLink(t *testing.T) {
	link := "https://hubdesk.example.com/hub/guest/open?key=abc&locale=de"
	m, err := helpdesk.ComposeGuestLink(helpdesk.Brand{ShopName: "Acme <Shop>"}, "de", "ada@example.com", "#1001<b>", link, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Ihr Link zur Bestellung #1001<b> bei Acme <Shop>" || m.To != "ada@example.com" || !m.AutoReply || m.FromName != "Acme <Shop>" {
		t.Errorf("headers: %+v", m)
	}
	for _, want := range []string{link, "24 Stunden", "Hallo,"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the text lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{`href="https://hubdesk.example.com/hub/guest/open?key=abc&amp;locale=de"`, "Bestellung #1001&lt;b&gt; ansehen", "Acme &lt;Shop&gt;", `lang="de"`} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("the HTML lacks %q:\n%s", want, m.HTML)
		}
	}
}
