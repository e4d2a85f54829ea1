package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
)

// Channel is the NOTIFY channel. NOTIFY reaches the sessions of one
// database, so a deployment (one database) has its own channel whatever
// its name.
const Channel = "hubdesk_live"

// Stream limits: a user's tabs, and the whole process. An idle stream
// costs a goroutine, a 64-event buffer and its connection's buffers
// (a few KiB), never a database connection.
const (
	MaxStreamsPerUser = 8
	MaxStreams        = 2000
)

// ErrTooManyStreams refuses a stream over MaxStreamsPerUser or
// MaxStreams.
var ErrTooManyStreams = errors.New("live: too many open streams")

// Bus publishes events to every process on the database and delivers
// those of all processes to this one's subscribers.
type Bus struct {
	db       *database.DB
	logger   *slog.Logger
	broker   *Broker
	presence *Presence

	mu      sync.Mutex
	open    map[int64]int // streams per user
	total   int
	closing chan struct{}
	close   sync.Once
	ready   chan struct{}
	ready1  sync.Once
	now     func() time.Time
	// recent keeps the latest events for streams catching up (Since).
	recent *recent
}

// NewBus returns the bus over db; now is the presence clock (time.Now
// when nil).
func NewBus(db *database.DB, now func() time.Time, logger *slog.Logger) *Bus {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	b := &Bus{db: db, logger: logger, broker: NewBroker(), presence: NewPresence(now), open: map[int64]int{},
		closing: make(chan struct{}), ready: make(chan struct{}), now: now}
	// Across processes the record is complete only once LISTEN is in
	// place (listen restarts it); on SQLite every event is heard from now.
	start := notYet
	if !b.crossProcess() {
		close(b.ready)
		start = now()
	}
	b.recent = newRecent(start)
	return b
}

// notYet is the start of the record of events before LISTEN is first in
// place: no catch-up is complete until then.
var notYet = time.Unix(1<<40, 0)

// crossProcess reports whether events travel through NOTIFY.
func (b *Bus) crossProcess() bool { return b.db.Dialect == database.Postgres }

// Changes is the helpdesk's listener: each committed change is
// published.
func (b *Bus) Changes() helpdesk.Changes { return changes(b.Publish) }

// Presence is this process's record of who is on which ticket.
func (b *Bus) Presence() *Presence { return b.presence }

// Publish sends the event to every process's subscribers. On PostgreSQL
// it is one NOTIFY through the pool, which this process hears back like
// the others (so nothing is delivered twice); should the NOTIFY fail, the
// event is still delivered here. The helpdesk publishes after commit
// rather than NOTIFYing inside its transaction (which PostgreSQL would
// also deliver on commit): the use cases stay engine-blind behind
// helpdesk.Changes, presence has no transaction to join, and the one
// thing a crash between commit and NOTIFY costs is freshness, which the
// pages' reconnect resync restores.
func (b *Bus) Publish(ctx context.Context, e Event) {
	if !b.crossProcess() {
		b.deliver(e)
		return
	}
	payload, err := json.Marshal(e)
	if err == nil {
		_, err = b.db.Exec(ctx, `SELECT pg_notify(?, ?)`, Channel, string(payload))
	}
	if err != nil {
		b.logger.Warn("live: notify", "err", err, "what", e.What)
		b.deliver(e)
	}
}

func (b *Bus) deliver(e Event) {
	b.presence.Apply(e)
	if e.What != WhatPresence {
		b.recent.add(e, b.now())
	}
	b.broker.Deliver(e)
}

// Since returns the shop's events (presence aside) this process heard at
// or after t (less CatchUpSkew unless this process wrote the page), oldest first, and whether that is all of
// them: false when the process may have missed some since then (it
// started or its listener reconnected later, or they are older than the
// RecentSize it keeps), and the page should fetch everything it shows.
// A stream that connects after its page was written sends them first.
func (b *Bus) Since(shopID int64, t time.Time, sameProcess bool) ([]Event, bool) {
	if !sameProcess {
		t = t.Add(-CatchUpSkew)
	}
	return b.recent.after(shopID, t)
}

// Ready is closed once the bus hears other processes' events (at once on
// SQLite; on PostgreSQL once Run's first LISTEN is in place).
func (b *Bus) Ready() <-chan struct{} { return b.ready }

// Run listens for other processes' events until ctx ends (PostgreSQL; on
// SQLite it returns at once). The listening connection is outside the
// pool; when it fails, Run connects again after a pause growing from
// 100 ms to 10 s (database.DB.Listen), and tells the pages to resync,
// since events may have gone by meanwhile.
func (b *Bus) Run(ctx context.Context) {
	if !b.crossProcess() {
		return
	}
	_ = b.db.Listen(ctx, Channel, database.Listener{
		Listening: func(on bool) {
			if on {
				b.recent.restart(b.now())
				b.ready1.Do(func() { close(b.ready) })
			} else if ctx.Err() == nil {
				b.broker.Resync()
			}
		},
		Heard: func(payload string) {
			var e Event
			if err := json.Unmarshal([]byte(payload), &e); err != nil || e.Shop == 0 {
				b.logger.Warn("live: unreadable event", "payload", payload)
				return
			}
			b.deliver(e)
		},
	}, b.logger.With("in", "live"))
}

// Stream is one open event stream of a user.
type Stream struct {
	Events <-chan Event
	// Closing is closed when the process shuts down.
	Closing <-chan struct{}
	end     func()
	bus     *Bus
	user    int64
	once    sync.Once
}

// Open starts a stream of the shop's events for the user, within the
// limits; Close ends it.
func (b *Bus) Open(shopID, userID int64) (*Stream, error) {
	b.mu.Lock()
	if b.open[userID] >= MaxStreamsPerUser || b.total >= MaxStreams {
		b.mu.Unlock()
		return nil, ErrTooManyStreams
	}
	b.open[userID]++
	b.total++
	b.mu.Unlock()
	ch, end := b.broker.Subscribe(shopID)
	return &Stream{Events: ch, Closing: b.closing, end: end, bus: b, user: userID}, nil
}

// Close ends the stream and gives back its place.
func (s *Stream) Close() {
	s.once.Do(func() {
		s.end()
		b := s.bus
		b.mu.Lock()
		b.total--
		if b.open[s.user]--; b.open[s.user] <= 0 {
			delete(b.open, s.user)
		}
		b.mu.Unlock()
	})
}

// Shutdown ends every stream (the server is stopping: streams would
// otherwise hold its graceful shutdown until the clients go).
func (b *Bus) Shutdown() { b.close.Do(func() { close(b.closing) }) }
