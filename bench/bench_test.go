package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHarness runs the whole harness on a tiny shop for a second per row,
// on SQLite and PostgreSQL, so that it keeps working as the product
// changes: every SPEC §9 row is measured and printed, and the webhook row's
// count of stored events matches the deliveries. The budgets themselves
// are not judged here (the full run on a quiet machine does that).
func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("the harness builds and starts hubdesk")
	}
	engines := []string{"sqlite", "postgres"}
	pg := os.Getenv("HUBDESK_TEST_POSTGRES_URL")
	if pg == "" {
		required(t, "HUBDESK_TEST_POSTGRES_URL for the harness's PostgreSQL rows")
		engines = engines[:1]
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		required(t, "wrk (apt-get install wrk)")
		t.SkipNow()
	}
	var out bytes.Buffer
	cfg := config{engines: engines, pgURL: pg, orders: 300, tickets: 30, returns: 10, duration: time.Second, rate: 50,
		rateFor: time.Second, clicks: 2, out: &out, log: &out, workDir: t.TempDir()}
	rows, err := run(context.Background(), cfg)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"weight": 3}
	for _, e := range engines {
		for key, n := range map[string]int{"seed": 1, "floor": 1, "hub-sat": 2, "hub-rate": 2, "inbox": 1, "ticket": 1, "webhook": 1, "shopify": 1, "return": 2, "memory": 1} {
			want[e+" "+key] = n
		}
	}
	got := map[string]int{}
	for _, r := range rows {
		k := r.key
		if r.engine != "" {
			k = r.engine + " " + k
		}
		got[k]++
		if r.pass != nil && r.throughput == "" && r.p50 == "" {
			t.Errorf("%s %s: a budget without a figure", r.engine, r.what)
		}
		if (r.key == "webhook" || r.key == "shopify") && !strings.Contains(r.throughput, "lost 0, doubled 0") {
			t.Errorf("%s webhooks: %s (%s)", r.engine, r.throughput, r.note)
		}
		if strings.Contains(r.key, "hub-sat") && r.ofFloor == "" {
			t.Errorf("%s %s: no share of the floor", r.engine, r.what)
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%d rows %q, want %d", got[k], k, n)
		}
	}
	if !strings.Contains(out.String(), "| engine ") {
		t.Error("no table printed")
	}
}

// required skips on a developer's machine and fails in CI.
func required(t *testing.T, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal("required in CI: " + what)
	}
	t.Log("without " + what)
}
