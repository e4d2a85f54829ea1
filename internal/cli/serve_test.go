package cli

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/demo"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// running is a serving command started in-process.
type running struct {
	stdout, stderr *lockedBuffer
	stop           context.CancelFunc
	exit           chan int
}

// start runs hubdesk ARGS in-process until the test stops it.
func start(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, stop: cancel, exit: make(chan int, 1)}
	go func() { r.exit <- runMain(ctx, args, r.stdout, r.stderr) }()
	t.Cleanup(func() { r.wait(t) })
	return r
}

// wait stops the command (as SIGTERM would) and returns its exit code.
func (r *running) wait(t *testing.T) int {
	t.Helper()
	r.stop()
	select {
	case code := <-r.exit:
		r.exit <- code // for a second wait
		return code
	case <-time.After(40 * time.Second):
		t.Fatalf("the command did not stop; stderr:\n%s", r.stderr.String())
		return -1
	}
}

// waitFor polls until fn succeeds, the command exits, or a minute passes.
func (r *running) waitFor(t *testing.T, what string, fn func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fn() {
			return
		}
		select {
		case code := <-r.exit:
			r.exit <- code
			t.Fatalf("exited %d before %s; stderr:\n%s", code, what, r.stderr.String())
		default:
		}
	}
	t.Fatalf("no %s within a minute; stderr:\n%s", what, r.stderr.String())
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func refusesConnections(t *testing.T, addr string) {
	t.Helper()
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections", addr)
	}
}

