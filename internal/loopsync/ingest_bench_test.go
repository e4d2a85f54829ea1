package loopsync_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

// BenchmarkWebhookIngestion posts signed Loop return webhooks over HTTP
// from 32 senders at once, as Loop's retries and a busy shop would: each
// is verified over its raw body, stored and its processing job enqueued
// before the 200. Reported: acknowledged events per second; afterwards
// every acknowledged event must be stored and processed (none lost).
func BenchmarkWebhookIngestion(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := dbtest.Open(b, d)
			e := newEnv(b, db, sandbox.Options{})
			e.connect(sandbox.KeyReturns)
			e.settled()
			url := e.app.URL + "/webhooks/loop/" + e.tn.Shop.Domain
			secret := e.sb.WebhookSecret()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var next, acked, refused atomic.Int64
			const senders = 32
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			var wg sync.WaitGroup
			for range senders {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						id := strconv.FormatInt(60000000+i, 10)
						body := `{"topic":"return","trigger":"return.updated","shop_id":9876,"id":` + id +
							`,"state":"open","created_at":"2026-11-02T10:00:00.000Z","edited_at":"2026-11-02T10:00:00.000Z","order_id":1,` +
							`"order_name":"#B` + id + `","provider_order_id":` + id + `,"status_page_url":"https:\/\/loop.example\/s\/` + id +
							`","line_items":[],"carrier":"N\/A","tracking_number":"N\/A","label_status":"N\/A"}`
						req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
						req.Header.Set(loop.SignatureHeader, loop.Sign([]byte(body), secret))
						resp, err := client.Do(req)
						if err != nil {
							refused.Add(1)
							continue
						}
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
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			b.ReportMetric(float64(acked.Load())/elapsed.Seconds(), "events/s")
			// The machine is shared: CPU time per event (this process:
			// senders, server and SQLite; PostgreSQL's own not counted)
			// says what a core would sustain whatever the load.
			b.ReportMetric(float64(cpu.Microseconds())/float64(max(acked.Load(), 1)), "cpu-µs/event")
			if refused.Load() != 0 {
				b.Fatalf("%d deliveries refused", refused.Load())
			}
			e.settled()
			stored := e.count(`SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL AND error = ''`)
			if int64(stored) != acked.Load() {
				b.Fatalf("%d events acknowledged, %d stored and processed", acked.Load(), stored)
			}
		})
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
