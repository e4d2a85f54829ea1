package inbound_test

import (
	"context"
	"errors"
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

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/inbound"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// imapServer is an IMAP server on loopback over go-imap's in-memory
// backend (user "username", password "password", an INBOX holding one
// message), made safe for a test to deliver into while it serves, able to
// push EXISTS to IDLE clients, to renumber its mailbox under a new
// UIDVALIDITY, and to drop every connection and come back.
type imapServer struct {
	t        testing.TB
	addr     string
	mem      *memory.Backend
	inbox    *memory.Mailbox
	updates  chan backend.Update
	mu       sync.Mutex // guards the mailbox and validity
	validity uint32
	logins   atomic.Int32
	srvMu    sync.Mutex
	srv      *server.Server
}

func startIMAP(t testing.TB) *imapServer {
	t.Helper()
	s := &imapServer{t: t, mem: memory.New(), updates: make(chan backend.Update, 64), validity: 1}
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
	t.Cleanup(func() { s.drop() })
	return s
}

func (s *imapServer) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	srv := server.New(&testBackend{s: s})
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srvMu.Lock()
	s.srv = srv
	s.srvMu.Unlock()
	go srv.Serve(ln)
}

// drop closes the listener and every connection, as a server restarting
// or a network failing would.
func (s *imapServer) drop() {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

// comeBack serves again on the same address.
func (s *imapServer) comeBack() { s.listen(s.addr) }

// deliver adds a message to INBOX and tells IDLE clients.
func (s *imapServer) deliver(subject string) {
	s.mu.Lock()
	if err := s.inbox.CreateMessage(nil, time.Now(), strings.NewReader(string(message(subject, "Hello from IMAP: "+subject)))); err != nil {
		s.t.Fatal(err)
	}
	status, _ := s.inbox.Status([]imap.StatusItem{imap.StatusMessages})
	s.mu.Unlock()
	s.updates <- &backend.MailboxUpdate{Update: backend.NewUpdate("username", "INBOX"), MailboxStatus: status}
}

// renumber gives every message a new UID under a new UIDVALIDITY, as a
// server does when its mailbox is rebuilt.
func (s *imapServer) renumber() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.validity++
	for i, m := range s.inbox.Messages {
		m.Uid = uint32(1000 + i)
	}
}

// maxUID is the UID of the newest message.
func (s *imapServer) maxUID() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var uid uint32
	for _, m := range s.inbox.Messages {
		uid = max(uid, m.Uid)
	}
	return uid
}

