package loop

import (
	"context"
	"time"
)

// Priority orders who may spend a key's 300 calls a minute when they run
// short: an agent waiting on a click first, then the background refresh
// of an open ticket's cards, then reconciliation. The limiter keeps a
// share of every window free for the ones above, so a long
// reconciliation can never make an agent's click wait behind it.
type Priority int

const (
	// PriorityInteractive is an agent's click (a deep link, a QR code):
	// it may use the whole window. Calls without a priority have it.
	PriorityInteractive Priority = iota
	// PriorityRefresh is an open ticket's background refresh; it leaves
	// a tenth of the window to clicks.
	PriorityRefresh
	// PriorityBackground is reconciliation and upkeep; it leaves a third
	// of the window to the others.
	PriorityBackground
)

type priorityKey struct{}

// WithPriority marks the calls made with ctx.
func WithPriority(ctx context.Context, p Priority) context.Context {
	return context.WithValue(ctx, priorityKey{}, p)
}

// PriorityOf is the priority ctx carries (PriorityInteractive when none).
func PriorityOf(ctx context.Context) Priority {
	p, _ := ctx.Value(priorityKey{}).(Priority)
	return p
}

// Share is how many of limit requests per window a priority may use.
func (p Priority) Share(limit int) int {
	switch p {
	case PriorityRefresh:
		return max(1, limit-limit/10)
	case PriorityBackground:
		return max(1, limit-limit/3)
	}
	return limit
}

// waitShare lets a lower-priority request through only while fewer than
// its share of the window's slots are taken, so the rest stay free for
// higher priorities; it does not queue ahead like interactive calls do
// (a reservation in the future would hold back the clicks behind it).
func (l *LocalLimiter) waitShare(ctx context.Context, keyID string, share int) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		at, ok := l.tryReserve(keyID, share)
		d := at.Sub(l.now())
		if ok {
			if d > 0 {
				return l.sleep(ctx, d)
			}
			return nil
		}
		if d <= 0 {
			d = time.Millisecond
		}
		if err := PastDeadline(ctx, l.now(), d); err != nil {
			return err
		}
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// tryReserve reserves a slot for keyID if fewer than share slots are
// taken in the current window; otherwise it says when one of them frees.
func (l *LocalLimiter) tryReserve(keyID string, share int) (time.Time, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.ringLocked(keyID, now)
	// The ring is sorted oldest first from r.next; collect the slots still
	// inside the window (reservations in the future included).
	var inWindow []time.Time
	for i := range l.limit {
		t := r.times[(r.next+i)%l.limit]
		if !t.IsZero() && t.After(now.Add(-l.window)) {
			inWindow = append(inWindow, t)
		}
	}
	if len(inWindow) >= share {
		return inWindow[len(inWindow)-share].Add(l.window), false
	}
	at := now
	if prev := r.times[(r.next+l.limit-1)%l.limit]; prev.After(at) {
		at = prev
	}
	r.times[r.next] = at
	r.next = (r.next + 1) % l.limit
	r.used = now
	return at, true
}
