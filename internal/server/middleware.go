package server

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/user"
)

// middleware wraps the routes in what every request shares, outermost
// first: panic recovery, security headers, cross-origin protection for
// state-changing requests, the session lookup, then logging and metrics
// right around the mux so they can read the matched route pattern.
func (s *Server) middleware(mux *http.ServeMux) http.Handler {
	csrf := http.NewCrossOriginProtection()
	// Shoppers post the hub's forms from the storefront's origin through
	// Shopify's App Proxy, so to this check they look cross-origin. The
	// App Proxy signature (or the shopper token in the URL) authenticates
	// each of these requests instead, and the hub applies its own origin
	// rule (hub.postFromAllowedOrigin: hubdesk and the shop's storefront
	// domains) before one changes anything.
	csrf.AddInsecureBypassPattern("POST /hub/orders/{id}/return")
	csrf.AddInsecureBypassPattern("POST /hub/orders/{id}/contact")
	var h http.Handler = s.observe(mux)
	h = s.auth.LoadSession(h)
	h = csrf.Handler(h)
	h = securityHeaders(h)
	return s.recoverPanics(h)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) observe(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		mux.ServeHTTP(rec, r)
		elapsed := time.Since(start)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		s.metrics.Observe(r.Pattern, status, elapsed)
		lvl := logLevelFor(status)
		if s.logger.Enabled(r.Context(), lvl) {
			s.logger.Log(r.Context(), lvl, "request", "method", r.Method, "route", r.Pattern, "status", status,
				"duration_ms", float64(elapsed.Microseconds())/1000)
		}
	})
}

func logLevelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelDebug
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logger.Error("panic serving request", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// apiUser authenticates an API route by bearer token, and by nothing else:
// the desk's session cookie is dropped first, so a browser session plus
// any "Authorization: Bearer" string cannot pass for an API client.
func (s *Server) apiUser(h http.HandlerFunc) http.Handler {
	return s.apiRole(user.RoleAgent, h)
}

// apiRole is apiUser plus a minimum role; others get 403.
func (s *Server) apiRole(min user.Role, h http.HandlerFunc) http.Handler {
	checked := s.auth.LoadAPIToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := auth.UserFrom(r.Context())
		if u == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hubdesk"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "A valid API token is required (Authorization: Bearer hd_…).")
			return
		}
		if !u.Role.AtLeast(min) {
			writeAPIError(w, http.StatusForbidden, "forbidden", "This call needs the "+min.Label()+" role or above.")
			return
		}
		h(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		checked.ServeHTTP(w, r.WithContext(auth.WithUser(r.Context(), nil)))
	})
}

// apiFallback answers API requests no route took: 405 with an Allow header
// when the path exists for other methods, 404 otherwise — both in the
// API's JSON error envelope rather than the mux's plain text.
func (s *Server) apiFallback(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/api/" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeAPIError(w, http.StatusMethodNotAllowed, "method_not_allowed", "This endpoint takes "+strings.Join(allowed, ", ")+".")
		return
	}
	writeAPIError(w, http.StatusNotFound, "not_found", "No such API endpoint.")
}

func writeAPIError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(`{"error":{"code":"` + code + `","message":"` + message + `"}}` + "\n"))
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 only when the database answers and its schema is the
// one this binary expects, so a load balancer holds traffic during an upgrade.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if err := s.opts.DB.Ping(ctx); err != nil {
		s.logger.Warn("readyz: database unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable","reason":"database unreachable"}` + "\n"))
		return
	}
	current, err := s.opts.DB.CurrentVersion(ctx)
	if err != nil || current != s.opts.DB.LatestVersion() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable","reason":"database migrations are not current"}` + "\n"))
		return
	}
	w.Write([]byte(`{"status":"ready"}` + "\n"))
}
