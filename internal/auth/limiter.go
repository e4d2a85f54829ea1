package auth

import (
	"sync"
	"time"
)

// LoginLimiter slows password guessing: after MaxFailures failed logins for
// one key (an email, or a client address) within Window, further attempts
// are refused until the window passes. It lives in memory; behind several
// processes each enforces its own count, which still bounds guessing.
type LoginLimiter struct {
	MaxFailures int
	Window      time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time
	now      func() time.Time
}

// NewLoginLimiter allows maxFailures failures per key per window.
func NewLoginLimiter(maxFailures int, window time.Duration) *LoginLimiter {
	return &LoginLimiter{MaxFailures: maxFailures, Window: window, failures: map[string][]time.Time{}, now: time.Now}
}

// Allowed reports whether every key may try again, and if not, how long
// until one of them may.
func (l *LoginLimiter) Allowed(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		recent := l.prune(k, now)
		if len(recent) >= l.MaxFailures {
			if w := recent[0].Add(l.Window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait == 0, wait
}

// Fail records a failed attempt for each key.
func (l *LoginLimiter) Fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		l.failures[k] = append(l.prune(k, now), now)
	}
	if len(l.failures) > 100_000 { // bound memory under a spray of keys
		for k := range l.failures {
			if len(l.prune(k, now)) == 0 {
				delete(l.failures, k)
			}
		}
	}
}

// Succeed forgets the failures of a key after a good login.
func (l *LoginLimiter) Succeed(key string) {
	l.mu.Lock()
	delete(l.failures, key)
	l.mu.Unlock()
}

func (l *LoginLimiter) prune(k string, now time.Time) []time.Time {
	list := l.failures[k]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= l.Window {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(l.failures, k)
		return nil
	}
	l.failures[k] = list
	return list
}
