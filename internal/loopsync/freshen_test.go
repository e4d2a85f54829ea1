package loopsync_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/live"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// Opening a ticket renders from the store and then asks for a background
// refresh of its orders that can still change and are older than the
// freshness limit; the refresh stores what Loop says and tells the open
// page; opening it again within the limit asks for nothing, and an order
// with nothing active and no open window is never refreshed.
func TestTicketOpenRefreshesStaleOrdersInTheBackground(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		e := newEnv(t, db, sandbox.Options{})
		order := e.order(7301, "#7301", time.Now().Add(-24*time.Hour))
		quiet := e.order(7302, "#7302", time.Time{})
		e.connect(sandbox.KeyReturns)
		e.settled()
		info, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: 7301, State: loop.StateReview})
		if err != nil {
			t.Fatal(err)
		}
		// What hubdesk knew: the return was open.
		old := time.Now().Add(-time.Hour).UTC()
		if _, err := e.app.Server.Returns.Upsert(ctx, e.tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop,
			ExternalID: strconv.FormatInt(info.ID, 10), OrderExternalID: "7301", State: returns.StateOpen, CreatedAt: old, UpdatedAt: old}); err != nil {
			t.Fatal(err)
		}
		tk, err := e.app.Server.Helpdesk.Create(ctx, e.tn.Agent, helpdesk.NewTicket{Subject: "Where is my refund?", CustomerEmail: "ada@example.com",
			Body: "Looking into it.", OrderID: order.ID, Channel: ticket.ChannelDesk})
		if err != nil {
			t.Fatal(err)
		}
		stream, err := e.app.Server.Live.Open(e.tn.Shop.ID, e.tn.Agent.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		agent := e.app.LoginAs(e.tn.Agent)
		open := func() {
			t.Helper()
			resp, err := agent.Get(e.app.URL + "/tickets/" + strconv.FormatInt(tk.ID, 10))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("ticket page: %d", resp.StatusCode)
			}
		}
		open()
		// The page asks for the refresh once it is on its way.
		e.eventually("the refresh stored Loop's state", func() bool { return e.stored(info.ID).State == returns.StateReview })
		e.settled()
		for ev := range stream.Events {
			if ev.What == live.WhatReturns {
				if ev.Orders != strconv.FormatInt(order.ID, 10) {
					t.Fatalf("live event %+v", ev)
				}
				break
			}
		}
		refreshes := func() int {
			return e.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'loop_order_refresh'`)
		}
		if n := refreshes(); n != 1 {
			t.Fatalf("%d refreshes for one stale order", n)
		}
		open()
		e.settled()
		if n := refreshes(); n != 1 {
			t.Fatalf("a fresh order was refreshed again: %d refreshes", n)
		}
		// Unique while in flight: asking twice at once gives one job.
		if _, err := e.db.Exec(ctx, `DELETE FROM loop_order_checks`); err != nil {
			t.Fatal(err)
		}
		syncer := e.app.Server.LoopSync
		syncer.ForgetChecks()
		v := []orderview.Order{{Order: order, Returns: []returns.Return{{State: returns.StateReview}}}, {Order: quiet}}
		var asked atomic.Int64
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				n, err := syncer.Freshen(ctx, e.tn.Shop.ID, v)
				if err != nil {
					t.Error(err)
				}
				asked.Add(int64(n))
			})
		}
		wg.Wait()
		if asked.Load() < 1 {
			t.Fatal("no refresh asked for a stale order")
		}
		e.settled()
		if n := e.count(`SELECT COUNT(*) FROM loop_order_checks WHERE order_id = ?`, quiet.ID); n != 0 {
			t.Fatal("an order with nothing to change was refreshed")
		}
	})
}

// BenchmarkColdFreshness is the time from a ticket open until every card
// of a customer with 20 orders, each with an active return, is fresh from
// cold, with Loop 150 ms away: Freshen enqueues, the refresh queue reads
// them in parallel (bounded), and the run ends when the last order is
// stored. Reported as ms/fresh (b.N runs).
func BenchmarkColdFreshness(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.Open(b, d)
			ctx := context.Background()
			e := newEnv(b, db, sandbox.Options{})
			e.connect(sandbox.KeyReturns)
			e.settled()
			var viewed []orderview.Order
			for i := range 20 {
				ext := int64(7400 + i)
				o := e.order(ext, "#"+strconv.FormatInt(ext, 10), time.Now().Add(-24*time.Hour))
				info, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: ext, State: loop.StateOpen})
				if err != nil {
					b.Fatal(err)
				}
				r := returns.Return{Provider: returns.ProviderLoop, ExternalID: strconv.FormatInt(info.ID, 10), OrderExternalID: strconv.FormatInt(ext, 10),
					State: returns.StateOpen, UpdatedAt: time.Now().Add(-time.Hour)}
				if _, err := e.app.Server.Returns.Upsert(ctx, e.tn.Shop.ID, r); err != nil {
					b.Fatal(err)
				}
				viewed = append(viewed, orderview.Order{Order: o, Returns: []returns.Return{r}})
			}
			e.sb.SetFaults(sandbox.Faults{Latency: 150 * time.Millisecond})
			// One run warms the pools and statement caches as a running
			// server's are; it is not counted.
			if _, err := e.app.Server.LoopSync.Freshen(ctx, e.tn.Shop.ID, viewed); err != nil {
				b.Fatal(err)
			}
			var total time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				e.settled() // the last run's jobs are done, so none is deduplicated
				if _, err := db.Exec(ctx, `DELETE FROM loop_order_checks`); err != nil {
					b.Fatal(err)
				}
				e.app.Server.LoopSync.ForgetChecks()
				b.StartTimer()
				start := time.Now()
				if n, err := e.app.Server.LoopSync.Freshen(ctx, e.tn.Shop.ID, viewed); err != nil || n != 20 {
					b.Fatalf("asked %d refreshes: %v", n, err)
				}
				for e.count(`SELECT COUNT(*) FROM loop_order_checks`) < 20 {
					time.Sleep(5 * time.Millisecond)
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/fresh")
		})
	}
}

// Views of orders this process read from Loop within the freshness limit
// cost Freshen no database read: it remembers when each was read (its
// own refreshes, and the times it read once). The rows are taken away
// here behind its back to show it: the orders still count as fresh, so
// no refresh is asked; once it forgets, it reads them again and finds
// them stale.
func TestFreshenRemembersWhenOrdersWereRead(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		e := newEnv(t, db, sandbox.Options{})
		order := e.order(7311, "#7311", time.Now().Add(-24*time.Hour))
		e.connect(sandbox.KeyReturns)
		e.settled()
		syncer := e.app.Server.LoopSync
		if _, err := syncer.RefreshOrder(ctx, e.tn.Shop.ID, order.ID); err != nil {
			t.Fatal(err)
		}
		v := []orderview.Order{{Order: order, Returns: []returns.Return{{State: returns.StateOpen}}}}
		if n, err := syncer.Freshen(ctx, e.tn.Shop.ID, v); err != nil || n != 0 {
			t.Fatalf("asked %d refreshes of an order just read (%v)", n, err)
		}
		if _, err := db.Exec(ctx, `DELETE FROM loop_order_checks`); err != nil {
			t.Fatal(err)
		}
		if n, err := syncer.Freshen(ctx, e.tn.Shop.ID, v); err != nil || n != 0 {
			t.Fatalf("asked %d refreshes: Freshen read the database for an order it knew fresh (%v)", n, err)
		}
		syncer.ForgetChecks()
		if n, err := syncer.Freshen(ctx, e.tn.Shop.ID, v); err != nil || n != 1 {
			t.Fatalf("asked %d refreshes once it forgot (%v), want 1", n, err)
		}
	})
}

// BenchmarkFreshenFed is Freshen's cost on each view of a webhook-fed
// ticket (20 orders with an active return, all read from Loop within the
// limit, so nothing is asked): "remembered" as it runs now, "read" when
// the process must read the orders' times (each op forgets them first,
// as every view did before the times were remembered). Run with
// -benchmem; the machine is shared, so compare CPU per op, not wall time.
func BenchmarkFreshenFed(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.Open(b, d)
			ctx := context.Background()
			e := newEnv(b, db, sandbox.Options{})
			e.connect(sandbox.KeyReturns)
			e.settled()
			var viewed []orderview.Order
			for i := range 20 {
				ext := int64(7600 + i)
				o := e.order(ext, "#"+strconv.FormatInt(ext, 10), time.Now().Add(-24*time.Hour))
				if _, err := e.app.Server.LoopSync.RefreshOrder(ctx, e.tn.Shop.ID, o.ID); err != nil {
					b.Fatal(err)
				}
				viewed = append(viewed, orderview.Order{Order: o, Returns: []returns.Return{{State: returns.StateOpen}}})
			}
			syncer := e.app.Server.LoopSync
			for _, forget := range []bool{false, true} {
				name := map[bool]string{false: "remembered", true: "read"}[forget]
				b.Run(name, func(b *testing.B) {
					cpu0 := cpuTime()
					for b.Loop() {
						if forget {
							syncer.ForgetChecks()
						}
						if n, err := syncer.Freshen(ctx, e.tn.Shop.ID, viewed); err != nil || n != 0 {
							b.Fatalf("asked %d refreshes (%v)", n, err)
						}
					}
					b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
				})
			}
		})
	}
}

// Once it has asked for an order's refresh, a process asks nothing more
// of the database for views of the order (no insert the queue would only
// drop as a duplicate, no read of when it was checked) for a while,
// however many views come: the refresh waits its turn in Loop's rate
// budget. Shown with views whose context is already cancelled: any
// statement would fail them. ForgetChecks forgets the ask too.
func TestFreshenAsksOnceWhileARefreshIsUnderWay(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		e := newEnv(t, db, sandbox.Options{})
		order := e.order(7331, "#7331", time.Now().Add(-24*time.Hour))
		e.connect(sandbox.KeyReturns)
		e.settled()
		e.sb.SetFaults(sandbox.Faults{Latency: 5 * time.Second})
		t.Cleanup(func() { e.sb.SetFaults(sandbox.Faults{}) })
		syncer := e.app.Server.LoopSync
		v := []orderview.Order{{Order: order, Returns: []returns.Return{{State: returns.StateOpen}}}}
		if n, err := syncer.Freshen(ctx, e.tn.Shop.ID, v); err != nil || n != 1 {
			t.Fatalf("asked %d refreshes of a stale order (%v), want 1", n, err)
		}
		gone, cancel := context.WithCancel(ctx)
		cancel()
		for range 20 {
			if n, err := syncer.Freshen(gone, e.tn.Shop.ID, v); err != nil || n != 0 {
				t.Fatalf("a view while the refresh was under way: %d asked, %v; want nothing asked of the database", n, err)
			}
		}
		syncer.ForgetChecks()
		if _, err := syncer.Freshen(gone, e.tn.Shop.ID, v); err == nil {
			t.Error("once it forgot its ask, a view asked nothing of the database")
		}
	})
}
