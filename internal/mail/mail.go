// Package mail sends hubdesk's outgoing email: a Message (plain text and
// simple HTML alternatives) handed to a Sender. SMTP is the one Sender,
// configured by a URL (HUBDESK_SMTP_URL). The package knows nothing of
// shops or staff: callers compose the words (Compose renders a text/template
// and an html/template from the same data) and send from a durable job, so a
// mail server that is down delays mail instead of losing it.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	texttemplate "text/template"
	"time"
)

// Message is one email to one recipient.
type Message struct {
	// FromName is shown as the sender's name (the shop's name) beside the
	// configured address; empty keeps the configured name.
	FromName string
	To       string
	Subject  string
	// Text is the plain-text body; HTML, when set, is sent as its
	// alternative.
	Text string
	HTML string
}

// Sender delivers messages. Send either hands the message to the mail
// server or returns an error, in which case the calling job retries.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrBadAddress means an address that cannot go into a header.
var ErrBadAddress = errors.New("mail: not a single email address")

// Compose renders the plain-text and HTML bodies of a message from one
// data value. The HTML template escapes what it inserts, so names and
// shop names typed by people cannot add markup.
func Compose(text *texttemplate.Template, html *htmltemplate.Template, data any) (textBody, htmlBody string, err error) {
	var t, h bytes.Buffer
	if err := text.Execute(&t, data); err != nil {
		return "", "", fmt.Errorf("mail: text body: %w", err)
	}
	if html != nil {
		if err := html.Execute(&h, data); err != nil {
			return "", "", fmt.Errorf("mail: HTML body: %w", err)
		}
	}
	return t.String(), h.String(), nil
}

// parseAddress accepts one address, with or without a display name, and
// refuses anything that would break out of its header.
func parseAddress(s string) (*mail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, ErrBadAddress
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrBadAddress, s)
	}
	return a, nil
}

// build writes the message as RFC 5322 text: headers, then a
// multipart/alternative body (or plain text alone), quoted-printable, so
// any line length and any language travel intact.
func build(from *mail.Address, m Message, now time.Time) ([]byte, error) {
	to, err := parseAddress(m.To)
	if err != nil {
		return nil, err
	}
	sender := *from
	if name := strings.TrimSpace(strings.NewReplacer("\r", " ", "\n", " ").Replace(m.FromName)); name != "" {
		sender.Name = name
	}
	subject := strings.NewReplacer("\r", " ", "\n", " ").Replace(m.Subject)
	var buf bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	header("From", sender.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", messageID(from.Address))
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		buf.WriteString("\r\n")
		if err := writeQP(&buf, m.Text); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	parts := multipart.NewWriter(&buf)
	header("Content-Type", `multipart/alternative; boundary="`+parts.Boundary()+`"`)
	buf.WriteString("\r\n")
	for _, p := range []struct{ kind, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := parts.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.kind + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQP(w, p.body); err != nil {
			return nil, err
		}
	}
	if err := parts.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(body)); err != nil {
		return err
	}
	return qp.Close()
}

// messageID is a unique Message-ID in the sender's domain.
func messageID(from string) string {
	b := make([]byte, 16)
	rand.Read(b)
	domain := "hubdesk.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = d
	}
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}
