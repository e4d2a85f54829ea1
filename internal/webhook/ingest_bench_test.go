package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// benchReturnEvent is a Loop return.updated webhook for return id, slashes
// escaped as Loop sends them; each id is a distinct return, so every
// event is applied (none is a re-read signal).
func benchReturnEvent(id int64) string {
	s := strconv.FormatInt(id, 10)
	return `{"topic":"return","trigger":"return.updated","shop_id":9876,"id":` + s +
		`,"state":"open","created_at":"2026-11-02T10:00:00.000Z","edited_at":"2026-11-02T10:00:00.000Z","order_id":1,` +
		`"order_name":"#B` + s + `","provider_order_id":` + s + `,"status_page_url":"https:\/\/loop.example\/s\/` + s +
		`","line_items":[],"carrier":"N\/A","tracking_number":"N\/A","label_status":"N\/A"}`
}

// BenchmarkLoopIngestion posts signed Loop webhooks to POST
// /webhooks/loop/{shop} of the real server over HTTP from 32 senders at
// once, as a busy shop and Loop's retries would; every tenth delivery
// repeats an earlier one (a retry). Each is verified over its raw body,
// stored and its processing enqueued before the 200. The job queue is
// started once every delivery is acknowledged, so the two sides are
// measured apart: the backlog drain is how fast processing catches up.
// Reported:
//
//   - events/s: verified deliveries acknowledged per second, and
//     cpu-µs/event the CPU time this process (senders and server) spent
//     on each;
//   - processed/s: distinct events processed per second while the
//     backlog drains, and drain-cpu-µs/event the CPU time of each;
//   - on PostgreSQL, pg-cpu-µs/event and pg-drain-cpu-µs/event: the
//     server backends' CPU time of each, for either side;
//   - stmts/event and drain-stmts/event: hubdesk's own statements in
//     transactions (River's aside) for each, on either side — the figure
//     a busy machine does not blur at all.
//
// CPU time per event survives a machine shared with other work, where
// the rates do not: 2 cores sustain 2,000 events/s at up to 1,000 µs of
// CPU per event, all processes together.
//
// Afterwards none may be lost or doubled: the stored events are exactly
// the distinct deliveries, each processed, and each made its one return.
func BenchmarkLoopIngestion(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.Open(b, d)
			app := testapp.New(b, db)
			tn := app.NewTenant("a")
			if err := connection.NewStore(db, app.Box).Save(context.Background(), tn.Shop.ID,
				&connection.Connection{Provider: connection.ProviderLoopWebhook, Credentials: secret, Status: connection.StatusUnverified}, time.Now()); err != nil {
				b.Fatal(err)
			}
			seedHistory(b, app, tn.Shop.ID, historySize)
			url := app.URL + "/webhooks/loop/" + tn.Shop.Domain
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			pg := postgresBackends(b, db)
			var next, acked, refused atomic.Int64
			const senders = 32
			b.ResetTimer()
			cpu0, pg0, st0 := cpuTime(), pg.cpu(), db.TxStatements()
			start := time.Now()
			var wg sync.WaitGroup
			for range senders {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						id := 60000000 + i
						if i%10 == 0 && i > 20 {
							id -= 15 // a retry of an earlier delivery
						}
						body := benchReturnEvent(id)
						req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
						req.Header.Set(loop.SignatureHeader, loop.Sign([]byte(body), secret))
						resp, err := client.Do(req)
						if err != nil {
							refused.Add(1)
							continue
						}
						io.Copy(io.Discard, resp.Body) // read to the end, so the connection is reused
						resp.Body.Close()
						if resp.StatusCode == http.StatusOK {
							acked.Add(1)
						} else {
							refused.Add(1)
						}
					}
				})
			}
			wg.Wait()
			ackTime := time.Since(start)
			cpu1, pg1, st1 := cpuTime(), pg.cpu(), db.TxStatements()
			distinct := 0
			for i := int64(1); i <= int64(b.N); i++ {
				if !(i%10 == 0 && i > 20) {
					distinct++
				}
			}
			groups := count(b, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process'`)
			// The backlog drains: every distinct event processed.
			drainStart := time.Now()
			jobstest.Work(b, app.Server.Jobs)
			if os.Getenv("BENCH_PGNAME") != "" {
				os.WriteFile(os.Getenv("BENCH_PGNAME"), []byte(pg.name), 0o644)
			}
			deadline := time.Now().Add(3 * time.Minute)
			// Watched through the processing jobs left, a few hundred rows:
			// a count of the events would read every one updated since the
			// last vacuum, costing the drain more than the drain itself.
			for count(b, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process' AND state NOT IN ('completed', 'cancelled', 'discarded')`) > 0 &&
				time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			drainTime := time.Since(drainStart)
			cpu2, pg2, st2 := cpuTime(), pg.cpu(), db.TxStatements()
			b.StopTimer()
			perEvent := func(t time.Duration, n int64) float64 { return float64(t.Microseconds()) / float64(max(n, 1)) }
			b.ReportMetric(float64(acked.Load())/ackTime.Seconds(), "events/s")
			b.ReportMetric(perEvent(cpu1-cpu0, acked.Load()), "cpu-µs/event")
			b.ReportMetric(float64(distinct)/float64(max(groups, 1)), "events/job")
			b.ReportMetric(float64(distinct)/drainTime.Seconds(), "processed/s")
			b.ReportMetric(perEvent(cpu2-cpu1, int64(distinct)), "drain-cpu-µs/event")
			b.ReportMetric(float64(st1-st0)/float64(max(acked.Load(), 1)), "stmts/event")
			b.ReportMetric(float64(st2-st1)/float64(max(distinct, 1)), "drain-stmts/event")
			if d == database.Postgres {
				b.ReportMetric(perEvent(pg1-pg0, acked.Load()), "pg-cpu-µs/event")
				b.ReportMetric(perEvent(pg2-pg1, int64(distinct)), "pg-drain-cpu-µs/event")
			}
			if refused.Load() != 0 {
				b.Fatalf("%d deliveries refused", refused.Load())
			}
			stored := count(b, db, `SELECT COUNT(*) FROM webhook_events`) - historySize
			processed := count(b, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL AND error = ''`) - historySize
			made := count(b, db, `SELECT COUNT(*) FROM returns`) - historySize
			if stored != distinct || processed != distinct || made != distinct {
				b.Fatalf("%d distinct deliveries acknowledged: %d stored, %d processed, %d returns made", distinct, stored, processed, made)
			}
		})
	}
}

// historySize is how many processed events and returns the benchmark's
// shop has before it starts.
const historySize = 3000

// seedHistory gives the shop n returns and n processed webhook events, as
// a shop in use has, and has the planner's statistics gathered as
// autovacuum would have by then: on tables created empty a moment ago,
// PostgreSQL plans their lookups as scans of the whole shop, and every
// event costs more the more there are.
func seedHistory(t testing.TB, app *testapp.App, shopID int64, n int) {
	ctx := context.Background()
	at := time.Now().Add(-time.Hour) // within the retention: the purge keeps them
	events := make([]*intake.Event, 0, 256)
	flush := func() {
		if _, err := intake.NewStore(app.DB).InsertMany(ctx, events); err != nil {
			t.Fatal(err)
		}
		events = events[:0]
	}
	for i := range n {
		id := fmt.Sprintf("h%d", i)
		if _, err := app.Server.Returns.Upsert(ctx, shopID, returns.Return{Provider: returns.ProviderLoop, ExternalID: id,
			OrderExternalID: id, OrderName: "#H" + id, State: returns.StateClosed, CreatedAt: at, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
		events = append(events, &intake.Event{ShopID: shopID, Provider: intake.ProviderLoop, Topic: "return.closed",
			DeliveryID: "history-" + id, Body: []byte(`{}`), ReceivedAt: at})
		if len(events) == cap(events) {
			flush()
		}
	}
	if len(events) > 0 {
		flush()
	}
	if _, err := app.DB.Exec(ctx, `UPDATE webhook_events SET processed_at = received_at WHERE shop_id = ?`, shopID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pgBackends finds the PostgreSQL server processes serving one database
// (on this machine), to count their CPU time too.
type pgBackends struct{ name string }

func postgresBackends(t testing.TB, db *database.DB) pgBackends {
	if db.Dialect != database.Postgres {
		return pgBackends{}
	}
	var name string
	if err := db.QueryRow(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return pgBackends{name: name}
}

// cpu sums the CPU time of the backends serving the database now; one
// that ended in between is not counted, so the pools keep theirs open.
func (p pgBackends) cpu() time.Duration {
	if p.name == "" {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var ticks int64
	for _, c := range procs {
		cmd, err := os.ReadFile(c)
		if err != nil || !strings.Contains(string(cmd), " "+p.name+" ") {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(filepath.Dir(c), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: utime and stime are
		// the 14th and 15th of the line.
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + k
	}
	return time.Duration(ticks) * (time.Second / 100) // USER_HZ
}
