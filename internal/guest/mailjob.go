package guest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/mail"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
)

var errNoRows = sql.ErrNoRows

// OpenPath is where a mailed link opens, on hubdesk's own domain: the
// link's host comes from configuration (BaseURL), never from a request,
// so no one can have a link mailed that points elsewhere.
const OpenPath = "/hub/guest/open"

// LinkArgs ask for one lookup to be answered: the link mailed when the
// order matches, nothing otherwise. The address is sealed (job arguments
// stay in the database).
type LinkArgs struct {
	ShopID      int64  `json:"shop_id"`
	OrderName   string `json:"order_name"`
	SealedEmail string `json:"sealed_email"`
	Lang        string `json:"lang,omitempty"`
}

func (LinkArgs) Kind() string  { return "hub_guest_link" }
func (a LinkArgs) Shop() int64 { return a.ShopID }

// PublishedSettings reads what admins published (the mail's logo).
type PublishedSettings = helpdesk.PublishedSettings

// Worker answers a lookup: it finds the order by its name, compares the
// address with the order's (or its customer's), and when they match stores
// a new link and mails it.
type Worker struct {
	river.WorkerDefaults[LinkArgs]
	DB       *database.DB
	Commerce *commerce.Store
	Shops    *shop.Store
	Settings PublishedSettings
	Box      *secret.Box
	Sender   mail.Sender // nil: mail is not set up, and the job waits for a retry
	// BaseURL is hubdesk's public root, which the link starts with.
	BaseURL string
	Now     func() time.Time
	Logger  *slog.Logger
}

// Timeout leaves room for a slow mail server (mail.SMTP gives up after a
// minute).
func (w *Worker) Timeout(*river.Job[LinkArgs]) time.Duration { return 2 * time.Minute }

func (w *Worker) Work(ctx context.Context, job *river.Job[LinkArgs]) error {
	args := job.Args
	email, err := w.Box.Open(args.SealedEmail)
	if err != nil {
		return fmt.Errorf("open the sealed address: %w", err)
	}
	o, err := w.match(ctx, args.ShopID, args.OrderName, email)
	if err != nil {
		return err
	}
	if o == nil {
		w.log("guest order lookup: no order matches", args)
		return nil
	}
	if w.Sender == nil {
		return errors.New("email is not set up on this server (HUBDESK_SMTP_URL): the link waits for a retry once it is")
	}
	sh, err := w.Shops.Get(ctx, args.ShopID)
	if err != nil {
		return err
	}
	brand := helpdesk.Brand{ShopName: sh.Name}
	if w.Settings != nil {
		cfg, err := w.Settings.Published(ctx, args.ShopID)
		if err != nil {
			return err
		}
		brand.LogoURL = cfg.General.LogoURL
	}
	lang := args.Lang
	if lang == "" {
		lang = sh.Locale
	}
	token, hash, err := newToken()
	if err != nil {
		return err
	}
	now := w.now()
	if _, err := w.DB.Exec(ctx, `INSERT INTO hub_guest_links (shop_id, order_id, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, args.ShopID, o.ID, hash, database.Time(now), database.Time(now.Add(LinkLifetime))); err != nil {
		return fmt.Errorf("store the guest link: %w", err)
	}
	link := strings.TrimRight(w.BaseURL, "/") + OpenPath + "?" + url.Values{"key": {token}, "locale": {lang}}.Encode()
	msg, err := helpdesk.ComposeGuestLink(brand, lang, email, o.Name, link, LinkLifetime)
	if err != nil {
		return err
	}
	if err := w.Sender.Send(ctx, msg); err != nil {
		if mail.Permanent(err) {
			return river.JobCancel(err)
		}
		return err
	}
	return nil
}

// match is the shop's order named name whose email (or whose customer's)
// is email; nil when there is none. "1001" finds "#1001".
func (w *Worker) match(ctx context.Context, shopID int64, name, email string) (*commerce.Order, error) {
	names := []string{name}
	if !strings.HasPrefix(name, "#") {
		names = []string{"#" + name, name}
	}
	for _, n := range names {
		o, err := w.Commerce.OrderByName(ctx, shopID, n)
		if errors.Is(err, commerce.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if normalizeEmail(o.Email) == email {
			return o, nil
		}
		if o.Email == "" && o.CustomerID != 0 {
			c, err := w.Commerce.Customer(ctx, shopID, o.CustomerID)
			if err != nil && !errors.Is(err, commerce.ErrNotFound) {
				return nil, err
			}
			if c != nil && normalizeEmail(c.Email) == email {
				return o, nil
			}
		}
	}
	return nil, nil
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log(msg string, args LinkArgs) {
	if w.Logger != nil {
		w.Logger.Info(msg, "shop_id", args.ShopID)
	}
}
