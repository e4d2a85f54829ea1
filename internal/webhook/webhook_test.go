package webhook_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

const secret = "loop-webhook-secret"

// post delivers body to shop's Loop webhook route, signed as given.
func post(t *testing.T, app *testapp.App, domain, body, signature string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, app.URL+"/webhooks/loop/"+domain, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(loop.SignatureHeader, signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func count(t testing.TB, db *database.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// newApp serves a shop "a" whose Loop webhook secret is set, and works
// the job queue.
func newApp(t testing.TB, db *database.DB) (*testapp.App, *testapp.Tenant) {
	app := testapp.New(t, db)
	tn := app.NewTenant("a")
	err := connection.NewStore(db, app.Box).Save(context.Background(), tn.Shop.ID,
		&connection.Connection{Provider: connection.ProviderLoopWebhook, Credentials: secret, Status: connection.StatusUnverified}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	jobstest.Work(t, app.Server.Jobs)
	return app, tn
}

// Loop's body, slashes escaped as Loop sends them: the signature covers
// these exact bytes.
const returnUpdated = `{"topic":"return","trigger":"return.updated","shop_id":9876,"id":"77","status_page_url":"https:\/\/example.com\/r"}`

// A signed delivery is acknowledged once stored and then processed; Loop's
// retry of it is acknowledged too and adds nothing.
func TestLoopDeliveryIsStoredOnceAndProcessed(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newApp(t, db)
		for range 2 {
			if code := post(t, app, tn.Shop.Domain, returnUpdated, loop.Sign([]byte(returnUpdated), secret)); code != http.StatusOK {
				t.Fatalf("signed delivery: %d, want 200", code)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE provider = 'loop' AND topic = 'return.updated'`); n != 1 {
			t.Fatalf("%d events stored, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process'`); n != 1 {
			t.Fatalf("%d processing jobs, want 1", n)
		}
		jobstest.Eventually(t, "the event processed", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL`) == 1
		})
	})
}

// Nothing unverified is stored: a wrong or missing signature, a secret of
// another shop, an unknown shop or a shop without a secret are all 401.
// An oversized body is 413, a signed body that is not JSON 400.
func TestUnverifiedDeliveryStoresNothing(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newApp(t, db)
		other := app.NewTenant("b")
		signed := loop.Sign([]byte(returnUpdated), secret)
		cases := []struct {
			name, domain, body, signature string
			want                          int
		}{
			{"wrong signature", tn.Shop.Domain, returnUpdated, loop.Sign([]byte(returnUpdated), "guess"), http.StatusUnauthorized},
			{"signature of other bytes", tn.Shop.Domain, returnUpdated + " ", signed, http.StatusUnauthorized},
			{"no signature", tn.Shop.Domain, returnUpdated, "", http.StatusUnauthorized},
			{"shop without a secret", other.Shop.Domain, returnUpdated, signed, http.StatusUnauthorized},
			{"unknown shop", "nobody.myshopify.com", returnUpdated, signed, http.StatusUnauthorized},
			{"too large", tn.Shop.Domain, strings.Repeat(" ", loop.MaxWebhookBody+1), "", http.StatusRequestEntityTooLarge},
			{"not JSON", tn.Shop.Domain, "topic=return", loop.Sign([]byte("topic=return"), secret), http.StatusBadRequest},
		}
		for _, c := range cases {
			if code := post(t, app, c.domain, c.body, c.signature); code != c.want {
				t.Errorf("%s: %d, want %d", c.name, code, c.want)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM webhook_events`); n != 0 {
			t.Errorf("%d unverified events stored", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process'`); n != 0 {
			t.Errorf("%d jobs enqueued for unverified events", n)
		}
	})
}
