package inbound

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/intake"
)

// ProviderIMAP is a shop's existing mailbox, imported over IMAP; its
// credentials are the Account as JSON, sealed whole.
const ProviderIMAP connection.Provider = "imap"

// Security is how the IMAP connection is protected.
type Security string

const (
	// SecurityTLS: TLS from the first byte (port 993).
	SecurityTLS Security = "tls"
	// SecuritySTARTTLS: plain, then STARTTLS before login (port 143); a
	// server that does not offer it is refused.
	SecuritySTARTTLS Security = "starttls"
	// SecurityNone: no TLS, allowed only to a server on this machine (a
	// bridge such as Proton Mail's), where the password never crosses a
	// network.
	SecurityNone Security = "none"
)

// Account is a shop's IMAP mailbox.
type Account struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Security Security `json:"security"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	// Mailbox is the folder taken in; INBOX when empty.
	Mailbox string `json:"mailbox"`
	// DeleteAfterImport deletes each message once it is stored; off unless
	// the merchant turns it on.
	DeleteAfterImport bool `json:"delete_after_import"`
}

// Errors of Account.Validate.
var (
	ErrAccountHost     = errors.New("inbound: IMAP server host missing or invalid")
	ErrAccountPort     = errors.New("inbound: IMAP port must be 1–65535")
	ErrAccountSecurity = errors.New("inbound: IMAP without TLS is allowed only to a server on this machine")
	ErrAccountLogin    = errors.New("inbound: IMAP username and password are required")
	ErrAccountMailbox  = errors.New("inbound: IMAP mailbox name invalid")
)

// Normalize fills the defaults (port from the security, INBOX) and
// checks the account.
func (a *Account) Normalize() error {
	a.Host = strings.ToLower(strings.TrimSpace(a.Host))
	a.Username = strings.TrimSpace(a.Username)
	a.Mailbox = strings.TrimSpace(a.Mailbox)
	if a.Mailbox == "" {
		a.Mailbox = "INBOX"
	}
	if a.Security == "" {
		a.Security = SecurityTLS
	}
	if a.Port == 0 {
		a.Port = 993
		if a.Security != SecurityTLS {
			a.Port = 143
		}
	}
	switch {
	case a.Host == "" || len(a.Host) > 253 || strings.ContainsAny(a.Host, " /:@\t\r\n") && net.ParseIP(a.Host) == nil:
		return ErrAccountHost
	case a.Port < 1 || a.Port > 65535:
		return ErrAccountPort
	case a.Security != SecurityTLS && a.Security != SecuritySTARTTLS && a.Security != SecurityNone:
		return ErrAccountSecurity
	case a.Security == SecurityNone && !isLoopbackHost(a.Host):
		return ErrAccountSecurity
	case a.Username == "" || a.Password == "":
		return ErrAccountLogin
	case len(a.Mailbox) > 200 || !database.StorableText(a.Mailbox) || strings.ContainsAny(a.Mailbox, "\r\n*%"):
		return ErrAccountMailbox
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseAccount reads a connection's credentials.
func ParseAccount(credentials string) (Account, error) {
	var a Account
	if err := json.Unmarshal([]byte(credentials), &a); err != nil {
		return a, fmt.Errorf("inbound: IMAP account unreadable: %w", err)
	}
	return a, nil
}

// Credentials is the account as stored (to be sealed).
func (a Account) Credentials() string {
	b, _ := json.Marshal(a)
	return string(b)
}

// Dialer opens IMAP connections. RootCAs replaces the system's roots
// (tests trust their own certificate); Timeout bounds each command.
type Dialer struct {
	TLS     *tls.Config
	Timeout time.Duration
}

func (d Dialer) tlsConfig(host string) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if d.TLS != nil {
		c = d.TLS.Clone()
	}
	c.ServerName = host
	return c
}

// Dial connects and logs in; the caller logs out.
func (d Dialer) Dial(ctx context.Context, a Account) (*client.Client, error) {
	timeout := d.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	addr := net.JoinHostPort(a.Host, strconv.Itoa(a.Port))
	dialer := &net.Dialer{Timeout: 20 * time.Second, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if a.Security == SecurityTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: d.tlsConfig(a.Host)}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	// The greeting is read in client.New: bound it like any command.
	conn.SetDeadline(time.Now().Add(timeout))
	c, err := client.New(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting from %s: %w", addr, err)
	}
	c.Timeout = timeout
	// The client logs a read error when its connection is closed, which
	// is also how a session ends; what matters is returned to Run.
	c.ErrorLog = quietLog{}
	if a.Security == SecuritySTARTTLS {
		if ok, err := c.SupportStartTLS(); err != nil || !ok {
			c.Terminate()
			return nil, fmt.Errorf("%s does not offer STARTTLS", addr)
		}
		if err := c.StartTLS(d.tlsConfig(a.Host)); err != nil {
			c.Terminate()
			return nil, fmt.Errorf("STARTTLS with %s: %w", addr, err)
		}
	}
	if err := c.Login(a.Username, a.Password); err != nil {
		c.Terminate()
		return nil, fmt.Errorf("login as %s: %w", a.Username, err)
	}
	return c, nil
}

// Check logs in and selects the mailbox, the way the poller will: the
// check made when an account is saved.
func (d Dialer) Check(ctx context.Context, a Account) error {
	c, err := d.Dial(ctx, a)
	if err != nil {
		return err
	}
	defer c.Logout()
	if _, err := c.Select(a.Mailbox, true); err != nil {
		return fmt.Errorf("select mailbox %q: %w", a.Mailbox, err)
	}
	return nil
}

// Storer stores a delivery in a transaction; *intake.Intake is one.
type Storer interface {
	Receiver
	With(q database.Querier) *intake.Intake
}

// Poller imports one shop's IMAP mailbox: each new message stored through
// the intake with its UID recorded in the same transaction, then (on IDLE
// or the next poll) the next ones. Run keeps at it, reconnecting with
// backoff, until its context ends or the shop's IMAP connection is gone.
type Poller struct {
	DB          *database.DB
	Connections *connection.Store
	Intake      *intake.Intake
	Dialer      Dialer
	Logger      *slog.Logger
	// Wait is how long a connection waits for news before looking again
	// anyway (an IDLE notice can be missed); 5 minutes when 0.
	Wait time.Duration
	// PollInterval is how often a server without IDLE is asked for news
	// (NOOP); 30 s when 0, never more than Wait.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait before reconnecting after a
	// failure; 1 s and 5 min when 0.
	MinBackoff, MaxBackoff time.Duration
	Now                    func() time.Time
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

// Run imports the shop's mailbox until ctx ends or the shop has no IMAP
// connection.
func (p *Poller) Run(ctx context.Context, shopID int64) error {
	minB, maxB := p.MinBackoff, p.MaxBackoff
	if minB == 0 {
		minB = time.Second
	}
	if maxB == 0 {
		maxB = 5 * time.Minute
	}
	backoff := minB
	for ctx.Err() == nil {
		conn, err := p.Connections.Get(ctx, shopID, ProviderIMAP)
		if errors.Is(err, connection.ErrNotFound) {
			return nil
		}
		var account Account
		if err == nil {
			account, err = ParseAccount(conn.Credentials)
		}
		if err != nil {
			// The database or the key: nothing the mail server can help.
			p.logger().Error("inbound imap: read account", "shop", shopID, "err", err)
		} else {
			healthy := false
			err = p.session(ctx, shopID, account, func() { healthy = true })
			if ctx.Err() != nil {
				return nil
			}
			if healthy {
				backoff = minB
			}
			p.logger().Warn("inbound imap: connection ended; reconnecting", "shop", shopID, "host", account.Host, "err", err, "in", backoff)
			if rerr := NewMailboxes(p.DB).Failed(context.WithoutCancel(ctx), shopID, account.Mailbox, err.Error(), p.now()); rerr != nil {
				p.logger().Error("inbound imap: record failure", "shop", shopID, "err", rerr)
			}
		}
		// Jitter spreads the reconnections of many shops after an outage.
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxB)
	}
	return nil
}

// session is one connection: log in, select, take what is new, wait for
// news, take again — until an error or ctx ends. healthy is called once
// the mailbox is selected and read.
func (p *Poller) session(ctx context.Context, shopID int64, a Account, healthy func()) error {
	c, err := p.Dialer.Dial(ctx, a)
	if err != nil {
		return err
	}
	defer c.Terminate()
	// A cancelled context ends the session at once, even mid-command.
	stopWatch := context.AfterFunc(ctx, func() { c.Terminate() })
	defer stopWatch()

	// The client blocks on a full Updates channel: drain it into a wake
	// signal that keeps at most one news pending.
	updates := make(chan client.Update, 16)
	wake := make(chan struct{}, 1)
	c.Updates = updates
	go func() {
		for u := range updates {
			if _, ok := u.(*client.MailboxUpdate); ok {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	}()
	// The client's reader sends on updates until it stops: the channel is
	// closed only after the connection is down and the reader has
	// returned (a send on a closed channel would panic the process).
	defer func() {
		c.Terminate()
		<-c.LoggedOut()
		close(updates)
	}()

	status, err := c.Select(a.Mailbox, !a.DeleteAfterImport)
	if err != nil {
		return fmt.Errorf("select mailbox %q: %w", a.Mailbox, err)
	}
	mailboxes := NewMailboxes(p.DB)
	state, err := mailboxes.Get(ctx, shopID, a.Mailbox)
	if err != nil {
		return err
	}
	if state.UIDValidity != status.UidValidity {
		if state.UIDValidity != 0 {
			// The server renumbered the mailbox: its UIDs say nothing of
			// what was taken. Read it all again; the intake drops the
			// messages it already has by their digest.
			p.logger().Warn("inbound imap: UIDVALIDITY changed; reading the mailbox again", "shop", shopID,
				"mailbox", a.Mailbox, "was", state.UIDValidity, "now", status.UidValidity)
		}
		state.UIDValidity, state.LastUID = status.UidValidity, 0
		if err := mailboxes.Taken(ctx, shopID, a.Mailbox, state.UIDValidity, 0, p.now()); err != nil {
			return err
		}
	}
	wait := p.Wait
	if wait == 0 {
		wait = 5 * time.Minute
	}
	idle, err := c.Support("IDLE")
	if err != nil {
		return err
	}
	for first := true; ; first = false {
		if err := p.take(ctx, c, shopID, a, &state); err != nil {
			return err
		}
		if first {
			if err := mailboxes.Polled(ctx, shopID, a.Mailbox, p.now()); err != nil {
				return err
			}
			healthy()
		}
		if err := waitForNews(ctx, c, idle, wait, p.PollInterval, wake); err != nil {
			return err
		}
	}
}

// take stores every message with a UID above state.LastUID, in UID order,
// each in its own transaction with its UID.
func (p *Poller) take(ctx context.Context, c *client.Client, shopID int64, a Account, state *MailboxState) error {
	// "n:*" always names the last message, even when its UID is below n:
	// the sizes are read first and the old ones dropped.
	var seq imap.SeqSet
	seq.AddRange(state.LastUID+1, 0)
	sizes := map[uint32]uint32{}
	ch := make(chan *imap.Message, 64)
	done := make(chan error, 1)
	go func() { done <- c.UidFetch(&seq, []imap.FetchItem{imap.FetchUid, imap.FetchRFC822Size}, ch) }()
	for m := range ch {
		if m.Uid > state.LastUID {
			sizes[m.Uid] = m.Size
		}
	}
	if err := <-done; err != nil {
		return fmt.Errorf("list new messages: %w", err)
	}
	uids := make([]uint32, 0, len(sizes))
	for uid := range sizes {
		uids = append(uids, uid)
	}
	slices.Sort(uids)
	mailboxes := NewMailboxes(p.DB)
	for _, uid := range uids {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var raw []byte
		if sizes[uid] > MaxMessageBytes {
			// Left in the mailbox and passed over, so one huge message
			// does not stop the rest; the merchant reads it in their mail
			// program.
			p.logger().Warn("inbound imap: message too big, left in the mailbox", "shop", shopID, "uid", uid, "bytes", sizes[uid])
		} else {
			var err error
			if raw, err = fetchBody(c, uid); err != nil {
				return err
			}
		}
		err := p.DB.InTx(ctx, func(tx *database.Tx) error {
			if raw != nil {
				if _, err := p.Intake.With(tx).Receive(ctx, intake.Delivery{ShopID: shopID, Provider: intake.ProviderEmail, Topic: "imap", Body: raw}); err != nil {
					return err
				}
			}
			return mailboxes.With(tx).Taken(ctx, shopID, a.Mailbox, state.UIDValidity, uid, p.now())
		})
		if err != nil {
			return err
		}
		state.LastUID = uid
		if a.DeleteAfterImport && raw != nil {
			var one imap.SeqSet
			one.AddNum(uid)
			if err := c.UidStore(&one, imap.FormatFlagsOp(imap.AddFlags, true), []any{imap.DeletedFlag}, nil); err != nil {
				return fmt.Errorf("delete message %d: %w", uid, err)
			}
		}
	}
	if a.DeleteAfterImport && len(uids) > 0 {
		if err := c.Expunge(nil); err != nil {
			return fmt.Errorf("expunge: %w", err)
		}
	}
	if len(uids) > 0 {
		p.logger().Info("inbound imap: messages taken", "shop", shopID, "mailbox", a.Mailbox, "count", len(uids), "last_uid", state.LastUID)
	}
	return nil
}

// fetchBody reads message uid whole without marking it read (BODY.PEEK[]);
// nil when it is gone.
func fetchBody(c *client.Client, uid uint32) ([]byte, error) {
	var one imap.SeqSet
	one.AddNum(uid)
	section := &imap.BodySectionName{Peek: true}
	ch := make(chan *imap.Message, 1)
	done := make(chan error, 1)
	go func() { done <- c.UidFetch(&one, []imap.FetchItem{imap.FetchUid, section.FetchItem()}, ch) }()
	var raw []byte
	for m := range ch {
		if m.Uid != uid {
			continue
		}
		if body := m.GetBody(section); body != nil {
			b, err := io.ReadAll(io.LimitReader(body, MaxMessageBytes+1))
			if err != nil {
				return nil, err
			}
			raw = b
		}
	}
	if err := <-done; err != nil {
		return nil, fmt.Errorf("fetch message %d: %w", uid, err)
	}
	if raw == nil {
		// Gone between the listing and the fetch (another client deleted
		// it): nothing to store.
		return nil, nil
	}
	return raw, nil
}

// waitForNews returns when the mailbox may have new mail: a server's
// EXISTS during IDLE (or during the NOOP polls of a server without IDLE),
// or after wait in any case, since an update can be missed.
func waitForNews(ctx context.Context, c *client.Client, idle bool, wait, poll time.Duration, wake <-chan struct{}) error {
	if poll == 0 {
		poll = 30 * time.Second
	}
	select {
	case <-wake: // news that came with the last command
		return nil
	default:
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	timeout := c.Timeout
	// IDLE is one long command: its deadline must outlast the wait, and
	// still end a connection that died without a word.
	c.Timeout = wait + timeout
	go func() {
		if idle {
			done <- c.Idle(stop, &client.IdleOptions{LogoutTimeout: -1})
		} else {
			done <- c.Idle(stop, &client.IdleOptions{PollInterval: min(wait, poll)})
		}
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	var err error
	select {
	case <-wake:
		close(stop)
		err = <-done
	case <-timer.C:
		close(stop)
		err = <-done
	case err = <-done:
		if err == nil {
			err = errors.New("server ended IDLE")
		}
	case <-ctx.Done():
		close(stop)
		<-done
		err = ctx.Err()
	}
	c.Timeout = timeout
	return err
}

// quietLog drops the IMAP client's own log lines.
type quietLog struct{}

func (quietLog) Printf(string, ...any) {}
func (quietLog) Println(...any)        {}
