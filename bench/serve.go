package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the administrative connection that creates and drops the harness's databases

	loopsandbox "github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

// secretKey seals the seeded shop's secrets; every process of a run shares it.
var secretKey = strings.Repeat("5e", 32)

// harness is one run: the built binary, the Loop sandbox, the rows so far.
type harness struct {
	cfg     config
	dir     string
	tempDir bool
	bin     string
	pgAdmin *sql.DB
	dbs     []string // PostgreSQL databases to drop at the end
	prefix  string   // of the PostgreSQL databases' names

	loop      *loopsandbox.Sandbox
	loopSrv   *httptest.Server
	loopCalls atomic.Int64 // API calls the sandbox answered
	loopMu    sync.Mutex
	loopLog   []string // while recording: each API call's method, path, query and body
	recording bool

	rows []row

	loopsyncTest chan error // the ticket view's benchmark binary, built meanwhile
}

func newHarness(ctx context.Context, cfg config) (*harness, error) {
	h := &harness{cfg: cfg, dir: cfg.workDir, prefix: fmt.Sprintf("hubdesk_bench_%d", os.Getpid())}
	if h.dir == "" {
		dir, err := os.MkdirTemp("", "hubdesk-bench-")
		if err != nil {
			return nil, err
		}
		h.dir, h.tempDir = dir, true
	} else if err := os.MkdirAll(h.dir, 0o755); err != nil {
		return nil, err
	}
	h.bin = cfg.hubdesk
	if h.bin == "" {
		h.bin = filepath.Join(h.dir, "hubdesk")
		h.logf("building hubdesk")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", h.bin, "./cmd/hubdesk")
		cmd.Dir = cfg.moduleDir
		if out, err := cmd.CombinedOutput(); err != nil {
			h.close()
			return nil, fmt.Errorf("go build ./cmd/hubdesk: %v\n%s", err, out)
		}
	}
	if cfg.goBench && (cfg.rows == nil || cfg.rows.MatchString("ticket-view")) {
		// Built while the shops are seeded.
		h.loopsyncTest = make(chan error, 1)
		go func() {
			cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", filepath.Join(h.dir, "loopsync.test"), "./internal/loopsync")
			cmd.Dir = cfg.moduleDir
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("go test -c ./internal/loopsync: %v\n%s", err, out)
			}
			h.loopsyncTest <- err
		}()
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		h.close()
		return nil, errors.New("wrk is not installed (apt-get install wrk)")
	}
	if slices.Contains(cfg.engines, "postgres") {
		db, err := sql.Open("pgx", cfg.pgURL)
		if err == nil {
			err = db.PingContext(ctx)
		}
		if err != nil {
			h.close()
			return nil, fmt.Errorf("postgres %s: %w", redact(cfg.pgURL), err)
		}
		h.pgAdmin = db
	}
	// Loop, in this process: no seed data (the harness adds the shopper's
	// orders), no rate limit in the way of the load, 150 ms away once the
	// shop is set up.
	h.loop = loopsandbox.New(loopsandbox.Options{NoSeed: true, RateLimit: 1_000_000})
	h.loopSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			h.loopCalls.Add(1)
			h.loopMu.Lock()
			if h.recording {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				h.loopLog = append(h.loopLog, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+" "+string(body))
			}
			h.loopMu.Unlock()
		}
		h.loop.ServeHTTP(w, r)
	}))
	return h, nil
}

func (h *harness) close() {
	if h.loopSrv != nil {
		h.loopSrv.Close()
	}
	if h.loop != nil {
		h.loop.Close()
	}
	if h.pgAdmin != nil {
		for _, name := range h.dbs {
			h.dropDatabase(name)
		}
		h.pgAdmin.Close()
	}
	if h.loopsyncTest != nil {
		<-h.loopsyncTest // before its directory goes
		h.loopsyncTest = nil
	}
	if h.tempDir {
		os.RemoveAll(h.dir)
	}
}

