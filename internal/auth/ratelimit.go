package auth

import (
	"strings"
	"sync"
	"time"
)

// RateLimiter allows Limit events per key within Window (a sliding
// window), in memory. Behind several processes each counts its own, which
// still bounds the rate.
type RateLimiter struct {
	Limit  int
	Window time.Duration

	mu     sync.Mutex
	events map[string][]time.Time
	now    func() time.Time
}

// NewRateLimiter allows limit events per key within window.
func NewRateLimiter(limit int, window time.Duration) *RateLimiter {
	return &RateLimiter{Limit: limit, Window: window, events: map[string][]time.Time{}, now: time.Now}
}

// Allow counts an event for key and reports whether it is within the
// limit; when it is not, the event is not counted and retryAfter says when
// the next one will be.
func (l *RateLimiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	key = strings.ToLower(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	list := l.events[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= l.Window {
		i++
	}
	list = list[i:]
	if len(list) >= l.Limit {
		l.events[key] = list
		return false, list[len(list)-l.Limit].Add(l.Window).Sub(now)
	}
	l.events[key] = append(list, now)
	if len(l.events) > 100_000 { // bound memory under a spray of keys
		for k, v := range l.events {
			if len(v) == 0 || now.Sub(v[len(v)-1]) >= l.Window {
				delete(l.events, k)
			}
		}
	}
	return true, 0
}

// SetClock replaces the limiter's clock (tests step it).
func (l *RateLimiter) SetClock(now func() time.Time) {
	l.mu.Lock()
	l.now = now
	l.mu.Unlock()
}
