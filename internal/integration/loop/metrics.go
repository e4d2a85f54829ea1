package loop

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are labelled by endpoint (a fixed operation name, never a URL: URLs
// carry order names) and outcome (a Kind, or "ok"). No label ever holds the
// API key or its fingerprint, so the metric cardinality does not grow with the
// number of shops.
type metrics struct {
	calls    *prometheus.CounterVec   // one per client call, retries folded in
	duration *prometheus.HistogramVec // wall time of a call, waiting and retries included
	errors   *prometheus.CounterVec   // failed calls by kind
	attempts *prometheus.CounterVec   // every HTTP request sent, by status code class
	breaker  *prometheus.CounterVec   // circuit transitions
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hubdesk", Subsystem: "loop", Name: "calls_total",
			Help: "Loop API calls by endpoint and outcome (ok or error kind).",
		}, []string{"endpoint", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "hubdesk", Subsystem: "loop", Name: "call_duration_seconds",
			Help:    "Loop API call latency including rate-limit waits and retries.",
			Buckets: []float64{.025, .05, .1, .15, .2, .3, .5, 1, 2, 5, 10, 30},
		}, []string{"endpoint", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hubdesk", Subsystem: "loop", Name: "errors_total",
			Help: "Failed Loop API calls by endpoint and error kind.",
		}, []string{"endpoint", "kind"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hubdesk", Subsystem: "loop", Name: "http_requests_total",
			Help: "HTTP requests sent to Loop (retries included) by endpoint and status code; code 0 means no answer.",
		}, []string{"endpoint", "code"}),
		breaker: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "hubdesk", Subsystem: "loop", Name: "circuit_transitions_total",
			Help: "Circuit breaker transitions to the given state.",
		}, []string{"state"}),
	}
	if reg == nil {
		return m
	}
	m.calls = register(reg, m.calls)
	m.duration = register(reg, m.duration)
	m.errors = register(reg, m.errors)
	m.attempts = register(reg, m.attempts)
	m.breaker = register(reg, m.breaker)
	return m
}

// register adds c to reg, or returns the collector already registered under
// the same name, so that building a second client on the same registry (one
// per shop, or one per test) shares the series instead of failing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A conflicting definition under our name is a programming error in
		// this binary; keep working without exporting rather than crash.
	}
	return c
}

func (m *metrics) observeAttempt(endpoint string, status int) {
	m.attempts.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
}
