package desk_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/server"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket/tickettest"
)

// inboxApp is a server over a shop of 10,000 tickets (× 5 messages), each
// about an order of one of 2,000 customers, and a signed-in agent, whose
// session cookie it returns too.
func inboxApp(tb testing.TB, d database.Dialect) (*testapp.App, *http.Client, string) {
	app, c, cookie, _ := helpdeskApp(tb, d)
	return app, c, cookie
}

// helpdeskApp is inboxApp with the shop's agent.
func helpdeskApp(tb testing.TB, d database.Dialect) (*testapp.App, *http.Client, string, *testapp.Tenant) {
	tb.Helper()
	if d == database.Postgres && os.Getenv("HUBDESK_TEST_POSTGRES_URL") == "" {
		tb.Skip("HUBDESK_TEST_POSTGRES_URL is not set")
	}
	app := testapp.New(tb, dbtest.Open(tb, d))
	tn := app.NewTenant("bench")
	now := time.Now()
	tickettest.Seed(tb, app.DB, tn.Shop.ID, []int64{tn.Agent.ID, tn.Manager.ID, tn.Admin.ID, tn.Owner.ID}, 10_000, now)
	tickettest.SeedCommerce(tb, app.DB, tn.Shop.ID, now)
	c := app.LoginAs(tn.Agent)
	u, _ := url.Parse(app.URL)
	cookie := ""
	for _, ck := range c.Jar.Cookies(u) {
		cookie += ck.Name + "=" + ck.Value + "; "
	}
	return app, c, cookie, tn
}

// inboxPaths are the inbox pages the benchmark and the load run ask for.
var inboxPaths = []string{"/tickets", "/tickets?sort=waiting", "/tickets?view=mine&status=open&sort=waiting", "/tickets?view=unassigned"}

// BenchmarkInboxPage is GET /tickets (the whole page: session, inbox
// page and navigation in one batch, notification badge, rendering) over
// 10,000 tickets, from two goroutines.
//
//	HUBDESK_TEST_POSTGRES_URL=… go test ./internal/desk -run '^$' -bench InboxPage
func BenchmarkInboxPage(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			app, c, _ := inboxApp(b, d)
			for _, path := range inboxPaths {
				b.Run(path, func(b *testing.B) {
					// CPU time per request (server and client, this
					// process) stays meaningful on a machine shared with
					// other work, where wall time does not.
					start, serverStart := cpuTime(), serverCPU(b, app.DB)
					defer func() {
						b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
						b.ReportMetric(float64((serverCPU(b, app.DB)-serverStart).Microseconds())/float64(b.N), "db-cpu-µs/op")
					}()
					b.SetParallelism(1)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							resp, err := c.Get(app.URL + path)
							if err != nil {
								b.Fatal(err)
							}
							io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != http.StatusOK {
								b.Fatalf("GET %s: %d", path, resp.StatusCode)
							}
						}
					})
				})
			}
		})
	}
}

// BenchmarkTicketPage is GET /tickets/{id} (session, ticket, messages,
// tags, staff, the customer's orders with their returns, the read marker
// written, rendering) over 10,000 tickets, cycling through them.
//
//	HUBDESK_TEST_POSTGRES_URL=… go test ./internal/desk -run '^$' -bench TicketPage -cpuprofile cpu.out
func BenchmarkTicketPage(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			app, c, _, tn := helpdeskApp(b, d)
			var first int64
			if err := app.DB.QueryRow(context.Background(), `SELECT MIN(id) FROM tickets WHERE shop_id = ?`, tn.Shop.ID).Scan(&first); err != nil {
				b.Fatal(err)
			}
			start, serverStart := cpuTime(), serverCPU(b, app.DB)
			defer func() {
				b.ReportMetric(float64((cpuTime()-start).Microseconds())/float64(b.N), "cpu-µs/op")
				b.ReportMetric(float64((serverCPU(b, app.DB)-serverStart).Microseconds())/float64(b.N), "db-cpu-µs/op")
			}()
			i := 0
			for b.Loop() {
				path := "/tickets/" + strconv.FormatInt(first+int64(i*7919%10_000), 10)
				i++
				resp, err := c.Get(app.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d", path, resp.StatusCode)
				}
			}
		})
	}
}

// serverCPU is the CPU time the PostgreSQL backends serving db's database
// have used (user and system), zero on SQLite, where the engine runs in
// this process and cpuTime counts it. A benchmark reports it beside its
// own CPU time: on PostgreSQL the database's work is part of each request.
func serverCPU(tb testing.TB, db *database.DB) time.Duration {
	var total time.Duration
	for _, used := range backendCPU(tb, db) {
		total += used
	}
	return total
}

