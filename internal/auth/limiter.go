package auth

import (
	"strings"
	"sync"
	"time"
)

// LoginLimiter slows password guessing without letting anyone lock a user
// out from elsewhere. Failures are counted per (email, client address)
// pair and per address, and each of those is refused for the rest of the
// window once it reaches its limit. Failures per email from all addresses
// only slow every attempt for that email (Delay): refusing them would let
// an attacker keep the real user out with a few wrong passwords. It lives
// in memory; behind several processes each enforces its own counts, which
// still bounds guessing.
type LoginLimiter struct {
	// PairFailures refuses one address for one email after this many.
	PairFailures int
	// AddressFailures refuses one address for every email after this many;
	// higher, since many staff may share an office's address.
	AddressFailures int
	// EmailFailures from any address slow each attempt for that email by
	// EmailDelay.
	EmailFailures int
	EmailDelay    time.Duration
	Window        time.Duration

	mu       sync.Mutex
	failures map[string][]time.Time
	now      func() time.Time
}

// NewLoginLimiter has the desk's limits: 10 failures per email and
// address, 100 per address, and a 2 s delay per attempt once an email has
// 20 failures from anywhere, all over 15 minutes.
func NewLoginLimiter() *LoginLimiter {
	return &LoginLimiter{PairFailures: 10, AddressFailures: 100, EmailFailures: 20, EmailDelay: 2 * time.Second,
		Window: 15 * time.Minute, failures: map[string][]time.Time{}, now: time.Now}
}

// LoginCheck is the limiter's answer for one attempt.
type LoginCheck struct {
	// RetryAfter, when above zero, refuses the attempt: this address must
	// wait that long.
	RetryAfter time.Duration
	// Delay is how long to hold the attempt before checking the password,
	// so guessing one account from many addresses stays slow.
	Delay time.Duration
}

// Check says whether a sign-in for email from address may go ahead.
func (l *LoginLimiter) Check(email, address string) LoginCheck {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var c LoginCheck
	for _, k := range []struct {
		key   string
		limit int
	}{{pairKey(email, address), l.PairFailures}, {addressKey(address), l.AddressFailures}} {
		recent := l.prune(k.key, now)
		if len(recent) >= k.limit {
			c.RetryAfter = max(c.RetryAfter, recent[len(recent)-k.limit].Add(l.Window).Sub(now))
		}
	}
	if len(l.prune(emailKey(email), now)) >= l.EmailFailures {
		c.Delay = l.EmailDelay
	}
	return c
}

// Fail records a failed sign-in.
func (l *LoginLimiter) Fail(email, address string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range []string{pairKey(email, address), addressKey(address), emailKey(email)} {
		l.failures[k] = append(l.prune(k, now), now)
	}
	if len(l.failures) > 100_000 { // bound memory under a spray of keys
		for k := range l.failures {
			l.prune(k, now)
		}
	}
}

// Succeed forgets the pair's failures after a good sign-in. The email's
// count stays: the attempts from elsewhere were still guesses.
func (l *LoginLimiter) Succeed(email, address string) {
	l.mu.Lock()
	delete(l.failures, pairKey(email, address))
	l.mu.Unlock()
}

func pairKey(email, address string) string { return "pair:" + strings.ToLower(email) + " " + address }
func addressKey(address string) string     { return "address:" + address }
func emailKey(email string) string         { return "email:" + strings.ToLower(email) }

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
