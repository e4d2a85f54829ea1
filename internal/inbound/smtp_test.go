package inbound_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/inbound"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/shop"
)

const mailDomain = "mail.hubdesk.test"

// testCert is a self-signed certificate for 127.0.0.1 and localhost, and
// a pool that trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hubdesk test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// newIntake is the intake over db with a queue that is not worked: the
// tests look at what was stored, before any processing.
func newIntake(t testing.TB, db *database.DB) *intake.Intake {
	t.Helper()
	workers := river.NewWorkers()
	river.AddWorker(workers, &intake.ProcessWorker{DB: db})
	q, err := jobs.New(db, jobs.Options{Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	return intake.New(db, q, nil)
}

type smtpRig struct {
	db     *database.DB
	addr   string
	pool   *x509.CertPool
	shopA  *shop.Shop
	shopB  *shop.Shop
	server *inbound.SMTPServer
}

// startSMTP runs the listener over db on a loopback port, offering
// STARTTLS; shop A has its own address support@shop-a.example.
func startSMTP(t testing.TB, db *database.DB) *smtpRig {
	t.Helper()
	ctx := context.Background()
	r := &smtpRig{db: db, shopA: fixtures.Shop(t, db, "shop-a"), shopB: fixtures.Shop(t, db, "shop-b")}
	addresses := inbound.NewAddresses(db)
	if _, err := addresses.Add(ctx, r.shopA.ID, "support@shop-a.example", time.Now()); err != nil {
		t.Fatal(err)
	}
	cert, pool := testCert(t)
	r.pool = pool
	router := &inbound.Router{Addresses: addresses, Shops: shop.NewStore(db, fixtures.Box(t)), Domain: mailDomain}
	r.server = inbound.NewSMTPServer(inbound.SMTPOptions{Router: router, Intake: newIntake(t, db),
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- r.server.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.server.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return r
}

func message(subject, body string) []byte {
	return []byte("From: Ada <ada@example.com>\r\nTo: support@shop-a.example\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
}

// send delivers msg over SMTP, with STARTTLS when tlsPool is set; the
// error is the server's answer to the first command it refused.
func send(addr string, tlsPool *x509.CertPool, from string, to []string, msg []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("sender.example"); err != nil {
		return err
	}
	if tlsPool != nil {
		if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: tlsPool}); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

type storedMail struct {
	shopID int64
	topic  string
	body   string
}

func storedEmail(t testing.TB, db *database.DB) []storedMail {
	t.Helper()
	rows, err := db.Query(context.Background(), `SELECT shop_id, topic, body FROM webhook_events WHERE provider = ? ORDER BY id`, string(intake.ProviderEmail))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []storedMail
	for rows.Next() {
		var m storedMail
		if err := rows.Scan(&m.shopID, &m.topic, &m.body); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func smtpCode(err error) int {
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		return tpErr.Code
	}
	return 0
}

// A message to an address of shop A and the built-in address of shop B,
// sent over STARTTLS, is stored once for each shop, byte for byte, before
// the 250; naming shop A twice (in another case) stores it once for A.
func TestSMTPStoresAMessageOncePerShopBeforeAccepting(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := startSMTP(t, db)
		msg := message("order-1001", "Where is my order #1001?")
		to := []string{"Support@Shop-A.example", "shop-b@" + mailDomain, "SHOP-A@" + strings.ToUpper(mailDomain)}
		if err := send(r.addr, r.pool, "ada@example.com", to, msg); err != nil {
			t.Fatalf("send: %v", err)
		}
		got := storedEmail(t, db)
		if len(got) != 2 {
			t.Fatalf("stored %d messages, want one per shop (2): %+v", len(got), got)
		}
		shops := map[int64]bool{}
		for _, m := range got {
			shops[m.shopID] = true
			if m.topic != "smtp" {
				t.Errorf("topic %q, want smtp", m.topic)
			}
			if m.body != string(msg) {
				t.Errorf("stored body differs from the message sent:\n%q\nwant\n%q", m.body, msg)
			}
		}
		if !shops[r.shopA.ID] || !shops[r.shopB.ID] {
			t.Errorf("stored for shops %v, want %d and %d", shops, r.shopA.ID, r.shopB.ID)
		}
		var jobs int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if jobs != 2 {
			t.Errorf("%d processing jobs, want 2", jobs)
		}
	})
}

// An address that is none of ours is refused at RCPT with 550 5.1.1 —
// no relaying, nothing stored — and the session goes on for the next
// message.
func TestSMTPRefusesUnknownRecipients(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := startSMTP(t, db)
		for _, rcpt := range []string{"someone@gmail.com", "nobody@" + mailDomain, "support@shop-b.example", "shop-a@elsewhere.example"} {
			err := send(r.addr, nil, "ada@example.com", []string{rcpt}, message("x", "y"))
			if smtpCode(err) != 550 || !strings.Contains(err.Error(), "5.1.1") {
				t.Errorf("RCPT %q: %v, want 550 5.1.1", rcpt, err)
			}
		}
		if got := storedEmail(t, db); len(got) != 0 {
			t.Errorf("stored %d messages for unknown recipients", len(got))
		}
	})
}

// A message over 30 MiB is refused with 552 and not stored; the listener
// goes on taking mail.
func TestSMTPRefusesOversizedMessages(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := startSMTP(t, db)
		line := strings.Repeat("x", 998) + "\r\n"
		big := append(message("big", "attachment follows"), bytes.Repeat([]byte(line), inbound.MaxMessageBytes/len(line)+100)...)
		err := send(r.addr, nil, "ada@example.com", []string{"support@shop-a.example"}, big)
		if smtpCode(err) != 552 {
			t.Fatalf("oversized message: %v, want 552", err)
		}
		if got := storedEmail(t, db); len(got) != 0 {
			t.Fatalf("stored %d oversized messages", len(got))
		}
		if err := send(r.addr, nil, "ada@example.com", []string{"support@shop-a.example"}, message("after", "still there?")); err != nil {
			t.Fatalf("send after the oversized message: %v", err)
		}
		if got := storedEmail(t, db); len(got) != 1 {
			t.Fatalf("stored %d messages after the oversized one, want 1", len(got))
		}
	})
}

