package loopsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// Store keeps what freshness needs per shop and order: the
// reconciliation watermark, when webhooks last arrived, the health of the
// last Loop calls, when each order was last read, and the subscriptions
// waiting to be removed with a key no longer in use.
type Store struct{ db database.Querier }

// NewStore returns the store over db (the database or a transaction).
func NewStore(db database.Querier) *Store { return &Store{db: db} }

// With returns the store running on q.
func (s *Store) With(q database.Querier) *Store { return &Store{db: q} }

// Health is what hubdesk last learned about a shop's Loop connection.
type Health struct {
	Watermark     *time.Time
	LastWebhookAt *time.Time
	LastOKAt      *time.Time
	LastErrorAt   *time.Time
	// LastErrorKind is the loop.Kind of the last failure.
	LastErrorKind string
}

// Failing reports whether the last call to Loop failed: cards then show
// their last known state with a notice. A failure and a success in the
// same millisecond (times are kept to the millisecond) count as Loop
// answering: a success right after a failure is what clears it.
func (h Health) Failing() bool {
	return h.LastErrorAt != nil && (h.LastOKAt == nil || h.LastErrorAt.After(*h.LastOKAt))
}

// Sync words the health for order cards: why the last call failed, if
// it did, since when, and when one last succeeded.
func (h Health) Sync() returns.SyncHealth {
	var out returns.SyncHealth
	if h.LastOKAt != nil {
		out.LastOK = *h.LastOKAt
	}
	if !h.Failing() {
		return out
	}
	out.FailingSince = *h.LastErrorAt
	switch loop.Kind(h.LastErrorKind) {
	case loop.KindUnavailable, loop.KindCanceled:
		out.Problem = returns.ProblemDown
	case loop.KindRateLimited:
		out.Problem = returns.ProblemRateLimited
	case loop.KindUnauthorized, loop.KindMissingScope:
		out.Problem = returns.ProblemKeyRefused
	default:
		out.Problem = returns.ProblemOther
	}
	return out
}

// Health returns the shop's row (zero when there is none yet).
func (s *Store) Health(ctx context.Context, shopID int64) (Health, error) {
	var h Health
	err := s.db.QueryRow(ctx, `SELECT watermark, last_webhook_at, last_ok_at, last_error_at, last_error_kind
		FROM loop_sync WHERE shop_id = ?`, shopID).
		Scan(database.ScanOptionalTime(&h.Watermark), database.ScanOptionalTime(&h.LastWebhookAt),
			database.ScanOptionalTime(&h.LastOKAt), database.ScanOptionalTime(&h.LastErrorAt), &h.LastErrorKind)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("loopsync: health of shop %d: %w", shopID, err)
	}
	return h, nil
}

// set writes the named columns of the shop's row, creating it.
func (s *Store) set(ctx context.Context, shopID int64, now time.Time, cols []string, vals ...any) error {
	names, marks, assign := "", "", "updated_at = excluded.updated_at"
	for _, c := range cols {
		names += ", " + c
		marks += ", ?"
		assign += ", " + c + " = excluded." + c
	}
	_, err := s.db.Exec(ctx, `INSERT INTO loop_sync (shop_id, updated_at`+names+`) VALUES (?, ?`+marks+`)
		ON CONFLICT (shop_id) DO UPDATE SET `+assign, append([]any{shopID, database.Time(now)}, vals...)...)
	if err != nil {
		return fmt.Errorf("loopsync: shop %d: %w", shopID, err)
	}
	return nil
}

// WebhookArrived records that a verified Loop webhook arrived at (used for
// the freshness limit only, never as a return's version).
func (s *Store) WebhookArrived(ctx context.Context, shopID int64, at time.Time) error {
	return s.set(ctx, shopID, at, []string{"last_webhook_at"}, database.Time(at))
}

// CallSucceeded records a successful call to Loop at.
func (s *Store) CallSucceeded(ctx context.Context, shopID int64, at time.Time) error {
	return s.set(ctx, shopID, at, []string{"last_ok_at"}, database.Time(at))
}

// CallFailed records a failed call to Loop at, of kind.
func (s *Store) CallFailed(ctx context.Context, shopID int64, at time.Time, kind string) error {
	return s.set(ctx, shopID, at, []string{"last_error_at", "last_error_kind"}, database.Time(at), kind)
}

// SetWatermark records that reconciliation has seen every return Loop
// changed before at.
func (s *Store) SetWatermark(ctx context.Context, shopID int64, at time.Time, now time.Time) error {
	return s.set(ctx, shopID, now, []string{"watermark"}, database.Time(at))
}

// CheckedAt returns when each of the orders was last read from Loop;
// orders never read are absent.
func (s *Store) CheckedAt(ctx context.Context, shopID int64, orderIDs []int64) (map[int64]time.Time, error) {
	out, err := database.TimesByOrder(ctx, s.db, `SELECT order_id, checked_at FROM loop_order_checks WHERE shop_id = ? AND order_id IN (%s)`, shopID, orderIDs)
	if err != nil {
		return nil, fmt.Errorf("loopsync: order checks: %w", err)
	}
	return out, nil
}

// OrderChecked records that the order's returns were read from Loop at.
func (s *Store) OrderChecked(ctx context.Context, shopID, orderID int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO loop_order_checks (shop_id, order_id, checked_at) VALUES (?, ?, ?)
		ON CONFLICT (shop_id, order_id) DO UPDATE SET checked_at = excluded.checked_at`, shopID, orderID, database.Time(at))
	if err != nil {
		return fmt.Errorf("loopsync: order %d checked: %w", orderID, err)
	}
	return nil
}

// cleanup is a removal of subscriptions with a key no longer in use.
type cleanup struct {
	ID          int64
	Credentials string // sealed
	URL         string
}

// AddCleanup stores a removal to do with the sealed old key.
func (s *Store) AddCleanup(ctx context.Context, shopID int64, sealed, url string, now time.Time) (int64, error) {
	var id int64
	err := s.db.ExecReturning(ctx, `INSERT INTO loop_subscription_cleanups (shop_id, credentials, url, created_at)
		VALUES (?, ?, ?, ?) RETURNING id`, shopID, sealed, url, database.Time(now)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("loopsync: store subscription removal: %w", err)
	}
	return id, nil
}

// Cleanup returns the shop's removal id; nil when done already.
func (s *Store) Cleanup(ctx context.Context, shopID, id int64) (*cleanup, error) {
	c := &cleanup{ID: id}
	err := s.db.QueryRow(ctx, `SELECT credentials, url FROM loop_subscription_cleanups WHERE shop_id = ? AND id = ?`, shopID, id).
		Scan(&c.Credentials, &c.URL)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("loopsync: subscription removal %d: %w", id, err)
	}
	return c, nil
}

// DeleteCleanup forgets a removal (and with it the old key).
func (s *Store) DeleteCleanup(ctx context.Context, shopID, id int64) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM loop_subscription_cleanups WHERE shop_id = ? AND id = ?`, shopID, id); err != nil {
		return fmt.Errorf("loopsync: delete subscription removal %d: %w", id, err)
	}
	return nil
}
