// Package jobstest holds what tests of background work share: a job
// that fails until healed, a queue worked for the length of a test, and a
// wait for work to happen.
package jobstest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/jobs"
)

// Work starts working q; it is stopped when the test ends.
func Work(t testing.TB, q *jobs.Queue) {
	t.Helper()
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
}

// FailArgs is a job for a shop that fails until its worker is healed, as
// a job would while a platform is down.
type FailArgs struct {
	ShopID int64 `json:"shop_id"`
}

func (FailArgs) Kind() string  { return "test_fail" }
func (a FailArgs) Shop() int64 { return a.ShopID }

// FailWorker works FailArgs: an error naming the attempt until Healed.
type FailWorker struct {
	river.WorkerDefaults[FailArgs]
	Healed atomic.Bool
}

func (w *FailWorker) Work(ctx context.Context, job *river.Job[FailArgs]) error {
	if w.Healed.Load() {
		return nil
	}
	return fmt.Errorf("platform unreachable (attempt %d)", job.Attempt)
}

// Eventually polls cond until it holds, failing after a generous bound:
// it catches a hang, it does not measure speed.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