// Without a certificate no STARTTLS is offered; with one, a client that
// trusts it upgrades (TestSMTPStoresAMessageOncePerShopBeforeAccepting
// sends over it) and the listener presents that certificate.
func TestSMTPOffersSTARTTLSWithTheConfiguredCertificate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := startSMTP(t, db)
		c, err := smtp.Dial(r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Fatal("STARTTLS not offered")
		}
		if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: r.pool}); err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		state, ok := c.TLSConnectionState()
		if !ok || len(state.PeerCertificates) == 0 || state.PeerCertificates[0].Subject.CommonName != "hubdesk test" {
			t.Fatalf("TLS state %v: not the configured certificate", ok)
		}
	})
}

// A store that fails makes the listener answer 451 (try later), never
// 250, so the sender keeps the message.
func TestSMTPAnswersTryLaterWhenTheStoreFails(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		r := startSMTP(t, db)
		dbtest.BreakTable(t, db, "webhook_events")
		err := send(r.addr, nil, "ada@example.com", []string{"support@shop-a.example"}, message("x", "y"))
		if smtpCode(err) != 451 {
			t.Fatalf("send with the store down: %v, want 451", err)
		}
	})
}

func TestNormalizeAddress(t *testing.T) {
	for in, want := range map[string]string{
		"Support@Shop.Example": "support@shop.example", " help@shop.example ": "help@shop.example",
		"<a@b.example>": "a@b.example", "Ada <a@b.example>": "", "a@b": "", "nope": "", "": "", "a@b.example\x00": "",
	} {
		got, err := inbound.NormalizeAddress(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("NormalizeAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
