package auth

import (
	"testing"
	"time"
)

func newTestLimiter() (*LoginLimiter, *time.Time) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLoginLimiter()
	l.now = func() time.Time { return now }
	return l, &now
}

func TestLoginLimiterRefusesAPairAfterItsFailures(t *testing.T) {
	l, now := newTestLimiter()
	for range l.PairFailures {
		if c := l.Check("a@x", "1.2.3.4"); c.RetryAfter != 0 {
			t.Fatal("refused before the limit")
		}
		l.Fail("A@x", "1.2.3.4")
	}
	if c := l.Check("a@x", "1.2.3.4"); c.RetryAfter <= 0 || c.RetryAfter > l.Window {
		t.Fatalf("after %d failures: %+v", l.PairFailures, c)
	}
	if c := l.Check("b@x", "1.2.3.4"); c.RetryAfter != 0 {
		t.Fatal("another email from the same address must not be refused")
	}
	if c := l.Check("a@x", "5.6.7.8"); c.RetryAfter != 0 {
		t.Fatal("the same email from another address must not be refused")
	}
	*now = now.Add(l.Window)
	if c := l.Check("a@x", "1.2.3.4"); c.RetryAfter != 0 {
		t.Fatal("window passed but still refused")
	}
	l.Fail("a@x", "1.2.3.4")
	l.Succeed("a@x", "1.2.3.4")
	if len(l.failures[pairKey("a@x", "1.2.3.4")]) != 0 {
		t.Fatal("success must clear the pair's failures")
	}
}

func TestLoginLimiterRefusesAnAddressGuessingManyEmails(t *testing.T) {
	l, _ := newTestLimiter()
	for i := range l.AddressFailures {
		l.Fail(string(rune('a'+i%26))+"@x"+string(rune('0'+i/26)), "1.2.3.4")
	}
	if c := l.Check("new@x", "1.2.3.4"); c.RetryAfter <= 0 {
		t.Fatal("an address spraying emails must be refused")
	}
	if c := l.Check("new@x", "5.6.7.8"); c.RetryAfter != 0 {
		t.Fatal("other addresses must not be refused")
	}
}

// An attacker failing over and over for the owner's email cannot lock the
// owner out: the owner's own address is never refused, only slowed.
func TestLoginLimiterAttackerElsewhereDoesNotLockOutTheUser(t *testing.T) {
	l, now := newTestLimiter()
	for range 50 {
		l.Fail("owner@shop.test", "203.0.113.1")
		*now = now.Add(time.Second)
	}
	if c := l.Check("owner@shop.test", "203.0.113.1"); c.RetryAfter <= 0 {
		t.Fatal("the attacker's address must be refused")
	}
	c := l.Check("Owner@shop.test", "198.51.100.7")
	if c.RetryAfter != 0 || c.Delay != l.EmailDelay {
		t.Fatalf("the owner at another address: %+v, want allowed after a delay of %v", c, l.EmailDelay)
	}
	if c := l.Check("agent@shop.test", "198.51.100.7"); c != (LoginCheck{}) {
		t.Fatalf("another email is slowed: %+v", c)
	}
	*now = now.Add(l.Window)
	if c := l.Check("owner@shop.test", "198.51.100.7"); c != (LoginCheck{}) {
		t.Fatalf("the delay outlives the window: %+v", c)
	}
}
