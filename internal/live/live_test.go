package live_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/live"
)

// guard bounds a wait that should end at once: a hang fails the test
// instead of stalling it, and nothing is asserted about how long it took.
const guard = 30 * time.Second

func TestBrokerDeliversToTheShopsSubscribers(t *testing.T) {
	b := live.NewBroker()
	mine, stop := b.Subscribe(1)
	also, stopAlso := b.Subscribe(1)
	other, stopOther := b.Subscribe(2)
	defer stopOther()
	defer stopAlso()
	b.Deliver(live.TicketEvent(1, 7, helpdesk.ChangeMessage))
	want := live.Event{Shop: 1, Ticket: 7, What: "message"}
	for _, ch := range []<-chan live.Event{mine, also} { // every subscriber of the shop
		if ev := <-ch; ev != want {
			t.Errorf("event = %+v, want %+v", ev, want)
		}
	}
	select {
	case ev := <-other:
		t.Errorf("another shop heard %+v", ev)
	default:
	}
	for range live.SubscriberBuffer + 5 { // a slow subscriber never blocks the publisher
		b.Deliver(live.TicketEvent(1, 7, helpdesk.ChangeNote))
	}
	stop()
	stop()
	n := 0
	for range mine {
		n++
	}
	if n != live.SubscriberBuffer {
		t.Errorf("buffered %d events, want %d", n, live.SubscriberBuffer)
	}
	b.Resync()
	if ev := <-other; ev != (live.Event{Shop: 2, What: live.WhatResync}) {
		t.Errorf("resync = %+v", ev)
	}
}

// Presence names the others on a ticket, never the asker; "gone" and
// PresenceTTL without a word remove an agent.
func TestPresenceOthersExpireAndGo(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	p := live.NewPresence(clock)
	on := func(user int64, name, state string) live.Event {
		return live.Event{Shop: 1, Ticket: 9, What: live.WhatPresence, User: user, Name: name, State: state}
	}
	p.Apply(on(1, "Ana", live.StateViewing))
	p.Apply(on(2, "Ben", live.StateReplying))
	p.Apply(live.Event{Shop: 2, Ticket: 9, What: live.WhatPresence, User: 3, Name: "Other shop", State: live.StateViewing})
	got := p.Others(1, 9, 2)
	if len(got) != 1 || got[0] != (live.Viewer{UserID: 1, Name: "Ana", State: live.StateViewing}) {
		t.Errorf("Ben sees %+v, want Ana viewing", got)
	}
	if got := p.Others(1, 9, 1); len(got) != 1 || got[0].Name != "Ben" || got[0].State != live.StateReplying {
		t.Errorf("Ana sees %+v, want Ben replying", got)
	}
	p.Apply(on(2, "Ben", live.StateGone))
	if got := p.Others(1, 9, 1); len(got) != 0 {
		t.Errorf("after gone Ana sees %+v", got)
	}
	advance(live.PresenceTTL + time.Second)
	if got := p.Others(1, 9, 2); len(got) != 0 {
		t.Errorf("after the TTL Ben sees %+v", got)
	}
}

// On PostgreSQL an event published by one process reaches the streams of
// another (two database handles: two processes), and each process hears
// its own publication once; on SQLite the bus delivers in process.
func TestBusAcrossProcesses(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		second := db
		if db.Dialect == database.Postgres {
			var url string
			_, url = dbtest.OpenPostgresWithURL(t)
			var err error
			if db, err = database.OpenPostgres(ctx, url); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if second, err = database.OpenPostgres(ctx, url); err != nil {
				t.Fatal(err)
			}
			defer second.Close()
		}
		one, two := live.NewBus(db, nil, nil), live.NewBus(second, nil, nil)
		if db.Dialect == database.SQLite {
			two = one // one process on SQLite
		}
		for _, b := range []*live.Bus{one, two} {
			go b.Run(ctx)
			select {
			case <-b.Ready():
			case <-time.After(guard):
				t.Fatal("the listener did not start")
			}
		}
		streamA, err := two.Open(1, 10)
		if err != nil {
			t.Fatal(err)
		}
		defer streamA.Close()
		streamB, err := two.Open(2, 20)
		if err != nil {
			t.Fatal(err)
		}
		defer streamB.Close()
		own, err := one.Open(1, 11)
		if err != nil {
			t.Fatal(err)
		}
		defer own.Close()

		one.Changes().TicketChanged(ctx, 2, 5, helpdesk.ChangeMessage) // shop B's first
		one.Publish(ctx, live.Event{Shop: 1, Ticket: 7, What: live.WhatPresence, User: 11, Name: "Ana", State: live.StateViewing})
		one.Changes().TicketChanged(ctx, 1, 7, helpdesk.ChangeStatus)

		wantA := []live.Event{
			{Shop: 1, Ticket: 7, What: live.WhatPresence, User: 11, Name: "Ana", State: live.StateViewing},
			{Shop: 1, Ticket: 7, What: "status"},
		}
		for _, s := range []*live.Stream{streamA, own} {
			for _, want := range wantA {
				select {
				case got := <-s.Events:
					if got != want {
						t.Errorf("got %+v, want %+v", got, want)
					}
				case <-time.After(guard):
					t.Fatalf("no event %+v", want)
				}
			}
		}
		select {
		case got := <-streamB.Events:
			if got != (live.Event{Shop: 2, Ticket: 5, What: "message"}) {
				t.Errorf("shop B heard %+v", got)
			}
		case <-time.After(guard):
			t.Fatal("shop B heard nothing")
		}
		select {
		case got := <-own.Events:
			t.Errorf("the publishing process heard %+v twice", got)
		default:
		}
		if got := two.Presence().Others(1, 7, 10); len(got) != 1 || got[0].Name != "Ana" {
			t.Errorf("the other process's presence = %+v", got)
		}
	})
}

