package auth

import (
	"testing"
	"time"
)

func TestRateLimiterAllowsLimitPerWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimiter(3, time.Hour)
	l.SetClock(func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.Allow("Ada@example.com"); !ok {
			t.Fatalf("event %d refused", i+1)
		}
		now = now.Add(time.Minute)
	}
	ok, retry := l.Allow("ada@example.com")
	if ok || retry != 57*time.Minute {
		t.Fatalf("the fourth event: %v, retry after %s", ok, retry)
	}
	if ok, _ := l.Allow("grace@example.com"); !ok {
		t.Error("another key is limited too")
	}
	now = now.Add(57 * time.Minute)
	if ok, _ := l.Allow("ada@example.com"); !ok {
		t.Error("the window does not slide")
	}
}
