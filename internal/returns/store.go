package returns

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// State is a shop's settings as the admin pages see them.
type State struct {
	Live           bool
	Draft          Config
	Published      Config
	DraftUpdatedAt time.Time
	PublishedAt    *time.Time
}

// Unpublished reports whether the draft differs from what shoppers see.
func (s *State) Unpublished() bool { return !reflect.DeepEqual(s.Draft, s.Published) }

// Store keeps the draft and published configuration: what shoppers see,
// never a credential (those are connections). It writes no audit entries: the settings use case records each change in
// the transaction it binds this store to (With).
type Store struct {
	db database.Querier
	// published holds each shop's published configuration for
	// PublishedTTL: every hub page needs it, and reading it means a query
	// and a JSON decode. A store bound to a transaction shares its
	// parent's cache.
	published *ttlcache.Cache[int64, Config]
	now       func() time.Time
}

// PublishedTTL bounds how long another hubdesk process may serve settings
// published elsewhere.
const PublishedTTL = 2 * time.Second

// NewStore returns the settings store over db (the database or a
// transaction).
func NewStore(db database.Querier) *Store {
	s := &Store{db: db, now: time.Now}
	s.published = ttlcache.New[int64, Config](PublishedTTL, func() time.Time { return s.now() })
	return s
}

// With returns the store running on q, typically a use case's transaction.
func (s *Store) With(q database.Querier) *Store {
	c := *s
	c.db = q
	return &c
}

func (s *Store) forget(shopID int64) { s.published.Forget(shopID) }

// Load returns the shop's settings; a shop that never saved gets defaults.
func (s *Store) Load(ctx context.Context, shopID int64) (*State, error) {
	var live bool
	var draft, published string
	st := &State{}
	err := s.db.QueryRow(ctx, `SELECT live, draft, published, draft_updated_at, published_at FROM shop_settings WHERE shop_id = ?`, shopID).
		Scan(&live, &draft, &published, (*database.Time)(&st.DraftUpdatedAt), database.ScanOptionalTime(&st.PublishedAt))
	if errors.Is(err, sql.ErrNoRows) {
		st.Draft, st.Published = DefaultConfig(), DefaultConfig()
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("settings: load shop %d: %w", shopID, err)
	}
	st.Live = live
	if st.Draft, err = s.decode(draft); err != nil {
		return nil, err
	}
	if st.Published, err = s.decode(published); err != nil {
		return nil, err
	}
	return st, nil
}

// Published is what shoppers and agents get.
func (s *Store) Published(ctx context.Context, shopID int64) (Config, error) {
	if _, inTx := s.db.(*database.Tx); inTx {
		// What a transaction reads may never commit: it must not be cached.
		return s.readPublished(ctx, shopID)
	}
	return s.published.Get(shopID, func() (Config, error) { return s.readPublished(ctx, shopID) })
}

func (s *Store) readPublished(ctx context.Context, shopID int64) (Config, error) {
	var published string
	err := s.db.QueryRow(ctx, `SELECT published FROM shop_settings WHERE shop_id = ?`, shopID).Scan(&published)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return DefaultConfig(), nil
	case err != nil:
		return Config{}, fmt.Errorf("settings: load shop %d: %w", shopID, err)
	}
	return s.decode(published)
}

func (s *Store) encode(c Config) (string, error) {
	b, err := json.Marshal(c)
	return string(b), err
}

func (s *Store) decode(raw string) (Config, error) {
	c := DefaultConfig()
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return Config{}, fmt.Errorf("settings: stored configuration is unreadable: %w", err)
	}
	return c, nil
}

// SaveResult says what a save did.
type SaveResult struct {
	Published bool     // the change went live at once (the hub is live)
	Changed   []string // the fields that changed, for the audit log and the page
	Draft     Config   // the draft as saved
}

