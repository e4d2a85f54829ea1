package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	loopsandbox "github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

// TestThreeProcessesRideOutFaults: three `hubdesk serve` processes on one
// PostgreSQL behind a balancer, Loop connected, go through what SPEC §8
// promises a deployment survives:
//
//   - live updates reach an agent connected to any process: a note added
//     through one process shows on a stream held by another;
//   - a 429 storm (Loop answers Retry-After: 60 to every call): each job
//     that meets it waits as Loop asked instead of calling again a second
//     later, so the storm costs Loop one call per job, and the key's
//     budget across the processes stays within Loop's 300 a minute;
//   - one process killed (SIGKILL) while its jobs wait on a slow Loop: the
//     others take its jobs over and nothing is lost — every return Loop
//     was asked about is read again.
func TestThreeProcessesRideOutFaults(t *testing.T) {
	pgURL := dbtest.CreatePostgres(t)
	sb := loopsandbox.New(loopsandbox.Options{NoSeed: true, WebhookBackoff: 50 * time.Millisecond})
	sbSrv := httptest.NewServer(sb)
	t.Cleanup(sbSrv.Close)
	t.Cleanup(sb.Close)
	sb.SetBaseURL(sbSrv.URL)
	lb := &roundRobin{}
	lbSrv := httptest.NewServer(lb)
	t.Cleanup(lbSrv.Close)

	// A short job timeout, so a dead process's jobs are taken for stuck
	// a minute after it (jobs.RescueMargin) rather than six.
	env := []string{"HUBDESK_DATA_DIR=" + t.TempDir(), "HUBDESK_SECRET_KEY=" + strings.Repeat("ab", 32), "HUBDESK_LOG_LEVEL=warn",
		"HUBDESK_DATABASE_URL=" + pgURL, "HUBDESK_LOOP_BASE_URL=" + sbSrv.URL, "HUBDESK_BASE_URL=" + lbSrv.URL, "HUBDESK_JOB_TIMEOUT=10s"}
	const domain = "faults.myshopify.com"
	cli(t, env, "shop", "create", "--name", "Fault Lines", "--domain", domain, "--client-secret", "faults-client-secret")
	cli(t, env, "user", "create", "admin@faults.test", "--shop", domain, "--role", "admin", "--password", "faults password")
	token := strings.TrimSpace(cli(t, env, "user", "token", "admin@faults.test"))
	var procs []served
	for range 3 {
		p := startServe(t, env)
		t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGTERM); p.cmd.Wait() })
		lb.add(t, p.base)
		procs = append(procs, p)
	}
	call := func(base, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	db, err := database.OpenPostgres(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit) // a guard against hanging, not a timing assertion
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, limit)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// Live updates across processes: an agent's stream on process 0, a
	// note through process 1.
	t.Run("live updates reach any process", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.PostForm(procs[0].base+"/login", url.Values{"email": {"admin@faults.test"}, "password": {"faults password"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		code, body := call(procs[1].base, http.MethodPost, "/api/v1/tickets", `{"subject":"Parcel","customer_email":"ada@example.com","body":"Where is it?"}`)
		if code != http.StatusCreated {
			t.Fatalf("create a ticket: %d %s", code, body)
		}
		var created struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &created); err != nil || created.ID == 0 {
			t.Fatalf("ticket id in %s: %v", body, err)
		}
		ticketID := created.ID
		sctx, cancel := context.WithTimeout(ctx, 60*time.Second) // a guard against hanging
		defer cancel()
		req, _ := http.NewRequestWithContext(sctx, http.MethodGet, procs[0].base+"/events", nil)
		stream, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Body.Close()
		if stream.StatusCode != http.StatusOK {
			t.Fatalf("events: %d", stream.StatusCode)
		}
		lines := make(chan string, 64)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stream.Body)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		<-lines // retry: the stream is open
		if code, body := call(procs[1].base, http.MethodPost, fmt.Sprintf("/api/v1/tickets/%d/messages", ticketID), `{"kind":"note","body":"Checked with the carrier"}`); code != http.StatusCreated {
			t.Fatalf("note: %d %s", code, body)
		}
		want := fmt.Sprint(ticketID)
		for line := range lines {
			if strings.HasPrefix(line, "data:") && strings.Contains(line, want) {
				return
			}
		}
		t.Fatalf("the note made through process 1 never reached the stream on process 0 (%v)", sctx.Err())
	})

	// Loop connected; 20 returns, stored through their webhooks.
	if code, body := call(lbSrv.URL, http.MethodPut, "/api/v1/settings/returns", fmt.Sprintf(`{"provider":"loop","loop_api_key":%q,
		"loop_webhook_secret":%q,"loop_portal_url":%q,"lookup_field":"zip"}`, loopsandbox.KeyFull, sb.WebhookSecret(), sbSrv.URL+"/portal/")); code != http.StatusOK {
		t.Fatalf("connect Loop: %d %s", code, body)
	}
	waitSubscribed(t, sb)
	const orders = 20
	delivered := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	var ids []int64
	for i := range orders {
		ext := int64(6001 + i)
		if code, body := call(lbSrv.URL, http.MethodPut, "/api/v1/orders", fmt.Sprintf(`{"external_id":"%d","name":"#%d","currency":"USD",
			"total":"58.00","created_at":%q,"updated_at":%q,"customer":{"external_id":"c%d","email":"shopper%d@example.com"},
			"line_items":[{"title":"Linen shirt","variant_id":"1","quantity":1,"price":"58.00"}]}`,
			ext, ext, delivered.Add(-96*time.Hour).Format(time.RFC3339), delivered.Format(time.RFC3339), ext, ext)); code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("order %d: %d %s", ext, code, body)
		}
		sb.AddOrder(loopsandbox.Order{Name: fmt.Sprintf("#%d", ext), ProviderOrderID: ext, Email: fmt.Sprintf("shopper%d@example.com", ext),
			Zip: "10115", DeliveredAt: delivered, Items: []loopsandbox.Item{{Title: "Linen shirt", SKU: "LS-M", Price: "58.00"}}})
		r, err := sb.CreateReturn(loopsandbox.ReturnSpec{ProviderOrderID: ext})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	sb.WaitDeliveries()
	waitFor("returns stored from their webhooks", 180*time.Second, func() bool {
		return count(`SELECT COUNT(*) FROM returns`) == orders && count(`SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL`) == 0
	})
	idle := func() bool {
		return count(`SELECT COUNT(*) FROM river_job WHERE kind LIKE 'loop_%' AND state NOT IN ('completed', 'discarded', 'cancelled')`) == 0
	}
	waitFor("Loop jobs settled", 180*time.Second, idle)

	// staleEvents posts, for every return, a signed event older than what
	// is stored: each makes a job read the return from Loop again.
	staleEvents := func() {
		t.Helper()
		for i, id := range ids {
			ext := 6001 + i
			body := fmt.Sprintf(`{"topic":"return","trigger":"return.updated","shop_id":%d,"id":%d,"state":"open",`+
				`"created_at":"2001-01-01T00:00:00.000Z","edited_at":"2001-01-01T00:00:00.000Z","order_id":1,"order_name":"#%d",`+
				`"provider_order_id":%d,"status_page_url":"https:\/\/loop.example\/s","line_items":[],"carrier":"N\/A","tracking_number":"N\/A","label_status":"N\/A"}`,
				sb.ShopID(), id, ext, ext)
			req, _ := http.NewRequest(http.MethodPost, lbSrv.URL+"/webhooks/loop/"+domain, strings.NewReader(body))
			req.Header.Set(loop.SignatureHeader, loop.Sign([]byte(body), sb.WebhookSecret()))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("stale event for %d: %d", id, resp.StatusCode)
			}
		}
	}
	detailsCalls := func(since time.Time, status int) map[string]int {
		calls := map[string]int{}
		for _, r := range sb.Requests() {
			if strings.HasSuffix(r.Path, "/warehouse/return/details") && !r.At.Before(since) && (status == 0 || r.Status == status) {
				q, _ := url.ParseQuery(r.Query)
				calls[q.Get("return_id")]++
			}
		}
		return calls
	}

	// The 429 storm.
	sb.SetFaults(loopsandbox.Faults{RateLimited: true})
	stormFrom := time.Now()
	staleEvents()
	waitFor("every job meets the storm", 120*time.Second, func() bool { return len(detailsCalls(stormFrom, http.StatusTooManyRequests)) == orders })
	time.Sleep(5 * time.Second) // on the queue's own backoff they would call again after a second
	for id, n := range detailsCalls(stormFrom, 0) {
		if n > 1 {
			t.Errorf("return %s: Loop called %d times in a storm that asked for a minute's wait", id, n)
		}
	}

	// The storm ends; Loop is slow now. The jobs come back after Loop's
	// minute and wait on Loop; one process dies under them.
	sb.SetFaults(loopsandbox.Faults{Latency: 5 * time.Second})
	resumeFrom := time.Now()
	// Most jobs waiting on Loop at once: the victim surely holds some
	// (it misses all of twelve one time in a hundred; the log says).
	running := func() int {
		return count(`SELECT COUNT(*) FROM river_job WHERE kind = 'loop_return_refresh' AND state = 'running'`)
	}
	waitFor("jobs back after Loop's Retry-After", 150*time.Second, func() bool { return running() >= 12 })
	victim := procs[0]
	victim.cmd.Process.Signal(syscall.SIGKILL)
	victim.cmd.Wait()
	lb.down(0) // a balancer's health check would take it out
	killedAt := time.Now()
	time.Sleep(6 * time.Second) // the others' calls answer within Loop's 5 s
	orphans := running()
	sb.SetFaults(loopsandbox.Faults{})
	t.Logf("%d refresh jobs left running by the killed process", orphans)

	// Nothing lost: every return is read from Loop again after the storm,
	// every job ends, whichever process ran it.
	waitFor("every return read again and every job done", 240*time.Second, func() bool {
		return len(detailsCalls(resumeFrom, http.StatusOK)) == orders && idle()
	})
	if n := count(`SELECT COUNT(*) FROM returns WHERE synced_at < ?`, stormFrom.UnixMilli()); n != 0 {
		t.Errorf("%d returns not read again after the storm", n)
	}
	if orphans > 0 {
		t.Logf("the killed process's jobs were taken over %v after it died", time.Since(killedAt).Round(time.Second))
	}

	// The key's budget, across the processes: at most Loop's 300 calls
	// in any minute (storm refusals included: Loop counts what it is sent).
	var at []time.Time
	for _, r := range sb.Requests() {
		at = append(at, r.At)
	}
	for i := range at {
		j := i
		for j < len(at) && at[j].Sub(at[i]) < time.Minute {
			j++
		}
		if j-i > loop.DefaultRateLimit {
			t.Fatalf("%d calls to Loop within a minute from %v", j-i, at[i])
		}
	}
	t.Logf("%d calls to Loop in all; processes served %v", len(at), lb.served())
}

// down takes backend i out of the rotation.
func (lb *roundRobin) down(i int) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.dead == nil {
		lb.dead = map[int]bool{}
	}
	lb.dead[i] = true
}
