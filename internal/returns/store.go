package returns

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/secret"
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

// Store keeps the draft and published configuration. The Loop API key is
// sealed with the secret box before it is written and opened on read.
type Store struct {
	db    *database.DB
	box   *secret.Box
	audit *audit.Log

	// published caches each shop's published configuration for
	// PublishedTTL: every hub page needs it, and reading it means a query,
	// a decryption and a JSON decode. A change made through this process
	// drops the entry at once; another process sees it within the TTL.
	mu        sync.Mutex
	published map[int64]cachedConfig
	// generation counts each shop's changes, so a read that raced a change
	// does not put the value it read before the change into the cache.
	generation map[int64]uint64
	now        func() time.Time
}

type cachedConfig struct {
	cfg     Config
	expires time.Time
}

// PublishedTTL bounds how long another hubdesk process may serve settings
// published elsewhere.
const PublishedTTL = 2 * time.Second

// NewStore returns the settings store.
func NewStore(db *database.DB, box *secret.Box, log *audit.Log) *Store {
	return &Store{db: db, box: box, audit: log, published: map[int64]cachedConfig{}, generation: map[int64]uint64{}, now: time.Now}
}

func (s *Store) forget(shopID int64) {
	s.mu.Lock()
	delete(s.published, shopID)
	s.generation[shopID]++
	s.mu.Unlock()
}

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
	now := s.now()
	s.mu.Lock()
	c, ok := s.published[shopID]
	gen := s.generation[shopID]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.cfg, nil
	}
	var published string
	err := s.db.QueryRow(ctx, `SELECT published FROM shop_settings WHERE shop_id = ?`, shopID).Scan(&published)
	cfg := DefaultConfig()
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Config{}, fmt.Errorf("settings: load shop %d: %w", shopID, err)
	default:
		if cfg, err = s.decode(published); err != nil {
			return Config{}, err
		}
	}
	s.mu.Lock()
	if s.generation[shopID] == gen {
		s.published[shopID] = cachedConfig{cfg: cfg, expires: now.Add(PublishedTTL)}
	}
	s.mu.Unlock()
	return cfg, nil
}

func (s *Store) encode(c Config) (string, error) {
	sealed, err := s.box.Seal(c.Returns.LoopAPIKey)
	if err != nil {
		return "", err
	}
	c.Returns.LoopAPIKey = sealed
	b, err := json.Marshal(c)
	return string(b), err
}

func (s *Store) decode(raw string) (Config, error) {
	c := DefaultConfig()
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return Config{}, fmt.Errorf("settings: stored configuration is unreadable: %w", err)
	}
	key, err := s.box.Open(c.Returns.LoopAPIKey)
	if err != nil {
		return Config{}, fmt.Errorf("settings: Loop API key: %w", err)
	}
	c.Returns.LoopAPIKey = key
	return c, nil
}

// SaveResult says what a save did.
type SaveResult struct {
	Published bool     // the change went live at once (the hub is live)
	Changed   []string // the fields that changed, for the audit log and the page
}

// Update applies edit to the shop's draft in one transaction that first
// locks the settings row, so two admins saving different tabs at once both
// land, and a save racing "go live" cannot publish stale settings. When the
// hub is live the draft is published at once. The audit entry is written in
// the same transaction, naming the changed fields but never a secret's
// value.
func (s *Store) Update(ctx context.Context, shopID int64, actor audit.Actor, edit func(cfg *Config) error) (*SaveResult, error) {
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
		if cfg.Returns.LoopAPIKey != "" {
			cfg.Returns.LoopKeyLast4 = MaskKey(cfg.Returns.LoopAPIKey)
		} else {
			cfg.Returns.LoopKeyLast4, cfg.Returns.KeyCheck = "", nil
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		changed := diffFields(st.Draft, cfg)
		res = &SaveResult{Published: st.Live, Changed: changed}
		now := time.Now().UTC()
		st.Draft, st.DraftUpdatedAt = cfg, now
		if st.Live {
			st.Published, st.PublishedAt = cfg, &now
		}
		if err := s.writeState(ctx, tx, shopID, st); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil
		}
		return s.audit.RecordTx(ctx, tx, shopID, audit.Entry{
			Actor: actor, Action: audit.ActionSettingsChanged, Subject: "hub settings", Provider: string(cfg.Returns.Provider),
			Outcome: audit.OutcomeOK, Details: map[string]any{"fields": changed, "published": st.Live},
		})
	})
	s.forget(shopID)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Save replaces the whole draft with cfg (see Update). An empty Loop key
// keeps the stored one and its check: the form never shows the key.
func (s *Store) Save(ctx context.Context, shopID int64, cfg Config, actor audit.Actor) (*SaveResult, error) {
	return s.Update(ctx, shopID, actor, func(c *Config) error {
		if cfg.Returns.LoopAPIKey == "" {
			cfg.Returns.LoopAPIKey = c.Returns.LoopAPIKey
			if cfg.Returns.KeyCheck == nil {
				cfg.Returns.KeyCheck = c.Returns.KeyCheck
			}
		}
		*c = cfg
		return nil
	})
}

// SetLive switches the hub's Live mode. Switching it on publishes the
// draft; switching it off keeps what is published and stops auto-publishing.
func (s *Store) SetLive(ctx context.Context, shopID int64, live bool, actor audit.Actor) error {
	defer s.forget(shopID)
	return s.db.InTx(ctx, func(tx *database.Tx) error {
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
		action, details := audit.ActionSettingsChanged, map[string]any{"fields": []string{"general.live"}, "live": live}
		if live {
			action = audit.ActionHubPublished
		}
		return s.audit.RecordTx(ctx, tx, shopID, audit.Entry{Actor: actor, Action: action, Subject: "hub settings", Outcome: audit.OutcomeOK, Details: details})
	})
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
	if s.db.Dialect == database.Postgres {
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

// diffFields names the fields that differ, flattening the JSON form. The
// Loop key is compared but reported only by name.
func diffFields(before, after Config) []string {
	a, b := flatten(before), flatten(after)
	var out []string
	for k, v := range b {
		if k == "returns.loop_key_last4" || len(k) >= 17 && k[:17] == "returns.key_check" {
			continue
		}
		if a[k] != v {
			out = append(out, k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok && k != "returns.loop_key_last4" && !(len(k) >= 17 && k[:17] == "returns.key_check") {
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
