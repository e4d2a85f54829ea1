package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// TestDatabaseOutageUnderLoad: PostgreSQL goes away while agents' API
// calls keep coming (the connection through a TCP proxy the test cuts, so
// the shared server never restarts under other suites) and comes back.
// Meanwhile the process keeps answering: /readyz says 503 so a load
// balancer holds traffic, requests fail with a 5xx rather than hang or
// crash, /healthz stays up. Once the database is back the service
// recovers by itself: ready again and answering, no restart.
func TestDatabaseOutageUnderLoad(t *testing.T) {
	target := dbtest.CreatePostgres(t)
	tu, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startCuttableProxy(t, tu.Host)
	through := *tu
	through.Host = proxy.addr()
	ctx := context.Background()
	db, err := database.OpenPostgres(ctx, through.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	app := testapp.New(t, db)
	tn := app.NewTenant("a")
	app.Order(tn, "1001", "ada@example.com")
	token := app.Token(tn.Agent)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("GET %s: %v (the server must answer, not drop the connection)", path, err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("/readyz"); got != http.StatusOK {
		t.Fatalf("readyz before the outage: %d", got)
	}

	// Four agents' worth of API calls for the whole test.
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				switch code := get("/api/v1/customers"); {
				case code == http.StatusOK:
					ok.Add(1)
				case code >= 500:
					failed.Add(1)
				default:
					t.Errorf("GET /api/v1/customers during the outage test: %d", code)
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	waitFor := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit) // a guard against hanging, not a timing assertion
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, limit)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("calls served before the outage", 30*time.Second, func() bool { return ok.Load() > 20 })

	proxy.cut()
	waitFor("readyz reports the outage", 30*time.Second, func() bool { return get("/readyz") == http.StatusServiceUnavailable })
	waitFor("calls fail with a 5xx during the outage", 30*time.Second, func() bool { return failed.Load() > 0 })
	if got := get("/healthz"); got != http.StatusOK {
		t.Errorf("healthz during the outage: %d (the process itself is alive)", got)
	}

	proxy.restore()
	waitFor("readyz after the database is back", 60*time.Second, func() bool { return get("/readyz") == http.StatusOK })
	before := ok.Load()
	waitFor("calls served again", 60*time.Second, func() bool { return ok.Load() > before+20 })
	t.Logf("served %d, failed %d during the outage", ok.Load(), failed.Load())
}

// cuttableProxy forwards TCP connections to a target until cut: then it
// drops every open connection and refuses new ones, as a database that
// went away does, until restored.
type cuttableProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func startCuttableProxy(t *testing.T, target string) *cuttableProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cuttableProxy) addr() string { return p.ln.Addr().String() }

func (p *cuttableProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

func (p *cuttableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *cuttableProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
