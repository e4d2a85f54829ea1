package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	loopsandbox "github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// newDeployment is what several `hubdesk serve` processes have around
// them: a fresh PostgreSQL database, a Loop sandbox and a round-robin
// balancer in front (its backends added as the processes start), and the
// environment every process shares — one secret key (keyHex repeated)
// and base URL — with extra settings.
func newDeployment(t *testing.T, keyHex string, extra ...string) (pgURL string, sb *loopsandbox.Sandbox, sbSrv *httptest.Server, lb *roundRobin, lbSrv *httptest.Server, env []string) {
	t.Helper()
	pgURL = dbtest.CreatePostgres(t)
	sb = loopsandbox.New(loopsandbox.Options{NoSeed: true, WebhookBackoff: 50 * time.Millisecond})
	sbSrv = httptest.NewServer(sb)
	t.Cleanup(sbSrv.Close)
	t.Cleanup(sb.Close)
	sb.SetBaseURL(sbSrv.URL)
	lb = &roundRobin{}
	lbSrv = httptest.NewServer(lb)
	t.Cleanup(lbSrv.Close)
	env = append([]string{"HUBDESK_DATA_DIR=" + t.TempDir(), "HUBDESK_SECRET_KEY=" + strings.Repeat(keyHex, 32),
		"HUBDESK_DATABASE_URL=" + pgURL, "HUBDESK_LOOP_BASE_URL=" + sbSrv.URL, "HUBDESK_BASE_URL=" + lbSrv.URL}, extra...)
	return pgURL, sb, sbSrv, lb, lbSrv, env
}

