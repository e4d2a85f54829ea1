package intake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// countingHandler counts the events it handled, per event id: those
// whose transaction committed, as a handler's writes would be.
type countingHandler struct {
	mu   sync.Mutex
	seen map[int64]int
}

func (h *countingHandler) Handle(_ context.Context, tx *database.Tx, ev *intake.Event) error {
	tx.AfterCommit(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.seen[ev.ID]++
	})
	return nil
}

func (h *countingHandler) calls() map[int64]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int64]int{}
	for id, n := range h.seen {
		out[id] = n
	}
	return out
}

// newQueue is a queue working the processing jobs with handler; started
// when start says so, stopped when the test ends.
func newQueue(t *testing.T, db *database.DB, handler intake.Handler, start bool) *jobs.Queue {
	t.Helper()
	workers := river.NewWorkers()
	worker := &intake.ProcessWorker{DB: db, Handlers: map[intake.Provider]intake.Handler{intake.ProviderLoop: handler}}
	river.AddWorker(workers, worker)
	q, err := jobs.New(db, jobs.Options{Workers: workers, FetchCooldown: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	worker.Queue = q
	if start {
		jobstest.Work(t, q)
	}
	return q
}

func count(t *testing.T, db *database.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const processJobs = `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process'`

func delivery(shopID int64, body string) intake.Delivery {
	return intake.Delivery{ShopID: shopID, Provider: intake.ProviderLoop, Topic: "return.updated", Body: []byte(body)}
}

// A provider retries what it thinks failed: the second delivery of one
// event is acknowledged, but stored and processed once. Another shop's
// identical delivery is its own event.
func TestDeliverySeenTwiceIsStoredAndProcessedOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		handler := &countingHandler{seen: map[int64]int{}}
		in := intake.New(db, newQueue(t, db, handler, true), nil)
		a, b := fixtures.Shop(t, db, "a").ID, fixtures.Shop(t, db, "b").ID
		body := `{"topic":"return","trigger":"return.updated","id":"77"}`

		first, err := in.Receive(ctx, delivery(a, body))
		if err != nil || first.Duplicate || first.EventID == 0 {
			t.Fatalf("first delivery: %+v %v", first, err)
		}
		again, err := in.Receive(ctx, delivery(a, body))
		if err != nil || !again.Duplicate {
			t.Fatalf("second delivery: %+v %v, want a duplicate", again, err)
		}
		other, err := in.Receive(ctx, delivery(b, body))
		if err != nil || other.Duplicate {
			t.Fatalf("another shop's delivery: %+v %v", other, err)
		}

		jobstest.Eventually(t, "both events processed", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL`) == 2
		})
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE shop_id = ?`, a); n != 1 {
			t.Errorf("shop a has %d events, want 1", n)
		}
		if n := count(t, db, processJobs); n != 2 {
			t.Errorf("%d processing jobs, want 2", n)
		}
		if calls := handler.calls(); calls[first.EventID] != 1 || calls[other.EventID] != 1 || len(calls) != 2 {
			t.Errorf("handler calls %v, want one per event", calls)
		}
	})
}

// The delivery and its job commit together: a transaction rolled back
// after the intake leaves neither, and a job that cannot be enqueued
// leaves no event behind (the provider retries the delivery).
func TestRolledBackIntakeLeavesNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		in := intake.New(db, newQueue(t, db, &countingHandler{seen: map[int64]int{}}, false), nil)
		shopID := fixtures.Shop(t, db, "a").ID

		rollback := errors.New("roll back")
		err := db.InTx(ctx, func(tx *database.Tx) error {
			if _, err := in.With(tx).Receive(ctx, delivery(shopID, `{"topic":"return"}`)); err != nil {
				t.Fatal(err)
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx = %v", err)
		}
		if n := count(t, db, processJobs); n != 0 {
			t.Errorf("a rolled-back intake enqueued %d jobs", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events`); n != 0 {
			t.Errorf("a rolled-back intake stored %d events", n)
		}

		dbtest.BreakTable(t, db, "river_job")
		if _, err := in.Receive(ctx, delivery(shopID, `{"topic":"label"}`)); err == nil {
			t.Fatal("Receive succeeded without its job")
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events`); n != 0 {
			t.Errorf("an event was stored without its job")
		}
	})
}

