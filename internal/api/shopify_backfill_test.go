package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/api/apitest"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/shopifysync"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// The backfill API against a Shopify sandbox: none yet, started (202),
// refused while running (409), followed to completed; every answer
// matches the OpenAPI document; managers are refused.
func TestShopifyBackfillAPI(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		sb := sandbox.New(sandbox.Options{AdminToken: "shpat_api", Orders: 300, BulkDir: t.TempDir()})
		srv := httptest.NewServer(sb)
		t.Cleanup(srv.Close)
		sb.SetBaseURL(srv.URL)
		client := shopify.New(shopify.Options{Shop: sb.Shop(), BaseURL: srv.URL, Tokens: shopify.StaticToken("shpat_api")})
		app := testapp.New(t, db, testapp.WithShopifyClients(shopifysync.StaticClients{Client: client}))
		jobstest.Work(t, app.Server.Jobs)
		tn := app.NewTenant("a")
		admin, manager := app.Token(tn.Admin), app.Token(tn.Manager)
		v := apitest.NewValidator(t)
		call := func(method, token string) (int, map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(method, app.URL+"/api/v1/shopify/backfill", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			v.ValidateResponse(t, method+" /api/v1/shopify/backfill", res, body)
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			return res.StatusCode, m
		}
		if st, m := call("GET", admin); st != 200 || m["status"] != "none" {
			t.Fatalf("before: %d %v", st, m)
		}
		if st, _ := call("POST", manager); st != 403 {
			t.Errorf("manager: %d", st)
		}
		if st, m := call("POST", admin); st != 202 || m["status"] != "starting" {
			t.Fatalf("start: %d %v", st, m)
		}
		if st, m := call("POST", admin); st != 409 && m["status"] != "completed" {
			t.Errorf("second start: %d %v", st, m)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, m := call("GET", admin)
			if st == 200 && m["status"] == "completed" {
				if m["rows_done"] != float64(300) || m["percent"] != float64(100) {
					t.Errorf("completed: %v", m)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("never completed: %v", m)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