// backendCPU is the CPU time each PostgreSQL backend serving db's database
// has used so far, by process id; nil on SQLite.
func backendCPU(tb testing.TB, db *database.DB) map[int]time.Duration {
	if db.Dialect != database.Postgres {
		return nil
	}
	rows, err := db.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	used := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			tb.Fatal(err)
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // not on this machine, or gone
		}
		// Fields 14 and 15 (utime, stime, in clock ticks) follow the
		// command name, which is parenthesised and may hold spaces.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		used[pid] = time.Duration(utime+stime) * (time.Second / 100) // USER_HZ
	}
	return used
}

// backendCPUSince is the CPU time db's PostgreSQL backends have used since
// the snapshot before: a backend the pool opened since counts whole, one
// it closed is lost (never a negative figure).
func backendCPUSince(tb testing.TB, db *database.DB, before map[int]time.Duration) time.Duration {
	var total time.Duration
	for pid, used := range backendCPU(tb, db) {
		total += used - before[pid]
	}
	return total
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadCase is one page the load run drives, with its SPEC §9 budget.
type loadCase struct {
	page    string
	minRate float64       // requests per second; 0: no throughput budget
	maxP99  time.Duration // latency budget
	path    string        // a fixed path, or
	lua     string        // a wrk script choosing each request
	bearer  bool          // sent with the agent's API token instead of the session cookie
}

// randomTicket asks for a random ticket of the shop's (ids first..last)
// on each request; every wrk thread draws its own sequence.
const randomTicket = `
local first, last = %d, %d
local threads = 0
function setup(thread) threads = threads + 1; thread:set("seed", threads) end
function init(args) math.randomseed(seed * 7919) end
function request() return wrk.format(nil, "/tickets/" .. math.random(first, last)) end
`

// randomSearch searches the API for one order number (#1000..#10999,
// written in one ticket's subject) on each request: a query that matches
// one ticket, so the search looks at every ticket of the shop.
const randomSearch = `
local threads = 0
function setup(thread) threads = threads + 1; thread:set("seed", threads) end
function init(args) math.randomseed(seed * 104729) end
function request() return wrk.format(nil, "/api/v1/tickets?q=%%23" .. math.random(1000, 10999)) end
`

// TestHelpdeskLoad drives the helpdesk's pages with wrk (-t2 -c16, or
// HUBDESK_LOAD_CONNECTIONS) for
// HUBDESK_LOAD_SECONDS (10 by default) each, HUBDESK_LOAD_RUNS times (2
// by default), on each engine, over a shop of 10,000 tickets × 5 messages
// linked to 2,000 customers' orders, and prints one table of throughput
// and latency percentiles against SPEC §9's budgets: the inbox (GET
// /tickets) ≥ 800 req/s with p99 ≤ 30 ms, the ticket view (GET
// /tickets/{id}, random ids; it also marks the ticket read) ≥ 850 opens/s
// with p99 ≤ 30 ms, search p99 ≤ 50 ms. The desk's inbox takes no ?q=
// yet, so search is measured where it is served: GET /api/v1/tickets?q=
// with the agent's API token. A budget missed fails the test. It runs
// only with HUBDESK_LOAD=1 and wrk installed:
//
//	HUBDESK_LOAD=1 HUBDESK_TEST_POSTGRES_URL=… go test ./internal/desk -run TestHelpdeskLoad -v
func TestHelpdeskLoad(t *testing.T) {
	if os.Getenv("HUBDESK_LOAD") != "1" {
		t.Skip("set HUBDESK_LOAD=1 to run the load test")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed")
	}
	seconds, runs := 10, 2
	if s, err := strconv.Atoi(os.Getenv("HUBDESK_LOAD_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	if s, err := strconv.Atoi(os.Getenv("HUBDESK_LOAD_RUNS")); err == nil && s > 0 {
		runs = s
	}
	// The budget names no concurrency; 16 connections is the issue's
	// setting. HUBDESK_LOAD_CONNECTIONS=8 tells whether the server
	// saturates: if it does, throughput at 8 is about that at 16.
	connections := 16
	if s, err := strconv.Atoi(os.Getenv("HUBDESK_LOAD_CONNECTIONS")); err == nil && s > 0 {
		connections = s
	}
	// The collector's settings `hubdesk serve` runs with: the server
	// serves from this process.
	server.TuneGC()
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tpage\trun\treq/s\tp50\tp99\tcpu-µs/req\tbudget\tresult\tload avg\t")
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			app, _, cookie, tn := helpdeskApp(t, d)
			var first, last int64
			if err := app.DB.QueryRow(context.Background(), `SELECT MIN(id), MAX(id) FROM tickets WHERE shop_id = ?`, tn.Shop.ID).Scan(&first, &last); err != nil {
				t.Fatal(err)
			}
			token := app.Token(tn.Agent)
			app.DB.WarmPool(context.Background()) // as `hubdesk serve` does when it starts
			cases := []loadCase{
				{page: "inbox GET /tickets", minRate: 800, maxP99: 30 * time.Millisecond, path: "/tickets"},
				{page: "ticket GET /tickets/{id}", minRate: 850, maxP99: 30 * time.Millisecond, lua: fmt.Sprintf(randomTicket, first, last)},
				{page: "search GET /api/v1/tickets?q=", maxP99: 50 * time.Millisecond, lua: randomSearch, bearer: true},
			}
			for _, c := range cases {
				args := []string{"-t2", fmt.Sprintf("-c%d", connections), fmt.Sprintf("-d%ds", seconds), "--latency"}
				if c.bearer {
					args = append(args, "-H", "Authorization: Bearer "+token)
				} else {
					args = append(args, "-H", "Cookie: "+cookie)
				}
				if c.lua != "" {
					script := filepath.Join(t.TempDir(), "script.lua")
					if err := os.WriteFile(script, []byte(c.lua), 0o600); err != nil {
						t.Fatal(err)
					}
					args = append(args, "-s", script)
				}
				args = append(args, app.URL+c.path)
				for run := 1; run <= runs; run++ {
					load := loadAverage()
					// CPU per request (this process's and the database
					// backends'): what a busy machine cannot move.
					cpuStart, dbStart := cpuTime(), backendCPU(t, app.DB)
					out, err := exec.Command(wrk, args...).CombinedOutput()
					cpu := cpuTime() - cpuStart + backendCPUSince(t, app.DB, dbStart)
					if err != nil {
						t.Fatalf("wrk: %v\n%s", err, out)
					}
					res, err := parseWrk(string(out))
					if err != nil {
						t.Fatalf("%s: %v\n%s", c.page, err, out)
					}
					t.Logf("%s %s run %d:\n%s", d, c.page, run, out)
					budget := fmt.Sprintf("p99 ≤ %v", c.maxP99)
					if c.minRate > 0 {
						budget = fmt.Sprintf("≥ %.0f/s, ", c.minRate) + budget
					}
					verdict := "pass"
					switch {
					case res.failed > 0:
						verdict = fmt.Sprintf("FAIL (%d errors)", res.failed)
					case res.rate < c.minRate || res.p99 > c.maxP99:
						verdict = "FAIL"
					}
					if verdict != "pass" {
						t.Errorf("%s %s run %d: %.0f req/s, p99 %v, %d errors: over the budget %s", d, c.page, run, res.rate, res.p99, res.failed, budget)
					}
					perRequest := float64(cpu.Microseconds()) / max(res.rate*float64(seconds), 1)
					fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%v\t%v\t%.0f\t%s\t%s\t%s\t\n", d, c.page, run, res.rate, res.p50, res.p99, perRequest, budget, verdict, load)
				}
			}
		})
	}
	tw.Flush()
	t.Logf("10,000 tickets × 5 messages, wrk -t2 -c%d -d%ds, %d CPUs:\n%s", connections, seconds, runtime.NumCPU(), table.String())
}

// wrkResult is what the load table reports of one wrk run.
type wrkResult struct {
	rate     float64
	p50, p99 time.Duration
	failed   int // socket errors and answers other than 2xx/3xx
}

var (
	wrkRate    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkPercent = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkErrors  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// parseWrk reads wrk --latency's report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	m := wrkRate.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's report")
	}
	r.rate, _ = strconv.ParseFloat(m[1], 64)
	for _, p := range wrkPercent.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[3]]
		dur := time.Duration(v * float64(unit)).Round(10 * time.Microsecond)
		if p[1] == "50" {
			r.p50 = dur
		} else {
			r.p99 = dur
		}
	}
	if r.p50 == 0 || r.p99 == 0 {
		return r, fmt.Errorf("no latency distribution in wrk's report")
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.failed += n
	}
	if m := wrkErrors.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.failed += n
		}
	}
	return r, nil
}

// loadAverage is the machine's 1-minute load average as it starts a run:
// other work on a shared machine moves the figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
