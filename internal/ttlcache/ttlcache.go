// Package ttlcache keeps values read from the database for a short time in
// one process, for reads that every hub page makes (published settings, a
// shop's connections). A change made through this process drops its entry
// as soon as it commits; another process sees the change within the TTL.
package ttlcache

import (
	"sync"
	"time"
)

// Cache holds one value per key for TTL.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[K]entry[V]
	// generation counts each key's changes, so a read that raced a change
	// does not put the value it read before the change into the cache.
	generation map[K]uint64
}

type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns an empty cache whose entries live for ttl on the clock now
// (time.Now when nil).
func New[K comparable, V any](ttl time.Duration, now func() time.Time) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[K, V]{ttl: ttl, now: now, entries: map[K]entry[V]{}, generation: map[K]uint64{}}
}

// Get returns key's value, calling load when it is missing or expired. A
// value load returns is kept unless Forget(key) ran while it was loading;
// an error is never kept.
func (c *Cache[K, V]) Get(key K, load func() (V, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	gen := c.generation[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.value, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.generation[key] == gen {
		c.entries[key] = entry[V]{value: v, expires: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return v, nil
}

// Forget drops key's value; call it once a change to it has committed.
func (c *Cache[K, V]) Forget(key K) {
	c.mu.Lock()
	delete(c.entries, key)
	c.generation[key]++
	c.mu.Unlock()
}
