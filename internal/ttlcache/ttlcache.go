// Package ttlcache keeps values read from the database for a short time in
// one process, for reads that every hub page makes (published settings, a
// shop's connections). A change made through this process drops its entry
// as soon as it commits; another process sees the change within the TTL.
package ttlcache

import (
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Cache holds one value per key for TTL.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time
	// max bounds how many entries are held (0: no bound).
	max int

	mu      sync.Mutex
	entries map[K]entry[V]
	// generation counts each key's changes, so a read that raced a change
	// does not put the value it read before the change into the cache.
	generation map[K]uint64
	// loading counts the reads under way whose value may be kept: while
	// none is, the generations may be dropped (nothing compares them).
	loading int
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

// NewBounded is New holding at most max entries: keeping one more first
// drops the expired ones, then, if none had expired, any one.
func NewBounded[K comparable, V any](ttl time.Duration, max int, now func() time.Time) *Cache[K, V] {
	c := New[K, V](ttl, now)
	c.max = max
	return c
}

// Get returns key's value, calling load when it is missing or expired. A
// value load returns is kept unless Forget(key) ran while it was loading;
// an error is never kept.
func (c *Cache[K, V]) Get(key K, load func() (V, error)) (V, error) {
	v, ok, keep := c.Lookup(key)
	if ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		keep.Drop()
		return v, err
	}
	keep.Keep(v)
	return v, nil
}

// Lookup returns key's value when it is held and fresh. Otherwise the
// caller reads the value itself — in a batch with other reads, say — and
// then calls Keep with it, or Drop if the read failed: exactly one of
// them, as Get's load, a value read after Lookup returned is kept unless
// Forget(key) ran in between.
func (c *Cache[K, V]) Lookup(key K) (V, bool, Pending[K, V]) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if ok && now.Before(e.expires) {
		return e.value, true, Pending[K, V]{}
	}
	c.loading++
	var zero V
	return zero, false, Pending[K, V]{c: c, key: key, gen: c.generation[key], at: now}
}

// Pending is a missed key's read under way (see Lookup); its zero value,
// which a hit returns, does nothing.
type Pending[K comparable, V any] struct {
	c   *Cache[K, V]
	key K
	gen uint64
	at  time.Time
}

// Keep stores v, the value read, unless the key was forgotten since the
// lookup.
func (p Pending[K, V]) Keep(v V) {
	c := p.c
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loading--
	gen := c.generation[p.key]
	c.dropGenerations()
	if gen != p.gen {
		return
	}
	if _, held := c.entries[p.key]; !held && c.max > 0 && len(c.entries) >= c.max {
		c.evict(p.at)
	}
	c.entries[p.key] = entry[V]{value: v, expires: p.at.Add(c.ttl)}
}

// Drop ends a read that failed: nothing is kept.
func (p Pending[K, V]) Drop() {
	if p.c == nil {
		return
	}
	p.c.mu.Lock()
	p.c.loading--
	p.c.dropGenerations()
	p.c.mu.Unlock()
}

// dropGenerations forgets the keys' generations once no read is under
// way: nothing compares them then, and kept they would grow with every key
// ever forgotten.
func (c *Cache[K, V]) dropGenerations() {
	if c.loading == 0 && len(c.generation) > 0 {
		clear(c.generation)
	}
}

// evict makes room for one entry: it drops those expired at now, or any
// one when none has.
func (c *Cache[K, V]) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) >= c.max {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
}

// Forget drops key's value; call it once a change to it has committed.
func (c *Cache[K, V]) Forget(key K) {
	c.mu.Lock()
	delete(c.entries, key)
	if c.loading > 0 { // a read under way must not keep what it read
		c.generation[key]++
	}
	c.mu.Unlock()
}

// ReadInto sets *into to key's value when it is held. Otherwise it calls
// queue, which arranges for *into to be read — a read queued in a batch,
// so that a miss costs no round trip of its own — and the done it returns
// must be called once that read has run, with its error: done keeps what
// was read in *into unless the read failed or key was forgotten since.
// On a hit done does nothing.
func (c *Cache[K, V]) ReadInto(key K, into *V, queue func()) (done func(error)) {
	v, ok, pending := c.Lookup(key)
	if ok {
		*into = v
		return func(error) {}
	}
	queue()
	return func(err error) {
		if err != nil {
			pending.Drop()
			return
		}
		pending.Keep(*into)
	}
}

// ForgetOnCommit drops key's value once the change q is making commits:
// at the end of q's transaction when q is one, else at once.
func (c *Cache[K, V]) ForgetOnCommit(q database.Querier, key K) {
	if tx, ok := q.(*database.Tx); ok {
		tx.AfterCommit(func() { c.Forget(key) })
		return
	}
	c.Forget(key)
}
