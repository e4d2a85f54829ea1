package inbound_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/inbound"
	"github.com/hubdesk/hubdesk/internal/inbound/imaptest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/shop"
)

type imapRig struct {
	db          *database.DB
	shop        *shop.Shop
	server      *imaptest.Server
	connections *connection.Store
	poller      *inbound.Poller
}

// newIMAPRig connects a shop to a fresh IMAP server (account changed by
// edit) and returns a poller for it, not yet running.
func newIMAPRig(t *testing.T, db *database.DB, wait time.Duration, edit func(*inbound.Account)) *imapRig {
	t.Helper()
	r := &imapRig{db: db, shop: fixtures.Shop(t, db, "imap-shop"), server: imaptest.Start(t), connections: connection.NewStore(db, fixtures.Box(t))}
	a := r.server.Account()
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
		_, seenBefore := r.server.State()
		stop := r.run(t)
		jobstest.Eventually(t, "the message already in the mailbox", func() bool { return r.stored(t) == 1 })
		r.server.Deliver("second")
		r.server.Deliver("third")
		jobstest.Eventually(t, "the messages delivered during IDLE", func() bool { return r.stored(t) == 3 })
		stop()
		if st := r.mailbox(t); st.LastUID != r.server.MaxUID() || st.UIDValidity != 1 {
			t.Fatalf("mailbox state %+v, want UIDVALIDITY 1, last UID %d", st, r.server.MaxUID())
		}

		r.server.Deliver("fourth")
		r.run(t)
		jobstest.Eventually(t, "the message delivered while stopped", func() bool { return r.mailbox(t).LastUID == r.server.MaxUID() })
		if n := r.stored(t); n != 4 {
			t.Fatalf("stored %d messages after the restart, want 4", n)
		}
		if events := count(t, db, `SELECT COUNT(*) FROM webhook_events`); events != 4 {
			t.Fatalf("%d events stored, want 4 (each message taken once)", events)
		}
		if total, seen := r.server.State(); total != 4 || seen != seenBefore {
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
		r.server.Deliver("second")
		jobstest.Eventually(t, "two messages", func() bool { return r.stored(t) == 2 })
		stop()
		r.server.Renumber()
		r.server.Deliver("after-renumbering")
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
		r.server.Drop()
		jobstest.Eventually(t, "the failure recorded", func() bool { return r.mailbox(t).LastError != "" })
		r.server.Deliver("while-down")
		r.server.ComeBack()
		jobstest.Eventually(t, "the message taken after reconnecting", func() bool { return r.stored(t) == 2 })
		jobstest.Eventually(t, "the failure cleared", func() bool { return r.mailbox(t).LastError == "" })
	})
}

// Deleting after import is the merchant's choice; with it, each message is
// gone from the mailbox once stored.
func TestIMAPDeletesOnlyWhenAsked(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := newIMAPRig(t, db, 50*time.Millisecond, func(a *inbound.Account) { a.DeleteAfterImport = true })
		r.server.Deliver("second")
		r.run(t)
		jobstest.Eventually(t, "both messages stored and deleted", func() bool {
			total, _ := r.server.State()
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
		if n := r.server.Logins.Load(); n != 1 {
			t.Fatalf("%d logins, want 1: a second poller ran for the shop", n)
		}
		if err := r.connections.Delete(context.Background(), r.shop.ID, inbound.ProviderIMAP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		r.server.Deliver("after-disconnect")
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
		srv := imaptest.Start(t)
		connections := connection.NewStore(db, fixtures.Box(t))
		settings := &inbound.Settings{DB: db, Addresses: inbound.NewAddresses(db), Connections: connections, Mailboxes: inbound.NewMailboxes(db),
			Audit: audit.New(db), Router: &inbound.Router{Domain: mailDomain}, Checker: inbound.Dialer{}}
		actor := audit.Actor{Kind: audit.ActorUser, ID: "1", Label: "owner@example.com"}

		bad := srv.Account()
		bad.Password = "wrong"
		var checkErr *inbound.CheckError
		if err := settings.SaveIMAP(ctx, actor, sh.ID, bad); !errors.As(err, &checkErr) {
			t.Fatalf("wrong password: %v, want a CheckError", err)
		}
		missing := srv.Account()
		missing.Mailbox = "Support"
		if err := settings.SaveIMAP(ctx, actor, sh.ID, missing); !errors.As(err, &checkErr) {
			t.Fatalf("missing mailbox: %v, want a CheckError", err)
		}
		remote := srv.Account()
		remote.Host = "imap.example.com"
		if err := settings.SaveIMAP(ctx, actor, sh.ID, remote); !errors.Is(err, inbound.ErrAccountSecurity) {
			t.Fatalf("no TLS to a remote server: %v, want ErrAccountSecurity", err)
		}
		if _, err := connections.Get(ctx, sh.ID, inbound.ProviderIMAP); !errors.Is(err, connection.ErrNotFound) {
			t.Fatalf("a failed check saved the account: %v", err)
		}

		if err := settings.SaveIMAP(ctx, actor, sh.ID, srv.Account()); err != nil {
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
		again := srv.Account()
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

// The check (and the poller, which dials the same way) speaks TLS from the
// first byte or upgrades with STARTTLS, verifying the server's
// certificate: one it does not trust is refused.
func TestIMAPOverTLSAndSTARTTLS(t *testing.T) {
	cert, pool := testCert(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	trusting := inbound.Dialer{TLS: &tls.Config{RootCAs: pool}}
	for _, c := range []struct {
		name     string
		implicit bool
		security inbound.Security
	}{{"tls", true, inbound.SecurityTLS}, {"starttls", false, inbound.SecuritySTARTTLS}} {
		t.Run(c.name, func(t *testing.T) {
			srv := imaptest.StartTLS(t, cfg, c.implicit)
			a := srv.Account()
			a.Security = c.security
			if err := a.Normalize(); err != nil {
				t.Fatal(err)
			}
			if err := trusting.Check(context.Background(), a); err != nil {
				t.Fatalf("check over %s: %v", c.name, err)
			}
			if err := (inbound.Dialer{}).Check(context.Background(), a); err == nil {
				t.Fatalf("a certificate the system does not trust was accepted over %s", c.name)
			}
		})
	}
	// A server without STARTTLS is refused rather than sent the password
	// in the clear.
	plain := imaptest.Start(t)
	a := plain.Account()
	a.Security = inbound.SecuritySTARTTLS
	if err := trusting.Check(context.Background(), a); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("no STARTTLS offered: %v, want a refusal", err)
	}
}
