package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wrkResult is one wrk run.
type wrkResult struct {
	requests   int64
	perSecond  float64
	p50, p99   time.Duration
	non2xx     int64 // answers with a status ≥ 400 (wrk counts those)
	sockErrors int64
	serverCPU  time.Duration // CPU time of the served process during the run (0: not measured)
}

func (r wrkResult) failed() int64 { return r.non2xx + r.sockErrors }

// cpuPerRequest is the server's CPU time per request in µs, a figure that
// holds on a loaded machine.
func (r wrkResult) cpuPerRequest() float64 {
	if r.requests == 0 {
		return 0
	}
	return float64(r.serverCPU.Microseconds()) / float64(r.requests)
}

// wrk drives base with wrk for d: 2 threads, conns connections, cycling
// through paths, each request with the headers.
func (h *harness) wrk(ctx context.Context, p *process, base string, paths, headers []string, d time.Duration, conns int) (wrkResult, error) {
	var lua strings.Builder
	lua.WriteString("local paths = {")
	for i, path := range paths {
		if i > 0 {
			lua.WriteString(",")
		}
		lua.WriteString(strconv.Quote(path))
	}
	lua.WriteString(`}
local i = 0
function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
`)
	script := filepath.Join(h.dir, "paths.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o600); err != nil {
		return wrkResult{}, err
	}
	args := []string{"-t2", "-c" + strconv.Itoa(conns), "-d" + strconv.Itoa(max(1, int(d.Seconds()))) + "s", "--timeout", "5s", "-s", script}
	for _, hd := range headers {
		args = append(args, "-H", hd)
	}
	args = append(args, base)
	var cpu0 time.Duration
	if p != nil {
		cpu0 = p.cpuTime()
	}
	out, err := exec.CommandContext(ctx, "wrk", args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	var r wrkResult
	for line := range strings.SplitSeq(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "BENCH "); ok {
			var durUS, p50, p99 int64
			if _, err := fmt.Sscan(rest, &r.requests, &durUS, &p50, &p99, &r.non2xx, &r.sockErrors); err != nil {
				return r, fmt.Errorf("wrk's summary %q: %v", rest, err)
			}
			r.perSecond = float64(r.requests) / (float64(durUS) / 1e6)
			r.p50, r.p99 = time.Duration(p50)*time.Microsecond, time.Duration(p99)*time.Microsecond
			if p != nil {
				r.serverCPU = p.cpuTime() - cpu0
			}
			return r, nil
		}
	}
	return r, fmt.Errorf("wrk printed no summary:\n%s", out)
}

// floor starts the floor server on page and returns its base URL and a
// stop function.
func (h *harness) floor(ctx context.Context, page []byte) (string, *process, error) {
	bin := filepath.Join(h.dir, "floor")
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./bench/floor")
		cmd.Dir = h.cfg.moduleDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("go build ./bench/floor: %v\n%s", err, out)
		}
	}
	pagePath := filepath.Join(h.dir, "floor-page.html")
	if err := os.WriteFile(pagePath, page, 0o600); err != nil {
		return "", nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	p := &process{base: "http://" + addr, cmd: exec.Command(bin, "-addr", addr, "-page", pagePath)}
	if err := p.cmd.Start(); err != nil {
		return "", nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(p.base + "/"); err == nil {
			resp.Body.Close()
			return p.base, p, nil
		}
	}
	p.stop()
	return "", nil, fmt.Errorf("the floor server did not start")
}

// rateResult is a fixed-rate run: client latencies by route.
type rateResult struct {
	sent, failed int64
	firstFailure string
	latencies    map[string][]time.Duration
	took         time.Duration
}

// fixedRate sends rate requests per second for d, whatever the answers'
// pace (an open loop: a slow answer does not slow the sending), each
// request's URL from next(i); route(i) names its route for the figures.
func fixedRate(ctx context.Context, rate int, d time.Duration, next func(i int) string, route func(i int) string) rateResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	res := rateResult{latencies: map[string][]time.Duration{}}
	var mu sync.Mutex
	var failed atomic.Int64
	var firstFailure sync.Once
	fail := func(why string) {
		failed.Add(1)
		firstFailure.Do(func() { res.firstFailure = why })
	}
	var wg sync.WaitGroup
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	begin := time.Now()
	for i := range total {
		if ctx.Err() != nil {
			break
		}
		if wait := time.Until(begin.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		u, name := next(i), route(i)
		res.sent++
		wg.Go(func() {
			start := time.Now()
			resp, err := client.Get(u)
			if err != nil {
				fail(err.Error())
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if resp.StatusCode != http.StatusOK {
				fail(resp.Status)
				return
			}
			mu.Lock()
			res.latencies[name] = append(res.latencies[name], took)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.took = time.Since(begin)
	res.failed = failed.Load()
	return res
}

// percentile of sorted latencies.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// histogram is one route's request-duration histogram from hubdesk's
// /metrics (the server's own time, without the load generator's).
type histogram struct {
	count   int64
	buckets map[float64]int64 // upper bound → cumulative count
}

// within is the share of the requests counted between b and h that took
// at most bound seconds (bound must be one of the histogram's).
func (h histogram) within(b histogram, bound float64) float64 {
	n := h.count - b.count
	if n == 0 {
		return 0
	}
	return float64(h.buckets[bound]-b.buckets[bound]) / float64(n)
}

// quantile is the upper bound of the bucket holding quantile q of the
// requests counted between b and h.
func (h histogram) quantile(b histogram, q float64) time.Duration {
	n := h.count - b.count
	bounds := make([]float64, 0, len(h.buckets))
	for le := range h.buckets {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	for _, le := range bounds {
		if float64(h.buckets[le]-b.buckets[le]) >= q*float64(n) {
			return time.Duration(le * float64(time.Second))
		}
	}
	return -1
}

func scrapeDurations(metricsBase string) (map[string]histogram, error) {
	resp, err := http.Get(metricsBase + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]histogram{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "hubdesk_http_request_duration_seconds_") {
			continue
		}
		i := strings.Index(line, `route="`)
		if i < 0 {
			continue
		}
		route := line[i+7:]
		route = route[:strings.Index(route, `"`)]
		value, _ := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
		h := out[route]
		if h.buckets == nil {
			h.buckets = map[float64]int64{}
		}
		switch {
		case strings.HasPrefix(line, "hubdesk_http_request_duration_seconds_count"):
			h.count = int64(value)
		case strings.HasPrefix(line, "hubdesk_http_request_duration_seconds_bucket"):
			j := strings.Index(line, `le="`)
			le := line[j+4:]
			le = le[:strings.Index(le, `"`)]
			if bound, err := strconv.ParseFloat(le, 64); err == nil {
				h.buckets[bound] = int64(value)
			}
		}
		out[route] = h
	}
	return out, sc.Err()
}

// scrapeGauges reads the named unlabelled metrics from /metrics.
func scrapeGauges(metricsBase string, names ...string) (map[string]float64, error) {
	resp, err := http.Get(metricsBase + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if ok && slices.Contains(names, name) {
			if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
				out[name] = v
			}
		}
	}
	return out, sc.Err()
}
