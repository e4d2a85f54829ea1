// Package shop stores the tenants. One hubdesk deployment serves many
// shops; every other table is keyed by a shop's id.
package shop

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// Shop is one merchant's store.
type Shop struct {
	ID        int64
	Name      string
	Domain    string // the myshopify domain, e.g. demo-shop.myshopify.com
	Locale    string // default shopper-facing locale
	Currency  string
	CreatedAt time.Time
	// PrimaryDomain and StorefrontDomains are the storefront's host names
	// as Shopify reports them (SetStorefrontDomains): the primary one, and
	// every one including it. Empty until Shopify has said.
	PrimaryDomain     string
	StorefrontDomains []string
}

// ErrNotFound means no such shop.
var ErrNotFound = database.ErrNotFound

// ErrDomainTaken means another shop already has the domain.
var ErrDomainTaken = errors.New("a shop with this domain already exists")

// ErrNoClientSecret means the shop has no Shopify client secret, so nothing
// signed for it (App Proxy requests, shopper tokens) can be verified.
var ErrNoClientSecret = errors.New("the shop has no Shopify client secret")

// Store reads and writes shops. Client secrets are sealed with the box.
type Store struct {
	db  database.Querier
	box *secret.Box
	// appSecret is the client secret of hubdesk's public Shopify app
	// (HUBDESK_SHOPIFY_CLIENT_SECRET): it signs the App Proxy and webhooks
	// of every shop installed through that app.
	appSecret string
	// cache holds the shops ReadCached read, for CacheTTL; the stores
	// With and WithAppSecret return share it, and a change through any of
	// them drops the shop's entry once it commits.
	cache *ttlcache.Cache[int64, *Shop]
}

// CacheTTL bounds how long a process shows a shop as it was before a
// change another process made; a change made through this process shows
// at once.
const CacheTTL = 2 * time.Second

// CachedShops is how many shops a process keeps in its cache.
const CachedShops = 1024

// NewStore returns a shop store over db (the database or a transaction).
func NewStore(db database.Querier, box *secret.Box) *Store {
	return &Store{db: db, box: box, cache: ttlcache.NewBounded[int64, *Shop](CacheTTL, CachedShops, nil)}
}

// With returns the store running on q, typically a use case's transaction.
func (s *Store) With(q database.Querier) *Store {
	c := *s
	c.db = q
	return &c
}

// WithAppSecret returns the store answering ClientSecret with secret for
// the shops installed through hubdesk's public app (SetAppSecretSource).
func (s *Store) WithAppSecret(secret string) *Store {
	c := *s
	c.appSecret = secret
	return &c
}

// NewShop is what Create needs.
type NewShop struct {
	Name         string
	Domain       string
	ClientSecret string
	// InstalledApp: the shop was installed through hubdesk's public app,
	// whose secret (not ClientSecret) signs its requests.
	InstalledApp bool
	Locale       string
	Currency     string
}

// ErrNameRequired means a shop was created without a name.
var ErrNameRequired = errors.New("a shop needs a name")

