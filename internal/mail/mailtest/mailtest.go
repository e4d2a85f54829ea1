// Package mailtest runs a real SMTP server on loopback for tests: it
// accepts mail after a PLAIN sign-in and keeps each message, decoded, for
// the test to read.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// User and Password are what the server accepts.
const (
	User     = "hubdesk"
	Password = "mail-secret"
)

// Received is one message as the server got it.
type Received struct {
	From, To string // envelope
	// TLS says the message came over TLS.
	TLS     bool
	Header  mail.Header
	Raw     []byte // the message as it came
	Subject string
	Text    string
	HTML    string
}

// Server is a running SMTP server.
type Server struct {
	Addr   string
	scheme string
	mu     sync.Mutex
	msgs   []Received
	// failCode, while set, refuses every message with that reply code.
	failCode int
	t        testing.TB
}

// Start runs a server without TLS on a free loopback port until the test
// ends.
func Start(t testing.TB) *Server { return start(t, nil, false) }

// StartTLS runs a server with TLS: from the first byte when implicit
// (smtps://), else offered as STARTTLS and required before signing in. The
// returned configuration trusts its certificate, for the client.
func StartTLS(t testing.TB, implicit bool) (*Server, *tls.Config) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS()
	cert := ts.TLS.Certificates
	ts.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	return start(t, &tls.Config{Certificates: cert}, implicit), &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
}

func start(t testing.TB, tlsConfig *tls.Config, implicit bool) *Server {
	t.Helper()
	s := &Server{t: t, scheme: "smtp"}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = tlsConfig
	srv.AllowInsecureAuth = tlsConfig == nil // loopback, as hubdesk's client allows
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	var ln net.Listener
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	if implicit {
		ln = tls.NewListener(ln, tlsConfig)
		s.scheme = "smtps"
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the HUBDESK_SMTP_URL that reaches this server.
func (s *Server) URL() string { return s.scheme + "://" + User + ":" + Password + "@" + s.Addr }

// SetFailing makes the server refuse (true) messages with a temporary
// error (451), or accept them again (false).
func (s *Server) SetFailing(fail bool) {
	code := 0
	if fail {
		code = 451
	}
	s.SetRefusing(code)
}

// SetRefusing makes the server refuse every message with the reply code
// (4xx: try again later; 5xx: never), or accept them again (0).
func (s *Server) SetRefusing(code int) {
	s.mu.Lock()
	s.failCode = code
	s.mu.Unlock()
}

// Messages are the messages received so far.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitFor waits (up to 30 s) for the n-th message (counting from 1) to
// to arrive and returns it.
func (s *Server) WaitFor(t testing.TB, to string, n int) Received {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var mine []Received
		for _, m := range s.Messages() {
			if strings.EqualFold(m.To, to) {
				mine = append(mine, m)
			}
		}
		if len(mine) >= n {
			return mine[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %d for %s arrived (have %d)", n, to, len(mine))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+`)

// Link is the first link in the message's text containing path.
func (r Received) Link(t testing.TB, path string) string {
	t.Helper()
	for _, l := range linkPattern.FindAllString(r.Text, -1) {
		if strings.Contains(l, path) {
			return l
		}
	}
	t.Fatalf("no link to %s in the message:\n%s", path, r.Text)
	return ""
}

type session struct {
	srv      *Server
	conn     *smtp.Conn
	from, to string
	authed   bool
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != User || password != Password {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	code := s.srv.failCode
	s.srv.mu.Unlock()
	if code >= 500 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "message rejected"}
	}
	if code != 0 {
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState() // after STARTTLS too
	got := Received{From: s.from, To: s.to, Header: msg.Header, TLS: isTLS, Raw: raw}
	got.Subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		parts := multipart.NewReader(msg.Body, params["boundary"])
		for {
			p, err := parts.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(p) // NextPart decodes quoted-printable
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
				got.HTML = string(body)
			} else {
				got.Text = string(body)
			}
		}
	} else {
		var body io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		text, _ := io.ReadAll(body)
		got.Text = string(text)
	}
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, got)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", "" }
func (s *session) Logout() error { return nil }
