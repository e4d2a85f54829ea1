package loop

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Limiter paces requests per API key. Loop allows 300 requests per minute per
// key and answers 429 beyond that; pacing on our side keeps a busy shop from
// spending its retries on 429s. The interface is one method so that a limiter
// shared by several hubdesk processes (a PostgreSQL table) can replace the
// in-process one without the client changing.
//
// keyID is a fingerprint of the API key (see KeyID), never the key itself, so
// a shared limiter can store it without storing a secret.
type Limiter interface {
	// Wait blocks until one more request for keyID may be sent, or ctx
	// ends; a limiter that knows the slot comes after ctx's deadline may
	// say so at once with a *SlotPastDeadline.
	Wait(ctx context.Context, keyID string) error
}

// SlotPastDeadline is a limiter's answer when the key's window has no slot
// for a call before its context's deadline: waiting would end in the
// deadline and nothing else. The client turns it into a rate-limited
// Error with RetryAfter, so a job is run again when the slot frees rather
// than sleep out its timeout, lose an attempt and back off on top.
type SlotPastDeadline struct {
	RetryAfter time.Duration
}

func (e *SlotPastDeadline) Error() string {
	return fmt.Sprintf("loop: no slot in the key's rate-limit window before the deadline (one in %v)", e.RetryAfter.Round(time.Millisecond))
}

// PastDeadline returns a SlotPastDeadline when a wait of d would outlast
// ctx's deadline, and nil otherwise.
func PastDeadline(ctx context.Context, now time.Time, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		return &SlotPastDeadline{RetryAfter: d}
	}
	return nil
}

// Loop's published rate limit.
const (
	DefaultRateLimit  = 300
	DefaultRateWindow = time.Minute
)

// rateSlack widens the client's window beyond Loop's minute. Our clock starts
// counting when a request leaves, Loop's when it arrives; without slack,
// network jitter can squeeze the 301st request into Loop's minute.
const rateSlack = time.Second

// LocalLimiter is an in-process sliding-window limiter: in any window of
// length Window, at most Limit requests per key are let through. A token
// bucket would allow a full burst plus a minute of refill inside one minute
// (nearly 600 requests), which Loop would answer with 429s; a sliding window
// cannot. Waiters are served in arrival order: each reserves the next free
// slot, so a burst of 1,000 goroutines does not stampede every time a slot
// frees up.
type LocalLimiter struct {
	limit  int
	window time.Duration
	now    func() time.Time
	// sleep waits d or until ctx ends; tests replace it (with now) to run
	// the limiter on a fake clock.
	sleep func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	keys map[string]*slotRing
}

// slotRing holds the send times of the last limit requests of one key.
type slotRing struct {
	times []time.Time
	next  int
	used  time.Time // last time the ring was touched, for pruning
}

// NewLocalLimiter returns a limiter allowing limit requests per window per
// key. Loop's limit is NewLocalLimiter(DefaultRateLimit, DefaultRateWindow).
func NewLocalLimiter(limit int, window time.Duration) *LocalLimiter {
	if limit <= 0 {
		limit = DefaultRateLimit
	}
	if window <= 0 {
		window = DefaultRateWindow
	}
	return &LocalLimiter{limit: limit, window: window, now: time.Now, sleep: sleepCtx, keys: map[string]*slotRing{}}
}

// Wait reserves the next slot for keyID and sleeps until it comes. A slot
// reserved by a caller whose context ends is not given back: the limiter
// errs on the side of sending fewer requests.
func (l *LocalLimiter) Wait(ctx context.Context, keyID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p := PriorityOf(ctx); p != PriorityInteractive {
		return l.waitShare(ctx, keyID, p.Share(l.limit))
	}
	at := l.reserve(keyID)
	if d := at.Sub(l.now()); d > 0 {
		return l.sleep(ctx, d)
	}
	return nil
}

// sleepCtx waits d on the real clock, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reserve returns the earliest time a new request for keyID may go out and
// records it as taken. The ring stores the last limit reservations; the new
// one may go no earlier than window after the oldest of them.
func (l *LocalLimiter) reserve(keyID string) time.Time {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.ringLocked(keyID, now)
	at := now
	if oldest := r.times[r.next]; !oldest.IsZero() {
		if earliest := oldest.Add(l.window); earliest.After(at) {
			at = earliest
		}
	}
	// Never hand out a slot earlier than one already handed out: the ring must
	// stay sorted for "oldest" to mean the oldest.
	prev := r.times[(r.next+l.limit-1)%l.limit]
	if prev.After(at) {
		at = prev
	}
	r.times[r.next] = at
	r.next = (r.next + 1) % l.limit
	r.used = now
	return at
}

// ringLocked is keyID's ring, made on first use.
func (l *LocalLimiter) ringLocked(keyID string, now time.Time) *slotRing {
	r := l.keys[keyID]
	if r == nil {
		if len(l.keys) > 10000 {
			l.pruneLocked(now)
		}
		r = &slotRing{times: make([]time.Time, l.limit)}
		l.keys[keyID] = r
	}
	return r
}

// pruneLocked forgets keys idle for longer than a window, so a deployment
// with many shops does not keep a ring per key forever.
func (l *LocalLimiter) pruneLocked(now time.Time) {
	for k, r := range l.keys {
		if now.Sub(r.used) > 2*l.window {
			delete(l.keys, k)
		}
	}
}

// unlimited is used when rate limiting is switched off (Options.Limiter set
// to NoLimit), e.g. in tests that want to see Loop's own 429.
type unlimited struct{}

func (unlimited) Wait(ctx context.Context, _ string) error { return ctx.Err() }

// NoLimit is a Limiter that never waits.
var NoLimit Limiter = unlimited{}
