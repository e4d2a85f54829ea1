package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Window allows Limit events per key within Period across every process
// on one database (a sliding window, kept in the same tables as Shared's
// calls). It refuses rather than waits: it guards what people ask for
// (the hub's guest order lookups), not calls that must go out eventually.
// A refused event is not counted, so the window frees up Period after
// the oldest event it holds.
type Window struct {
	db     *database.DB
	limit  int
	period time.Duration
	now    func() time.Time
}

// NewWindow allows limit events per key within period; now is the clock
// (time.Now when nil).
func NewWindow(db *database.DB, limit int, period time.Duration, now func() time.Time) *Window {
	if now == nil {
		now = time.Now
	}
	return &Window{db: db, limit: limit, period: period, now: now}
}

// Allow records one event for key when fewer than the limit happened in
// the window, and says so; otherwise it records nothing and says how long
// until the oldest event leaves the window.
func (w *Window) Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error) {
	wait, err := take(ctx, w.db, key, w.limit, w.period, w.now)
	if err != nil {
		return false, 0, fmt.Errorf("rate limit window: %w", err)
	}
	return wait <= 0, wait, nil
}

// take records an event for key, at the clock's time once it holds the
// key, if fewer than limit were recorded within period, and otherwise says
// how long until the oldest of them leaves the window.
func take(ctx context.Context, db *database.DB, key string, limit int, period time.Duration, clock func() time.Time) (wait time.Duration, err error) {
	err = db.InTx(ctx, func(tx *database.Tx) error {
		// The upsert locks the key's row (a row lock on PostgreSQL, the
		// write lock on SQLite) until commit: one process at a time counts
		// and records.
		if _, err := tx.Exec(ctx, `INSERT INTO api_rate_keys (key_id, calls) VALUES (?, 1)
			ON CONFLICT (key_id) DO UPDATE SET calls = api_rate_keys.calls + 1`, key); err != nil {
			return err
		}
		// The time is read once the lock is held: read before, while
		// another process held it and recorded later calls, it would
		// record this one in the past, leaving the window early and
		// letting one call too many into the next.
		now := clock()
		since := now.Add(-period).UnixMilli()
		if _, err := tx.Exec(ctx, `DELETE FROM api_rate_calls WHERE key_id = ? AND at <= ?`, key, since); err != nil {
			return err
		}
		var n int
		var oldest *int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*), MIN(at) FROM api_rate_calls WHERE key_id = ?`, key).Scan(&n, &oldest); err != nil {
			return err
		}
		if n >= limit {
			// The (n-limit+1)-th oldest event must leave the window; waiting for
			// the oldest and asking again gets there without reading them all.
			wait = time.UnixMilli(*oldest).Add(period).Sub(now) + time.Millisecond
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO api_rate_calls (key_id, at) VALUES (?, ?)`, key, now.UnixMilli())
		return err
	})
	return wait, err
}
