package live

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RecentSize is how many of the latest events (all shops, presence
// aside) a process keeps for the streams that connect after a page was
// written: a page asks for the events since it read what it shows, so an
// event published between its render and its stream's connection is not
// lost.
const RecentSize = 2048

// CatchUpSkew widens a catch-up back in time when the page was written
// by another process (PostgreSQL), whose clock may differ a little. An
// event sent twice costs a fetch; one missed costs freshness. A page this
// process wrote gets no more than what came after it (the change an
// action published just before its redirect is in the page already).
const CatchUpSkew = 2 * time.Second

// process tells this process's page stamps from other processes'.
var process = func() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

// Stamp is what a page carries of the moment it began reading what it
// shows, for its stream's catch-up (Bus.Since): Unix milliseconds and
// the process that wrote it.
func Stamp(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli(), 10) + "." + process
}

// ParseStamp reads a Stamp: the time, and whether this process wrote it.
func ParseStamp(s string) (time.Time, bool, bool) {
	ms, proc, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false, false
	}
	return time.UnixMilli(n), proc == process, true
}

// recent is the ring of the latest events with the time this process
// heard each, and since when it has heard every event (its start, or its
// listener's last reconnection: before that it may have missed some).
type recent struct {
	mu    sync.Mutex
	ring  []heard
	next  int
	full  bool
	since time.Time
}

type heard struct {
	at time.Time
	e  Event
}

func newRecent(start time.Time) *recent {
	return &recent{ring: make([]heard, RecentSize), since: start}
}

// add records an event heard at at.
func (r *recent) add(e Event, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring[r.next] = heard{at: at, e: e}
	r.next = (r.next + 1) % len(r.ring)
	if r.next == 0 {
		r.full = true
	}
}

// restart says the process may have missed events until now (its
// listener reconnected).
func (r *recent) restart(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.since = now
}

// after returns the shop's events heard at or after t, oldest first, and
// whether they are all of them: false when t is before the process heard
// every event, or before the oldest one still kept.
func (r *recent) after(shopID int64, t time.Time) ([]Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	complete := !t.Before(r.since)
	if r.full && t.Before(r.ring[r.next].at) {
		complete = false
	}
	var out []Event
	n := r.next
	if r.full {
		n = len(r.ring)
	}
	for i := range n {
		h := r.ring[(r.next-n+i+len(r.ring))%len(r.ring)]
		if h.e.Shop == shopID && !h.at.Before(t) {
			out = append(out, h.e)
		}
	}
	return out, complete
}
