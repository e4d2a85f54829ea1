package loop

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"
)

// TestLocalLimiterNeverExceedsLimit reserves a burst of 1,000 requests on a
// fake clock and checks every window of Loop's minute: none holds more than
// 300, and the burst is spread as tightly as that allows.
func TestLocalLimiterNeverExceedsLimit(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLocalLimiter(DefaultRateLimit, DefaultRateWindow)
	l.now = func() time.Time { return start }
	var slots []time.Time
	for range 1000 {
		slots = append(slots, l.reserve("k"))
	}
	assertWindows(t, slots, DefaultRateLimit, DefaultRateWindow)
	if got := slots[999].Sub(start); got != 3*time.Minute {
		t.Fatalf("1,000th request at +%v, want +3m (300 per minute)", got)
	}
	// Another key is not slowed by the first.
	if at := l.reserve("other"); !at.Equal(start) {
		t.Fatalf("other key waits until %v", at)
	}
}

// assertWindows checks that no window of length w holds more than limit
// slots (slots sorted).
func assertWindows(t *testing.T, slots []time.Time, limit int, w time.Duration) {
	t.Helper()
	sort.Slice(slots, func(i, j int) bool { return slots[i].Before(slots[j]) })
	for i := limit; i < len(slots); i++ {
		if d := slots[i].Sub(slots[i-limit]); d < w {
			t.Fatalf("requests %d and %d are %v apart: %d requests within %v", i-limit, i, d, limit+1, w)
		}
	}
}

// TestLocalLimiterConcurrent runs 50 goroutines through Wait at once on a
// fake clock: every grant is the moment its sleep ends, and no window holds
// more than the limit. (Measuring real wake-ups instead would be a timing
// test: a late wake-up bunches the next grants together.)
func TestLocalLimiterConcurrent(t *testing.T) {
	const limit, n = 20, 50
	window := 100 * time.Millisecond
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLocalLimiter(limit, window)
	l.now = func() time.Time { return start } // the clock stands still
	var mu sync.Mutex
	var granted []time.Time
	grant := func(at time.Time) {
		mu.Lock()
		granted = append(granted, at)
		mu.Unlock()
	}
	l.sleep = func(ctx context.Context, d time.Duration) error {
		grant(start.Add(d))
		return ctx.Err()
	}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if err := l.Wait(context.Background(), "k"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Requests that did not sleep went out at once.
	for len(granted) < n {
		grant(start)
	}
	assertWindows(t, granted, limit, window) // sorts granted
	if last := granted[n-1].Sub(start); last != 2*window {
		t.Fatalf("the 50th request goes out at +%v, want +%v (20 per window)", last, 2*window)
	}
}

func TestLocalLimiterCancel(t *testing.T) {
	l := NewLocalLimiter(1, time.Hour)
	if err := l.Wait(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, "k"); err == nil {
		t.Fatal("second request in the hour was let through")
	}
}

func TestBreaker(t *testing.T) {
	now := time.Unix(0, 0)
	b := &breaker{threshold: 2, cooldown: time.Minute, now: func() time.Time { return now }}
	b.failure()
	if ok, _ := b.allow(); !ok {
		t.Fatal("opened before the threshold")
	}
	b.failure()
	if ok, wait := b.allow(); ok || wait != time.Minute || b.state() != breakerOpen {
		t.Fatalf("not open: %v %v", ok, wait)
	}
	now = now.Add(time.Minute)
	if ok, _ := b.allow(); !ok {
		t.Fatal("no probe after the cool-down")
	}
	if ok, _ := b.allow(); ok {
		t.Fatal("two probes at once")
	}
	b.failure()
	if ok, _ := b.allow(); ok {
		t.Fatal("failed probe did not reopen")
	}
	now = now.Add(time.Minute)
	b.allow()
	b.success()
	if ok, _ := b.allow(); !ok || b.state() != breakerClosed {
		t.Fatal("successful probe did not close")
	}
}

func TestListWindows(t *testing.T) {
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	ws := listWindows(ListQuery{From: now.Add(-300 * 24 * time.Hour), To: now}, now)
	if len(ws) != 3 {
		t.Fatalf("%d windows", len(ws))
	}
	for i, w := range ws {
		if w[1].Sub(w[0]) > MaxListWindow {
			t.Fatalf("window %d spans %v", i, w[1].Sub(w[0]))
		}
		if i > 0 && w[0].Sub(ws[i-1][1]) != time.Millisecond {
			t.Fatalf("gap or overlap between windows %d and %d", i-1, i)
		}
	}
	if !ws[0][0].Equal(now.Add(-300*24*time.Hour)) || !ws[2][1].Equal(now) {
		t.Fatal("windows do not cover the range")
	}
	if ws := listWindows(ListQuery{}, now); len(ws) != 1 || !ws[0][0].IsZero() {
		t.Fatal("no range should leave Loop's default")
	}
	if ws := listWindows(ListQuery{From: now.Add(-time.Hour)}, now); !ws[0][1].Equal(now) {
		t.Fatal("open end should be now")
	}
}
