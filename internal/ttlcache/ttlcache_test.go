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

func TestLookup(t *testing.T) {
	now := time.Unix(0, 0)
	c := New[int, string](2*time.Second, func() time.Time { return now })
	if _, ok, keep := c.Lookup(1); ok {
		t.Fatal("an empty cache held a value")
	} else {
		keep.Keep("a")
	}
	if v, ok, _ := c.Lookup(1); !ok || v != "a" {
		t.Fatalf("kept: %q %v", v, ok)
	}
	// A change between the lookup and the keeping: what was read before
	// it is not kept.
	c.Forget(1)
	_, _, keep := c.Lookup(1)
	c.Forget(1)
	keep.Keep("stale")
	if _, ok, keep := c.Lookup(1); ok {
		t.Fatal("a value read before a change was kept")
	} else {
		keep.Drop()
	}
	// Two reads under way, a change between them: only the later one's
	// value is kept.
	_, _, early := c.Lookup(1)
	c.Forget(1)
	_, _, late := c.Lookup(1)
	early.Keep("early")
	late.Keep("late")
	if v, _, _ := c.Lookup(1); v != "late" {
		t.Fatalf("kept %q", v)
	}
	// Once no read is under way the change counts are dropped.
	if n := len(c.generation); n != 0 || c.loading != 0 {
		t.Fatalf("%d generations, %d reads under way", n, c.loading)
	}
}

func TestBounded(t *testing.T) {
	now := time.Unix(0, 0)
	c := NewBounded[int, int](2*time.Second, 3, func() time.Time { return now })
	keep := func(k int) {
		if _, err := c.Get(k, func() (int, error) { return k, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for k := range 10 {
		keep(k)
		if len(c.entries) > 3 {
			t.Fatalf("%d entries held, bound 3", len(c.entries))
		}
	}
	if v, ok, _ := c.Lookup(9); !ok || v != 9 {
		t.Fatal("the latest value was not kept")
	}
	// Expired entries go first.
	now = now.Add(time.Second)
	keep(20)
	now = now.Add(time.Second) // all but 20 have expired
	keep(21)
	if _, ok, _ := c.Lookup(20); !ok {
		t.Fatal("a live entry was dropped while expired ones were held")
	}
	if len(c.entries) != 2 {
		t.Fatalf("%d entries held, want 20 and 21", len(c.entries))
	}
}