// Update applies edit to the shop's draft in one transaction that first
// locks the settings row, so two admins saving different tabs at once both
// land, and a save racing "go live" cannot publish stale settings. When the
// hub is live the draft is published at once.
func (s *Store) Update(ctx context.Context, shopID int64, edit func(cfg *Config) error) (*SaveResult, error) {
	var res *SaveResult
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		st, err := s.lockState(ctx, tx, shopID)
		if err != nil {
			return err
		}
		cfg := st.Draft
		if err := edit(&cfg); err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		res = &SaveResult{Published: st.Live, Changed: diffFields(st.Draft, cfg), Draft: cfg}
		now := time.Now().UTC()
		st.Draft, st.DraftUpdatedAt = cfg, now
		if st.Live {
			st.Published, st.PublishedAt = cfg, &now
		}
		if err := s.writeState(ctx, tx, shopID, st); err != nil {
			return err
		}
		tx.AfterCommit(func() { s.forget(shopID) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// SetLive switches the hub's Live mode and reports whether it changed.
// Switching it on publishes the draft; switching it off keeps what is
// published and stops auto-publishing.
func (s *Store) SetLive(ctx context.Context, shopID int64, live bool) (changed bool, err error) {
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		st, err := s.lockState(ctx, tx, shopID)
		if err != nil || st.Live == live {
			return err
		}
		st.Live = live
		if live {
			now := time.Now().UTC()
			st.Published, st.PublishedAt = st.Draft, &now
		}
		if err := s.writeState(ctx, tx, shopID, st); err != nil {
			return fmt.Errorf("settings: set live for shop %d: %w", shopID, err)
		}
		changed = true
		tx.AfterCommit(func() { s.forget(shopID) })
		return nil
	})
	if err != nil {
		return false, err
	}
	return changed, nil
}

// lockState reads the shop's settings inside tx, creating the row from the
// defaults first, and locks it: SELECT … FOR UPDATE on PostgreSQL, while
// SQLite's write transactions (BEGIN IMMEDIATE) already run one at a time.
func (s *Store) lockState(ctx context.Context, tx *database.Tx, shopID int64) (*State, error) {
	defaults, err := s.encode(DefaultConfig())
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO shop_settings (shop_id, live, draft, published, draft_updated_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (shop_id) DO NOTHING`, shopID, false, defaults, defaults, database.Time(time.Now())); err != nil {
		return nil, fmt.Errorf("settings: shop %d: %w", shopID, err)
	}
	query := `SELECT live, draft, published, draft_updated_at, published_at FROM shop_settings WHERE shop_id = ?`
	if tx.Engine() == database.Postgres {
		query += ` FOR UPDATE`
	}
	st := &State{}
	var draft, published string
	if err := tx.QueryRow(ctx, query, shopID).Scan(&st.Live, &draft, &published, (*database.Time)(&st.DraftUpdatedAt),
		database.ScanOptionalTime(&st.PublishedAt)); err != nil {
		return nil, fmt.Errorf("settings: lock shop %d: %w", shopID, err)
	}
	if st.Draft, err = s.decode(draft); err != nil {
		return nil, err
	}
	if st.Published, err = s.decode(published); err != nil {
		return nil, err
	}
	return st, nil
}

// writeState stores a locked State back.
func (s *Store) writeState(ctx context.Context, tx *database.Tx, shopID int64, st *State) error {
	draft, err := s.encode(st.Draft)
	if err != nil {
		return err
	}
	published, err := s.encode(st.Published)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE shop_settings SET live = ?, draft = ?, published = ?, draft_updated_at = ?, published_at = ?
		WHERE shop_id = ?`, st.Live, draft, published, database.Time(st.DraftUpdatedAt), database.OptionalTime(st.PublishedAt), shopID)
	if err != nil {
		return fmt.Errorf("settings: save shop %d: %w", shopID, err)
	}
	return nil
}

// diffFields names the fields of the stored form that differ, flattening
// it as JSON.
func diffFields(before, after Config) []string {
	a, b := flatten(before), flatten(after)
	var out []string
	for k, v := range b {
		if a[k] != v {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func flatten(c Config) map[string]string {
	raw, _ := json.Marshal(c)
	var tree map[string]any
	json.Unmarshal(raw, &tree)
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, sub := range m {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, sub)
			}
			return
		}
		b, _ := json.Marshal(v)
		out[prefix] = string(b)
	}
	walk("", tree)
	return out
}
