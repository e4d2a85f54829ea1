package demo

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/mail"
)

// TestMailboxKeepsWhatHubdeskSends: mail sent through the demo's relay
// over SMTP is kept decoded, newest first, threading headers and both
// bodies intact, and only the latest MailboxSize are kept.
func TestMailboxKeepsWhatHubdeskSends(t *testing.T) {
	mb, err := StartMailbox()
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	relay, err := mail.NewSMTP(mb.URL(), MailFrom)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = relay.Send(ctx, mail.Message{To: "ada@example.com", Subject: "Grüße [#7]", Text: "Hallo Ada,\n" + strings.Repeat("lange Zeile ", 20),
		HTML: "<p>Hallo <b>Ada</b></p>", MessageID: "r1@demo.hubdesk.dev", InReplyTo: "in1@example.com", References: []string{"in1@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	got := mb.Mails()
	if len(got) != 1 {
		t.Fatalf("%d mails", len(got))
	}
	m := got[0]
	if m.Subject != "Grüße [#7]" || m.To != "ada@example.com" || m.Header.Get("Message-Id") != "<r1@demo.hubdesk.dev>" ||
		m.Header.Get("In-Reply-To") != "<in1@example.com>" || !strings.Contains(m.Text, strings.Repeat("lange Zeile ", 20)) ||
		m.HTML != "<p>Hallo <b>Ada</b></p>" {
		t.Errorf("kept %+v", m)
	}
	for i := range MailboxSize + 5 {
		if err := relay.Send(ctx, mail.Message{To: "ada@example.com", Subject: "n" + strconv.Itoa(i), Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	got = mb.Mails()
	if len(got) != MailboxSize || got[0].Subject != "n"+strconv.Itoa(MailboxSize+4) {
		t.Errorf("%d kept, newest %q", len(got), got[0].Subject)
	}
	if _, ok := mb.Mail(1); ok {
		t.Error("the oldest mail is still kept")
	}
}