// bearerAPI calls the JSON API at base with token, answering the status
// and the body.
func bearerAPI(t *testing.T, base, token string) func(method, path, body string) (int, string) {
	return func(method, path, body string) (int, string) {
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
}

// connectLoop connects the shop to the Loop sandbox at sbURL with a key
// that registers the webhooks (they point at the deployment's public
// address).
func connectLoop(t *testing.T, api func(method, path, body string) (int, string), sb *loopsandbox.Sandbox, sbURL string) {
	t.Helper()
	if code, body := api(http.MethodPut, "/api/v1/settings/returns", fmt.Sprintf(`{"provider":"loop","loop_api_key":%q,
		"loop_webhook_secret":%q,"loop_portal_url":%q,"lookup_field":"zip"}`, loopsandbox.KeyFull, sb.WebhookSecret(), sbURL+"/portal/")); code != http.StatusOK {
		t.Fatalf("connect Loop: %d %s", code, body)
	}
}

// TestThreeProcessesOnOnePostgres runs a deployment as SPEC §8 describes
// it: three `hubdesk serve` processes on one PostgreSQL database behind a
// round-robin load balancer, Loop connected. Returns move in Loop; its
// signed webhooks land on whichever process the balancer picks, and the
// jobs that apply them run on whichever process takes them. Every return
// ends stored once, in the state Loop last reported; every delivery is
// stored once and processed.
func TestThreeProcessesOnOnePostgres(t *testing.T) {
	pgURL, sb, sbSrv, lb, lbSrv, env := newDeployment(t, "ef", "HUBDESK_LOG_LEVEL=warn")
	const domain = "three.myshopify.com"
	cli(t, env, "shop", "create", "--name", "Three Rivers", "--domain", domain, "--client-secret", "three-client-secret")
	cli(t, env, "user", "create", "admin@three.test", "--shop", domain, "--role", "admin", "--password", "three password")
	token := strings.TrimSpace(cli(t, env, "user", "token", "admin@three.test"))
	var bases []string
	for range 3 {
		p := startServe(t, env)
		p.log.Secret(token, "three-client-secret", "three password", loopsandbox.KeyFull, sb.WebhookSecret())
		t.Cleanup(func() { p.cmd.Process.Signal(syscall.SIGTERM); p.cmd.Wait() })
		lb.add(t, p.base)
		bases = append(bases, p.base)
	}
	api := bearerAPI(t, lbSrv.URL, token)

	// Loop connected with a key that registers the webhooks: they point
	// at the balancer, the deployment's public address.
	connectLoop(t, api, sb, sbSrv.URL)
	// Registering the webhooks is a job: returns made before it ran would
	// send no webhook at all (under load it once had not run when they
	// were made, and nothing was stored). Loop's webhooks exist first.
	waitSubscribed(t, sb)
	const orders = 30
	delivered := time.Now().UTC().Add(-72 * time.Hour).Truncate(time.Second)
	for i := range orders {
		ext := int64(5001 + i)
		if code, body := api(http.MethodPut, "/api/v1/orders", fmt.Sprintf(`{"external_id":"%d","name":"#%d","currency":"USD",
			"total":"58.00","created_at":%q,"updated_at":%q,"customer":{"external_id":"c%d","email":"shopper%d@example.com"},
			"line_items":[{"title":"Linen shirt","variant_id":"1","quantity":1,"price":"58.00"}]}`,
			ext, ext, delivered.Add(-96*time.Hour).Format(time.RFC3339), delivered.Format(time.RFC3339), ext, ext)); code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("order %d: %d %s", ext, code, body)
		}
		sb.AddOrder(loopsandbox.Order{Name: fmt.Sprintf("#%d", ext), ProviderOrderID: ext, Email: fmt.Sprintf("shopper%d@example.com", ext),
			Zip: "10115", DeliveredAt: delivered, Items: []loopsandbox.Item{{Title: "Linen shirt", SKU: "LS-M", Price: "58.00"}}})
	}
	// Each return is created and moved on twice in Loop, concurrently:
	// three webhooks per return, spread over the processes.
	want := map[string]loop.State{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range orders {
		wg.Go(func() {
			r, err := sb.CreateReturn(loopsandbox.ReturnSpec{ProviderOrderID: int64(5001 + i)})
			if err != nil {
				t.Error(err)
				return
			}
			for range 2 {
				if r, err = sb.AdvanceReturn(r.ID); err != nil {
					t.Error(err)
					return
				}
			}
			mu.Lock()
			want[fmt.Sprint(r.ID)] = r.State
			mu.Unlock()
		})
	}
	wg.Wait()
	sb.WaitDeliveries()

	db, err := database.OpenPostgres(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	count := func(query string) int {
		var n int
		if err := db.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(180 * time.Second) // a guard against hanging, not a timing assertion
	for count(`SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL`) > 0 || count(`SELECT COUNT(*) FROM returns`) < orders {
		if time.Now().After(deadline) {
			if d := sb.Deliveries(); len(d) > 0 {
				t.Logf("%d deliveries; last: %+v", len(d), d[len(d)-1])
			}
			t.Fatalf("after 180 s: %d returns stored, %d deliveries stored, %d unprocessed", count(`SELECT COUNT(*) FROM returns`),
				count(`SELECT COUNT(*) FROM webhook_events`), count(`SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NULL`))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for deadline := time.Now().Add(180 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		rows, err := db.Query(ctx, `SELECT external_id, state FROM returns`)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]loop.State{}
		for rows.Next() {
			var id string
			var st loop.State
			if err := rows.Scan(&id, &st); err != nil {
				t.Fatal(err)
			}
			if _, dup := got[id]; dup {
				t.Fatalf("return %s stored twice", id)
			}
			got[id] = st
		}
		rows.Close()
		var wrong []string
		for id, st := range want {
			if got[id] != st {
				wrong = append(wrong, fmt.Sprintf("%s: %q, Loop says %q", id, got[id], st))
			}
		}
		if len(wrong) == 0 && len(got) == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d returns stored (want %d); %d differ from Loop, e.g. %s", len(got), len(want), len(wrong), wrong[0])
		}
	}
	deliveries := len(sb.Deliveries())
	stored := count(`SELECT COUNT(*) FROM webhook_events WHERE provider = 'loop'`)
	if stored > deliveries || stored == 0 {
		t.Errorf("%d Loop deliveries stored for %d sent", stored, deliveries)
	}
	// Each process keeps a shopper's hub page, and the orders version it
	// was rendered from, until that version moves: an order stored
	// through one process shows on every process's page at once (the
	// others hear of the move through NOTIFY).
	hubPage := func(base string) string {
		t.Helper()
		q := shopify.SignedProxyQuery(url.Values{}, shopify.ProxyParams{Shop: domain, LoggedInCustomerID: "c5001",
			PathPrefix: "/apps/hub", Timestamp: time.Now()}, "three-client-secret")
		resp, err := http.Get(base + "/hub?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("hub orders tab on %s: %d %s", base, resp.StatusCode, body)
		}
		return string(body)
	}
	for _, base := range bases {
		for range 2 { // rendered, then kept
			if page := hubPage(base); !strings.Contains(page, "#5001") {
				t.Fatalf("the hub on %s does not show order #5001:\n%s", base, page)
			}
		}
	}
	if code, body := bearerAPI(t, bases[0], token)(http.MethodPut, "/api/v1/orders", fmt.Sprintf(`{"external_id":"5099","name":"#5099","currency":"USD",
		"total":"12.00","created_at":%q,"updated_at":%q,"customer":{"external_id":"c5001","email":"shopper5001@example.com"}}`,
		delivered.Format(time.RFC3339), delivered.Format(time.RFC3339))); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("order 5099: %d %s", code, body)
	}
	for i, base := range bases {
		deadline := time.Now().Add(5 * time.Second) // NOTIFY arrives within milliseconds; a guard, not a timing assertion
		for !strings.Contains(hubPage(base), "#5099") {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still shows the page without order #5099 stored through process 0", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	served := lb.served()
	for i, n := range served {
		if n == 0 {
			t.Errorf("process %d served no request: the balancer did not spread the load", i)
		}
	}
	t.Logf("%d returns applied from %d deliveries (%d stored) over processes serving %v requests", len(want), deliveries, stored, served)
}

// roundRobin is the load balancer in front of the processes: each request
// goes to the next one.
type roundRobin struct {
	mu       sync.Mutex
	backends []*httputil.ReverseProxy
	counts   []*atomic.Int64
	next     atomic.Int64
	dead     map[int]bool // taken out of the rotation (down)
}

func (lb *roundRobin) add(t *testing.T, base string) {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends = append(lb.backends, httputil.NewSingleHostReverseProxy(u))
	lb.counts = append(lb.counts, new(atomic.Int64))
}

func (lb *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lb.mu.Lock()
	n := len(lb.backends)
	i := -1
	for range n {
		if next := int(lb.next.Add(1)) % n; !lb.dead[next] {
			i = next
			break
		}
	}
	lb.mu.Unlock()
	if i < 0 {
		http.Error(w, "no backend", http.StatusBadGateway)
		return
	}
	lb.counts[i].Add(1)
	lb.backends[i].ServeHTTP(w, r)
}

// down takes backend i out of the rotation, as a balancer's health check
// does when a process dies.
func (lb *roundRobin) down(i int) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	if lb.dead == nil {
		lb.dead = map[int]bool{}
	}
	lb.dead[i] = true
}

func (lb *roundRobin) served() []int64 {
	out := make([]int64, len(lb.counts))
	for i, c := range lb.counts {
		out[i] = c.Load()
	}
	return out
}

// waitSubscribed waits until one of the processes has registered every
// webhook topic hubdesk subscribes to with the Loop sandbox.
func waitSubscribed(t *testing.T, sb *loopsandbox.Sandbox) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second) // a guard against hanging, not a timing assertion
	for {
		made := 0
		for _, r := range sb.Requests() {
			if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/webhooks") && r.Status < 300 {
				made++
			}
		}
		if made >= len(loop.Subscriptions) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Loop's webhooks not registered within 120 s: %d of %d", made, len(loop.Subscriptions))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
