package shopifysync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Backfill statuses.
const (
	StatusStarting  = "starting"  // asked for; the bulk operation not yet started
	StatusRunning   = "running"   // Shopify is writing the file
	StatusImporting = "importing" // hubdesk is reading the file into the store
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Backfill is a shop's backfill as stored.
type Backfill struct {
	ShopID          int64
	Status          string
	BulkOperationID string
	resultURL       string // sealed in the row
	FileSize        int64
	ByteOffset      int64
	RowsDone        int64
	RowsTotal       int64
	ErrorCount      int64
	LastError       string
	StartedAt       time.Time
	ImportStartedAt *time.Time
	FinishedAt      *time.Time
	UpdatedAt       time.Time
}

// Active reports whether the backfill still has work to do.
func (b *Backfill) Active() bool {
	return b.Status == StatusStarting || b.Status == StatusRunning || b.Status == StatusImporting
}

// Percent is how far the import has read, by bytes of the file (the
// rows' count is not known until the file is read; its size is).
func (b *Backfill) Percent() float64 {
	switch {
	case b.Status == StatusCompleted:
		return 100
	case b.FileSize <= 0:
		return 0
	}
	return min(100, float64(b.ByteOffset)*100/float64(b.FileSize))
}

// ETA is the time the import should still take at its pace so far; zero
// when it cannot be told yet.
func (b *Backfill) ETA(now time.Time) time.Duration {
	if b.Status != StatusImporting || b.ImportStartedAt == nil || b.ByteOffset <= 0 || b.FileSize <= b.ByteOffset {
		return 0
	}
	// The pace since the import began; a resume after a crash restarts
	// nothing, so the rate stays honest enough.
	elapsed := now.Sub(*b.ImportStartedAt)
	if elapsed <= 0 {
		return 0
	}
	rate := float64(b.ByteOffset) / elapsed.Seconds()
	if rate <= 0 {
		return 0
	}
	return time.Duration(float64(b.FileSize-b.ByteOffset) / rate * float64(time.Second)).Round(time.Second)
}

// Store keeps the shops' backfills and when each customer's orders were
// last read.
type Store struct{ db database.Querier }

// NewStore returns the store over db (the database or a transaction).
func NewStore(db database.Querier) *Store { return &Store{db: db} }

// With returns the store running on q.
func (s *Store) With(q database.Querier) *Store { return &Store{db: q} }

// ErrNoBackfill: the shop has never been backfilled.
var ErrNoBackfill = errors.New("shopifysync: no backfill for this shop")

const backfillColumns = `shop_id, status, bulk_operation_id, result_url, file_size, byte_offset, rows_done, rows_total,
	error_count, last_error, started_at, import_started_at, finished_at, updated_at`

// Backfill reads the shop's backfill.
func (s *Store) Backfill(ctx context.Context, shopID int64) (*Backfill, error) {
	var b Backfill
	err := s.db.QueryRow(ctx, `SELECT `+backfillColumns+` FROM shopify_backfills WHERE shop_id = ?`, shopID).Scan(
		&b.ShopID, &b.Status, &b.BulkOperationID, &b.resultURL, &b.FileSize, &b.ByteOffset, &b.RowsDone, &b.RowsTotal,
		&b.ErrorCount, &b.LastError, (*database.Time)(&b.StartedAt), database.ScanOptionalTime(&b.ImportStartedAt),
		database.ScanOptionalTime(&b.FinishedAt), (*database.Time)(&b.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoBackfill
	}
	if err != nil {
		return nil, fmt.Errorf("shopifysync: backfill of shop %d: %w", shopID, err)
	}
	return &b, nil
}

// begin writes a new backfill for the shop, replacing a finished one.
func (s *Store) begin(ctx context.Context, shopID int64, now time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO shopify_backfills (shop_id, status, started_at, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id) DO UPDATE SET status = excluded.status, bulk_operation_id = '', result_url = '', file_size = 0,
			byte_offset = 0, rows_done = 0, rows_total = 0, error_count = 0, last_error = '', lease_owner = '', lease_until = NULL,
			started_at = excluded.started_at, import_started_at = NULL, finished_at = NULL, updated_at = excluded.updated_at`,
		shopID, StatusStarting, database.Time(now), database.Time(now))
	if err != nil {
		return fmt.Errorf("shopifysync: begin backfill of shop %d: %w", shopID, err)
	}
	return nil
}

// claim takes the backfill's lease for owner until until, when nobody
// holds it (or owner does, or the holder's lease ran out). It reports
// whether owner holds it now.
func (s *Store) claim(ctx context.Context, shopID int64, owner string, now, until time.Time) (bool, error) {
	res, err := s.db.Exec(ctx, `UPDATE shopify_backfills SET lease_owner = ?, lease_until = ?
		WHERE shop_id = ? AND (lease_owner = '' OR lease_owner = ? OR lease_until IS NULL OR lease_until < ?)`,
		owner, database.Time(until), shopID, owner, database.Time(now))
	if err != nil {
		return false, fmt.Errorf("shopifysync: lease backfill of shop %d: %w", shopID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// release gives the lease back.
func (s *Store) release(ctx context.Context, shopID int64, owner string) error {
	_, err := s.db.Exec(ctx, `UPDATE shopify_backfills SET lease_owner = '', lease_until = NULL WHERE shop_id = ? AND lease_owner = ?`,
		shopID, owner)
	return err
}

// running records the bulk operation that was started.
func (s *Store) running(ctx context.Context, shopID int64, opID string, now time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE shopify_backfills SET status = ?, bulk_operation_id = ?, updated_at = ? WHERE shop_id = ?`,
		StatusRunning, opID, database.Time(now), shopID)
	return err
}

// importing records the finished operation's file.
func (s *Store) importing(ctx context.Context, shopID int64, sealedURL string, size, total int64, now time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE shopify_backfills SET status = ?, result_url = ?, file_size = ?, rows_total = ?,
		import_started_at = ?, updated_at = ? WHERE shop_id = ?`,
		StatusImporting, sealedURL, size, total, database.Time(now), database.Time(now), shopID)
	return err
}

// progress records a committed batch: where the next order begins, how
// many rows the batch stored and how many lines it could not use. It runs
// in the batch's transaction, guarded by the lease, so a worker that lost
// its lease cannot move the offset.
func (s *Store) progress(ctx context.Context, shopID int64, owner string, offset, rows, errs int64, lastErr string, now time.Time) error {
	res, err := s.db.Exec(ctx, `UPDATE shopify_backfills SET byte_offset = ?, rows_done = rows_done + ?,
		error_count = error_count + ?, last_error = CASE WHEN ? = '' THEN last_error ELSE ? END, updated_at = ?
		WHERE shop_id = ? AND lease_owner = ? AND status = ?`,
		offset, rows, errs, lastErr, lastErr, database.Time(now), shopID, owner, StatusImporting)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLeaseLost
	}
	return nil
}

var errLeaseLost = errors.New("shopifysync: the backfill's lease was lost")

// finish ends the backfill (completed or failed, with the reason).
func (s *Store) finish(ctx context.Context, shopID int64, status, reason string, now time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE shopify_backfills SET status = ?, last_error = CASE WHEN ? = '' THEN last_error ELSE ? END,
		error_count = error_count + CASE WHEN ? = '' THEN 0 ELSE 1 END,
		finished_at = ?, lease_owner = '', lease_until = NULL, updated_at = ? WHERE shop_id = ?`,
		status, reason, reason, reason, database.Time(now), database.Time(now), shopID)
	return err
}