// The purge deletes events processed before the retention — raw mail
// before its own, shorter one —, and keeps recent ones and any not yet
// processed, however old.
func TestPurgeRemovesOnlyOldProcessedEvents(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
		store := intake.NewStore(db)
		shopID := fixtures.Shop(t, db, "a").ID
		add := func(delivery string, received time.Time, processed *time.Time) {
			t.Helper()
			provider, topic := intake.ProviderLoop, "return.updated"
			if strings.HasPrefix(delivery, "mail-") {
				provider, topic = intake.ProviderEmail, "mail"
			}
			id, _, err := store.Insert(ctx, &intake.Event{ShopID: shopID, Provider: provider, Topic: topic,
				DeliveryID: delivery, Body: []byte(`{}`), ReceivedAt: received})
			if err != nil {
				t.Fatal(err)
			}
			if processed != nil {
				if err := store.MarkProcessed(ctx, shopID, id, *processed, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		old, recent := now.Add(-31*24*time.Hour), now.Add(-29*24*time.Hour)
		add("old-processed", old, &old)
		add("recent-processed", old, &recent)
		add("old-unprocessed", old, nil)
		week, days := now.Add(-8*24*time.Hour), now.Add(-6*24*time.Hour)
		add("mail-week-old", week, &week)
		add("mail-days-old", week, &days)
		add("mail-unprocessed", old, nil)

		purge := &intake.PurgeWorker{DB: db, Retention: 30 * 24 * time.Hour, MailRetention: 7 * 24 * time.Hour, Now: func() time.Time { return now }}
		if err := purge.Work(ctx, &river.Job[intake.PurgeArgs]{}); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(ctx, `SELECT delivery_id FROM webhook_events ORDER BY delivery_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var kept []string
		for rows.Next() {
			var d string
			rows.Scan(&d)
			kept = append(kept, d)
		}
		if want := "mail-days-old mail-unprocessed old-unprocessed recent-processed"; strings.Join(kept, " ") != want {
			t.Fatalf("kept %v, want %s", kept, want)
		}
	})
}

// A processing job that runs again (its completion was lost, say) finds
// the event processed and does not hand it to the provider twice.
func TestProcessingRunsOncePerEvent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		handler := &countingHandler{seen: map[int64]int{}}
		in := intake.New(db, newQueue(t, db, handler, false), nil)
		shopID := fixtures.Shop(t, db, "a").ID
		r, err := in.Receive(ctx, delivery(shopID, `{"topic":"return"}`))
		if err != nil {
			t.Fatal(err)
		}
		worker := &intake.ProcessWorker{DB: db, Handlers: map[intake.Provider]intake.Handler{intake.ProviderLoop: handler}}
		job := &river.Job[intake.ProcessArgs]{Args: intake.ProcessArgs{ShopID: shopID, EventID: r.EventID}}
		for range 2 {
			if err := worker.Work(ctx, job); err != nil {
				t.Fatal(err)
			}
		}
		if calls := handler.calls(); calls[r.EventID] != 1 {
			t.Fatalf("handler called %d times, want once", calls[r.EventID])
		}
	})
}

// Concurrent deliveries are committed together: each is answered only
// once stored with its job, every one is stored once, and a delivery sent
// twice within the same burst is a duplicate, not a second event.
func TestConcurrentDeliveriesAreCommittedTogether(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		shop := fixtures.Shop(t, db, "a")
		in := intake.New(db, newQueue(t, db, &countingHandler{seen: map[int64]int{}}, false), nil)
		const n = 60
		receipts := make([]intake.Receipt, n+1)
		errs := make([]error, n+1)
		var wg sync.WaitGroup
		for i := range n + 1 {
			body := []byte(`{"topic":"return","id":"` + string(rune('A'+i%60)) + `","n":` + string(rune('0'+i%10)) + `}`)
			if i == n {
				body = []byte(`{"topic":"return","id":"A","n":0}`) // the first one again
			}
			wg.Go(func() {
				receipts[i], errs[i] = in.Receive(ctx, intake.Delivery{ShopID: shop.ID, Provider: intake.ProviderLoop, Topic: "return.updated", Body: body})
			})
		}
		wg.Wait()
		dups := 0
		for i := range n + 1 {
			if errs[i] != nil {
				t.Fatalf("delivery %d: %v", i, errs[i])
			}
			if receipts[i].Duplicate {
				dups++
			}
		}
		if dups != 1 {
			t.Fatalf("%d duplicates, want 1", dups)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE shop_id = ?`, shop.ID); got != n {
			t.Fatalf("%d events stored, want %d", got, n)
		}
		if named := processedBy(t, db); len(named) != n {
			t.Fatalf("the processing jobs name %d events, want %d: %v", len(named), n, named)
		} else {
			for id, jobs := range named {
				if jobs != 1 {
					t.Fatalf("event %d is named by %d processing jobs, want 1", id, jobs)
				}
			}
		}
		if jobs := count(t, db, processJobs); jobs >= n {
			t.Errorf("%d processing jobs for %d events committed together, want one per group", jobs, n)
		}
	})
}

// processedBy counts, for each event, the processing jobs that name it.
func processedBy(t *testing.T, db *database.DB) map[int64]int {
	t.Helper()
	args := "args::text"
	if db.Dialect == database.SQLite {
		args = "json(args)" // River keeps SQLite's in binary JSONB
	}
	rows, err := db.Query(context.Background(), `SELECT `+args+` FROM river_job WHERE kind = 'webhook_event_process'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	named := map[int64]int{}
	for rows.Next() {
		var raw []byte
		var args intake.ProcessArgs
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &args); err != nil {
			t.Fatal(err)
		}
		if args.EventID != 0 {
			named[args.EventID]++
		}
		for _, id := range args.EventIDs {
			named[id]++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return named
}

// A burst in which every delivery arrives several times at once — a
// provider retrying while the first attempt is still in flight — stores
// each event once and hands each to its handler once.
func TestConcurrentDuplicatesAreStoredAndProcessedOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		shop := fixtures.Shop(t, db, "a")
		handler := &countingHandler{seen: map[int64]int{}}
		in := intake.New(db, newQueue(t, db, handler, true), nil)
		const events, copies = 40, 5
		var wg sync.WaitGroup
		var mu sync.Mutex
		firsts := map[string]int64{}
		dups := 0
		for i := range events * copies {
			body := fmt.Sprintf(`{"topic":"return","id":"%d"}`, i%events)
			wg.Go(func() {
				r, err := in.Receive(ctx, intake.Delivery{ShopID: shop.ID, Provider: intake.ProviderLoop, Topic: "return.updated", Body: []byte(body)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if r.Duplicate {
					dups++
				} else if firsts[body] != 0 {
					t.Errorf("%s stored twice: events %d and %d", body, firsts[body], r.EventID)
				} else {
					firsts[body] = r.EventID
				}
			})
		}
		wg.Wait()
		if len(firsts) != events || dups != events*(copies-1) {
			t.Fatalf("%d stored and %d duplicates, want %d and %d", len(firsts), dups, events, events*(copies-1))
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE shop_id = ?`, shop.ID); n != events {
			t.Fatalf("%d events stored, want %d", n, events)
		}
		jobstest.Eventually(t, "every event processed", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL`) == events
		})
		calls := handler.calls()
		for _, id := range firsts {
			if calls[id] != 1 {
				t.Errorf("event %d handled %d times, want once", id, calls[id])
			}
		}
	})
}

// failingHandler fails the events whose body says "fail" until healed,
// and counts what it handled.
type failingHandler struct {
	countingHandler
	healed atomic.Bool
}

func (h *failingHandler) Handle(ctx context.Context, tx *database.Tx, ev *intake.Event) error {
	if !h.healed.Load() && strings.Contains(string(ev.Body), "fail") {
		return errors.New("platform unreachable")
	}
	return h.countingHandler.Handle(ctx, tx, ev)
}

// One event of a group that fails does not hold up the others: they are
// processed, it keeps its reason and gets a job of its own, which
// processes it once the cause is gone.
func TestFailedEventOfAGroupIsRetriedAlone(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		shopID := fixtures.Shop(t, db, "a").ID
		handler := &failingHandler{countingHandler: countingHandler{seen: map[int64]int{}}}
		q := newQueue(t, db, handler, false)
		// A group as concurrent deliveries make it, processed by the
		// worker itself.
		events := make([]*intake.Event, 5)
		for i := range events {
			body := fmt.Sprintf(`{"topic":"return","id":"%d"}`, i)
			if i == 2 {
				body = `{"topic":"return","id":"fail"}`
			}
			events[i] = &intake.Event{ShopID: shopID, Provider: intake.ProviderLoop, Topic: "return.updated", DeliveryID: body, Body: []byte(body), ReceivedAt: time.Now()}
		}
		ids, err := intake.NewStore(db).InsertMany(ctx, events)
		if err != nil {
			t.Fatal(err)
		}
		worker := &intake.ProcessWorker{DB: db, Queue: q, Handlers: map[intake.Provider]intake.Handler{intake.ProviderLoop: handler}}
		if err := worker.Work(ctx, &river.Job[intake.ProcessArgs]{Args: intake.ProcessArgs{ShopID: shopID, EventIDs: ids}}); err != nil {
			t.Fatalf("the group's job failed: %v", err)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL`); n != 4 {
			t.Fatalf("%d events processed, want the 4 that did not fail", n)
		}
		failed, err := intake.NewStore(db).Get(ctx, shopID, ids[2])
		if err != nil || failed.ProcessedAt != nil || !strings.Contains(failed.Error, "platform unreachable") {
			t.Fatalf("the failed event: %+v %v, want unprocessed with its reason", failed, err)
		}
		if named := processedBy(t, db); len(named) != 1 || named[ids[2]] != 1 {
			t.Fatalf("jobs name %v, want one job of the failed event %d", named, ids[2])
		}
		handler.healed.Store(true)
		jobstest.Work(t, q)
		jobstest.Eventually(t, "the failed event processed by its own job", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL AND error = ''`) == 5
		})
		for i, id := range ids {
			if calls := handler.calls()[id]; calls != 1 {
				t.Errorf("event %d (#%d) handled %d times, want once", id, i, calls)
			}
		}
	})
}

// slowHandler holds each event a moment, counting them, so that two
// workers given one event overlap.
type slowHandler struct{ countingHandler }

func (h *slowHandler) Handle(ctx context.Context, tx *database.Tx, ev *intake.Event) error {
	time.Sleep(50 * time.Millisecond)
	return h.countingHandler.Handle(ctx, tx, ev)
}

// Two jobs naming one event at once — a group's job and the event's own,
// or a job rescued while its first run goes on — process it once.
func TestOverlappingJobsProcessAnEventOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		shopID := fixtures.Shop(t, db, "a").ID
		handler := &slowHandler{countingHandler{seen: map[int64]int{}}}
		id, _, err := intake.NewStore(db).Insert(ctx, &intake.Event{ShopID: shopID, Provider: intake.ProviderLoop, Topic: "return.updated",
			DeliveryID: "d1", Body: []byte(`{}`), ReceivedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		worker := &intake.ProcessWorker{DB: db, Handlers: map[intake.Provider]intake.Handler{intake.ProviderLoop: handler}}
		var wg sync.WaitGroup
		for _, args := range []intake.ProcessArgs{{ShopID: shopID, EventID: id}, {ShopID: shopID, EventIDs: []int64{id}}} {
			wg.Go(func() {
				if err := worker.Work(ctx, &river.Job[intake.ProcessArgs]{Args: args}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if calls := handler.calls()[id]; calls != 1 {
			t.Fatalf("event handled %d times, want once", calls)
		}
	})
}

// refusingPrefetcher is a handler whose chunk reads always fail, as a
// database that refuses them would.
type refusingPrefetcher struct {
	countingHandler
	prefetches atomic.Int64
}

func (h *refusingPrefetcher) Prefetch(ctx context.Context, _ *database.Tx, _ []*intake.Event) (context.Context, error) {
	h.prefetches.Add(1)
	return ctx, errors.New("the database refuses the read")
}

// A group whose chunk fails before any of its events is reached (its
// claim or its prefetch) hands the error to the queue, which runs the
// group again after its backoff; it does not try the same chunk again at
// once, over and over.
func TestAGroupThatCannotStartIsRetriedLater(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		handler := &refusingPrefetcher{countingHandler: countingHandler{seen: map[int64]int{}}}
		in := intake.New(db, newQueue(t, db, handler, false), nil)
		shopID := fixtures.Shop(t, db, "a").ID
		var ids []int64
		for _, body := range []string{`{"topic":"return","id":"A"}`, `{"topic":"return","id":"B"}`} {
			r, err := in.Receive(ctx, delivery(shopID, body))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.EventID)
		}
		worker := &intake.ProcessWorker{DB: db, Handlers: map[intake.Provider]intake.Handler{intake.ProviderLoop: handler}}
		job := &river.Job[intake.ProcessArgs]{Args: intake.ProcessArgs{ShopID: shopID, EventIDs: ids}}
		if err := worker.Work(ctx, job); err == nil {
			t.Fatal("the group's job succeeded though no event could be processed")
		}
		if n := handler.prefetches.Load(); n != 1 {
			t.Errorf("the chunk was read %d times in one run of the job, want 1", n)
		}
	})
}
