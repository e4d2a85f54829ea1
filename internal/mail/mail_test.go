package mail_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/mail"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
)

func TestNewSMTPReadsTheURL(t *testing.T) {
	for _, c := range []struct {
		url, from, wantErr string
	}{
		{"smtp://user:pass@mail.example.com:587", "desk@example.com", ""},
		{"smtp://mail.example.com", "hubdesk <desk@example.com>", ""},
		{"smtps://user:pass@mail.example.com", "desk@example.com", ""},
		{"http://mail.example.com", "desk@example.com", "want smtp:// or smtps://"},
		{"smtp://", "desk@example.com", "no host"},
		{"smtp://mail.example.com", "", "HUBDESK_MAIL_FROM is not set"},
		{"smtp://mail.example.com", "not an address", "HUBDESK_MAIL_FROM"},
		{"smtp://mail.example.com", "a@example.com\r\nBcc: b@example.com", "HUBDESK_MAIL_FROM"},
	} {
		_, err := mail.NewSMTP(c.url, c.from)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s from %q: %v", c.url, c.from, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s from %q: %v, want %q", c.url, c.from, err, c.wantErr)
		case err != nil && strings.Contains(err.Error(), "pass"):
			t.Errorf("the error repeats the password: %v", err)
		}
	}
}

// TestSendOverRealSMTP sends through a real SMTP server on loopback: in
// clear (credentials allowed to loopback only), after STARTTLS, and over
// implicit TLS; names, subjects and bodies arrive intact and headers
// cannot be injected.
func TestSendOverRealSMTP(t *testing.T) {
	for _, c := range []struct {
		name          string
		tls, implicit bool
	}{{"plain", false, false}, {"starttls", true, false}, {"smtps", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			var srv *mailtest.Server
			var clientTLS *tls.Config
			if c.tls {
				srv, clientTLS = mailtest.StartTLS(t, c.implicit)
			} else {
				srv = mailtest.Start(t)
			}
			sender, err := mail.NewSMTP(srv.URL(), "hubdesk <desk@example.com>")
			if err != nil {
				t.Fatal(err)
			}
			sender.TLSConfig = clientTLS
			err = sender.Send(context.Background(), mail.Message{FromName: "Café Ünïcode\r\nBcc: x@example.com", To: "ada@example.com",
				Subject: "Grüße aus dem Laden\r\nBcc: evil@example.com", Text: "Hello Ada,\n" + strings.Repeat("long line ", 30) + "\nbye",
				HTML: "<p>Hello <b>Ada</b></p>"})
			if err != nil {
				t.Fatal(err)
			}
			got := srv.WaitFor(t, "ada@example.com", 1)
			if got.TLS != c.tls {
				t.Errorf("over TLS: %v, want %v", got.TLS, c.tls)
			}
			if got.From != "desk@example.com" || got.Subject != "Grüße aus dem Laden  Bcc: evil@example.com" {
				t.Errorf("from %q, subject %q", got.From, got.Subject)
			}
			if got.Header.Get("Bcc") != "" || len(got.Header["Bcc"]) != 0 {
				t.Errorf("a header was injected: %v", got.Header)
			}
			if from := got.Header.Get("From"); !strings.Contains(from, "desk@example.com") {
				t.Errorf("From %q", from)
			}
			if !strings.Contains(got.Text, strings.Repeat("long line ", 30)) || !strings.HasPrefix(got.Text, "Hello Ada,") || got.HTML != "<p>Hello <b>Ada</b></p>" {
				t.Errorf("bodies:\n%q\n%q", got.Text, got.HTML)
			}
			if got.Header.Get("Message-Id") == "" || got.Header.Get("Date") == "" {
				t.Errorf("headers: %v", got.Header)
			}
		})
	}
}

func TestSendRefusesBadRecipients(t *testing.T) {
	srv := mailtest.Start(t)
	sender, _ := mail.NewSMTP(srv.URL(), "desk@example.com")
	for _, to := range []string{"", "ada@example.com\r\nBcc: b@example.com", "a@example.com, b@example.com"} {
		if err := sender.Send(context.Background(), mail.Message{To: to, Subject: "x", Text: "x"}); err == nil {
			t.Errorf("sent to %q", to)
		}
	}
	if len(srv.Messages()) != 0 {
		t.Errorf("%d messages", len(srv.Messages()))
	}
}

func TestWrongCredentialsAreRefused(t *testing.T) {
	srv := mailtest.Start(t)
	sender, _ := mail.NewSMTP(strings.Replace(srv.URL(), mailtest.Password, "wrong", 1), "desk@example.com")
	if err := sender.Send(context.Background(), mail.Message{To: "ada@example.com", Subject: "x", Text: "x"}); err == nil {
		t.Error("sent with a wrong password")
	}
}

// A threaded mail carries the Message-ID it was given, In-Reply-To and
// References; the relay's answer comes back in the receipt.
func TestDeliverThreadsAndReportsTheRelaysAnswer(t *testing.T) {
	srv := mailtest.Start(t)
	sender, err := mail.NewSMTP(srv.URL(), "desk@example.com")
	if err != nil {
		t.Fatal(err)
	}
	r, err := sender.Deliver(context.Background(), mail.Message{To: "ada@example.com", Subject: "Re: Parcel [#7]", Text: "x",
		MessageID: "reply-1@example.com", InReplyTo: "<in-2@shopper.example>",
		References: []string{"in-1@shopper.example", "bad id\r\nBcc: x@example.com", "<in-2@shopper.example>"}, AutoReply: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.MessageID != "reply-1@example.com" || !strings.HasPrefix(r.Response, "2") {
		t.Errorf("receipt %+v", r)
	}
	got := srv.WaitFor(t, "ada@example.com", 1)
	for k, want := range map[string]string{"Message-Id": "<reply-1@example.com>", "In-Reply-To": "<in-2@shopper.example>",
		"References": "<in-1@shopper.example> <in-2@shopper.example>", "Auto-Submitted": "auto-replied", "Bcc": ""} {
		if v := got.Header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
}

// A relay that refuses for now (4xx) or cannot be reached is worth a
// retry; one that refuses for good (5xx) is not.
func TestDeliverTellsPermanentFromTemporaryFailures(t *testing.T) {
	srv := mailtest.Start(t)
	sender, _ := mail.NewSMTP(srv.URL(), "desk@example.com")
	m := mail.Message{To: "ada@example.com", Subject: "x", Text: "x"}
	srv.SetRefusing(451)
	if _, err := sender.Deliver(context.Background(), m); err == nil || mail.Permanent(err) {
		t.Errorf("451: %v, permanent %v", err, mail.Permanent(err))
	}
	srv.SetRefusing(554)
	_, err := sender.Deliver(context.Background(), m)
	if !mail.Permanent(err) || !strings.Contains(err.Error(), "554") {
		t.Errorf("554: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	down, _ := mail.NewSMTP("smtp://"+addr, "desk@example.com")
	if _, err := down.Deliver(context.Background(), m); err == nil || mail.Permanent(err) {
		t.Errorf("down: %v", err)
	}
	if _, err := sender.Deliver(context.Background(), mail.Message{To: "not an address", Text: "x"}); !mail.Permanent(err) {
		t.Errorf("bad address: %v", err)
	}
}
