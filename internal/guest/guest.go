// Package guest lets a shopper who checked out without an account follow
// one order in the hub: they give its number and the email address they
// used, and a one-time link to that order alone is mailed to the address
// when — and only when — the two match.
//
// What the shopper is told never depends on whether the order exists: the
// request is rate-limited by what was typed and where from (never by what
// the database holds), then handed to a job, so the answer and its timing
// are the same for a match, a wrong address and an order that never was.
// The job looks the order up, stores the SHA-256 of a random token
// (hub_guest_links, 24 hours, bound to the shop and the order) and mails
// the link. Its page (Peek) consumes nothing, as mail scanners fetch it
// too; the button on it opens the link (Open), which consumes it: a
// second open is refused.
package guest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/ratelimit"
	"github.com/hubdesk/hubdesk/internal/secret"
)

const (
	// LinkLifetime is how long a mailed link opens its order.
	LinkLifetime = 24 * time.Hour
	// EmailLimit lookups per shop and email address within LimitPeriod:
	// a shopper who mistypes a few times gets through; a script that
	// mails someone over and over does not.
	EmailLimit = 5
	// AddressLimit lookups per client address within LimitPeriod, across
	// shops and addresses: guessing order numbers for an address one
	// knows stops there.
	AddressLimit = 20
	// LimitPeriod is the rate limits' window.
	LimitPeriod = time.Hour
	// MailMaxAttempts bounds the retries of one link's mail.
	MailMaxAttempts = 10
	maxOrderRunes   = 64
	maxEmailRunes   = 254
)

// ErrInvalid is a lookup without an order number or an email address.
var ErrInvalid = errors.New("guest: an order number and an email address are needed")

// ErrLinkInvalid is a link that is unknown, used, expired or of another
// shop: all the same to the shopper.
var ErrLinkInvalid = errors.New("guest: the link does not open an order")

// LimitedError is a lookup over a rate limit; nothing was queued.
type LimitedError struct{ RetryAfter time.Duration }

func (e *LimitedError) Error() string {
	return "guest: too many order lookups; retry after " + e.RetryAfter.Round(time.Second).String()
}

// Options are what Lookups needs.
type Options struct {
	DB    *database.DB
	Queue *jobs.Queue
	// Box seals the email address in the job's arguments (stored in the
	// database until the job is cleaned up).
	Box *secret.Box
	Now func() time.Time
}

// Lookups is the use case: ask for a link (Request), open one (Open).
type Lookups struct {
	opts      Options
	byEmail   *ratelimit.Window
	byAddress *ratelimit.Window
}

// New builds the use case with the package's limits.
func New(opts Options) *Lookups {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Lookups{opts: opts,
		byEmail:   ratelimit.NewWindow(opts.DB, EmailLimit, LimitPeriod, opts.Now),
		byAddress: ratelimit.NewWindow(opts.DB, AddressLimit, LimitPeriod, opts.Now)}
}

// Lookup is what the shopper typed, where they asked from and the
// language they read the hub in (the mail's).
type Lookup struct {
	OrderName string
	Email     string
	Address   string // the client's address, for its rate limit
	Lang      string
}

// Request checks the lookup's form and rate limits and queues the job
// that mails the link if the order matches. It reads nothing of the shop's
// orders: ErrInvalid and *LimitedError depend only on the request.
func (l *Lookups) Request(ctx context.Context, shopID int64, in Lookup) error {
	name, email := strings.TrimSpace(in.OrderName), normalizeEmail(in.Email)
	if name == "" || utf8.RuneCountInString(name) > maxOrderRunes || !validEmail(email) {
		return ErrInvalid
	}
	// The address first: a script cycling through email addresses is
	// stopped without a count per address it tried.
	ok, wait, err := l.byAddress.Allow(ctx, "hub-guest:address:"+in.Address)
	if err != nil {
		return err
	}
	if !ok {
		return &LimitedError{RetryAfter: wait}
	}
	ok, wait, err = l.byEmail.Allow(ctx, "hub-guest:email:"+strconv.FormatInt(shopID, 10)+":"+fingerprint(email))
	if err != nil {
		return err
	}
	if !ok {
		return &LimitedError{RetryAfter: wait}
	}
	sealed, err := l.opts.Box.Seal(email)
	if err != nil {
		return fmt.Errorf("guest: seal the address: %w", err)
	}
	return l.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		_, err := l.opts.Queue.Enqueue(ctx, tx, LinkArgs{ShopID: shopID, OrderName: name, SealedEmail: sealed, Lang: in.Lang},
			&river.InsertOpts{MaxAttempts: MailMaxAttempts})
		return err
	})
}

