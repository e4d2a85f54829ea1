package loop_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// FuzzListCursor: whatever nextPageUrl Loop's list answers with, the next
// page is asked of the configured host and path, with the key — never of
// the host the URL names, which would hand it the key — and a URL that
// cannot be read is an error, not a panic or a loop.
func FuzzListCursor(f *testing.F) {
	f.Add("https://api.loopreturns.com/api/v1/warehouse/return/list?paginate=true&cursor=eyJpZCI6MTJ9&pageSize=50")
	f.Add("https://evil.example/steal?cursor=1&paginate=true")
	f.Add("//evil.example/api/v1/warehouse/return/list?cursor=2")
	f.Add("/warehouse/return/list?cursor=%zz")
	f.Add("http://[::1/?cursor=3")
	f.Add("?")
	f.Add("no query at all")
	f.Add("https://api.loopreturns.com/list?path=/../../admin&X-Authorization=other")

	const key = "fuzz-key-0123456789"
	var mu sync.Mutex
	var next string
	var wrong []string
	var asked int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		asked++
		if r.URL.Path != "/api/"+loop.DefaultAPIVersion+"/warehouse/return/list" || r.Header.Get("X-Authorization") != key {
			wrong = append(wrong, r.Method+" "+r.URL.String())
		}
		w.Header().Set("Content-Type", "application/json")
		u := next
		if r.URL.Query().Has("cursor") {
			u = "" // the second page is the last
		}
		json.NewEncoder(w).Encode(map[string]any{"returns": []any{}, "nextPageUrl": u})
	}))
	f.Cleanup(srv.Close)
	client := loop.New(loop.Options{BaseURL: srv.URL + "/api/v1", APIKey: key, RetryBaseDelay: time.Millisecond, RetryMaxDelay: time.Millisecond})

	f.Fuzz(func(t *testing.T, nextPageURL string) {
		mu.Lock()
		next, wrong, asked = nextPageURL, nil, 0
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		page, err := client.ListReturnsPage(ctx, loop.ListQuery{State: loop.StateOpen}, "")
		if err == nil && page.Cursor != "" {
			if strings.Contains(page.Cursor, "://") && !strings.Contains(nextPageURL, "?") {
				t.Fatalf("cursor %q is more than the query of %q", page.Cursor, nextPageURL)
			}
			_, err := client.ListReturnsPage(ctx, loop.ListQuery{State: loop.StateOpen}, page.Cursor)
			var le *loop.Error
			mu.Lock()
			reached := asked == 2
			mu.Unlock()
			if err != nil && !(errors.As(err, &le) && le.Kind == loop.KindInvalid) {
				t.Fatalf("cursor %q of %q: %v (a request sent somewhere else?)", page.Cursor, nextPageURL, err)
			}
			if err == nil && !reached {
				t.Fatalf("cursor %q of %q: the next page was not asked of the configured host", page.Cursor, nextPageURL)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(wrong) > 0 {
			t.Fatalf("nextPageUrl %q sent a request elsewhere: %v", nextPageURL, wrong)
		}
	})
}
