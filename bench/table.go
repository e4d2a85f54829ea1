package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ticketViewRows runs the in-process benchmark of the ticket view with 20
// orders and Loop 150 ms away (internal/loopsync BenchmarkTicketView: a
// real HTTP server and the Loop sandbox in the test process) and reads its
// metrics: cold first paint and fresh sidebar, and the webhook-fed view.
func (h *harness) ticketViewRows(ctx context.Context) error {
	engines := strings.Join(h.cfg.engines, "|")
	seconds := max(1, int(h.cfg.rateFor.Seconds()/3))
	if err := <-h.loopsyncTest; err != nil {
		h.loopsyncTest = nil
		return err
	}
	h.loopsyncTest = nil
	cmd := exec.CommandContext(ctx, filepath.Join(h.dir, "loopsync.test"), "-test.run", "^$", "-test.bench", "^BenchmarkTicketView$/^("+engines+")$", "-test.benchtime", "3x")
	cmd.Dir = filepath.Join(h.cfg.moduleDir, "internal", "loopsync")
	cmd.Env = append(os.Environ(), "HUBDESK_TEST_POSTGRES_URL="+h.cfg.pgURL, "HUBDESK_BENCH_SECONDS="+strconv.Itoa(seconds))
	h.logf("go test -bench BenchmarkTicketView ./internal/loopsync")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go test -bench BenchmarkTicketView: %v\n%s", err, out)
	}
	found := 0
	for line := range strings.SplitSeq(string(out), "\n") {
		name, rest, ok := strings.Cut(line, " ")
		if !strings.HasPrefix(name, "BenchmarkTicketView/") || !ok {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(name, "BenchmarkTicketView/"), "/")
		if len(parts) < 2 {
			continue
		}
		engine, sub := parts[0], parts[1]
		if i := strings.LastIndex(sub, "-"); i > 0 {
			sub = sub[:i] // the GOMAXPROCS suffix
		}
		m := map[string]float64{}
		f := strings.Fields(rest)
		for i := 1; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		ms := func(k string) string { return strconv.FormatFloat(m[k], 'f', 1, 64) + " ms" }
		switch sub {
		case "cold":
			found++
			h.add(row{key: "ticket-view", what: "ticket view, 20 orders, Loop 150 ms: first paint (cold; mean / max of 3)", engine: engine,
				budget: "≤ 30 ms", p50: ms("first-paint-ms"), p99: ms("max-first-paint-ms") + " (max)", pass: verdict(m["max-first-paint-ms"] <= 30),
				note: "go test -bench BenchmarkTicketView ./internal/loopsync (in-process server)"})
			h.add(row{key: "ticket-view", what: "ticket view: fresh sidebar, cold (mean / max of 3)", engine: engine,
				budget: "≤ 400 ms", p50: ms("fresh-ms"), p99: ms("max-fresh-ms") + " (max)", pass: verdict(m["max-fresh-ms"] <= 400)})
		case "webhook-fed":
			found++
			h.add(row{key: "ticket-view", what: fmt.Sprintf("ticket view, webhook-fed, 100 opens/s for %d s", seconds), engine: engine,
				budget: "p99 ≤ 15 ms", p50: ms("p50-ms"), p99: ms("p99-ms"), throughput: rateString(m["req/s"], "opens/s"),
				pass: verdict(m["p99-ms"] <= 15), note: fmt.Sprintf("%.0f cpu-µs/open", m["cpu-µs/open"])})
		}
	}
	if found == 0 {
		return fmt.Errorf("go test -bench BenchmarkTicketView printed no results:\n%s", out)
	}
	return nil
}

// loadAverage is /proc/loadavg's first three figures.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func describeMachine(load0, load1 string, took time.Duration, cfg config) string {
	host, _ := os.Hostname()
	cpu := "?"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs (%s), %s; load average %s at the start, %s at the end; %s; %d orders, %d tickets, %d returns; wrk rows %s, fixed-rate rows %s",
		host, runtime.NumCPU(), cpu, runtime.Version(), load0, load1, took.Round(time.Second), cfg.orders, cfg.tickets, cfg.returns, cfg.duration, cfg.rateFor)
}

// printTable writes the rows as one Markdown table.
func printTable(w io.Writer, rows []row, machine string) {
	header := []string{"engine", "what", "budget", "p50", "p99", "throughput", "of floor", "result", "notes"}
	cells := [][]string{header}
	for _, r := range rows {
		result := ""
		if r.pass != nil {
			result = "pass"
			if !*r.pass {
				result = "FAIL"
			}
		}
		engine := r.engine
		if engine == "" {
			engine = "—"
		}
		cells = append(cells, []string{engine, r.what, r.budget, r.p50, r.p99, r.throughput, r.ofFloor, result, r.note})
	}
	width := make([]int, len(header))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range row {
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w, "hubdesk benchmarks (SPEC §9): "+machine)
	fmt.Fprintln(w)
	line(cells[0])
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, row := range cells[1:] {
		line(row)
	}
	fails := 0
	for _, r := range rows {
		if r.pass != nil && !*r.pass {
			fails++
		}
	}
	fmt.Fprintf(w, "\n%d rows with a budget, %d FAIL\n", countBudgets(rows), fails)
}

func countBudgets(rows []row) int {
	n := 0
	for _, r := range rows {
		if r.pass != nil {
			n++
		}
	}
	return n
}
