package loop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// listPages answers Loop's returns list in memory: the first page names
// next as its nextPageUrl, a page asked with a cursor is the last. It
// records every request it is sent.
type listPages struct {
	next string
	sent []*http.Request
}

func (l *listPages) RoundTrip(r *http.Request) (*http.Response, error) {
	l.sent = append(l.sent, r)
	next := l.next
	if r.URL.Query().Has("cursor") {
		next = ""
	}
	body, _ := json.Marshal(map[string]any{"returns": []any{}, "nextPageUrl": next})
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

// FuzzListCursor: whatever nextPageUrl Loop's list answers with, the next
// page is asked of the configured host and path with the key — never of
// the host the URL names, which would hand it the key — and a URL that
// cannot be read is an error, not a panic.
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
	pages := &listPages{}
	client := loop.New(loop.Options{BaseURL: "https://loop.test", APIKey: key, HTTPClient: &http.Client{Transport: pages},
		MaxAttempts: 1, BreakerThreshold: 1 << 30, Limiter: loop.NoLimit})
	f.Fuzz(func(t *testing.T, nextPageURL string) {
		pages.next, pages.sent = nextPageURL, nil
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		page, err := client.ListReturnsPage(ctx, loop.ListQuery{State: loop.StateOpen}, "")
		if err == nil && page.Cursor != "" {
			_, err := client.ListReturnsPage(ctx, loop.ListQuery{State: loop.StateOpen}, page.Cursor)
			var le *loop.Error
			if err != nil && !(errors.As(err, &le) && le.Kind == loop.KindInvalid) {
				t.Fatalf("cursor %q of %q: %v", page.Cursor, nextPageURL, err)
			}
			if err == nil && len(pages.sent) != 2 {
				t.Fatalf("cursor %q of %q: %d requests, want the second page's", page.Cursor, nextPageURL, len(pages.sent))
			}
		}
		for _, r := range pages.sent {
			if r.URL.Scheme != "https" || r.URL.Host != "loop.test" || r.URL.Path != "/api/"+loop.DefaultAPIVersion+"/warehouse/return/list" ||
				r.Header.Get("X-Authorization") != key {
				t.Fatalf("nextPageUrl %q sent a request to %s", nextPageURL, r.URL)
			}
		}
	})
}
