// Package mail sends hubdesk's outgoing email: a Message (plain text and
// simple HTML alternatives) handed to a Sender. SMTP is the one Sender,
// configured by a URL (HUBDESK_SMTP_RELAY) and sent by go-mail. The package knows nothing of
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
	"net/mail"
	"net/textproto"
	"strings"
	texttemplate "text/template"

	gomail "github.com/wneessen/go-mail"
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
	// MessageID is the mail's Message-ID without angle brackets; empty: a
	// new one (NewMessageID). Callers that thread set it before sending and
	// keep it, so the answer finds its way back.
	MessageID string
	// InReplyTo and References thread the mail (RFC 5322 3.6.4): the
	// Message-ID it answers, and the conversation's ids, oldest first.
	InReplyTo  string
	References []string
	// AutoReply marks a mail no person wrote (an acknowledgement):
	// Auto-Submitted: auto-replied, so other robots do not answer it.
	AutoReply bool
}

// Receipt is what the relay said when it took a message.
type Receipt struct {
	MessageID string // as sent, without angle brackets
	// Response is the relay's final answer (often with its queue id), or
	// "250 accepted" when it gave none.
	Response string
}

// Deliverer is a Sender that also tells what the relay answered; *SMTP
// is one.
type Deliverer interface {
	Sender
	Deliver(ctx context.Context, m Message) (Receipt, error)
}

// SendError is a delivery the relay refused or that could not reach it.
type SendError struct {
	Relay string
	// Code is the relay's SMTP reply code; 0 when it never answered (down,
	// refused the connection, timed out).
	Code int
	err  error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("mail: %s: %v", e.Relay, e.err)
}

func (e *SendError) Unwrap() error { return e.err }

// Permanent says a retry cannot help: the relay refused the message with
// a 5xx code, or the message itself is unsendable (a bad address).
func Permanent(err error) bool {
	if errors.Is(err, ErrBadAddress) {
		return true
	}
	var se *SendError
	return errors.As(err, &se) && se.Code >= 500 && se.Code < 600
}

// replyCode is the SMTP reply code in err, 0 when it has none.
func replyCode(err error) int {
	var ge *gomail.SendError
	if errors.As(err, &ge) {
		if c := ge.ErrorCode(); c != 0 {
			return c
		}
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// NewMessageID is a new, unique Message-ID (without angle brackets) in
// the domain of the address from.
func NewMessageID(from string) string {
	b := make([]byte, 16)
	rand.Read(b)
	domain := "hubdesk.invalid"
	if _, d, ok := strings.Cut(from, "@"); ok && d != "" {
		domain = strings.Trim(d, "<> ")
	}
	return hex.EncodeToString(b) + "@" + domain
}

// validID accepts a Message-ID (without brackets) that can go into a
// header as it is: printable ASCII, no spaces or brackets, one @.
func validID(id string) bool {
	if id == "" || len(id) > 250 || strings.Count(id, "@") != 1 {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

// formatIDs writes ids as a References value, dropping any that could
// not go into a header.
func formatIDs(ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		id = strings.Trim(id, "<> ")
		if !validID(id) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("<" + id + ">")
	}
	return b.String()
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