// Link is what an opened link grants: one order of one shop.
type Link struct {
	ShopID, OrderID int64
}

// Pending is an unused link as its page shows it before it is opened:
// the order's number, which the shopper typed, and nothing of its
// contents.
type Pending struct {
	ShopID    int64
	OrderName string
}

// Peek reports what token would open without consuming it: mail
// scanners fetch a mailed link before the shopper clicks, so only Open —
// behind a button — uses it up. A link unknown, used, expired or of
// another shop (shopID 0: any) is ErrLinkInvalid, as for Open.
func (l *Lookups) Peek(ctx context.Context, shopID int64, token string) (Pending, error) {
	if token == "" || len(token) > 128 {
		return Pending{}, ErrLinkInvalid
	}
	query := `SELECT l.shop_id, o.name FROM hub_guest_links l
		JOIN orders o ON o.shop_id = l.shop_id AND o.id = l.order_id
		WHERE l.token_hash = ? AND l.used_at IS NULL AND l.expires_at > ?`
	args := []any{hashToken(token), database.Time(l.opts.Now())}
	if shopID != 0 {
		query += ` AND l.shop_id = ?`
		args = append(args, shopID)
	}
	var out Pending
	err := l.opts.DB.QueryRow(ctx, query, args...).Scan(&out.ShopID, &out.OrderName)
	if errors.Is(err, errNoRows) {
		return Pending{}, ErrLinkInvalid
	}
	if err != nil {
		return Pending{}, fmt.Errorf("guest: read a link: %w", err)
	}
	return out, nil
}

// Open consumes token: the first open of an unused, unexpired link gets
// its order; every other open, ErrLinkInvalid. shopID limits it to one
// shop (the App Proxy's); 0 accepts any (the link on hubdesk's own domain
// names no shop, the token does).
func (l *Lookups) Open(ctx context.Context, shopID int64, token string) (Link, error) {
	if token == "" || len(token) > 128 {
		return Link{}, ErrLinkInvalid
	}
	now := database.Time(l.opts.Now())
	var out Link
	var err error
	if shopID != 0 {
		err = l.opts.DB.ExecReturning(ctx, `UPDATE hub_guest_links SET used_at = ?
			WHERE token_hash = ? AND shop_id = ? AND used_at IS NULL AND expires_at > ? RETURNING shop_id, order_id`,
			now, hashToken(token), shopID, now).Scan(&out.ShopID, &out.OrderID)
	} else {
		err = l.opts.DB.ExecReturning(ctx, `UPDATE hub_guest_links SET used_at = ?
			WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING shop_id, order_id`,
			now, hashToken(token), now).Scan(&out.ShopID, &out.OrderID)
	}
	if errors.Is(err, errNoRows) {
		return Link{}, ErrLinkInvalid
	}
	if err != nil {
		return Link{}, fmt.Errorf("guest: open a link: %w", err)
	}
	return out, nil
}

// newToken is a link's random token and the hash stored for it.
func newToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// fingerprint names an email address in a rate limit's key without
// writing the address down.
func fingerprint(email string) string {
	sum := sha256.Sum256([]byte("hubdesk guest lookup\x00" + email))
	return hex.EncodeToString(sum[:16])
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && utf8.RuneCountInString(s) <= maxEmailRunes && !strings.ContainsAny(s, " \t\r\n<>,;")
}
