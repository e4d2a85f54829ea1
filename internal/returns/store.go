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
	now       func() time.Time
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
	return &Store{db: db, box: box, audit: log, published: map[int64]cachedConfig{}, now: time.Now}
}

func (s *Store) forget(shopID int64) {
	s.mu.Lock()
	delete(s.published, shopID)
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
	s.published[shopID] = cachedConfig{cfg: cfg, expires: now.Add(PublishedTTL)}
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

// Save validates cfg and stores it as the draft — and as the published
// configuration when the hub is live. An empty Loop key keeps the stored
// one (the form never shows it). The audit entry is written in the same
// transaction, naming the changed fields but never a secret's value.
func (s *Store) Save(ctx context.Context, shopID int64, cfg Config, actor audit.Actor) (*SaveResult, error) {
	state, err := s.Load(ctx, shopID)
	if err != nil {
		return nil, err
	}
	if cfg.Returns.LoopAPIKey == "" {
		cfg.Returns.LoopAPIKey = state.Draft.Returns.LoopAPIKey
		if cfg.Returns.KeyCheck == nil {
			cfg.Returns.KeyCheck = state.Draft.Returns.KeyCheck
		}
	}
	if cfg.Returns.LoopAPIKey != "" {
		cfg.Returns.LoopKeyLast4 = MaskKey(cfg.Returns.LoopAPIKey)
	} else {
		cfg.Returns.LoopKeyLast4, cfg.Returns.KeyCheck = "", nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	changed := diffFields(state.Draft, cfg)
	res := &SaveResult{Published: state.Live, Changed: changed}
	encoded, err := s.encode(cfg)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		published := encoded
		var publishedAt any = database.OptionalTime(state.PublishedAt)
		if !state.Live {
			if published, err = s.encode(state.Published); err != nil {
				return err
			}
		} else {
			publishedAt = database.Time(now)
		}
		_, err := tx.Exec(ctx, `INSERT INTO shop_settings (shop_id, live, draft, published, draft_updated_at, published_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id) DO UPDATE SET draft = excluded.draft, published = excluded.published,
				draft_updated_at = excluded.draft_updated_at, published_at = excluded.published_at`,
			shopID, state.Live, encoded, published, database.Time(now), publishedAt)
		if err != nil {
			return fmt.Errorf("settings: save shop %d: %w", shopID, err)
		}
		if len(changed) == 0 {
			return nil
		}
		return s.audit.RecordTx(ctx, tx, shopID, audit.Entry{
			Actor: actor, Action: audit.ActionSettingsChanged, Subject: "hub settings", Provider: string(cfg.Returns.Provider),
			Outcome: audit.OutcomeOK, Details: map[string]any{"fields": changed, "published": state.Live},
		})
	})
	s.forget(shopID)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// SetLive switches the hub's Live mode. Switching it on publishes the
// draft; switching it off keeps what is published and stops auto-publishing.
func (s *Store) SetLive(ctx context.Context, shopID int64, live bool, actor audit.Actor) error {
	state, err := s.Load(ctx, shopID)
	if err != nil {
		return err
	}
	if state.Live == live {
		return nil
	}
	draft, err := s.encode(state.Draft)
	if err != nil {
		return err
	}
	published := draft
	now := time.Now().UTC()
	var publishedAt any = database.Time(now)
	if !live {
		if published, err = s.encode(state.Published); err != nil {
			return err
		}
		publishedAt = database.OptionalTime(state.PublishedAt)
	}
	defer s.forget(shopID)
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO shop_settings (shop_id, live, draft, published, draft_updated_at, published_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id) DO UPDATE SET live = excluded.live, published = excluded.published, published_at = excluded.published_at`,
			shopID, live, draft, published, database.Time(now), publishedAt)
		if err != nil {
			return fmt.Errorf("settings: set live for shop %d: %w", shopID, err)
		}
		action, details := audit.ActionSettingsChanged, map[string]any{"fields": []string{"general.live"}, "live": live}
		if live {
			action = audit.ActionHubPublished
		}
		return s.audit.RecordTx(ctx, tx, shopID, audit.Entry{Actor: actor, Action: action, Subject: "hub settings", Outcome: audit.OutcomeOK, Details: details})
	})
}

// RecordKeyCheck stores the latest Loop key check on the draft and, when it
// is the published key too, on the published configuration.
func (s *Store) RecordKeyCheck(ctx context.Context, shopID int64, key string, check KeyCheck) error {
	state, err := s.Load(ctx, shopID)
	if err != nil {
		return err
	}
	touched := false
	for _, c := range []*Config{&state.Draft, &state.Published} {
		if c.Returns.LoopAPIKey == key && key != "" {
			kc := check
			c.Returns.KeyCheck = &kc
			touched = true
		}
	}
	if !touched {
		return nil
	}
	draft, err := s.encode(state.Draft)
	if err != nil {
		return err
	}
	published, err := s.encode(state.Published)
	if err != nil {
		return err
	}
	_, err = s.db.Exec(ctx, `UPDATE shop_settings SET draft = ?, published = ? WHERE shop_id = ?`, draft, published, shopID)
	s.forget(shopID)
	return err
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
