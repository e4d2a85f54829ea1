package ratelimit_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/ratelimit"
)

// TestThreeProcessesShareOneKeysBudget: three limiters on one database, as
// three hubdesk processes, each sending ten calls with the same key as
// fast as it may. Together they stay inside the key's window — at most
// Limit calls in any Window — instead of each spending a whole window of
// its own (which would finish in a third of the time).
func TestThreeProcessesShareOneKeysBudget(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		const limit, perProcess = 5, 10
		window := 400 * time.Millisecond
		var mu sync.Mutex
		var passed []time.Time
		var wg sync.WaitGroup
		start := time.Now()
		for range 3 {
			lim := ratelimit.NewShared(db, ratelimit.Options{Limit: limit, Window: window})
			for range perProcess {
				wg.Go(func() {
					if err := lim.Wait(context.Background(), "key-1"); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					passed = append(passed, time.Now())
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		elapsed := time.Since(start)
		slices.SortFunc(passed, func(a, b time.Time) int { return a.Compare(b) })
		// A call is recorded a moment before it is let through; 50 ms of
		// tolerance keeps that moment from counting as a burst.
		for i := range passed {
			j := i
			for j < len(passed) && passed[j].Sub(passed[i]) < window-50*time.Millisecond {
				j++
			}
			if n := j - i; n > limit {
				t.Fatalf("%d calls within one window from %v (limit %d)", n, passed[i].Sub(start), limit)
			}
		}
		// 30 calls at 5 per window need at least 5 further windows.
		if min := 5 * window; elapsed < min {
			t.Fatalf("30 calls took %v; the shared window needs at least %v", elapsed, min)
		}
	})
}

// TestLowerPrioritiesLeaveTheirShareAcrossProcesses: when one process's
// reconciliation has used the background share of the window, another
// process's background call is held back, and an agent's click still goes.
func TestLowerPrioritiesLeaveTheirShareAcrossProcesses(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		const limit = 6 // background may use 4 (loop.PriorityBackground.Share)
		opts := ratelimit.Options{Limit: limit, Window: time.Minute}
		a, b := ratelimit.NewShared(db, opts), ratelimit.NewShared(db, opts)
		background := loop.WithPriority(context.Background(), loop.PriorityBackground)
		for range loop.PriorityBackground.Share(limit) {
			if err := a.Wait(background, "key-1"); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(background, 300*time.Millisecond)
		defer cancel()
		// Held back: its slot is a minute away, past its deadline.
		var later *loop.SlotPastDeadline
		if err := b.Wait(ctx, "key-1"); !errors.As(err, &later) {
			t.Fatalf("another process's background call: %v, want it held back", err)
		}
		click, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Wait(click, "key-1"); err != nil {
			t.Fatalf("an agent's click waited behind reconciliation: %v", err)
		}
		// Another key has a budget of its own.
		if err := b.Wait(background, "key-2"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestASlotPastTheDeadlineIsSaidAtOnce: when the key's window is full
// until after the caller's deadline — a job with a timeout — Wait says
// when the slot frees instead of sleeping out the deadline, and records
// no call.
func TestASlotPastTheDeadlineIsSaidAtOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		lim := ratelimit.NewShared(db, ratelimit.Options{Limit: 2, Window: time.Minute, Local: loop.NoLimit})
		for range 2 {
			if err := lim.Wait(context.Background(), "key-1"); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := lim.Wait(ctx, "key-1")
		var later *loop.SlotPastDeadline
		if !errors.As(err, &later) {
			t.Fatalf("Wait on a full window = %v after %v, want a SlotPastDeadline", err, time.Since(start))
		}
		if took := time.Since(start); took > 4*time.Second {
			t.Errorf("the answer took %v: it waited for the deadline", took)
		}
		if later.RetryAfter < 50*time.Second || later.RetryAfter > time.Minute+time.Second {
			t.Errorf("RetryAfter %v, want about the window's minute", later.RetryAfter)
		}
		var calls int
		if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM api_rate_calls WHERE key_id = 'key-1'`).Scan(&calls); err != nil {
			t.Fatal(err)
		}
		if calls != 2 {
			t.Errorf("%d calls recorded, want the 2 let through", calls)
		}
	})
}

// TestACallIsRecordedWhenItsTurnCame: a process that waits for the key
// while another holds it records its call at the time it got the key, not
// at the time it started waiting; recorded in the past, the call would
// leave the window early and let one call too many into the next.
func TestACallIsRecordedWhenItsTurnCame(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var clock atomic.Int64
		clock.Store(1_000_000)
		lim := ratelimit.NewShared(db, ratelimit.Options{Limit: 10, Window: time.Minute,
			Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
		held, release := make(chan struct{}), make(chan struct{})
		holder := make(chan error, 1)
		go func() {
			// Another process counts the key's calls: it holds the key.
			holder <- db.InTx(ctx, func(tx *database.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO api_rate_keys (key_id, calls) VALUES ('key-1', 1)
					ON CONFLICT (key_id) DO UPDATE SET calls = api_rate_keys.calls + 1`); err != nil {
					return err
				}
				close(held)
				<-release
				return nil
			})
		}()
		<-held
		waited := make(chan error, 1)
		go func() { waited <- lim.Wait(ctx, "key-1") }()
		time.Sleep(200 * time.Millisecond) // the call waits for the key
		clock.Store(1_030_000)             // 30 s on, the key is free
		close(release)
		if err := <-holder; err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		var at int64
		if err := db.QueryRow(ctx, `SELECT MAX(at) FROM api_rate_calls WHERE key_id = 'key-1'`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		if at != 1_030_000 {
			t.Errorf("the call was recorded at %d, want 1030000 (when the key was free)", at)
		}
	})
}
