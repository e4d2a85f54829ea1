package loopsync_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

// Reconciliation walks Loop's list by updated_at from the watermark, page
// after page and in windows of at most 120 days, asks for review and
// cancelled returns by state (Loop's default leaves them out), stores
// every return once and moves the watermark; the next run starts there.
func TestReconcileAcrossPagesAndA121DayGap(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		e := newEnv(t, db, sandbox.Options{})
		e.connect(sandbox.KeyReturns)
		e.settled()
		now := time.Now().UTC()
		gapStart := now.Add(-121 * 24 * time.Hour)
		if err := e.app.Server.LoopSync.Store().SetWatermark(ctx, e.tn.Shop.ID, gapStart, now); err != nil {
			t.Fatal(err)
		}
		states := []loop.State{loop.StateOpen, loop.StateClosed, loop.StateReview, loop.StateCancelled, loop.StateExpired}
		const n = 230 // more than two pages of 100
		for i := range n {
			ext := int64(8000 + i)
			e.order(ext, "#"+strconv.FormatInt(ext, 10), now.Add(-200*24*time.Hour))
			// The first ones changed just after the watermark, 121 days
			// ago: only a first window reaches them.
			at := now.Add(-time.Duration(i) * time.Minute)
			if i < 5 {
				at = gapStart.Add(time.Duration(i+1) * time.Hour)
			}
			if _, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: ext, State: states[i%len(states)], CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		// One changed before the watermark is not read.
		e.order(9999, "#9999", now.Add(-300*24*time.Hour))
		old := now.Add(-130 * 24 * time.Hour)
		if _, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: 9999, CreatedAt: old, UpdatedAt: old}); err != nil {
			t.Fatal(err)
		}
		e.sb.ResetRequests()
		read, err := e.app.Server.LoopSync.Reconcile(ctx, e.tn.Shop.ID)
		if err != nil {
			t.Fatal(err)
		}
		if read != n {
			t.Fatalf("read %d returns, want %d", read, n)
		}
		if got := e.count(`SELECT COUNT(*) FROM returns WHERE shop_id = ? AND order_id IS NOT NULL`, e.tn.Shop.ID); got != n {
			t.Fatalf("%d returns stored and attached, want %d", got, n)
		}
		for _, st := range states {
			if got := e.count(`SELECT COUNT(*) FROM returns WHERE state = ?`, string(st)); got != n/len(states) {
				t.Errorf("%d %s returns stored, want %d", got, st, n/len(states))
			}
		}
		cursors, windows := 0, map[string]bool{}
		for _, r := range e.sb.Requests() {
			q, _ := url.ParseQuery(r.Query)
			if !strings.HasSuffix(r.Path, "/warehouse/return/list") || r.Status != 200 {
				t.Fatalf("request %s %s answered %d", r.Path, r.Query, r.Status)
			}
			if q.Get("filter") != "updated_at" || q.Get("paginate") != "true" {
				t.Fatalf("list asked without filter=updated_at&paginate=true: %s", r.Query)
			}
			from, _ := time.Parse(time.RFC3339, q.Get("from"))
			to, _ := time.Parse(time.RFC3339, q.Get("to"))
			if to.Sub(from) > loop.MaxListWindow {
				t.Fatalf("a window of %v", to.Sub(from))
			}
			windows[q.Get("from")] = true
			if q.Get("cursor") != "" {
				cursors++
			}
		}
		if len(windows) != 2 || cursors == 0 {
			t.Fatalf("%d windows, %d follow-up pages: want 2 windows and several pages", len(windows), cursors)
		}
		h, err := e.app.Server.LoopSync.Health(ctx, e.tn.Shop.ID)
		if err != nil || h.Watermark == nil || h.Watermark.Before(now.Add(-time.Minute)) || h.Failing() {
			t.Fatalf("after reconciling: %+v %v", h, err)
		}

		// The next run reads only what changed since.
		e.sb.ResetRequests()
		if read, err = e.app.Server.LoopSync.Reconcile(ctx, e.tn.Shop.ID); err != nil || read > 5 {
			t.Fatalf("second run read %d (%v), want only the last minutes' returns", read, err)
		}
	})
}

