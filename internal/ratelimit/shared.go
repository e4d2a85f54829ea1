// Package ratelimit holds third-party rate limits that every hubdesk
// process on one database shares. Loop allows 300 calls a minute per API
// key; the Loop client paces itself per process (loop.LocalLimiter), which
// is exact for one process and wrong for three, which would send 900. The
// Shared limiter adds a window kept in the database, so the budget is the
// key's, not the process's.
package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// Shared is a loop.Limiter over the api_rate_calls table: a sliding window
// of Limit calls per Window per key across processes. Each process's own
// limiter runs first (it queues this process's calls in order and keeps
// priorities' shares), then one short transaction per call checks the
// shared window and records the call. A call costs a round trip; Loop's
// calls take 100 ms or more, so it is a small price for the budget.
type Shared struct {
	db     *database.DB
	local  loop.Limiter
	limit  int
	window time.Duration
	now    func() time.Time
}

// Options configure a Shared limiter. Zero values take Loop's limit.
type Options struct {
	Limit  int
	Window time.Duration
	// Local paces this process before the shared window is asked (default
	// a loop.LocalLimiter of the same limit and window).
	Local loop.Limiter
	// Now is the clock calls are recorded with; processes on several
	// machines need synchronized clocks (NTP), and the window carries a
	// second of slack for what they still differ by.
	Now func() time.Time
}

// NewShared returns a limiter whose window every process on db shares.
func NewShared(db *database.DB, opts Options) *Shared {
	if opts.Limit <= 0 {
		opts.Limit = loop.DefaultRateLimit
	}
	if opts.Window <= 0 {
		opts.Window = loop.DefaultRateWindow + time.Second // the slack LocalLimiter adds too
	}
	if opts.Local == nil {
		opts.Local = loop.NewLocalLimiter(opts.Limit, opts.Window)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Shared{db: db, local: opts.Local, limit: opts.Limit, window: opts.Window, now: opts.Now}
}

// Wait blocks until keyID may make one more call in every process's
// window, or ctx ends. A lower priority (loop.WithPriority) may use only
// its share of the shared window too, so another process's reconciliation
// cannot take the slots an agent's click needs.
func (s *Shared) Wait(ctx context.Context, keyID string) error {
	if err := s.local.Wait(ctx, keyID); err != nil {
		return err
	}
	share := loop.PriorityOf(ctx).Share(s.limit)
	for {
		wait, err := s.take(ctx, keyID, share)
		if err != nil {
			return err
		}
		if wait <= 0 {
			return nil
		}
		// A slot past the caller's deadline is said at once: a job is
		// run again then, instead of sleeping out its timeout.
		if err := loop.PastDeadline(ctx, s.now(), wait); err != nil {
			return err
		}
		// A little jitter, so processes waiting for the same slot do not
		// all ask again in the same millisecond.
		wait += time.Duration(rand.Int64N(int64(20 * time.Millisecond)))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// take records a call for keyID if fewer than share calls were made in the
// window, and otherwise says how long until the oldest of them leaves it.
func (s *Shared) take(ctx context.Context, keyID string, share int) (wait time.Duration, err error) {
	wait, err = take(ctx, s.db, keyID, share, s.window, s.now)
	if err != nil {
		return 0, fmt.Errorf("shared rate limit: %w", err)
	}
	return wait, nil
}
