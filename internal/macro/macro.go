// Package macro holds the helpdesk's saved replies: the store, the
// placeholders an agent's reply box fills in for a ticket (Expand), and
// the use cases — managers create, edit and delete macros, audited; every
// agent lists them and inserts one expanded for their ticket.
package macro

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// Limits on a macro. A name is one line of the reply box's picker; a body
// is a reply, rarely more than a few paragraphs, and well inside what a
// message may hold.
const (
	MaxNameRunes = 100
	MaxBodyRunes = 5_000
)

// ErrNotFound means no such macro in this shop.
var ErrNotFound = database.ErrNotFound

// Macro is one saved reply.
type Macro struct {
	ID        int64
	ShopID    int64
	Name      string
	Body      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// UnknownPlaceholders lists the placeholders of the body that Expand will
// leave as they are, for the settings page to point out.
func (m Macro) UnknownPlaceholders() []string { return UnknownPlaceholders(m.Body) }

// Input is what a manager writes: a name and a body.
type Input struct {
	Name string
	Body string
}

// ValidationError names the field that was refused.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string { return "macro: " + e.Field + " " + e.Problem }

// normalize trims what is stored and refuses what cannot be.
func (in *Input) normalize() error {
	in.Name = strings.Join(strings.Fields(in.Name), " ")
	in.Body = strings.TrimSpace(strings.ReplaceAll(in.Body, "\r\n", "\n"))
	switch {
	case in.Name == "":
		return &ValidationError{"name", "is required"}
	case utf8.RuneCountInString(in.Name) > MaxNameRunes:
		return &ValidationError{"name", fmt.Sprintf("is longer than %d characters", MaxNameRunes)}
	case in.Body == "":
		return &ValidationError{"body", "is required"}
	case utf8.RuneCountInString(in.Body) > MaxBodyRunes:
		return &ValidationError{"body", fmt.Sprintf("is longer than %d characters", MaxBodyRunes)}
	}
	return nil
}

var errNameTaken = &ValidationError{"name", "is already used by another macro"}

// Store reads and writes macros. Every query is scoped by shop.
type Store struct {
	db  database.Querier
	now func() time.Time
	// lists holds each shop's macros as ReadAllCached read them, for
	// CacheTTL; the stores With returns share it, and a change through any
	// of them drops the shop's entry once it commits.
	lists *ttlcache.Cache[int64, []*Macro]
}

// CacheTTL bounds how long a process shows a shop's macros as they were
// before a change another process made; a change made through this
// process shows at once.
const CacheTTL = 2 * time.Second

// CachedShops is how many shops' macros a process keeps in its cache.
const CachedShops = 1024

// NewStore returns the macro store over db; now stamps changes (time.Now
// when nil).
func NewStore(db database.Querier, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, lists: ttlcache.NewBounded[int64, []*Macro](CacheTTL, CachedShops, nil)}
}

// With returns the store running on q, a use case's transaction.
func (s *Store) With(q database.Querier) *Store { return &Store{db: q, now: s.now, lists: s.lists} }

// changed drops the shop's cached macros once the change commits.
func (s *Store) changed(shopID int64) { s.lists.ForgetOnCommit(s.db, shopID) }

const columns = `id, shop_id, name, body, created_at, updated_at`

func scan(row interface{ Scan(...any) error }) (*Macro, error) {
	var m Macro
	err := row.Scan(&m.ID, &m.ShopID, &m.Name, &m.Body, (*database.Time)(&m.CreatedAt), (*database.Time)(&m.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("macro: scan: %w", err)
	}
	return &m, nil
}

// List returns the shop's macros by name.
func (s *Store) List(ctx context.Context, shopID int64) ([]*Macro, error) {
	rows, err := s.db.Query(ctx, `SELECT `+columns+` FROM macros WHERE shop_id = ? ORDER BY name, id`, shopID)
	if err != nil {
		return nil, fmt.Errorf("macro: list: %w", err)
	}
	defer rows.Close()
	var out []*Macro
	for rows.Next() {
		m, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Get returns one macro of the shop.
func (s *Store) Get(ctx context.Context, shopID, id int64) (*Macro, error) {
	return scan(s.db.QueryRow(ctx, `SELECT `+columns+` FROM macros WHERE shop_id = ? AND id = ?`, shopID, id))
}

// Create stores a new macro; a name the shop already uses is refused.
func (s *Store) Create(ctx context.Context, shopID int64, in Input) (*Macro, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	m, err := scan(s.db.ExecReturning(ctx, `INSERT INTO macros (shop_id, name, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		RETURNING `+columns, shopID, in.Name, in.Body, database.Time(now), database.Time(now)))
	if database.IsUniqueViolation(err) {
		return nil, errNameTaken
	}
	if err == nil {
		s.changed(shopID)
	}
	return m, err
}

// Update replaces a macro's name and body.
func (s *Store) Update(ctx context.Context, shopID, id int64, in Input) (*Macro, error) {
	if err := in.normalize(); err != nil {
		return nil, err
	}
	m, err := scan(s.db.ExecReturning(ctx, `UPDATE macros SET name = ?, body = ?, updated_at = ? WHERE shop_id = ? AND id = ?
		RETURNING `+columns, in.Name, in.Body, database.Time(s.now().UTC()), shopID, id))
	if database.IsUniqueViolation(err) {
		return nil, errNameTaken
	}
	if err == nil {
		s.changed(shopID)
	}
	return m, err
}

// Delete removes a macro and returns it as it was.
func (s *Store) Delete(ctx context.Context, shopID, id int64) (*Macro, error) {
	m, err := scan(s.db.ExecReturning(ctx, `DELETE FROM macros WHERE shop_id = ? AND id = ? RETURNING `+columns, shopID, id))
	if err == nil {
		s.changed(shopID)
	}
	return m, err
}

// ReadAllCached is ReadAll through the process's cache (CacheTTL): when it
// holds the shop's macros it sets *into and queues nothing. Call the done
// it returns once b has run, with b's error; it keeps what b read. The
// macros may be shared with other callers: read them, don't change them.
func (s *Store) ReadAllCached(b *database.Batch, shopID int64, into *[]*Macro) (done func(error)) {
	return s.lists.ReadInto(shopID, into, func() { ReadAll(b, shopID, into) })
}

// ReadAll queues into b the read of the shop's macros, in List's order.
func ReadAll(b *database.Batch, shopID int64, into *[]*Macro) {
	b.Read(`SELECT `+columns+` FROM macros WHERE shop_id = ? ORDER BY name, id`, []any{shopID}, func(row database.RowScanner) error {
		m, err := scan(row)
		*into = append(*into, m)
		return err
	})
}