func (h *harness) logf(format string, args ...any) {
	if h.cfg.verbose {
		fmt.Fprintf(h.cfg.log, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

func (h *harness) want(key string) bool { return h.cfg.rows == nil || h.cfg.rows.MatchString(key) }

// pgDatabaseURL is the administrative URL with another database.
func (h *harness) pgDatabaseURL(name string) string {
	u, err := url.Parse(h.cfg.pgURL)
	if err != nil {
		return ""
	}
	u.Path = "/" + name
	return u.String()
}

func (h *harness) createDatabase(ctx context.Context, name, template string) error {
	q := "CREATE DATABASE " + name
	if template != "" {
		q += " TEMPLATE " + template
	}
	if _, err := h.pgAdmin.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	h.dbs = append(h.dbs, name)
	return nil
}

func (h *harness) dropDatabase(name string) {
	h.pgAdmin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
}

// process is a running `hubdesk serve`.
type process struct {
	cmd           *exec.Cmd
	base, metrics string
	logPath       string
	errors        atomic.Int64 // ERROR lines logged, but for the two below
	answered5xx   atomic.Int64 // requests answered ≥ 500 (the request log's ERROR lines)
	canceled      atomic.Int64 // failures because the client went away (wrk stops with requests in flight)
}

// env is what every hubdesk command of one database gets.
func (h *harness) env(dataDir, databaseURL string) []string {
	return append(os.Environ(), "HUBDESK_DATA_DIR="+dataDir, "HUBDESK_DATABASE_URL="+databaseURL,
		"HUBDESK_SECRET_KEY="+secretKey, "HUBDESK_LOG_LEVEL=warn", "HUBDESK_LOG_FORMAT=json",
		"HUBDESK_LOOP_BASE_URL="+h.loopSrv.URL)
}

// command runs a hubdesk command and returns its standard output.
func (h *harness) command(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hubdesk %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// serve starts `hubdesk serve` and waits until it is ready.
func (h *harness) serve(ctx context.Context, env []string, logName string) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	metricsAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &process{base: "http://" + addr, metrics: "http://" + metricsAddr, logPath: filepath.Join(h.dir, logName)}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(h.bin, "serve", "--addr", addr, "--metrics-addr", metricsAddr)
	p.cmd.Env = append(env, "HUBDESK_BASE_URL="+p.base)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	p.cmd.Stdout = logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() {
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, `"level":"ERROR"`) {
				switch {
				case strings.Contains(line, `"msg":"request"`):
					p.answered5xx.Add(1)
				case strings.Contains(line, "context canceled"):
					p.canceled.Add(1)
				default:
					p.errors.Add(1)
				}
			}
			fmt.Fprintln(logFile, line)
		}
	}()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ctx.Err() != nil {
			p.stop()
			return nil, ctx.Err()
		}
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
	}
	p.stop()
	return nil, fmt.Errorf("hubdesk serve did not become ready (log: %s)", p.logPath)
}

// stop ends the process with SIGTERM (SIGKILL after 20 s).
func (p *process) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// status reads a field of /proc/PID/status in kB (VmHWM: peak RSS).
func (p *process) status(field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, p.cmd.Process.Pid)
}

// cpuTime is the process's user+system CPU time so far.
func (p *process) cpuTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

var passwordInURL = regexp.MustCompile(`//([^:/@]+):[^@]*@`)

func redact(u string) string { return passwordInURL.ReplaceAllString(u, "//$1:***@") }

// moduleRoot is the directory of go.mod, from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run bench from inside the hubdesk repository")
		}
		dir = parent
	}
}

// copyFile copies src to dst (the seeded SQLite file to a run's).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// recordLoop starts (or stops) keeping the Loop API calls; it returns
// those kept so far and forgets them.
func (h *harness) recordLoop(on bool) []string {
	h.loopMu.Lock()
	defer h.loopMu.Unlock()
	h.recording = on
	calls := h.loopLog
	h.loopLog = nil
	return calls
}