// A user's streams and the process's are bounded; closing gives the place
// back; Shutdown tells every stream to end.
func TestStreamLimits(t *testing.T) {
	b := live.NewBus(dbtest.Open(t, database.SQLite), nil, nil)
	var streams []*live.Stream
	for range live.MaxStreamsPerUser {
		s, err := b.Open(1, 5)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	if _, err := b.Open(1, 5); err != live.ErrTooManyStreams {
		t.Errorf("one stream over the user's limit: %v", err)
	}
	if s, err := b.Open(1, 6); err != nil {
		t.Errorf("another user: %v", err)
	} else {
		s.Close()
	}
	streams[0].Close()
	streams[0].Close()
	if s, err := b.Open(1, 5); err != nil {
		t.Errorf("after closing one: %v", err)
	} else {
		streams[0] = s
	}
	b.Shutdown()
	for _, s := range streams {
		select {
		case <-s.Closing:
		default:
			t.Error("a stream was not told of the shutdown")
		}
		s.Close()
	}
}

// A stream that connects after its page was written catches up: Since
// gives the shop's events heard from the page's time on (less the skew
// allowed between processes), presence aside, and says whether that is
// all of them — not when the time is before the process began hearing
// every event (on PostgreSQL: before its LISTEN was in place), nor when
// more events came since than the process keeps.
func TestSinceCatchesUpAStreamThatConnectsLate(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		clock := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		tick := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
		b := live.NewBus(db, now, nil)
		if _, complete := b.Since(1, now().Add(time.Hour), false); complete != (db.Dialect == database.SQLite) {
			t.Errorf("before listening, complete = %v", complete)
		}
		go b.Run(ctx)
		select {
		case <-b.Ready():
		case <-time.After(guard):
			t.Fatal("the listener did not start")
		}
		start := now()
		s, err := b.Open(1, 10)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		tick(time.Minute)
		b.Publish(ctx, live.ReturnsEvent(1, []int64{7}))
		<-s.Events
		rendered := now().Add(10 * time.Second)
		tick(time.Minute)
		b.Publish(ctx, live.Event{Shop: 2, Ticket: 5, What: "message"})
		b.Publish(ctx, live.Event{Shop: 1, Ticket: 7, What: live.WhatPresence, User: 11, Name: "Ana", State: live.StateViewing})
		b.Publish(ctx, live.ReturnsEvent(1, []int64{8, 9}))
		for range 2 {
			select {
			case <-s.Events:
			case <-time.After(guard):
				t.Fatal("an event was not heard")
			}
		}
		got, complete := b.Since(1, rendered, true)
		if !complete || len(got) != 1 || got[0] != live.ReturnsEvent(1, []int64{8, 9}) {
			t.Errorf("since the page: %+v, complete %v", got, complete)
		}
		// A page another process wrote gets the skew; one this process
		// wrote does not (what came before it is in it).
		justAfter := start.Add(time.Minute).Add(live.CatchUpSkew / 2)
		if got, complete := b.Since(1, justAfter, false); !complete || len(got) != 2 {
			t.Errorf("within the skew: %+v, complete %v", got, complete)
		}
		if got, complete := b.Since(1, justAfter, true); !complete || len(got) != 1 {
			t.Errorf("this process's page: %+v, complete %v", got, complete)
		}
		if _, complete := b.Since(1, start.Add(-time.Minute), false); complete {
			t.Error("complete before the process heard every event")
		}
		tick(time.Minute)
		for i := range live.RecentSize {
			b.Publish(ctx, live.ReturnsEvent(2, []int64{int64(i)}))
		}
		deadline := time.Now().Add(guard) // NOTIFY delivers them a little later
		for {
			got, complete := b.Since(2, now(), true)
			if complete && len(got) == live.RecentSize {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the kept ones: %d, complete %v", len(got), complete)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, complete := b.Since(1, rendered, true); complete {
			t.Error("complete after more events than are kept")
		}
	})
}

// A page's stamp names its time and whether this process wrote it.
func TestStamp(t *testing.T) {
	at := time.UnixMilli(1796464800123)
	got, here, ok := live.ParseStamp(live.Stamp(at))
	if !ok || !here || !got.Equal(at) {
		t.Errorf("own stamp: %v %v %v", got, here, ok)
	}
	if got, here, ok := live.ParseStamp("1796464800123.0123456789ab"); !ok || here || !got.Equal(at) {
		t.Errorf("another process's stamp: %v %v %v", got, here, ok)
	}
	for _, bad := range []string{"", "x", "-5.ab", "0"} {
		if _, _, ok := live.ParseStamp(bad); ok {
			t.Errorf("%q read as a stamp", bad)
		}
	}
}
