package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// TestSQLiteDiskFullWhileServing: the SQLite file cannot grow any more (a
// full disk, simulated with max_page_count on the one write connection)
// while agents keep working. Writes that need space answer a clear 503 —
// a JSON storage_unavailable on the API, a page saying so on the desk —
// and nothing panics; reads keep working; /readyz says the database
// cannot store changes. Once space returns, readiness and writes come back
// by themselves, no restart.
func TestSQLiteDiskFullWhileServing(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	app := testapp.New(t, db)
	// The job queue runs through the fault too: a panic in one of its
	// goroutines would end the test binary.
	jobstest.Work(t, app.Server.Jobs)
	tn := app.NewTenant("full")
	app.Order(tn, "1001", "ada@example.com")
	token := app.Token(tn.Agent)
	browser := app.LoginAs(tn.Agent)

	status, body, _ := app.Do(nil, http.MethodPost, "/api/v1/tickets", token, `{"subject":"Where is my parcel","customer_email":"ada@example.com","body":"Hi"}`)
	if status != http.StatusCreated {
		t.Fatalf("create a ticket: %d %s", status, body)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || created.ID == 0 {
		t.Fatalf("create a ticket: %s (%v)", body, err)
	}
	ticketPath := fmt.Sprintf("/api/v1/tickets/%d", created.ID)
	// A long message needs pages the file does not have yet.
	long := strings.Repeat("The parcel left the depot but never arrived. ", 400)
	note, _ := json.Marshal(map[string]string{"kind": "note", "body": long})
	postNote := func() (int, string) {
		status, body, _ := app.Do(nil, http.MethodPost, ticketPath+"/messages", token, string(note))
		return status, body
	}
	ready := func() (int, string) {
		status, body, _ := app.Do(nil, http.MethodGet, "/readyz", "", "")
		return status, body
	}
	if status, body := postNote(); status != http.StatusCreated {
		t.Fatalf("a note before the disk fills: %d %s", status, body)
	}

	// The disk fills: no free page left in the file, and it cannot grow.
	if _, err := db.Exec(ctx, `VACUUM`); err != nil {
		t.Fatal(err)
	}
	var pages int
	if err := db.QueryRow(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}

	status, body = postNote()
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `"storage_unavailable"`) {
		t.Fatalf("a note on a full disk: %d %s (want 503 storage_unavailable)", status, body)
	}
	if status, body := ready(); status != http.StatusServiceUnavailable || !strings.Contains(body, "cannot store changes") {
		t.Errorf("readyz on a full disk: %d %s", status, body)
	}
	// The desk's form says so in a page, not a bare error.
	resp, err := browser.PostForm(fmt.Sprintf("%s/tickets/%d/note", app.URL, created.ID), url.Values{"body": {long}})
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "cannot store changes") || !strings.Contains(page, "<html") {
		t.Errorf("desk note on a full disk: %d %.300s", resp.StatusCode, page)
	}

	// Agents keep working meanwhile: reads answer, writes that need space
	// are refused cleanly, nothing in between.
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range 4 {
		wg.Go(func() {
			for range 10 {
				for _, call := range []struct{ method, path, body string }{
					{http.MethodGet, ticketPath, ""},
					{http.MethodGet, ticketPath + "/messages", ""},
					{http.MethodGet, "/api/v1/customers", ""},
					{http.MethodPost, ticketPath + "/messages", string(note)},
				} {
					status, body, _ := app.Do(nil, call.method, call.path, token, call.body)
					key := fmt.Sprintf("%s %d", call.method, status)
					mu.Lock()
					seen[key]++
					mu.Unlock()
					switch {
					case call.method == http.MethodGet && status != http.StatusOK:
						t.Errorf("%s %s on a full disk: %d %.200s (reads must keep working)", call.method, call.path, status, body)
					case call.method != http.MethodGet && status != http.StatusServiceUnavailable && status != http.StatusCreated:
						t.Errorf("%s %s on a full disk: %d %.200s", call.method, call.path, status, body)
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("answers on a full disk: %v", seen)
	if seen["POST 503"] == 0 {
		t.Errorf("no write was refused on a full disk: %v", seen)
	}
	if status, desk := deskGet(t, browser, fmt.Sprintf("%s/tickets/%d", app.URL, created.ID)); status != http.StatusOK {
		t.Errorf("desk ticket page on a full disk: %d %.300s", status, desk)
	}

	// Space returns.
	if _, err := db.Exec(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if status, body := ready(); status != http.StatusOK {
		t.Errorf("readyz once space returned: %d %s", status, body)
	}
	if status, body := postNote(); status != http.StatusCreated {
		t.Errorf("a note once space returned: %d %s", status, body)
	}
	if app.Log != nil && strings.Contains(app.Log.String(), "panic") {
		t.Errorf("the server panicked:\n%s", app.Log.String())
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func deskGet(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, readAll(t, resp)
}