// Loop down, a 429 storm, a revoked key: the refresh fails fast, the
// stored returns keep their last known state, and the shop's health says
// what is wrong for the cards' notice; once Loop answers again it clears.
func TestRefreshSurvivesOutageRateLimitsAndRevokedKey(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		e := newEnv(t, db, sandbox.Options{RateLimit: 1000})
		order := e.order(7201, "#7201", time.Now().Add(-24*time.Hour))
		e.connect(sandbox.KeyFull)
		e.settled()
		info, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: 7201, State: loop.StateOpen})
		if err != nil {
			t.Fatal(err)
		}
		sync := e.app.Server.LoopSync
		if changed, err := sync.RefreshOrder(ctx, e.tn.Shop.ID, order.ID); err != nil || len(changed) != 1 {
			t.Fatalf("refresh: %v %v", changed, err)
		}
		known := e.stored(info.ID)
		check := func(what string, kind loop.Kind) {
			t.Helper()
			// A background job's success in the same millisecond as the
			// failure counts as Loop answering (Health.Failing); the next
			// failure, a few milliseconds on, is the last word.
			for attempt := 1; ; attempt++ {
				if _, err := sync.RefreshOrder(ctx, e.tn.Shop.ID, order.ID); !errors.Is(err, kindErr(kind)) {
					t.Fatalf("%s: refresh error %v, want %s", what, err, kind)
				}
				h, err := sync.Health(ctx, e.tn.Shop.ID)
				if err == nil && h.Failing() && h.LastErrorKind == string(kind) {
					break
				}
				if attempt == 3 || err != nil || h.LastErrorAt == nil || h.LastOKAt == nil || !h.LastErrorAt.Equal(*h.LastOKAt) {
					t.Fatalf("%s: health %+v %v", what, h, err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if r := e.stored(info.ID); r == nil || r.State != known.State || r.SyncedAt.After(known.SyncedAt) {
				t.Fatalf("%s: the stored return changed: %+v", what, r)
			}
		}

		e.sb.SetFaults(sandbox.Faults{RateLimited: true})
		check("429 storm", loop.KindRateLimited)
		e.sb.SetFaults(sandbox.Faults{})
		if _, err := sync.RefreshOrder(ctx, e.tn.Shop.ID, order.ID); err != nil {
			t.Fatalf("after the storm: %v", err)
		}
		if h, _ := sync.Health(ctx, e.tn.Shop.ID); h.Failing() {
			t.Fatalf("health still failing once Loop answers: %+v", h)
		}
		known = e.stored(info.ID)

		e.sb.RemoveKey(sandbox.KeyFull)
		check("revoked key", loop.KindUnauthorized)

		// The outage comes last: it opens the key's circuit breaker (jobs
		// running meanwhile fail too), which then fails every call fast
		// for its cool-down, whatever Loop would say.
		e.sb.SetFaults(sandbox.Faults{Outage: true})
		check("outage", loop.KindUnavailable)
	})
}

func kindErr(k loop.Kind) error {
	switch k {
	case loop.KindUnavailable:
		return loop.ErrUnavailable
	case loop.KindRateLimited:
		return loop.ErrRateLimited
	case loop.KindUnauthorized:
		return loop.ErrUnauthorized
	}
	return nil
}

// TestJobsWaitAsLongAsLoopSays: in a 429 storm Loop answers Retry-After:
// 60. A job that met it runs again in a minute, as Loop asked — not a
// second later on the queue's own backoff, in every job at once — and,
// once Loop answers again, completes: nothing is dropped.
func TestJobsWaitAsLongAsLoopSays(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		e := newEnv(t, db, sandbox.Options{RateLimit: 1000})
		e.order(7301, "#7301", time.Now().Add(-48*time.Hour))
		e.connect(sandbox.KeyReturns) // no Developer Tools: the test delivers by hand
		e.settled()
		info, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: 7301, State: loop.StateOpen,
			CreatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(info.ID, 10)
		body := func(state, editedAt string) string {
			return `{"topic":"return","trigger":"return.updated","shop_id":9876,"id":` + id + `,"state":"` + state +
				`","created_at":"2026-11-02T10:00:00.000Z","edited_at":"` + editedAt + `","order_id":1,"order_name":"#7301",` +
				`"provider_order_id":7301,"status_page_url":"https:\/\/loop.example\/s","line_items":[],"carrier":"N\/A","tracking_number":"N\/A","label_status":"N\/A"}`
		}
		if code := e.post(body("open", "2026-11-03T10:00:00.000Z"), e.sb.WebhookSecret()); code != http.StatusOK {
			t.Fatalf("webhook: %d", code)
		}
		e.settled()

		// An event older than the stored return: the job asks Loop for
		// the return as it is now, in the storm.
		e.sb.SetFaults(sandbox.Faults{RateLimited: true})
		e.sb.ResetRequests()
		if code := e.post(body("review", "2026-11-03T09:00:00.000Z"), e.sb.WebhookSecret()); code != http.StatusOK {
			t.Fatalf("webhook: %d", code)
		}
		refused := func() int {
			n := 0
			for _, r := range e.sb.Requests() {
				if r.Status == http.StatusTooManyRequests {
					n++
				}
			}
			return n
		}
		e.eventually("the job meets the storm", func() bool { return refused() > 0 })
		met := time.Now()
		e.eventually("the job waits", func() bool {
			return e.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'loop_return_refresh' AND state = 'scheduled'`) == 1
		})
		var due time.Time
		if err := db.QueryRow(ctx, `SELECT scheduled_at FROM river_job WHERE kind = 'loop_return_refresh' AND state = 'scheduled'`).Scan(&due); err != nil {
			t.Fatal(err)
		}
		if wait := due.Sub(met); wait < 55*time.Second {
			t.Errorf("the job runs again %v after Loop asked for 60 s", wait.Round(time.Second))
		}
		time.Sleep(3 * time.Second) // River's backoff would have called again by now
		if n := refused(); n != 1 {
			t.Errorf("Loop was called %d times in the storm, want once", n)
		}

		// The storm ends; the minute passes (the test moves the job's
		// time rather than wait): the job completes.
		e.sb.SetFaults(sandbox.Faults{})
		if _, err := db.Exec(ctx, `UPDATE river_job SET scheduled_at = ? WHERE kind = 'loop_return_refresh' AND state = 'scheduled'`, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		e.settled()
		if r := e.stored(info.ID); r == nil || !r.SyncedAt.After(met) {
			t.Errorf("the return was not read again once Loop answered: %+v", r)
		}
	})
}
