package server_test

import (
	"encoding/json"
	"fmt"
	"net/smtp"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// TestMailRoundTrip is a conversation by mail, whole: a shopper mails the
// shop's support address (the SMTP listener), the ticket appears and she
// is acknowledged; the agent's reply leaves through the relay threaded on
// her mail; her answer to that reply, with no ticket number in its
// subject, joins the same ticket by its headers alone.
func TestMailRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		relay := mailtest.Start(t)
		app, smtpAddr := serveWithSMTP(t, db, testapp.WithMail(relay.URL()))
		tn := app.NewTenant("acme")
		token := app.Token(tn.Agent)
		send := func(msg string) {
			t.Helper()
			if err := smtp.SendMail(smtpAddr, nil, "ada@example.com", []string{"acme@mail.hubdesk.test"}, []byte(msg)); err != nil {
				t.Fatalf("send: %v", err)
			}
		}
		send("From: Ada Shopper <ada@example.com>\r\nTo: acme@mail.hubdesk.test\r\nSubject: Parcel never arrived\r\n" +
			"Message-ID: <parcel-1@example.com>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Hello, my order has not arrived yet.\r\n")

		var list struct {
			Tickets []struct {
				ID      int64  `json:"id"`
				Subject string `json:"subject"`
			} `json:"items"`
		}
		jobstest.Eventually(t, "the ticket listed by the API", func() bool {
			_, body, _ := app.Do(nil, "GET", "/api/v1/tickets", token, "")
			list.Tickets = nil
			return json.Unmarshal([]byte(body), &list) == nil && len(list.Tickets) == 1
		})
		id := list.Tickets[0].ID
		ref := fmt.Sprintf("[#%d]", id)

		ack := relay.WaitFor(t, "ada@example.com", 1)
		if !strings.Contains(ack.Subject, ref) || ack.Header.Get("Auto-Submitted") == "" {
			t.Errorf("acknowledgement: subject %q, Auto-Submitted %q", ack.Subject, ack.Header.Get("Auto-Submitted"))
		}

		status, body, _ := app.Do(nil, "POST", fmt.Sprintf("/api/v1/tickets/%d/messages", id), token, `{"kind": "reply", "body": "It left our warehouse today."}`)
		if status != 201 {
			t.Fatalf("reply: %d %s", status, body)
		}
		reply := relay.WaitFor(t, "ada@example.com", 2)
		messageID := reply.Header.Get("Message-Id")
		if !strings.Contains(reply.Subject, ref) || reply.Header.Get("In-Reply-To") != "<parcel-1@example.com>" ||
			!strings.Contains(reply.Header.Get("References"), "<parcel-1@example.com>") || messageID == "" {
			t.Fatalf("the reply is not threaded: subject %q, Message-ID %q, In-Reply-To %q, References %q", reply.Subject, messageID,
				reply.Header.Get("In-Reply-To"), reply.Header.Get("References"))
		}
		if !strings.Contains(reply.Text, "It left our warehouse today.") {
			t.Errorf("the reply's text: %q", reply.Text)
		}

		send("From: Ada Shopper <ada@example.com>\r\nTo: acme@mail.hubdesk.test\r\nSubject: Re: your message\r\n" +
			"Message-ID: <parcel-2@example.com>\r\nIn-Reply-To: " + messageID + "\r\nReferences: <parcel-1@example.com> " + messageID + "\r\n" +
			"Date: Sat, 05 Dec 2026 12:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThank you! It is here.\r\n\r\n> It left our warehouse today.\r\n")
		jobstest.Eventually(t, "her answer on the same ticket", func() bool {
			_, body, _ := app.Do(nil, "GET", fmt.Sprintf("/api/v1/tickets/%d/messages", id), token, "")
			return strings.Contains(body, "Thank you! It is here.")
		})
		_, body, _ = app.Do(nil, "GET", "/api/v1/tickets", token, "")
		if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Tickets) != 1 {
			t.Errorf("her answer opened another ticket: %s", body)
		}
	})
}
