package httpkit

import "net/http"

// Gate admits a fixed number of requests at a time to the handler it
// wraps; the others wait their turn in the order they came, and one whose
// client goes away while waiting is dropped unanswered.
//
// Why: pages are database reads and CPU. Let every request in at once
// and they share the cores and the database's connections — which
// database/sql hands to a waiting request chosen at random, not the one
// that has waited longest — so a request's time depends on luck more than
// on the queue ahead of it: under load the median page is quick and the
// slowest hundredth takes several times as long. Through the gate,
// requests run a few at a time, each soon done, and the wait is a fair
// queue: the same throughput, with the slow tail cut.
type Gate struct{ slots chan struct{} }

// NewGate admits n requests at a time (at least one).
func NewGate(n int) *Gate { return &Gate{slots: make(chan struct{}, max(1, n))} }

// Wrap admits requests to next through the gate.
func (g *Gate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Goroutines blocked sending on a channel are woken in the order
		// they blocked: the wait is first come, first served.
		select {
		case g.slots <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		defer func() { <-g.slots }()
		next.ServeHTTP(w, r)
	})
}
