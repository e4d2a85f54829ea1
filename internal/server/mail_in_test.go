package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/inbound/imaptest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// serveWithSMTP runs the whole server — HTTP, jobs, the SMTP listener and
// the IMAP pollers — as `hubdesk serve` does, until the test ends.
func serveWithSMTP(t *testing.T, db *database.DB, more ...testapp.Option) (*testapp.App, string) {
	t.Helper()
	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := testapp.New(t, db, append([]testapp.Option{testapp.WithSMTP(smtpLn, "mail.hubdesk.test")}, more...)...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Server.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve after shutdown: %v", err)
			}
		case <-time.After(60 * time.Second): // a guard against hanging
			t.Error("Serve did not return after its context ended")
		}
	})
	return app, smtpLn.Addr().String()
}

// Mail sent over SMTP to a shop's built-in address becomes a ticket the
// API lists, with the message; the other shop sees nothing of it.
func TestMailOverSMTPBecomesATicket(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, smtpAddr := serveWithSMTP(t, db)
		tn, other := app.NewTenant("acme"), app.NewTenant("other")
		msg := "From: Ada Shopper <ada@example.com>\r\nTo: acme@mail.hubdesk.test\r\nSubject: Parcel never arrived\r\n" +
			"Message-ID: <parcel-1@example.com>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Hello, my order has not arrived yet. Can you help?\r\n"
		if err := smtp.SendMail(smtpAddr, nil, "ada@example.com", []string{"acme@mail.hubdesk.test"}, []byte(msg)); err != nil {
			t.Fatalf("send: %v", err)
		}
		err := smtp.SendMail(smtpAddr, nil, "ada@example.com", []string{"nobody@mail.hubdesk.test"}, []byte(msg))
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Fatalf("unknown recipient: %v, want 550", err)
		}
		token := app.Token(tn.Agent)
		var body string
		jobstest.Eventually(t, "the ticket listed by the API", func() bool {
			_, body, _ = app.Do(nil, "GET", "/api/v1/tickets", token, "")
			return strings.Contains(body, "Parcel never arrived")
		})
		if !strings.Contains(body, "ada@example.com") {
			t.Errorf("the ticket does not name its requester: %s", body)
		}
		_, otherBody, _ := app.Do(nil, "GET", "/api/v1/tickets", app.Token(other.Agent), "")
		if strings.Contains(otherBody, "Parcel never arrived") {
			t.Error("another shop lists the ticket")
		}
	})
}

// A mailbox connected in Settings → Mail is imported by the poller Serve
// runs: the message already there and one arriving later (IDLE) become
// tickets.
func TestMailFromAnIMAPMailboxBecomesTickets(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		mailbox := imaptest.Start(t)
		app := testapp.New(t, db)
		tn := app.NewTenant("acme")
		owner := app.LoginAs(tn.Owner)
		a := mailbox.Account()
		form := url.Values{"host": {a.Host}, "port": {strconv.Itoa(a.Port)}, "security": {"none"}, "username": {a.Username}, "password": {a.Password}}
		resp, err := owner.PostForm(app.URL+"/settings/mail/imap", form)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings/mail?done=imap-saved" {
			t.Fatalf("connect the mailbox: %d\n%s", resp.StatusCode, page)
		}
		if _, page, _ := app.Do(owner, "GET", "/settings/mail", "", ""); !strings.Contains(page, "Connected to <strong>username</strong>") {
			t.Fatalf("Settings → Mail does not show the mailbox connected:\n%s", page)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- app.Server.Serve(ctx, ln, nil) }()
		defer func() { cancel(); <-served }()

		token := app.Token(tn.Agent)
		jobstest.Eventually(t, "the mailbox's message as a ticket", func() bool {
			_, body, _ := app.Do(nil, "GET", "/api/v1/tickets", token, "")
			return strings.Contains(body, "A little message, just for you")
		})
		mailbox.Deliver("Wrong-size-shoes")
		jobstest.Eventually(t, "the new message as a ticket", func() bool {
			_, body, _ := app.Do(nil, "GET", "/api/v1/tickets", token, "")
			return strings.Contains(body, "Wrong-size-shoes")
		})
	})
}

// A process told to stop as it starts stops: the SMTP listener, which
// Serve may not have taken yet when its shutdown begins, does not keep the
// process alive.
func TestServeStoppedAsItStartsReturns(t *testing.T) {
	db := dbtest.Open(t, database.SQLite)
	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := testapp.New(t, db, testapp.WithSMTP(smtpLn, "mail.hubdesk.test"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	served := make(chan error, 1)
	go func() { served <- app.Server.Serve(ctx, ln, nil) }()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(60 * time.Second): // a guard against hanging
		t.Fatal("Serve did not return when stopped as it started")
	}
}
