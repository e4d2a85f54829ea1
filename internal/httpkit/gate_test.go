package httpkit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/httpkit"
)

// The gate lets two requests in at a time and the waiting ones in the
// order they came; one whose client left while waiting never runs.
func TestGateAdmitsInTurn(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	inside, most := 0, 0
	h := httpkit.NewGate(2).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		inside++
		most = max(most, inside)
		mu.Unlock()
		<-release
		mu.Lock()
		inside--
		mu.Unlock()
	}))
	var wg sync.WaitGroup
	serve := func(ctx context.Context, path string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
		}()
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("not within 5s: %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	entered := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == n }
	}
	serve(context.Background(), "/1")
	serve(context.Background(), "/2")
	waitFor("two requests inside", entered(2))
	gone, leave := context.WithCancel(context.Background())
	// The waiting ones queue one by one, so their order is known.
	for _, path := range []string{"/3", "/gone", "/4", "/5"} {
		ctx := context.Background()
		if path == "/gone" {
			ctx = gone
		}
		serve(ctx, path)
		time.Sleep(20 * time.Millisecond)
	}
	leave()
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	if len(order) != 2 {
		t.Fatalf("%d requests inside a gate of 2: %v", len(order), order)
	}
	mu.Unlock()
	for range 5 {
		release <- struct{}{}
	}
	wg.Wait()
	want := []string{"/1", "/2", "/3", "/4", "/5"}
	if len(order) != len(want) || most != 2 {
		t.Fatalf("admitted %v (at most %d at once), want %v two at a time", order, most, want)
	}
	for i := 2; i < len(want); i++ {
		if order[i] != want[i] {
			t.Fatalf("admitted %v, want the waiting ones in the order they came: %v", order, want)
		}
	}
}