// noteError records a passing failure (the job retries) on the backfill.
func (s *Store) noteError(ctx context.Context, shopID int64, reason string, now time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE shopify_backfills SET error_count = error_count + 1, last_error = ?, updated_at = ? WHERE shop_id = ?`,
		reason, database.Time(now), shopID)
	return err
}

// unattended are the shops whose backfill has work left and no live
// lease.
func (s *Store) unattended(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT shop_id FROM shopify_backfills WHERE status IN (?, ?, ?)
		AND (lease_owner = '' OR lease_until IS NULL OR lease_until < ?) ORDER BY shop_id`,
		StatusStarting, StatusRunning, StatusImporting, database.Time(now))
	if err != nil {
		return nil, err
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

// CheckedAt is when the customer's orders were last read from Shopify.
func (s *Store) CheckedAt(ctx context.Context, shopID, customerID int64) (time.Time, bool, error) {
	var at database.Time
	err := s.db.QueryRow(ctx, `SELECT checked_at FROM shopify_customer_checks WHERE shop_id = ? AND customer_id = ?`, shopID, customerID).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.Time(at), true, nil
}

// Checked records that the customer's orders were read at.
func (s *Store) Checked(ctx context.Context, shopID, customerID int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO shopify_customer_checks (shop_id, customer_id, checked_at) VALUES (?, ?, ?)
		ON CONFLICT (shop_id, customer_id) DO UPDATE SET checked_at = excluded.checked_at`, shopID, customerID, database.Time(at))
	return err
}
