package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends through one relay (go-mail does the SMTP conversation:
// STARTTLS, authentication, pipelining of the envelope).
type SMTP struct {
	host     string
	port     int
	implicit bool // smtps://: TLS from the first byte
	user     string
	password string
	from     *mail.Address
	// TLSConfig overrides the TLS settings (tests trust their own
	// certificate); nil verifies the server's name against the system roots.
	TLSConfig *tls.Config
	// Timeout bounds one whole delivery; a minute when 0.
	Timeout time.Duration
}

// NewSMTP reads the relay from rawURL (HUBDESK_SMTP_RELAY, or its older
// name HUBDESK_SMTP_URL) and the sender from from:
//
//	smtp://user:pass@host:587   STARTTLS when the server offers it
//	smtps://user:pass@host:465  TLS from the start
//
// The port defaults to 587 and 465. Credentials are only ever sent over
// TLS, or to a server on loopback. from is an address, optionally with a
// name ("Support <help@example.com>").
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	s := &SMTP{host: u.Hostname()}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		s.implicit = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("scheme %q: want smtp:// or smtps://", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("no host")
	}
	if s.port, err = strconv.Atoi(port); err != nil || s.port <= 0 || s.port > 65535 {
		return nil, fmt.Errorf("port %q is not a port", port)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	if from == "" {
		return nil, errors.New("HUBDESK_MAIL_FROM is not set: mail needs a sender address")
	}
	if s.from, err = parseAddress(from); err != nil {
		return nil, fmt.Errorf("HUBDESK_MAIL_FROM: %w", err)
	}
	return s, nil
}

// Addr is the relay's host:port, for logs (never the credentials).
func (s *SMTP) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// FromAddress is the configured sender's address, whose domain new
// Message-IDs are made in.
func (s *SMTP) FromAddress() string { return s.from.Address }

// Send delivers m; see Deliver.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	_, err := s.Deliver(ctx, m)
	return err
}

// Deliver hands m to the relay: connect, upgrade to TLS (always with
// smtps://, when offered with smtp://), authenticate when the URL has
// credentials, then send. The receipt holds the relay's final answer to
// the message (its queue id, usually). An error the relay answered with a
// 5xx code is Permanent.
func (s *SMTP) Deliver(ctx context.Context, m Message) (Receipt, error) {
	msg, id, err := s.compose(m)
	if err != nil {
		return Receipt{}, err
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tlsConfig := s.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	}
	opts := []gomail.Option{
		gomail.WithPort(s.port), gomail.WithTimeout(timeout), gomail.WithTLSConfig(tlsConfig),
		gomail.WithHELO(helloName()),
		// STARTTLS whenever the relay offers it; a relay that does not is
		// one on loopback or a private network the operator chose.
		gomail.WithTLSPolicy(gomail.TLSOpportunistic),
	}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	}
	if s.user != "" {
		// PLAIN is refused by go-mail over a connection that is neither
		// TLS nor loopback, so a password never travels in the clear.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return Receipt{}, fmt.Errorf("mail: %s: %w", s.Addr(), err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if msg.IsDelivered() {
		// Accepted: a failure after that (QUIT) does not undo it, and
		// reporting it would send the message again.
		return Receipt{MessageID: id, Response: accepted(msg.ServerResponse())}, nil
	}
	if err != nil {
		return Receipt{}, &SendError{Relay: s.Addr(), Code: replyCode(err), err: err}
	}
	return Receipt{MessageID: id, Response: accepted(msg.ServerResponse())}, nil
}

// compose turns m into go-mail's message; the Message-ID is m's, or a new
// one in the sender's domain.
func (s *SMTP) compose(m Message) (*gomail.Msg, string, error) {
	to, err := parseAddress(m.To)
	if err != nil {
		return nil, "", err
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	name := s.from.Name
	if n := strings.TrimSpace(oneLine(m.FromName)); n != "" {
		name = n
	}
	if err := msg.FromFormat(name, s.from.Address); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadAddress, err)
	}
	if err := msg.AddToFormat(to.Name, to.Address); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadAddress, err)
	}
	msg.Subject(oneLine(m.Subject))
	msg.SetDate()
	id := strings.Trim(m.MessageID, "<> ")
	if id == "" {
		id = NewMessageID(s.from.Address)
	}
	if !validID(id) {
		return nil, "", fmt.Errorf("mail: Message-ID %q is not one", id)
	}
	msg.SetMessageIDWithValue(id)
	if r := strings.Trim(m.InReplyTo, "<> "); r != "" && validID(r) {
		msg.SetGenHeaderPreformatted(gomail.HeaderInReplyTo, "<"+r+">")
	}
	if refs := formatIDs(m.References); refs != "" {
		msg.SetGenHeaderPreformatted(gomail.HeaderReferences, refs)
	}
	if m.AutoReply {
		// RFC 3834: an answer made by a machine; well-behaved responders
		// do not answer it, which stops loops with other autoresponders.
		msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-replied")
		msg.SetGenHeader(gomail.Header("X-Auto-Response-Suppress"), "All")
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, id, nil
}

// accepted is the relay's answer to a delivered message, or "250
// accepted" when the relay said nothing more.
func accepted(response string) string {
	if response = strings.TrimSpace(response); response != "" {
		return response
	}
	return "250 accepted"
}

// oneLine keeps a header value on its line: line breaks become spaces.
func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }

// helloName is this machine's name for EHLO, or localhost.
func helloName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
