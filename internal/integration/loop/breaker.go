package loop

import (
	"sync"
	"time"
)

// breaker is a per-key circuit breaker. When Loop stops answering, every
// ticket open would otherwise wait out a timeout and its retries; after a few
// consecutive failures the breaker fails calls at once for a cool-down, then
// lets a single probe through. Only "Loop is not answering" counts as a
// failure: a 4xx is Loop answering, and 429 is handled by the limiter and
// retries.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time
	probing   bool
}

type breakerState string

const (
	breakerClosed   breakerState = "closed"
	breakerOpen     breakerState = "open"
	breakerHalfOpen breakerState = "half_open"
)

// allow reports whether a request may go out now. In half-open state exactly
// one caller gets true (the probe) until it reports back.
func (b *breaker) allow() (ok bool, retryIn time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures < b.threshold {
		return true, 0
	}
	now := b.now()
	if now.Before(b.openUntil) {
		return false, b.openUntil.Sub(now)
	}
	if b.probing {
		return false, b.cooldown
	}
	b.probing = true
	return true, 0
}

// success closes the circuit.
func (b *breaker) success() {
	b.mu.Lock()
	b.failures = 0
	b.probing = false
	b.mu.Unlock()
}

// failure counts a failure and (re)opens the circuit at the threshold. It
// reports whether this call opened it, for logging.
func (b *breaker) failure() (opened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.probing = false
	if b.failures >= b.threshold {
		wasOpen := b.now().Before(b.openUntil)
		b.openUntil = b.now().Add(b.cooldown)
		return !wasOpen
	}
	return false
}

// neutral releases a half-open probe that ended without telling us anything
// (the caller gave up, or Loop said 429).
func (b *breaker) neutral() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

func (b *breaker) state() breakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.failures < b.threshold:
		return breakerClosed
	case b.now().Before(b.openUntil):
		return breakerOpen
	default:
		return breakerHalfOpen
	}
}
