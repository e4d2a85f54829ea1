package auth

import (
	"testing"
	"time"
)

func TestLoginLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLoginLimiter(3, time.Minute)
	l.now = func() time.Time { return now }
	for range 3 {
		if ok, _ := l.Allowed("a@x", "1.2.3.4"); !ok {
			t.Fatal("refused before the limit")
		}
		l.Fail("a@x", "1.2.3.4")
	}
	if ok, wait := l.Allowed("a@x"); ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("after 3 failures: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := l.Allowed("b@x"); !ok {
		t.Fatal("another email must not be limited")
	}
	if ok, _ := l.Allowed("b@x", "1.2.3.4"); ok {
		t.Fatal("the same address must be limited")
	}
	now = now.Add(time.Minute)
	if ok, _ := l.Allowed("a@x", "1.2.3.4"); !ok {
		t.Fatal("window passed but still refused")
	}
	l.Fail("a@x")
	l.Succeed("a@x")
	if len(l.failures["a@x"]) != 0 {
		t.Fatal("success must clear failures")
	}
}
