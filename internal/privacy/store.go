package privacy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// ErrNotFound: no such request (or export) in the shop.
var ErrNotFound = database.ErrNotFound

// Request is one privacy request as carried out.
type Request struct {
	ID                 int64      `json:"id"`
	ShopID             int64      `json:"-"`
	Kind               string     `json:"kind"`
	CustomerExternalID string     `json:"customer_id"`
	CustomerEmail      string     `json:"customer_email"`
	RequestID          string     `json:"request_id"`
	Document           string     `json:"-"`
	Summary            string     `json:"summary"`
	ReceivedAt         time.Time  `json:"received_at"`
	DownloadedAt       *time.Time `json:"downloaded_at"`
}

// HasExport reports whether the request is a data request whose export
// can be downloaded.
func (r *Request) HasExport() bool { return r.Kind == KindDataRequest && r.Document != "" }

// Store keeps the privacy requests.
type Store struct{ db database.Querier }

// NewStore returns the store over db.
func NewStore(db database.Querier) *Store { return &Store{db: db} }

// With returns the store running on q.
func (s *Store) With(q database.Querier) *Store { return &Store{db: q} }

// Insert stores r and returns its id.
func (s *Store) Insert(ctx context.Context, r *Request) (int64, error) {
	var id int64
	err := s.db.ExecReturning(ctx, `INSERT INTO privacy_requests (shop_id, kind, customer_external_id, customer_email, request_id,
		document, summary, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.ShopID, r.Kind, r.CustomerExternalID, r.CustomerEmail, r.RequestID, r.Document, r.Summary, database.Time(r.ReceivedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("privacy: store %s of shop %d: %w", r.Kind, r.ShopID, err)
	}
	return id, nil
}

const requestColumns = `id, shop_id, kind, customer_external_id, customer_email, request_id, document, summary, received_at, downloaded_at`

func scanRequest(row interface{ Scan(...any) error }) (*Request, error) {
	var r Request
	err := row.Scan(&r.ID, &r.ShopID, &r.Kind, &r.CustomerExternalID, &r.CustomerEmail, &r.RequestID, &r.Document, &r.Summary,
		(*database.Time)(&r.ReceivedAt), database.ScanOptionalTime(&r.DownloadedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &r, err
}

// Get returns the shop's request id.
func (s *Store) Get(ctx context.Context, shopID, id int64) (*Request, error) {
	return scanRequest(s.db.QueryRow(ctx, `SELECT `+requestColumns+` FROM privacy_requests WHERE shop_id = ? AND id = ?`, shopID, id))
}

// List returns a page of the shop's requests, newest first (documents
// left out).
func (s *Store) List(ctx context.Context, shopID int64, p database.Page) ([]*Request, string, error) {
	where, args := "shop_id = ?", []any{shopID}
	if p.After != nil {
		where, args = where+" AND id < ?", append(args, p.After.ID)
	}
	limit := p.Size()
	rows, err := s.db.Query(ctx, `SELECT id, shop_id, kind, customer_external_id, customer_email, request_id,
		CASE WHEN document = '' THEN '' ELSE '-' END, summary, received_at, downloaded_at
		FROM privacy_requests WHERE `+where+` ORDER BY id DESC`+database.Limit(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("privacy: list requests of shop %d: %w", shopID, err)
	}
	defer rows.Close()
	var out []*Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = database.EncodeCursor(0, out[limit-1].ID)
	}
	return out, next, nil
}

// MarkDownloaded records when an admin last downloaded the export.
func (s *Store) MarkDownloaded(ctx context.Context, shopID, id int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE privacy_requests SET downloaded_at = ? WHERE shop_id = ? AND id = ?`, database.Time(at), shopID, id)
	return err
}

// EraseCustomer deletes the customer's exports and blanks the address on
// their other requests.
func (s *Store) EraseCustomer(ctx context.Context, shopID int64, externalID string, emails []string) error {
	where, args := []string{}, []any{}
	if externalID != "" {
		where, args = append(where, "customer_external_id = ?"), append(args, externalID)
	}
	for _, e := range emails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			where, args = append(where, "customer_email = ?"), append(args, e)
		}
	}
	if len(where) == 0 {
		return nil
	}
	cond := strings.Join(where, " OR ")
	if _, err := s.db.Exec(ctx, `DELETE FROM privacy_requests WHERE shop_id = ? AND kind = ? AND (`+cond+`)`,
		append([]any{shopID, KindDataRequest}, args...)...); err != nil {
		return fmt.Errorf("privacy: erase exports: %w", err)
	}
	_, err := s.db.Exec(ctx, `UPDATE privacy_requests SET customer_email = '' WHERE shop_id = ? AND (`+cond+`)`, append([]any{shopID}, args...)...)
	return err
}

// EraseAll deletes every export of the shop and blanks every address.
func (s *Store) EraseAll(ctx context.Context, shopID int64) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM privacy_requests WHERE shop_id = ? AND kind = ?`, shopID, KindDataRequest); err != nil {
		return fmt.Errorf("privacy: erase exports: %w", err)
	}
	_, err := s.db.Exec(ctx, `UPDATE privacy_requests SET customer_email = '' WHERE shop_id = ?`, shopID)
	return err
}