// state is what the mailbox holds: how many messages, how many deleted
// or read.
func (s *imapServer) state() (total, seen int) {
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

func (s *imapServer) account() inbound.Account {
	host, port, _ := net.SplitHostPort(s.addr)
	var p int
	fmt.Sscan(port, &p)
	return inbound.Account{Host: host, Port: p, Security: inbound.SecurityNone, Username: "username", Password: "password"}
}

type testBackend struct{ s *imapServer }

func (b *testBackend) Login(ci *imap.ConnInfo, username, password string) (backend.User, error) {
	u, err := b.s.mem.Login(ci, username, password)
	if err != nil {
		return nil, err
	}
	b.s.logins.Add(1)
	return &testUser{User: u, s: b.s}, nil
}

func (b *testBackend) Updates() <-chan backend.Update { return b.s.updates }

type testUser struct {
	backend.User
	s *imapServer
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
	s *imapServer
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

type imapRig struct {
	db          *database.DB
	shop        *shop.Shop
	server      *imapServer
	connections *connection.Store
	poller      *inbound.Poller
}

// newIMAPRig connects a shop to a fresh IMAP server (account changed by
// edit) and returns a poller for it, not yet running.
func newIMAPRig(t *testing.T, db *database.DB, wait time.Duration, edit func(*inbound.Account)) *imapRig {
	t.Helper()
	r := &imapRig{db: db, shop: fixtures.Shop(t, db, "imap-shop"), server: startIMAP(t), connections: connection.NewStore(db, fixtures.Box(t))}
	a := r.server.account()
	if edit != nil {
		edit(&a)
	}
	if err := a.Normalize(); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := r.connections.Save(context.Background(), r.shop.ID, &connection.Connection{Provider: inbound.ProviderIMAP, Credentials: a.Credentials(), Status: connection.StatusConnected, CheckedAt: &now}, now); err != nil {
		t.Fatal(err)
	}
	r.poller = &inbound.Poller{DB: db, Connections: r.connections, Intake: newIntake(t, db), Wait: wait,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	return r
}

// run runs the poller until the returned stop is called.
func (r *imapRig) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.poller.Run(ctx, r.shop.ID) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (r *imapRig) stored(t *testing.T) int {
	n := 0
	for _, m := range storedEmail(t, r.db) {
		if m.topic == "imap" && m.shopID == r.shop.ID {
			n++
		}
	}
	return n
}

func (r *imapRig) mailbox(t *testing.T) inbound.MailboxState {
	st, err := inbound.NewMailboxes(r.db).Get(context.Background(), r.shop.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Each message is taken once, IDLE brings new mail at once (the wait is an
// hour), messages are neither read nor deleted, and a poller started
// afterwards (a restart) takes only what came since.
func TestIMAPTakesEachMessageOnceAcrossRestarts(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := newIMAPRig(t, db, time.Hour, nil)
		_, seenBefore := r.server.state()
		stop := r.run(t)
		jobstest.Eventually(t, "the message already in the mailbox", func() bool { return r.stored(t) == 1 })
		r.server.deliver("second")
		r.server.deliver("third")
		jobstest.Eventually(t, "the messages delivered during IDLE", func() bool { return r.stored(t) == 3 })
		stop()
		if st := r.mailbox(t); st.LastUID != r.server.maxUID() || st.UIDValidity != 1 {
			t.Fatalf("mailbox state %+v, want UIDVALIDITY 1, last UID %d", st, r.server.maxUID())
		}

		r.server.deliver("fourth")
		r.run(t)
		jobstest.Eventually(t, "the message delivered while stopped", func() bool { return r.mailbox(t).LastUID == r.server.maxUID() })
		if n := r.stored(t); n != 4 {
			t.Fatalf("stored %d messages after the restart, want 4", n)
		}
		if events := count(t, db, `SELECT COUNT(*) FROM webhook_events`); events != 4 {
			t.Fatalf("%d events stored, want 4 (each message taken once)", events)
		}
		if total, seen := r.server.state(); total != 4 || seen != seenBefore {
			t.Fatalf("mailbox holds %d messages, %d read; want 4, %d read (none marked read by the import)", total, seen, seenBefore)
		}
	})
}

// A new UIDVALIDITY makes the poller read the mailbox again: the messages
// it already has are dropped by the intake, the new one is stored.
func TestIMAPReadsARenumberedMailboxAgainWithoutDuplicates(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := newIMAPRig(t, db, 50*time.Millisecond, nil)
		stop := r.run(t)
		r.server.deliver("second")
		jobstest.Eventually(t, "two messages", func() bool { return r.stored(t) == 2 })
		stop()
		r.server.renumber()
		r.server.deliver("after-renumbering")
		r.run(t)
		jobstest.Eventually(t, "the renumbered mailbox read", func() bool {
			st := r.mailbox(t)
			return st.UIDValidity == 2 && st.LastUID == 1002
		})
		if n := r.stored(t); n != 3 {
			t.Fatalf("stored %d messages, want 3 (two known, one new)", n)
		}
	})
}

// A server that drops the connection: the failure is recorded on the
// mailbox (Settings shows it), the poller reconnects with backoff, and
// once the server is back the mail is taken and the failure cleared.
func TestIMAPReconnectsAfterTheServerDropsTheConnection(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := newIMAPRig(t, db, 50*time.Millisecond, nil)
		r.run(t)
		jobstest.Eventually(t, "the first message", func() bool { return r.stored(t) == 1 })
		r.server.drop()
		jobstest.Eventually(t, "the failure recorded", func() bool { return r.mailbox(t).LastError != "" })
		r.server.deliver("while-down")
		r.server.comeBack()
		jobstest.Eventually(t, "the message taken after reconnecting", func() bool { return r.stored(t) == 2 })
		jobstest.Eventually(t, "the failure cleared", func() bool { return r.mailbox(t).LastError == "" })
	})
}

// Deleting after import is the merchant's choice; with it, each message is
// gone from the mailbox once stored.
func TestIMAPDeletesOnlyWhenAsked(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := newIMAPRig(t, db, 50*time.Millisecond, func(a *inbound.Account) { a.DeleteAfterImport = true })
		r.server.deliver("second")
		r.run(t)
		jobstest.Eventually(t, "both messages stored and deleted", func() bool {
			total, _ := r.server.state()
			return r.stored(t) == 2 && total == 0
		})
	})
}

// Two processes' supervisors over one database: one poller per shop,
// whichever process runs it (on SQLite, one process is the deployment).
// Removing the connection stops the poller.
func TestIMAPPollersRunOnePollerPerShop(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := newIMAPRig(t, db, 50*time.Millisecond, nil)
		supervisors := 1
		if db.Dialect == database.Postgres {
			supervisors = 2
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range supervisors {
			ps := &inbound.Pollers{Poller: r.poller, Every: 20 * time.Millisecond}
			wg.Go(func() { ps.Run(ctx) })
		}
		defer func() { cancel(); wg.Wait() }()
		jobstest.Eventually(t, "the first message", func() bool { return r.stored(t) == 1 })
		// Let the other supervisor look several times.
		time.Sleep(200 * time.Millisecond)
		if n := r.server.logins.Load(); n != 1 {
			t.Fatalf("%d logins, want 1: a second poller ran for the shop", n)
		}
		if err := r.connections.Delete(context.Background(), r.shop.ID, inbound.ProviderIMAP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		r.server.deliver("after-disconnect")
		time.Sleep(200 * time.Millisecond)
		if n := r.stored(t); n != 1 {
			t.Fatalf("stored %d messages after the connection was removed, want 1", n)
		}
	})
}

