// Package connection keeps each shop's connections to the platforms it
// integrates with (Loop now; Shopify and mail accounts next): the sealed
// credentials and what the provider last said about them. A credential
// takes effect as soon as it is saved, for the hub and the helpdesk alike;
// it is not part of the hub's draft/published settings.
package connection

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// Provider names the platform a connection is made to.
type Provider string

// ProviderLoop is Loop Returns; its credential is an API key.
const ProviderLoop Provider = "loop"

// ProviderLoopWebhook is Loop's webhook signing secret, kept apart from
// the API key so that each is replaced on its own; only the webhook
// intake reads it.
const ProviderLoopWebhook Provider = "loop_webhook"

// ProviderMailWebhook is the token in the address of the shop's inbound
// mail webhook (POST /webhooks/email/{shop}?token=…), which mail
// providers' inbound-parse forwarding posts raw mail to.
const ProviderMailWebhook Provider = "mail_webhook"

// Status says whether the provider accepted the credential when last asked.
type Status string

const (
	// StatusConnected: the provider granted at least one scope.
	StatusConnected Status = "connected"
	// StatusUnverified: saved without the provider's answer (it could not
	// be reached, or nobody asked).
	StatusUnverified Status = "unverified"
	// StatusRefused: the provider refused the stored credential when it
	// was last used (a token it no longer renews); reconnect.
	StatusRefused Status = "refused"
	// StatusUninstalled: the merchant uninstalled the app; its tokens are
	// gone, the shop's data is kept.
	StatusUninstalled Status = "uninstalled"
)

// Connection is one shop's connection to one provider. Credentials is
// plain only in memory; the stored form is sealed.
type Connection struct {
	Provider    Provider
	Credentials string
	// Scopes is the provider's answer per scope (for Loop: orders,
	// returns, developer_tools → granted, denied or unknown).
	Scopes    map[string]string
	Status    Status
	CheckedAt *time.Time
	UpdatedAt time.Time
}

// ErrNotFound: the shop has no connection to that provider.
var ErrNotFound = errors.New("connection: not connected")

// Store keeps connections, one per shop and provider.
type Store struct {
	db  database.Querier
	box *secret.Box
	// cache holds what Get read (nil: no connection) for CacheTTL: the
	// hub reads a shop's connections on every page. A store bound to a
	// transaction shares its parent's cache and drops an entry when a
	// change to it commits.
	cache *ttlcache.Cache[cacheKey, *Connection]
}

type cacheKey struct {
	shopID   int64
	provider Provider
}

// CacheTTL bounds how long another hubdesk process may use a connection
// replaced elsewhere; the process that saved it uses the new one at once.
const CacheTTL = 2 * time.Second

// NewStore returns the store over db (the database or a transaction);
// box seals the credentials.
func NewStore(db database.Querier, box *secret.Box) *Store {
	return &Store{db: db, box: box, cache: ttlcache.New[cacheKey, *Connection](CacheTTL, nil)}
}

// With returns the store running on q, typically a use case's transaction.
func (s *Store) With(q database.Querier) *Store {
	c := *s
	c.db = q
	return &c
}

// Get returns the shop's connection to provider, or ErrNotFound. The
// connection may be shared with other callers: read it, don't change it.
func (s *Store) Get(ctx context.Context, shopID int64, provider Provider) (*Connection, error) {
	if _, inTx := s.db.(*database.Tx); inTx {
		// What a transaction reads may never commit: it must not be cached.
		return s.Fresh(ctx, shopID, provider)
	}
	c, err := s.cache.Get(cacheKey{shopID, provider}, func() (*Connection, error) { return s.read(ctx, shopID, provider) })
	if err == nil && c == nil {
		err = ErrNotFound
	}
	return c, err
}

// Fresh returns the shop's connection to provider as stored now, past
// the cache, or ErrNotFound: for a job queued with the change that made
// it, which may run in another process whose cache still holds what was
// there before. What it read replaces the cached entry, so this
// process's next Get (a client made after it) reads the same; like Get's,
// the connection may be shared: read it, don't change it.
func (s *Store) Fresh(ctx context.Context, shopID int64, provider Provider) (*Connection, error) {
	read := func() (*Connection, error) { return s.read(ctx, shopID, provider) }
	var c *Connection
	var err error
	if _, inTx := s.db.(*database.Tx); inTx {
		c, err = read() // it may never commit: not cached
	} else {
		key := cacheKey{shopID, provider}
		s.cache.Forget(key)
		c, err = s.cache.Get(key, read)
	}
	if err == nil && c == nil {
		err = ErrNotFound
	}
	return c, err
}

