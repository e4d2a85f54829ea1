package ttlcache

import (
	"errors"
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	now := time.Unix(0, 0)
	c := New[int, string](2*time.Second, func() time.Time { return now })
	loads := 0
	load := func(v string) func() (string, error) {
		return func() (string, error) { loads++; return v, nil }
	}
	if v, _ := c.Get(1, load("a")); v != "a" || loads != 1 {
		t.Fatalf("first read: %q after %d loads", v, loads)
	}
	if v, _ := c.Get(1, load("b")); v != "a" || loads != 1 {
		t.Fatalf("within the TTL: %q after %d loads", v, loads)
	}
	now = now.Add(2 * time.Second)
	if v, _ := c.Get(1, load("b")); v != "b" || loads != 2 {
		t.Fatalf("after the TTL: %q after %d loads", v, loads)
	}
	c.Forget(1)
	if v, _ := c.Get(1, load("c")); v != "c" {
		t.Fatalf("after Forget: %q", v)
	}
	// A read that raced a change keeps nothing.
	c.Forget(1)
	v, _ := c.Get(1, func() (string, error) { c.Forget(1); return "stale", nil })
	if v != "stale" {
		t.Fatalf("the racing read itself answers what it read: %q", v)
	}
	if v, _ := c.Get(1, load("fresh")); v != "fresh" {
		t.Fatalf("a value read before a change was cached: %q", v)
	}
	// Errors are not kept.
	if _, err := c.Get(2, func() (string, error) { return "", errors.New("down") }); err == nil {
		t.Fatal("no error")
	}
	if v, _ := c.Get(2, load("up")); v != "up" {
		t.Fatalf("an error was cached: %q", v)
	}
}