// Saving an account checks it first: a wrong password or a missing
// mailbox saves nothing; a good one is saved sealed (the password is not
// in the database) and audited.
func TestSaveIMAPChecksTheAccountFirst(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sh := fixtures.Shop(t, db, "settings-shop")
		srv := startIMAP(t)
		connections := connection.NewStore(db, fixtures.Box(t))
		settings := &inbound.Settings{DB: db, Addresses: inbound.NewAddresses(db), Connections: connections, Mailboxes: inbound.NewMailboxes(db),
			Audit: audit.New(db), Router: &inbound.Router{Domain: mailDomain}, Checker: inbound.Dialer{}}
		actor := audit.Actor{Kind: audit.ActorUser, ID: "1", Label: "owner@example.com"}

		bad := srv.account()
		bad.Password = "wrong"
		var checkErr *inbound.CheckError
		if err := settings.SaveIMAP(ctx, actor, sh.ID, bad); !errors.As(err, &checkErr) {
			t.Fatalf("wrong password: %v, want a CheckError", err)
		}
		missing := srv.account()
		missing.Mailbox = "Support"
		if err := settings.SaveIMAP(ctx, actor, sh.ID, missing); !errors.As(err, &checkErr) {
			t.Fatalf("missing mailbox: %v, want a CheckError", err)
		}
		remote := srv.account()
		remote.Host = "imap.example.com"
		if err := settings.SaveIMAP(ctx, actor, sh.ID, remote); !errors.Is(err, inbound.ErrAccountSecurity) {
			t.Fatalf("no TLS to a remote server: %v, want ErrAccountSecurity", err)
		}
		if _, err := connections.Get(ctx, sh.ID, inbound.ProviderIMAP); !errors.Is(err, connection.ErrNotFound) {
			t.Fatalf("a failed check saved the account: %v", err)
		}

		if err := settings.SaveIMAP(ctx, actor, sh.ID, srv.account()); err != nil {
			t.Fatalf("good account: %v", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM connections WHERE shop_id = ? AND provider = 'imap' AND credentials NOT LIKE '%password%'`, sh.ID); n != 1 {
			t.Fatal("the account is not stored sealed")
		}
		view, err := settings.View(ctx, sh.ID, sh.Domain)
		if err != nil {
			t.Fatal(err)
		}
		if view.IMAP == nil || view.IMAP.Password != "" || view.IMAP.Mailbox != "INBOX" || view.BuiltIn != "settings-shop@"+mailDomain {
			t.Fatalf("view %+v (IMAP %+v)", view, view.IMAP)
		}
		// Saving again without a password keeps the saved one.
		again := srv.account()
		again.Password = ""
		again.DeleteAfterImport = true
		if err := settings.SaveIMAP(ctx, actor, sh.ID, again); err != nil {
			t.Fatalf("save keeping the password: %v", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM audit_log WHERE shop_id = ? AND subject = 'mail settings'`, sh.ID); n != 2 {
			t.Fatalf("%d audit entries, want 2", n)
		}
	})
}

// Addresses are unique across shops whatever their case, the built-in
// domain is reserved, and a shop cannot remove another shop's address.
func TestSupportAddresses(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a, b := fixtures.Shop(t, db, "addr-a"), fixtures.Shop(t, db, "addr-b")
		settings := &inbound.Settings{DB: db, Addresses: inbound.NewAddresses(db), Audit: audit.New(db), Router: &inbound.Router{Domain: mailDomain}}
		actor := audit.Actor{Kind: audit.ActorUser, ID: "1", Label: "owner@example.com"}
		added, err := settings.AddAddress(ctx, actor, a.ID, "Help@Shop.Example")
		if err != nil || added.Address != "help@shop.example" {
			t.Fatalf("add: %+v, %v", added, err)
		}
		if _, err := settings.AddAddress(ctx, actor, b.ID, "HELP@shop.example"); !errors.Is(err, inbound.ErrAddressTaken) {
			t.Fatalf("same address in another case for another shop: %v, want ErrAddressTaken", err)
		}
		if _, err := settings.AddAddress(ctx, actor, b.ID, "addr-a@"+mailDomain); !errors.Is(err, inbound.ErrAddressReserved) {
			t.Fatalf("an address in the built-in domain: %v, want ErrAddressReserved", err)
		}
		if err := settings.RemoveAddress(ctx, actor, b.ID, added.ID); !errors.Is(err, inbound.ErrAddressNotFound) {
			t.Fatalf("remove another shop's address: %v, want ErrAddressNotFound", err)
		}
		if err := settings.RemoveAddress(ctx, actor, a.ID, added.ID); err != nil {
			t.Fatalf("remove: %v", err)
		}
	})
}

func count(t testing.TB, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
