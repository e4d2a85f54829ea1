package server

import (
	"net/http"
	"net/http/pprof"
)

// operationsHandler is what the metrics listener serves: /metrics, and
// with Profiling Go's profiles too. It is never the public listener's:
// a profile shows memory, and memory holds secrets.
func (s *Server) operationsHandler() http.Handler {
	if !s.opts.Profiling {
		return s.metrics.Handler()
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.metrics.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