func TestServeAnswersMetricsOnlyOnTheMetricsAddress(t *testing.T) {
	isolate(t)
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	t.Setenv("HUBDESK_METRICS_ADDR", metricsAddr)
	srv := start(t, "serve", "--addr", addr)
	srv.waitFor(t, "readiness", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	if status, _, _ := get(t, "http://"+addr+"/metrics"); status != http.StatusNotFound {
		t.Errorf("the public listener answers /metrics with %d, want 404", status)
	}
	status, contentType, body := get(t, "http://"+metricsAddr+"/metrics")
	if status != http.StatusOK || !strings.HasPrefix(contentType, "text/plain") || !strings.Contains(body, `hubdesk_http_requests_total{code="200",route="GET /readyz"}`) {
		t.Errorf("metrics listener: %d %q\n%.1500s", status, contentType, body)
	}
	if code := srv.wait(t); code != 0 {
		t.Fatalf("serve exited %d on shutdown; stderr:\n%s", code, srv.stderr.String())
	}
	refusesConnections(t, addr)
	refusesConnections(t, metricsAddr)
}

func TestServeRefusesTheDemosDataDirectory(t *testing.T) {
	dir := isolate(t)
	if err := demo.ClaimDataDir(dir); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := run(t, "serve", "--addr", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errOut, "is the demo's") {
		t.Fatalf("exit %d, stderr %q; want exit 2 naming the demo's directory", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "hubdesk.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("serve opened the demo's database: %v", err)
	}
}

var metricsLine = regexp.MustCompile(`Metrics\s+(http://127\.0\.0\.1:\d+)/metrics`)

// The demo never writes where the environment points a production
// server, and keeps its metrics on loopback.
func TestDemoKeepsToItsOwnDataDirectory(t *testing.T) {
	prod := isolate(t)
	if code, _, errOut := run(t, "shop", "create", "--name", "Real Store", "--domain", "real.myshopify.com"); code != 0 {
		t.Fatalf("shop create: %s", errOut)
	}
	prodFiles := listDir(t, prod)
	t.Setenv("HUBDESK_DATABASE_URL", "postgres://nobody@127.0.0.1:1/production?sslmode=disable")
	t.Setenv("HUBDESK_METRICS_ADDR", "127.0.0.1:1")
	demoDir := filepath.Join(t.TempDir(), "demo")

	d := start(t, "demo", "--addr", "127.0.0.1:0", "--data", demoDir)
	d.waitFor(t, "the banner", func() bool { return strings.Contains(d.stdout.String(), "Press Ctrl+C") })
	banner := d.stdout.String()
	m := metricsLine.FindStringSubmatch(banner)
	desk := regexp.MustCompile(`Desk\s+(http://\S+)/login`).FindStringSubmatch(banner)
	if m == nil || desk == nil {
		t.Fatalf("the banner lacks the desk or the metrics address:\n%s", banner)
	}
	if status, _, _ := get(t, desk[1]+"/metrics"); status != http.StatusNotFound {
		t.Errorf("the demo's public listener answers /metrics with %d, want 404", status)
	}
	if status, _, body := get(t, m[1]+"/metrics"); status != http.StatusOK || !strings.Contains(body, "hubdesk_http_requests_total{code=\"404\"") {
		t.Errorf("demo metrics: %d %.500s", status, body)
	}
	if code := d.wait(t); code != 0 {
		t.Fatalf("demo exited %d; stderr:\n%s", code, d.stderr.String())
	}

	if got := listDir(t, prod); strings.Join(got, " ") != strings.Join(prodFiles, " ") {
		t.Errorf("the production directory changed: %v → %v", prodFiles, got)
	}
	if !demo.IsDataDir(demoDir) {
		t.Errorf("the demo's directory is not marked as the demo's")
	}
	db, err := database.Open(context.Background(), "", prod)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var shops int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM shops WHERE domain = ?`, demo.ShopDomain).Scan(&shops); err != nil || shops != 0 {
		t.Fatalf("the production database has %d demo shops (%v)", shops, err)
	}
	// The demo's own database has it, and a second run reuses the directory.
	d2 := start(t, "demo", "--addr", "127.0.0.1:0", "--data", demoDir)
	d2.waitFor(t, "the banner", func() bool { return strings.Contains(d2.stdout.String(), "Press Ctrl+C") })
	if code := d2.wait(t); code != 0 {
		t.Fatalf("second demo run exited %d; stderr:\n%s", code, d2.stderr.String())
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDemoRefusesADirectoryWithAnotherDatabase(t *testing.T) {
	isolate(t)
	prod := t.TempDir()
	if code, _, errOut := run(t, "migrate", "--data", prod); code != 0 {
		t.Fatalf("migrate: %s", errOut)
	}
	before := listDir(t, prod)
	code, _, errOut := run(t, "demo", "--addr", "127.0.0.1:0", "--data", prod)
	if code != 2 || !strings.Contains(errOut, "not the demo's") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q; want exit 2 and one line saying the directory is not the demo's", code, errOut)
	}
	if after := listDir(t, prod); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Fatalf("the refused directory changed: %v → %v", before, after)
	}
}

func TestDemoPublicAddressNeedsPublic(t *testing.T) {
	for _, c := range []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"127.0.0.1:8080", false, true},
		{"localhost:8080", false, true},
		{"[::1]:8080", false, true},
		{"0.0.0.0:8080", false, false},
		{":8080", false, false},
		{"192.0.2.10:8080", false, false},
		{"demo.example.com:8080", false, false},
		{"0.0.0.0:8080", true, true},
	} {
		if err := checkDemoAddr(c.addr, c.public); (err == nil) != c.ok {
			t.Errorf("checkDemoAddr(%q, public %v) = %v", c.addr, c.public, err)
		}
	}
}

// A server given another key than the one that sealed a shop's client
// secret starts, and says at start-up which shop it cannot serve and what
// it cannot read, never the value.
func TestServeWarnsOfSecretsSealedWithAnotherKey(t *testing.T) {
	isolate(t)
	t.Setenv("HUBDESK_SECRET_KEY", strings.Repeat("ab", 32))
	t.Setenv("HUBDESK_SHOPIFY_CLIENT_SECRET", "sealed-elsewhere")
	if code, _, errOut := run(t, "shop", "create", "--name", "Store", "--domain", "store.myshopify.com"); code != 0 {
		t.Fatalf("shop create: %s", errOut)
	}
	t.Setenv("HUBDESK_SECRET_KEY", "2:"+strings.Repeat("cd", 32))
	s := start(t, "serve", "--addr", "127.0.0.1:0", "--metrics-addr", "off")
	s.waitFor(t, "the serving line", func() bool { return strings.Contains(s.stderr.String(), "hubdesk serving") })
	logs := s.stderr.String()
	if !strings.Contains(logs, `"shop":"store.myshopify.com","unreadable":"Shopify client secret"`) || strings.Contains(logs, "sealed-elsewhere") {
		t.Fatalf("want a start-up warning naming the shop and its client secret, never the value:\n%s", logs)
	}
}

// The demo takes mail on its SMTP listener and prints where, with the demo
// shop's support address; mail sent there becomes a ticket the API lists.
func TestDemoTakesMailIn(t *testing.T) {
	isolate(t)
	d := start(t, "demo", "--addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0")
	d.waitFor(t, "the banner", func() bool { return strings.Contains(d.stdout.String(), "Press Ctrl+C") })
	banner := d.stdout.String()
	smtpLine := regexp.MustCompile(`SMTP in\s+(127\.0\.0\.1:\d+)\s+\(support address (\S+)\)`).FindStringSubmatch(banner)
	api := regexp.MustCompile(`Bearer (\S+)' (http://\S+)/api/v1/customers`).FindStringSubmatch(banner)
	if smtpLine == nil || api == nil || smtpLine[2] != "demo-shop@localhost" || !strings.Contains(banner, "swaks --server 127.0.0.1") {
		t.Fatalf("the banner lacks the SMTP address, the support address or how to mail a ticket in:\n%s", banner)
	}
	msg := "From: Ada <ada@example.com>\r\nTo: " + smtpLine[2] + "\r\nSubject: Mailed into the demo\r\n\r\nHello from the shopper.\r\n"
	if err := smtp.SendMail(smtpLine[1], nil, "ada@example.com", []string{smtpLine[2]}, []byte(msg)); err != nil {
		t.Fatalf("mail the demo: %v", err)
	}
	d.waitFor(t, "the ticket in the API", func() bool {
		req, _ := http.NewRequest("GET", api[2]+"/api/v1/tickets", nil)
		req.Header.Set("Authorization", "Bearer "+api[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), "Mailed into the demo")
	})
	if code := d.wait(t); code != 0 {
		t.Fatalf("demo exited %d; stderr:\n%s", code, d.stderr.String())
	}
}
