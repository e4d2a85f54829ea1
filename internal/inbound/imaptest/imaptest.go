// Package imaptest is an IMAP server on loopback for tests of mail
// import: go-imap's in-memory backend made safe to deliver into while it
// serves, with IDLE notices, a UIDVALIDITY that can change, and
// connections that can drop.
package imaptest

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/backend"
	"github.com/emersion/go-imap/backend/memory"
	"github.com/emersion/go-imap/server"

	"github.com/hubdesk/hubdesk/internal/inbound"
)

// Message is a plain support mail with subject as its subject and
// Message-ID.
func Message(subject, body string) string {
	return "From: Ada <ada@example.com>\r\nTo: support@shop-a.example\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
}

// Server is an IMAP server on loopback over go-imap's in-memory
// backend (user "username", password "password", an INBOX holding one
// message), made safe for a test to deliver into while it serves, able to
// push EXISTS to IDLE clients, to renumber its mailbox under a new
// UIDVALIDITY, and to drop every connection and come back.
type Server struct {
	t           testing.TB
	addr        string
	mem         *memory.Backend
	inbox       *memory.Mailbox
	updates     chan backend.Update
	mu          sync.Mutex // guards the mailbox and validity
	validity    uint32
	Logins      atomic.Int32
	srvMu       sync.Mutex
	srv         *server.Server
	tls         *tls.Config
	implicitTLS bool
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server { return StartTLS(t, nil, false) }

// StartTLS runs a server offering cfg: from the first byte when implicit
// (port 993 style), else through STARTTLS.
func StartTLS(t testing.TB, cfg *tls.Config, implicit bool) *Server {
	t.Helper()
	s := &Server{t: t, mem: memory.New(), updates: make(chan backend.Update, 64), validity: 1, tls: cfg, implicitTLS: implicit}
	u, err := s.mem.Login(nil, "username", "password")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := u.GetMailbox("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	s.inbox = mb.(*memory.Mailbox)
	s.listen("127.0.0.1:0")
	t.Cleanup(func() { s.Drop() })
	return s
}

func (s *Server) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := server.New(&testBackend{s: s})
	if s.tls != nil {
		if s.implicitTLS {
			ln = tls.NewListener(ln, s.tls)
		} else {
			srv.TLSConfig = s.tls
		}
	}
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srvMu.Lock()
	s.srv = srv
	s.srvMu.Unlock()
	go srv.Serve(ln)
}

// Drop closes the listener and every connection, as a server restarting
// or a network failing would.
func (s *Server) Drop() {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// ComeBack serves again on the same address.
func (s *Server) ComeBack() { s.listen(s.addr) }

// Deliver adds a message to INBOX and tells IDLE clients.
func (s *Server) Deliver(subject string) {
	s.mu.Lock()
	if err := s.inbox.CreateMessage(nil, time.Now(), strings.NewReader(Message(subject, "Hello from IMAP: "+subject))); err != nil {
		s.t.Fatal(err)
	}
	status, _ := s.inbox.Status([]imap.StatusItem{imap.StatusMessages})
	s.mu.Unlock()
	s.updates <- &backend.MailboxUpdate{Update: backend.NewUpdate("username", "INBOX"), MailboxStatus: status}
}

// Renumber gives every message a new UID under a new UIDVALIDITY, as a
// server does when its mailbox is rebuilt.
func (s *Server) Renumber() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validity++
	for i, m := range s.inbox.Messages {
		m.Uid = uint32(1000 + i)
	}
}

// MaxUID is the UID of the newest message.
func (s *Server) MaxUID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var uid uint32
	for _, m := range s.inbox.Messages {
		uid = max(uid, m.Uid)
	}
	return uid
}

// State is what the mailbox holds: how many messages, how many deleted
// or read.
func (s *Server) State() (total, seen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.inbox.Messages {
		total++
		for _, f := range m.Flags {
			if f == imap.SeenFlag {
				seen++
			}
		}
	}
	return total, seen
}

// Account is the server's mailbox as a shop would enter it.
func (s *Server) Account() inbound.Account {
	host, port, _ := net.SplitHostPort(s.addr)
	var p int
	fmt.Sscan(port, &p)
	return inbound.Account{Host: host, Port: p, Security: inbound.SecurityNone, Username: "username", Password: "password"}
}

type testBackend struct{ s *Server }

func (b *testBackend) Login(ci *imap.ConnInfo, username, password string) (backend.User, error) {
	u, err := b.s.mem.Login(ci, username, password)
	if err != nil {
		return nil, err
	}
	b.s.Logins.Add(1)
	return &testUser{User: u, s: b.s}, nil
}

func (b *testBackend) Updates() <-chan backend.Update { return b.s.updates }

type testUser struct {
	backend.User
	s *Server
}

func (u *testUser) GetMailbox(name string) (backend.Mailbox, error) {
	mb, err := u.User.GetMailbox(name)
	if err != nil {
		return nil, err
	}
	return &testMailbox{m: mb, s: u.s}, nil
}

// testMailbox serialises the memory mailbox and reports the server's
// current UIDVALIDITY.
type testMailbox struct {
	m backend.Mailbox
	s *Server
}

func (b *testMailbox) Name() string { return b.m.Name() }
func (b *testMailbox) Info() (*imap.MailboxInfo, error) {
	return b.m.Info()
}
func (b *testMailbox) Status(items []imap.StatusItem) (*imap.MailboxStatus, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	st, err := b.m.Status(items)
	if st != nil {
		st.UidValidity = b.s.validity
	}
	return st, err
}
func (b *testMailbox) SetSubscribed(v bool) error { return b.m.SetSubscribed(v) }
func (b *testMailbox) Check() error               { return nil }
func (b *testMailbox) ListMessages(uid bool, seq *imap.SeqSet, items []imap.FetchItem, ch chan<- *imap.Message) error {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.m.ListMessages(uid, seq, items, ch)
}
func (b *testMailbox) SearchMessages(uid bool, c *imap.SearchCriteria) ([]uint32, error) {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.m.SearchMessages(uid, c)
}
func (b *testMailbox) CreateMessage(flags []string, date time.Time, body imap.Literal) error {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.m.CreateMessage(flags, date, body)
}
func (b *testMailbox) UpdateMessagesFlags(uid bool, seq *imap.SeqSet, op imap.FlagsOp, flags []string) error {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.m.UpdateMessagesFlags(uid, seq, op, flags)
}
func (b *testMailbox) CopyMessages(uid bool, seq *imap.SeqSet, dest string) error {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.m.CopyMessages(uid, seq, dest)
}
func (b *testMailbox) Expunge() error {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	return b.m.Expunge()
}