// changed drops the cached connection once the change commits.
func (s *Store) changed(shopID int64, provider Provider) {
	key := cacheKey{shopID, provider}
	if tx, inTx := s.db.(*database.Tx); inTx {
		tx.AfterCommit(func() { s.cache.Forget(key) })
		return
	}
	s.cache.Forget(key)
}

// read loads the connection from the database; nil when there is none.
func (s *Store) read(ctx context.Context, shopID int64, provider Provider) (*Connection, error) {
	c := &Connection{Provider: provider}
	var sealed, scopes string
	err := s.db.QueryRow(ctx, `SELECT credentials, scopes, status, checked_at, updated_at FROM connections
		WHERE shop_id = ? AND provider = ?`, shopID, string(provider)).
		Scan(&sealed, &scopes, &c.Status, database.ScanOptionalTime(&c.CheckedAt), (*database.Time)(&c.UpdatedAt))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("connection: load %s for shop %d: %w", provider, shopID, err)
	}
	if c.Credentials, err = s.box.Open(sealed); err != nil {
		return nil, fmt.Errorf("connection: %s credentials of shop %d: %w", provider, shopID, err)
	}
	if err := json.Unmarshal([]byte(scopes), &c.Scopes); err != nil {
		return nil, fmt.Errorf("connection: %s scopes of shop %d are unreadable: %w", provider, shopID, err)
	}
	return c, nil
}

// Save writes the shop's connection to c.Provider, replacing the one it
// had; UpdatedAt is set to now.
func (s *Store) Save(ctx context.Context, shopID int64, c *Connection, now time.Time) error {
	sealed, err := s.box.Seal(c.Credentials)
	if err != nil {
		return err
	}
	scopes, err := json.Marshal(c.Scopes)
	if err != nil {
		return err
	}
	if c.Scopes == nil {
		scopes = []byte("{}")
	}
	c.UpdatedAt = now.UTC()
	_, err = s.db.Exec(ctx, `INSERT INTO connections (shop_id, provider, credentials, scopes, status, checked_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, provider) DO UPDATE SET credentials = excluded.credentials, scopes = excluded.scopes,
			status = excluded.status, checked_at = excluded.checked_at, updated_at = excluded.updated_at`,
		shopID, string(c.Provider), sealed, string(scopes), string(c.Status), database.OptionalTime(c.CheckedAt), database.Time(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("connection: save %s for shop %d: %w", c.Provider, shopID, err)
	}
	s.changed(shopID, c.Provider)
	return nil
}

// Delete removes the shop's connection to provider, if any.
func (s *Store) Delete(ctx context.Context, shopID int64, provider Provider) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM connections WHERE shop_id = ? AND provider = ?`, shopID, string(provider)); err != nil {
		return fmt.Errorf("connection: delete %s for shop %d: %w", provider, shopID, err)
	}
	s.changed(shopID, provider)
	return nil
}

// Connected lists every shop connected to provider with when its
// connection last changed, for work that runs per connected shop (the
// IMAP pollers); like purging old webhooks, it is upkeep of no shop in
// particular.
func (s *Store) Connected(ctx context.Context, provider Provider) (map[int64]time.Time, error) {
	rows, err := s.db.Query(ctx, `SELECT shop_id, updated_at FROM connections WHERE provider = ?`, string(provider))
	if err != nil {
		return nil, fmt.Errorf("connection: list shops connected to %s: %w", provider, err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var shopID int64
		var at time.Time
		if err := rows.Scan(&shopID, (*database.Time)(&at)); err != nil {
			return nil, err
		}
		out[shopID] = at
	}
	return out, rows.Err()
}

// ShopsWith lists the shops connected to provider, for upkeep that runs
// per connected shop (Loop's reconciliation); it belongs to no shop.
func (s *Store) ShopsWith(ctx context.Context, provider Provider) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT shop_id FROM connections WHERE provider = ? ORDER BY shop_id`, string(provider))
	if err != nil {
		return nil, fmt.Errorf("connection: shops with %s: %w", provider, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
