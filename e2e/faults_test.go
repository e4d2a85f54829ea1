package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	loopsandbox "github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

// TestThreeProcessesThroughA429StormAndAKill: three `hubdesk serve`
// processes on one PostgreSQL behind a balancer, an agent's live stream
// open on the first. Loop answers every call 429 with a Retry-After for
// a while, as when another app spends the shop's key, just as it reports
// that processing 160 returns hubdesk has not stored yet failed — each a
// job that reads the return from Loop; one process is killed with
// SIGKILL while its jobs are in the middle of their calls. Then:
//
//   - every return ends stored once, in the state Loop reports and
//     marked stuck with Loop's message, and no
//     job is left undone or given up: the killed process's jobs are run
//     again by the others;
//   - the key's budget is the key's, not each process's: in no minute do
//     the processes together send Loop more than its 300 calls, though
//     the storm made them want more (three processes pacing themselves
//     alone would send up to 900);
//   - the agent's stream on the first process hears of every order whose
//     return changed, whichever process applied it.
//
// The jobs' timeout is 5 s here so that the killed process's jobs are
// rescued 65 s after they started (production: 5 minutes and 6).
//
// The processes start moments before Loop is connected, so each may
// still hold the shop as unconnected (the connections' cache) when the
// first refreshes run: they must ask again rather than end with nothing
// done.
func TestThreeProcessesThroughA429StormAndAKill(t *testing.T) {
	pgURL, sb, sbSrv, lb, lbSrv, env := newDeployment(t, "a7", "HUBDESK_LOG_LEVEL=info", "HUBDESK_JOB_TIMEOUT=5s")
	const domain = "storm.myshopify.com"
	const password = "storm password"
	cli(t, env, "shop", "create", "--name", "Storm Cellar", "--domain", domain, "--client-secret", "storm-client-secret")
	cli(t, env, "user", "create", "admin@storm.test", "--shop", domain, "--role", "admin", "--password", password)
	token := strings.TrimSpace(cli(t, env, "user", "token", "admin@storm.test"))
	var procs []served
	for range 3 {
		p := startServe(t, env)
		p.log.Secret(token, "storm-client-secret", password, loopsandbox.KeyFull, sb.WebhookSecret())
		t.Cleanup(func() {
			if p.cmd.ProcessState == nil {
				p.cmd.Process.Signal(syscall.SIGTERM)
				p.cmd.Wait()
			}
		})
		procs = append(procs, p)
		lb.add(t, p.base)
	}
	api := bearerAPI(t, lbSrv.URL, token)
	connectLoop(t, api, sb, sbSrv.URL)
	waitSubscribed(t, sb)

	const returns = 160
	delivered := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < returns; i += 8 {
				ext := int64(7001 + i)
				if code, body := api(http.MethodPut, "/api/v1/orders", fmt.Sprintf(`{"external_id":"%d","name":"#%d","currency":"USD",
					"total":"58.00","created_at":%q,"updated_at":%q,"customer":{"external_id":"c%d","email":"shopper%d@example.com"},
					"line_items":[{"title":"Linen shirt","variant_id":"1","quantity":1,"price":"58.00"}]}`,
					ext, ext, delivered.Add(-96*time.Hour).Format(time.RFC3339), delivered.Format(time.RFC3339), ext, ext)); code != http.StatusOK && code != http.StatusCreated {
					t.Errorf("order %d: %d %s", ext, code, body)
					return
				}
				sb.AddOrder(loopsandbox.Order{Name: fmt.Sprintf("#%d", ext), ProviderOrderID: ext, Email: fmt.Sprintf("shopper%d@example.com", ext),
					Zip: "10115", DeliveredAt: delivered, Items: []loopsandbox.Item{{Title: "Linen shirt", SKU: "LS-M", Price: "58.00"}}})
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	db, err := database.OpenPostgres(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	count := func(query string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	orderIDs := map[string]bool{}
	rows, err := db.Query(ctx, `SELECT id FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		orderIDs[strconv.FormatInt(id, 10)] = true
	}
	rows.Close()
	if len(orderIDs) != returns {
		t.Fatalf("%d orders stored, want %d", len(orderIDs), returns)
	}

	// The agent signs in through the balancer and opens the live stream
	// on the first process, which will be left standing.
	heard := listenForReturns(t, procs[0].base, lbSrv.URL, "admin@storm.test", password)

	// The storm, and the returns made in it.
	sb.SetFaults(loopsandbox.Faults{RateLimited: true, RetryAfter: time.Second, Latency: 300 * time.Millisecond})
	stormStart := time.Now()
	want := map[string]loop.State{}
	var mu sync.Mutex
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < returns; i += 8 {
				// Loop says processing a return failed before hubdesk
				// heard of the return: the return is read from Loop.
				r, err := sb.SeedReturn(loopsandbox.ReturnSpec{ProviderOrderID: int64(7001 + i)})
				if err == nil {
					_, err = sb.FailProcessing(r.ID, "Shopify refund failed")
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[fmt.Sprint(r.ID)] = r.State
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Kill the last process while its jobs are calling Loop (each call
	// takes 300 ms and a 429 is retried after a second, so a worker that
	// took a job is inside it).
	waitUntil(t, "jobs running during the storm", 30*time.Second, func() bool {
		return count(`SELECT COUNT(*) FROM river_job WHERE kind = 'loop_return_refresh' AND state = 'running'`) >= 10
	})
	lb.down(2)
	if err := procs[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	procs[2].cmd.Wait()
	killedAt := time.Now()
	// The jobs running at the kill: the live processes finish theirs; the
	// killed one's stay running until the leader rescues them as stuck
	// (the job timeout and a minute later) and they run again. The work is
	// done only when every one of them is.
	var runningIDs []string
	idRows, err := db.Query(ctx, `SELECT id FROM river_job WHERE state = 'running'`)
	if err != nil {
		t.Fatal(err)
	}
	for idRows.Next() {
		var id int64
		if err := idRows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		runningIDs = append(runningIDs, strconv.FormatInt(id, 10))
	}
	idRows.Close()
	runningAtKill := len(runningIDs)
	stillRunning := func() int {
		if len(runningIDs) == 0 {
			return 0
		}
		return count(`SELECT COUNT(*) FROM river_job WHERE state <> 'completed' AND id IN (` + strings.Join(runningIDs, ",") + `)`)
	}
	time.Sleep(time.Until(stormStart.Add(10 * time.Second)))
	sb.SetFaults(loopsandbox.Faults{})
	sb.WaitDeliveries()

	// Every return stored once, as Loop has it; every job done.
	deadline := time.Now().Add(180 * time.Second) // a guard against hanging, not a timing assertion
	for {
		got := map[string]loop.State{}
		rows, err := db.Query(ctx, `SELECT external_id, state FROM returns WHERE processing_error = 'Shopify refund failed'`)
		if err != nil {
			t.Fatal(err)
		}
		dup := ""
		for rows.Next() {
			var id string
			var st loop.State
			if err := rows.Scan(&id, &st); err != nil {
				t.Fatal(err)
			}
			if _, seen := got[id]; seen {
				dup = id
			}
			got[id] = st
		}
		rows.Close()
		if dup != "" {
			t.Fatalf("return %s stored twice", dup)
		}
		var wrong []string
		for id, st := range want {
			if got[id] != st {
				wrong = append(wrong, fmt.Sprintf("%s: %q, Loop says %q", id, got[id], st))
			}
		}
		undone := count(`SELECT COUNT(*) FROM river_job WHERE kind = 'loop_return_refresh' AND state <> 'completed'`) +
			count(`SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL`) + stillRunning()
		if len(wrong) == 0 && len(got) == len(want) && undone == 0 {
			break
		}
		if time.Now().After(deadline) {
			example := ""
			if len(wrong) > 0 {
				example = wrong[0]
			}
			t.Fatalf("%v after the kill: %d of %d returns as Loop has them (e.g. %s), %d jobs or deliveries undone",
				time.Since(killedAt).Round(time.Second), len(want)-len(wrong), len(want), example, undone)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n := count(`SELECT COUNT(*) FROM river_job WHERE state IN ('discarded', 'cancelled')`); n > 0 {
		t.Errorf("%d jobs were given up", n)
	}
	rescued := count(`SELECT COUNT(*) FROM river_job WHERE errors::text LIKE '%Stuck job rescued%'`)
	if rescued == 0 {
		t.Errorf("no job of the killed process was rescued (%d jobs running at the kill): was it killed mid-job?", runningAtKill)
	}
	if n := count(`SELECT COUNT(*) FROM webhook_events WHERE provider = 'loop'`); n < returns || n > len(sb.Deliveries()) {
		t.Errorf("%d Loop deliveries stored for %d returns and %d deliveries sent", n, returns, len(sb.Deliveries()))
	}

	// The key's budget across the processes: at most 300 calls in any
	// minute at Loop, though more were wanted.
	keyID := loop.KeyID(loopsandbox.KeyFull)
	var at []time.Time
	storm := 0
	for _, r := range sb.Requests() {
		if r.KeyID == keyID {
			at = append(at, r.At)
			if r.Status == http.StatusTooManyRequests {
				storm++
			}
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	busiest := 0
	for i, j := 0, 0; i < len(at); i++ {
		for j < len(at) && at[j].Sub(at[i]) < time.Minute {
			j++
		}
		busiest = max(busiest, j-i)
	}
	if busiest > loop.DefaultRateLimit {
		t.Errorf("%d calls to Loop within one minute with one key: the processes did not share its budget of %d", busiest, loop.DefaultRateLimit)
	}
	if len(at) <= loop.DefaultRateLimit {
		t.Errorf("only %d calls to Loop in all: the storm did not press on the budget, so it proves nothing", len(at))
	}

	// The agent on the first process heard of every order, whichever
	// process applied its return.
	waitUntil(t, "the live stream hears of every order", 30*time.Second, func() bool {
		return len(heard.missing(orderIDs)) == 0
	})
	workers := count(`SELECT COUNT(DISTINCT attempted_by[array_length(attempted_by, 1)]) FROM river_job WHERE kind = 'loop_return_refresh'`)
	t.Logf("%d calls to Loop (%d refused in the storm), at most %d in a minute; %d jobs running at the kill, %d rescued; refreshes finished by %d processes; all done %v after the kill",
		len(at), storm, busiest, runningAtKill, rescued, workers, time.Since(killedAt).Round(time.Second))
}

// returnsHeard is what a live stream said about orders' returns.
type returnsHeard struct {
	mu     sync.Mutex
	orders map[string]bool
}

func (h *returnsHeard) missing(want map[string]bool) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for id := range want {
		if !h.orders[id] {
			out = append(out, id)
		}
	}
	return out
}

// listenForReturns signs in (through signIn's URL) and keeps a live
// stream open on base for the rest of the test, collecting the order ids
// of its returns events.
func listenForReturns(t *testing.T, base, signIn, email, password string) *returnsHeard {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.PostForm(signIn+"/login", url.Values{"email": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The session cookie was set for the balancer's host; the process
	// has the same host (127.0.0.1), another port, which cookies ignore.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("live stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	h := &returnsHeard{orders: map[string]bool{}}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "returns":
				var d struct {
					Orders string `json:"orders"`
				}
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d) == nil {
					h.mu.Lock()
					for id := range strings.SplitSeq(d.Orders, ",") {
						h.orders[id] = true
					}
					h.mu.Unlock()
				}
			case line == "":
				event = ""
			}
		}
	}()
	return h
}

// waitUntil polls cond until it holds, failing the test after limit.
func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit) // a guard against hanging, not a timing assertion
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
