package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"os"
	"time"
)

// SMTP sends through one mail server.
type SMTP struct {
	addr     string // host:port
	host     string
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

// NewSMTP reads the server from rawURL and the sender from from:
//
//	smtp://user:pass@host:587   STARTTLS when the server offers it
//	smtps://user:pass@host:465  TLS from the start
//
// The port defaults to 587 and 465. Credentials are only ever sent over
// TLS, or to a server on loopback (net/smtp refuses otherwise). from is an
// address, optionally with a name ("Support <help@example.com>").
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
	s.addr = net.JoinHostPort(s.host, port)
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

// Send delivers m: connect, upgrade to TLS (always with smtps://, when
// offered with smtp://), authenticate when the URL has credentials, then
// hand the message over.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	body, err := build(s.from, m, time.Now())
	if err != nil {
		return err
	}
	to, _ := parseAddress(m.To) // build checked it
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tlsConfig := s.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: s.host}
	}
	var conn net.Conn
	if s.implicit {
		conn, err = (&tls.Dialer{Config: tlsConfig}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("mail: connect to %s: %w", s.addr, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: %s: %w", s.addr, err)
	}
	defer c.Close()
	if err := c.Hello(helloName()); err != nil {
		return fmt.Errorf("mail: %s: hello: %w", s.addr, err)
	}
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("mail: %s: STARTTLS: %w", s.addr, err)
			}
		}
	}
	if s.user != "" {
		if err := c.Auth(smtp.PlainAuth("", s.user, s.password, s.host)); err != nil {
			return fmt.Errorf("mail: %s: sign in as %s: %w", s.addr, s.user, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("mail: %s: MAIL FROM: %w", s.addr, err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("mail: %s: RCPT TO: %w", s.addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: %s: DATA: %w", s.addr, err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("mail: %s: send message: %w", s.addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: %s: message refused: %w", s.addr, err)
	}
	return c.Quit()
}

// helloName is this machine's name for EHLO, or localhost.
func helloName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
