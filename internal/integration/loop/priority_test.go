package loop

import (
	"context"
	"testing"
	"time"
)

// TestLimiterKeepsRoomForHigherPriorities fills a key's window with
// reconciliation, then refreshes: each stops at its share, and an agent's
// click still goes out at once.
func TestLimiterKeepsRoomForHigherPriorities(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l := NewLocalLimiter(DefaultRateLimit, DefaultRateWindow)
	l.now = func() time.Time { return start }
	count := func(p Priority) int {
		n := 0
		for {
			if _, ok := l.tryReserve("k", p.Share(l.limit)); !ok {
				return n
			}
			n++
		}
	}
	if n := count(PriorityBackground); n != 200 {
		t.Fatalf("reconciliation got %d of 300 slots, want 200", n)
	}
	if n := count(PriorityRefresh); n != 70 {
		t.Fatalf("refreshes got %d more slots, want 70 (up to 270)", n)
	}
	for i := range 30 {
		if at := l.reserve("k"); !at.Equal(start) {
			t.Fatalf("click %d waits until %v", i, at)
		}
	}
	// The window is full: the next click queues for the next minute, and a
	// refresh is told when a slot of its share frees.
	if at := l.reserve("k"); !at.Equal(start.Add(DefaultRateWindow)) {
		t.Fatalf("the 301st call at %v, want a minute later", at)
	}
	if at, ok := l.tryReserve("k", PriorityRefresh.Share(l.limit)); ok || !at.After(start) {
		t.Fatalf("a refresh over its share: %v %v", at, ok)
	}
}

// TestLimiterWaitHonoursContextPriority: Wait reads the priority from the
// context and a background call blocked by its share ends with ctx.
func TestLimiterWaitHonoursContextPriority(t *testing.T) {
	l := NewLocalLimiter(3, time.Hour)
	bg := WithPriority(context.Background(), PriorityBackground)
	if err := l.Wait(bg, "k"); err != nil { // share of 3 is 2
		t.Fatal(err)
	}
	if err := l.Wait(bg, "k"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx, "k"); err == nil {
		t.Fatal("a third background call went out: the last slot is the clicks'")
	}
	if err := l.Wait(context.Background(), "k"); err != nil {
		t.Fatalf("the click waited: %v", err)
	}
	if PriorityOf(context.Background()) != PriorityInteractive {
		t.Fatal("no priority is interactive")
	}
}
