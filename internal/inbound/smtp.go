package inbound

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/hubdesk/hubdesk/internal/intake"
)

// MaxMessageBytes is the largest message taken in (30 MiB): larger mail is
// refused with 552 over SMTP and left in the mailbox over IMAP. Mail with
// attachments above the helpdesk's 25 MiB per message still fits once
// base64 has grown it by a third — almost; what does not is refused
// before it is stored rather than stored and then dropped.
const MaxMessageBytes = 30 << 20

// Receiver stores a delivery durably; *intake.Intake is one.
type Receiver interface {
	Receive(ctx context.Context, d intake.Delivery) (intake.Receipt, error)
}

// SMTPOptions configure the listener.
type SMTPOptions struct {
	Router *Router
	Intake Receiver
	// Hostname is the name the listener greets with (EHLO); the router's
	// domain when empty.
	Hostname string
	// TLS, when set, is offered through STARTTLS. Inbound mail is taken
	// with or without it: a sending server that cannot do TLS still
	// delivers, as to any MX.
	TLS *tls.Config
	// MaxRecipients bounds RCPT TO per message; 50 when 0.
	MaxRecipients int
	// MaxConnections bounds the sessions served at once; 200 when 0.
	MaxConnections int
	// MaxMessagesInFlight bounds the messages read into memory at once
	// (each up to MaxMessageBytes); the next sender waits at DATA. 8 when
	// 0: 240 MiB at most, however many connections are open.
	MaxMessagesInFlight int
	// Timeout bounds each read and write of a session; 2 minutes when 0.
	Timeout time.Duration
	Logger  *slog.Logger
}

// SMTPServer is the built-in SMTP listener: an MX-style receiver with no
// AUTH and no relaying — it takes mail only for the shops' addresses.
type SMTPServer struct {
	opts SMTPOptions
	srv  *smtp.Server
	ctx  context.Context // ends when the server shuts down
	stop context.CancelFunc
	max  int
	// inFlight holds a slot per message being read and stored.
	inFlight chan struct{}
}

// NewSMTPServer returns the listener; Serve starts it.
func NewSMTPServer(opts SMTPOptions) *SMTPServer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxRecipients == 0 {
		opts.MaxRecipients = 50
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 200
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.MaxMessagesInFlight == 0 {
		opts.MaxMessagesInFlight = 8
	}
	s := &SMTPServer{opts: opts, max: opts.MaxConnections, inFlight: make(chan struct{}, opts.MaxMessagesInFlight)}
	s.ctx, s.stop = context.WithCancel(context.Background())
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = opts.Hostname
	if srv.Domain == "" && opts.Router != nil {
		srv.Domain = opts.Router.Domain
	}
	if srv.Domain == "" {
		srv.Domain = "localhost"
	}
	srv.MaxMessageBytes = MaxMessageBytes
	srv.MaxRecipients = opts.MaxRecipients
	srv.ReadTimeout = opts.Timeout
	srv.WriteTimeout = opts.Timeout
	srv.TLSConfig = opts.TLS
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = slogAdapter{opts.Logger}
	s.srv = srv
	return s
}

// Serve answers SMTP on ln until Shutdown or Close.
func (s *SMTPServer) Serve(ln net.Listener) error {
	err := s.srv.Serve(&limitListener{Listener: ln, slots: make(chan struct{}, s.max)})
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for the sessions under
// way to end (a message being stored finishes and gets its answer); at
// ctx's end the rest are closed. A session closed before its 250 is mail
// the sender still has and will send again.
func (s *SMTPServer) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.stop()
		err = s.srv.Close()
	}
	s.stop()
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{server: s, remote: c.Conn().RemoteAddr().String()}, nil
}

// session is one SMTP transaction after another on one connection.
type session struct {
	server *SMTPServer
	remote string
	from   string
	shops  []int64 // the shops the message goes to, each once
}

var (
	errUnknownRecipient = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}
	errTryLater         = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Cannot take mail now, try again later"}
	errTooLarge         = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: fmt.Sprintf("Message too big (at most %d bytes)", MaxMessageBytes)}
)

func (s *session) Reset() {
	s.from = ""
	s.shops = nil
}

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if opts != nil && opts.Size > MaxMessageBytes {
		return errTooLarge
	}
	s.from = from
	s.shops = nil
	return nil
}

// Rcpt accepts only the shops' addresses: anything else is refused here,
// before the message is sent, so hubdesk never relays and never takes
// mail it cannot file.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ctx, cancel := context.WithTimeout(s.server.ctx, 10*time.Second)
	defer cancel()
	shopID, err := s.server.opts.Router.Route(ctx, to)
	if err != nil {
		s.server.opts.Logger.Error("inbound smtp: route recipient", "err", err)
		return errTryLater
	}
	if shopID == 0 {
		return errUnknownRecipient
	}
	if !slices.Contains(s.shops, shopID) {
		s.shops = append(s.shops, shopID)
	}
	return nil
}

// Data stores the message once for each shop it is addressed to and
// answers 250 only when every one has committed. If one fails the sender
// is told to try again; the shops that have it already drop the resent
// copy (the intake keeps a digest of each delivery).
func (s *session) Data(r io.Reader) error {
	select {
	case s.server.inFlight <- struct{}{}:
	case <-s.server.ctx.Done():
		return errTryLater
	}
	defer func() { <-s.server.inFlight }()
	raw, err := io.ReadAll(r)
	if errors.Is(err, smtp.ErrDataTooLarge) {
		s.server.opts.Logger.Info("inbound smtp: message too big, refused", "remote", s.remote)
		return errTooLarge
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.server.ctx), 30*time.Second)
	defer cancel()
	for _, shopID := range s.shops {
		receipt, err := s.server.opts.Intake.Receive(ctx, intake.Delivery{
			ShopID: shopID, Provider: intake.ProviderEmail, Topic: "smtp", Body: raw,
		})
		if err != nil {
			s.server.opts.Logger.Error("inbound smtp: store message", "shop", shopID, "err", err)
			return errTryLater
		}
		s.server.opts.Logger.Info("inbound smtp: message stored", "shop", shopID, "event", receipt.EventID,
			"duplicate", receipt.Duplicate, "bytes", len(raw), "remote", s.remote)
	}
	return nil
}

// limitListener serves at most cap(slots) connections at once; the next
// waits in the kernel's backlog until one ends.
type limitListener struct {
	net.Listener
	slots chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &slotConn{Conn: c, release: func() { <-l.slots }}, nil
}

type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// slogAdapter gives go-smtp's error log to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) {
	a.l.Warn("inbound smtp: " + fmt.Sprintf(format, v...))
}
func (a slogAdapter) Println(v ...any) { a.l.Warn("inbound smtp: " + fmt.Sprintln(v...)) }
