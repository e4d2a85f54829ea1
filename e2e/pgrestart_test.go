package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	loopsandbox "github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

// privatePostgres is a PostgreSQL server of the test's own, which it may
// stop and start without touching the server other suites share.
type privatePostgres struct {
	t       *testing.T
	dir     string
	port    int
	pgCtl   string
	asOwner func(name string, args ...string) *exec.Cmd
}

// startPrivatePostgres runs initdb and starts the server on a free port.
// initdb and pg_ctl are looked up on PATH, in /usr/local/bin and in
// /usr/lib/postgresql/*/bin; without
// them the test skips, or fails in CI. As root, the server runs as the
// postgres user (PostgreSQL refuses root).
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if p := filepath.Join("/usr/local/bin", name); fileExists(p) {
			return p
		}
		// Debian and Ubuntu keep the server's programs off PATH.
		if ps, _ := filepath.Glob(filepath.Join("/usr/lib/postgresql/*/bin", name)); len(ps) > 0 {
			return ps[len(ps)-1]
		}
		return ""
	}
	initdb, pgCtl := find("initdb"), find("pg_ctl")
	if initdb == "" || pgCtl == "" {
		msg := "the PostgreSQL restart test needs initdb and pg_ctl (PostgreSQL's server binaries)"
		if os.Getenv("CI") == "true" {
			t.Fatal("required in CI: " + msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "hubdesk-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	asOwner := exec.Command
	if os.Geteuid() == 0 {
		owner, err := user.Lookup("postgres")
		if err != nil {
			msg := "running as root without a postgres user to run PostgreSQL as"
			if os.Getenv("CI") == "true" {
				t.Fatal("required in CI: " + msg)
			}
			t.Skip(msg)
		}
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		asOwner = func(name string, args ...string) *exec.Cmd {
			cmd := exec.Command(name, args...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
			return cmd
		}
	}
	pg := &privatePostgres{t: t, dir: filepath.Join(dir, "data"), pgCtl: pgCtl, asOwner: asOwner}
	addr := freeLoopbackAddr(t)
	pg.port, _ = strconv.Atoi(addr[strings.LastIndex(addr, ":")+1:])
	if out, err := asOwner(initdb, "-D", pg.dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	pg.ctl("start")
	t.Cleanup(func() { asOwner(pgCtl, "-D", pg.dir, "-m", "immediate", "-w", "stop").Run() })
	return pg
}

// ctl runs pg_ctl start or stop (fast: sessions are ended, as in a
// restart for an upgrade), waiting until it is done.
func (pg *privatePostgres) ctl(action string) {
	pg.t.Helper()
	args := []string{"-D", pg.dir, "-w", "-t", "60"}
	switch action {
	case "start":
		args = append(args, "-l", filepath.Join(filepath.Dir(pg.dir), "server.log"),
			"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", pg.port, filepath.Dir(pg.dir)))
	case "stop":
		args = append(args, "-m", "fast")
	}
	if out, err := pg.asOwner(pg.pgCtl, append(args, action)...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(filepath.Dir(pg.dir), "server.log"))
		pg.t.Fatalf("pg_ctl %s: %v\n%s\n%s", action, err, out, log)
	}
}

func (pg *privatePostgres) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestServeRidesOutAPostgreSQLRestart: `hubdesk serve` on a PostgreSQL
// that is restarted (pg_ctl stop -m fast, a pause, start — an upgrade or
// a failover) while API calls stream in. Meanwhile /readyz says 503, so a
// balancer holds traffic, /healthz stays up, calls fail fast with a 5xx
// rather than hang, and the process does not exit. Afterwards it recovers
// by itself: ready, answering, and its job queue working again — a Loop
// webhook that arrives after the restart is stored.
func TestServeRidesOutAPostgreSQLRestart(t *testing.T) {
	pg := startPrivatePostgres(t)
	sb := loopsandbox.New(loopsandbox.Options{NoSeed: true, WebhookBackoff: 200 * time.Millisecond})
	sbSrv := httptest.NewServer(sb)
	t.Cleanup(sbSrv.Close)
	t.Cleanup(sb.Close)
	sb.SetBaseURL(sbSrv.URL)
	addr := freeLoopbackAddr(t)
	env := []string{"HUBDESK_DATA_DIR=" + t.TempDir(), "HUBDESK_SECRET_KEY=" + strings.Repeat("5e", 32), "HUBDESK_LOG_LEVEL=info",
		"HUBDESK_DATABASE_URL=" + pg.url(), "HUBDESK_LOOP_BASE_URL=" + sbSrv.URL, "HUBDESK_BASE_URL=http://" + addr}
	const domain = "restart.myshopify.com"
	cli(t, env, "shop", "create", "--name", "Restart Rail", "--domain", domain, "--client-secret", "restart-client-secret")
	cli(t, env, "user", "create", "admin@restart.test", "--shop", domain, "--role", "admin", "--password", "restart password")
	token := strings.TrimSpace(cli(t, env, "user", "token", "admin@restart.test"))
	p := startServeAt(t, env, addr)
	p.log.Secret(token, "restart-client-secret", "restart password", loopsandbox.KeyFull, sb.WebhookSecret())
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(40 * time.Second):
			p.cmd.Process.Kill()
		}
	})

	client := &http.Client{Timeout: 20 * time.Second}
	call := func(method, path, body string) (int, error) {
		req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	status := func(path string) int {
		code, err := call(http.MethodGet, path, "")
		if err != nil {
			t.Errorf("GET %s: %v (the server must answer, not drop the connection)", path, err)
		}
		return code
	}
	if code, err := call(http.MethodPut, "/api/v1/settings/returns", fmt.Sprintf(`{"provider":"loop","loop_api_key":%q,
		"loop_webhook_secret":%q,"loop_portal_url":%q,"lookup_field":"zip"}`, loopsandbox.KeyFull, sb.WebhookSecret(), sbSrv.URL+"/portal/")); code != http.StatusOK {
		t.Fatalf("connect Loop: %d %v", code, err)
	}
	waitSubscribed(t, sb)

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
				switch code := status("/api/v1/customers"); {
				case code == http.StatusOK:
					ok.Add(1)
				case code >= 500:
					failed.Add(1)
					time.Sleep(20 * time.Millisecond)
				default:
					t.Errorf("GET /api/v1/customers around the restart: %d", code)
					return
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	waitUntil(t, "calls served before the restart", 30*time.Second, func() bool { return ok.Load() > 20 })

	pg.ctl("stop")
	waitUntil(t, "readyz reports the database gone", 30*time.Second, func() bool { return status("/readyz") == http.StatusServiceUnavailable })
	waitUntil(t, "calls fail with a 5xx while it is gone", 30*time.Second, func() bool { return failed.Load() > 0 })
	if code := status("/healthz"); code != http.StatusOK {
		t.Errorf("healthz while the database is down: %d (the process itself is alive)", code)
	}
	time.Sleep(2 * time.Second) // down a while: pools and listeners retry against nothing
	select {
	case err := <-exited:
		t.Fatalf("hubdesk serve exited while the database was down: %v", err)
	default:
	}
	pg.ctl("start")

	waitUntil(t, "readyz after the restart", 60*time.Second, func() bool { return status("/readyz") == http.StatusOK })
	before := ok.Load()
	waitUntil(t, "calls served again", 60*time.Second, func() bool { return ok.Load() > before+20 })

	// The job queue works again: a Loop return's webhook, stored by a job.
	sb.AddOrder(loopsandbox.Order{Name: "#9001", ProviderOrderID: 9001, Email: "rail@example.com", Zip: "10115",
		DeliveredAt: time.Now().Add(-48 * time.Hour), Items: []loopsandbox.Item{{Title: "Rail pass", SKU: "RP-1", Price: "20.00"}}})
	r, err := sb.CreateReturn(loopsandbox.ReturnSpec{ProviderOrderID: 9001})
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.OpenPostgres(t.Context(), pg.url())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	waitUntil(t, "the webhook after the restart stored by a job", 60*time.Second, func() bool {
		var n int
		err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM returns WHERE external_id = ?`, fmt.Sprint(r.ID)).Scan(&n)
		return err == nil && n == 1
	})
	t.Logf("served %d calls, %d failed while the database was down", ok.Load(), failed.Load())
}
