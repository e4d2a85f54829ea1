package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// retryAtOnce makes a failed attempt due again at once.
type retryAtOnce struct{}

func (retryAtOnce) NextRetry(*rivertype.JobRow) time.Time { return time.Now() }

// TestFailedJobsAreVisibleAndRetriedByHand: a job that keeps failing is
// retried, then dead; its shop's managers see it with its errors on the
// API and on the desk's jobs page (another shop sees nothing and cannot
// retry it), and a Retry runs it again.
func TestFailedJobsAreVisibleAndRetriedByHand(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		for _, name := range []string{"a-manager", "b-manager"} {
			if res := f.do(t, request{method: http.MethodGet, url: "/api/v1/jobs?state=dead", user: name}); res.status != 200 || fmt.Sprint(get(t, res.body, "items.#")) != "0" {
				t.Fatalf("%s before any job: %d %s", name, res.status, res.body)
			}
		}
		worker := &jobstest.FailWorker{}
		workers := river.NewWorkers()
		river.AddWorker(workers, worker)
		q, err := jobs.New(db, jobs.Options{Workers: workers, FetchCooldown: 5 * time.Millisecond, RetryPolicy: retryAtOnce{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		err = db.InTx(ctx, func(tx *database.Tx) error {
			_, err := q.Enqueue(ctx, tx, jobstest.FailArgs{ShopID: f.shopA}, &river.InsertOpts{MaxAttempts: 2})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		var dead response
		jobstest.Eventually(t, "the job to give up", func() bool {
			dead = f.do(t, request{method: http.MethodGet, url: "/api/v1/jobs?state=dead", user: "a-manager"})
			return fmt.Sprint(get(t, dead.body, "items.#")) == "1"
		})
		checkJSON(t, dead.body, map[string]string{"items.0.kind": "test_fail", "items.0.state": "dead", "items.0.attempt": "2",
			"items.0.errors.#": "2", "items.0.errors.1.error": "platform unreachable (attempt 2)"})
		id := fmt.Sprint(get(t, dead.body, "items.0.id"))
		if res := f.do(t, request{method: http.MethodGet, url: "/api/v1/jobs?state=dead", user: "b-manager"}); fmt.Sprint(get(t, res.body, "items.#")) != "0" {
			t.Errorf("shop B sees shop A's job: %s", res.body)
		}
		if res := f.do(t, request{method: http.MethodGet, url: "/api/v1/jobs?state=failed", user: "a-manager"}); res.status != 400 {
			t.Errorf("state=failed: %d, want 400", res.status)
		}

		pageA, pageB := f.app.LoginAs(f.tenants["a"].Manager), f.app.LoginAs(f.tenants["b"].Manager)
		if status, body, _ := f.app.Do(pageA, http.MethodGet, "/settings/jobs", "", ""); status != 200 ||
			!strings.Contains(body, "platform unreachable (attempt 2)") || !strings.Contains(body, "/settings/jobs/"+id+"/retry") {
			t.Errorf("shop A's jobs page: %d, want the dead job with its errors and a Retry button:\n%s", status, body)
		}
		if _, body, _ := f.app.Do(pageB, http.MethodGet, "/settings/jobs", "", ""); strings.Contains(body, "platform unreachable") {
			t.Errorf("shop B's jobs page shows shop A's job")
		}
		if status := postForm(t, f, pageB, "/settings/jobs/"+id+"/retry"); status != http.StatusNotFound {
			t.Errorf("shop B retrying shop A's job: %d, want 404", status)
		}
		if res := f.do(t, request{method: http.MethodGet, url: "/api/v1/jobs?state=dead", user: "a-manager"}); fmt.Sprint(get(t, res.body, "items.#")) != "1" {
			t.Fatalf("shop B's retry changed the job: %s", res.body)
		}

		worker.Healed.Store(true)
		if status := postForm(t, f, pageA, "/settings/jobs/"+id+"/retry"); status != http.StatusSeeOther {
			t.Fatalf("retry: %d, want 303", status)
		}
		jobstest.Eventually(t, "the retried job to be done", func() bool {
			res := f.do(t, request{method: http.MethodGet, url: "/api/v1/jobs?state=done", user: "a-manager"})
			return fmt.Sprint(get(t, res.body, "items.#")) == "1" && fmt.Sprint(get(t, res.body, "items.0.id")) == id
		})
	})
}

// postForm posts an empty desk form as the browser c and returns the
// status.
func postForm(t *testing.T, f *fixture, c *http.Client, path string) int {
	t.Helper()
	res, err := c.PostForm(f.app.URL+path, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}