// Create adds a shop. The domain must pass ParseDomain and is stored in
// lower case.
func (s *Store) Create(ctx context.Context, in NewShop) (*Shop, error) {
	if strings.TrimSpace(in.Name) == "" {
		return nil, ErrNameRequired
	}
	domain, err := ParseDomain(in.Domain)
	if err != nil {
		return nil, err
	}
	sealed, err := s.box.Seal(in.ClientSecret)
	if err != nil {
		return nil, err
	}
	sh := &Shop{Name: in.Name, Domain: domain, Locale: orDefault(in.Locale, "en"), Currency: orDefault(in.Currency, "USD"), CreatedAt: time.Now().UTC()}
	// secret_source is named only when it is not the column's default, so
	// that a shop can still be made in a database migrated before it (the
	// demo's migration tests do).
	if in.InstalledApp {
		err = s.db.ExecReturning(ctx,
			`INSERT INTO shops (name, domain, client_secret, secret_source, locale, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			sh.Name, sh.Domain, sealed, secretApp, sh.Locale, sh.Currency, database.Time(sh.CreatedAt)).Scan(&sh.ID)
	} else {
		err = s.db.ExecReturning(ctx,
			`INSERT INTO shops (name, domain, client_secret, locale, currency, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			sh.Name, sh.Domain, sealed, sh.Locale, sh.Currency, database.Time(sh.CreatedAt)).Scan(&sh.ID)
	}
	if database.IsUniqueViolation(err) {
		return nil, fmt.Errorf("%w: %s", ErrDomainTaken, domain)
	}
	if err != nil {
		return nil, fmt.Errorf("shop: create %s: %w", domain, err)
	}
	return sh, nil
}

const shopColumns = `id, name, domain, locale, currency, created_at, primary_domain, storefront_domains`

func scanShop(row interface{ Scan(...any) error }) (*Shop, error) {
	var sh Shop
	var domains string
	err := row.Scan(&sh.ID, &sh.Name, &sh.Domain, &sh.Locale, &sh.Currency, (*database.Time)(&sh.CreatedAt), &sh.PrimaryDomain, &domains)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	sh.StorefrontDomains = strings.Fields(domains)
	return &sh, err
}

// SetStorefrontDomains records the storefront's host names as Shopify
// reported them at reportedAt (shop/update, the GraphQL shop query): the
// primary domain and the others (the myshopify domain is left out: the
// hub allows it anyway). A report older than the stored one changes
// nothing; stored says whether this one was.
func (s *Store) SetStorefrontDomains(ctx context.Context, shopID int64, primary string, others []string, reportedAt time.Time) (stored bool, err error) {
	var sh Shop
	err = s.db.QueryRow(ctx, `SELECT domain FROM shops WHERE id = ?`, shopID).Scan(&sh.Domain)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, err
	}
	primary = normalizeHost(primary)
	if primary == sh.Domain {
		primary = ""
	}
	var hosts []string
	for _, h := range append([]string{primary}, others...) {
		if h = normalizeHost(h); h != "" && h != sh.Domain && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	res, err := s.db.Exec(ctx, `UPDATE shops SET primary_domain = ?, storefront_domains = ?, storefront_domains_updated_at = ?
		WHERE id = ? AND (storefront_domains_updated_at IS NULL OR storefront_domains_updated_at <= ?)`,
		primary, strings.Join(hosts, " "), database.Time(reportedAt), shopID, database.Time(reportedAt))
	if err != nil {
		return false, fmt.Errorf("shop %d: storefront domains: %w", shopID, err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		s.cache.ForgetOnCommit(s.db, shopID)
	}
	return n > 0, nil
}

// normalizeHost is a reported domain as a browser's Origin names it: lower
// case, no scheme, path or spaces; "" for anything that is no host name.
func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h = strings.TrimSuffix(h, "/")
	if h == "" || strings.ContainsAny(h, " /?#@\\\t") {
		return ""
	}
	return h
}

// Get returns a shop by id.
func (s *Store) Get(ctx context.Context, id int64) (*Shop, error) {
	return scanShop(s.db.QueryRow(ctx, `SELECT `+shopColumns+` FROM shops WHERE id = ?`, id))
}

// IDByDomain returns the id of the shop with this myshopify domain. It
// reads the id alone, so it works on a database at any migration (the
// demo asks it before seeding, and its migration tests seed old schemas).
func (s *Store) IDByDomain(ctx context.Context, domain string) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT id FROM shops WHERE domain = ?`, strings.ToLower(domain)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return id, err
}

// GetByDomain returns a shop by its myshopify domain.
func (s *Store) GetByDomain(ctx context.Context, domain string) (*Shop, error) {
	return scanShop(s.db.QueryRow(ctx, `SELECT `+shopColumns+` FROM shops WHERE domain = ?`, strings.ToLower(domain)))
}

// List returns every shop, oldest first.
func (s *Store) List(ctx context.Context) ([]*Shop, error) {
	rows, err := s.db.Query(ctx, `SELECT `+shopColumns+` FROM shops ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Shop
	for rows.Next() {
		sh, err := scanShop(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sh)
	}
	return out, rows.Err()
}

// Where a shop's client secret comes from (shops.secret_source).
const (
	secretOwn = "shop" // shops.client_secret: a custom app's, or set by `hubdesk shop secret`
	secretApp = "app"  // hubdesk's public app's, from the configuration
)

// ClientSecret returns the shop's Shopify client secret, used to verify App
// Proxy signatures and webhooks: the public app's for a shop installed
// through it, else the shop's own. It is never rendered or logged.
func (s *Store) ClientSecret(ctx context.Context, shopID int64) (string, error) {
	var sealed, source string
	err := s.db.QueryRow(ctx, `SELECT client_secret, secret_source FROM shops WHERE id = ?`, shopID).Scan(&sealed, &source)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", err
	}
	if source == secretApp {
		return s.appSecret, nil
	}
	plain, err := s.box.Open(sealed)
	if err != nil {
		return "", fmt.Errorf("shop %d: client secret: %w", shopID, err)
	}
	return plain, nil
}

// SetClientSecret replaces the shop's Shopify client secret; from now on
// it, not the public app's, verifies the shop's requests.
func (s *Store) SetClientSecret(ctx context.Context, shopID int64, plain string) error {
	sealed, err := s.box.Seal(plain)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `UPDATE shops SET client_secret = ?, secret_source = ? WHERE id = ?`, sealed, secretOwn, shopID)
	return err
}

// UseAppSecret makes the public app's client secret verify the shop's
// requests (it was installed through that app); the shop's own secret is
// kept, unused, until SetClientSecret.
func (s *Store) UseAppSecret(ctx context.Context, shopID int64) error {
	_, err := s.db.Exec(ctx, `UPDATE shops SET secret_source = ? WHERE id = ?`, secretApp, shopID)
	return err
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// ReadCached is Read through the process's cache (CacheTTL): when it
// holds the shop it sets *into and queues nothing. Call the done it
// returns once b has run, with b's error; it keeps what b read. The shop
// may be shared with other callers: read it, don't change it.
func (s *Store) ReadCached(b *database.Batch, id int64, into **Shop) (done func(error)) {
	return s.cache.ReadInto(id, into, func() { Read(b, id, into) })
}

// Read queues into b the read of the shop, for a page that batches its
// reads; *into stays nil when there is no such shop.
func Read(b *database.Batch, id int64, into **Shop) {
	b.Read(`SELECT `+shopColumns+` FROM shops WHERE id = ?`, []any{id}, func(row database.RowScanner) error {
		s, err := scanShop(row)
		*into = s
		return err
	})
}
