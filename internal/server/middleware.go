package server

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/httpkit/statusrec"
	"github.com/hubdesk/hubdesk/internal/user"
)

// middleware wraps the routes in what every request shares, outermost
// first: panic recovery, security headers, cross-origin protection for
// state-changing requests, the session lookup, logging and metrics, then
// the refusal of text no database could store, right around the mux (it
// leaves the request in place, so logging still reads the matched route
// pattern).
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
	csrf.AddInsecureBypassPattern("POST /hub/guest")
	csrf.AddInsecureBypassPattern("POST /hub/guest/open")
	csrf.AddInsecureBypassPattern("POST /hub/guest/order/return")
	csrf.AddInsecureBypassPattern("POST /hub/guest/order/contact")
	var h http.Handler = s.observe(s.refuseUnstorableText(mux))
	h = s.auth.LoadSession(h)
	h = s.admitReads(h)
	h = csrf.Handler(h)
	h = securityHeaders(h)
	return s.recoverPanics(h)
}

// admitReads lets the reads a page is made of — GET and HEAD requests
// that read the database and answer at once — run a few at a time in
// arrival order (httpkit.Gate): as many as the database has connections
// for on PostgreSQL, where a request spends part of its time waiting for
// the server; twice the cores on SQLite, where it spends it all on them.
// Left out: the live event stream (open for as long as the agent is),
// attachment and export downloads (as slow as the client's connection), static
// files and health checks (no database), and Shopify's OAuth callback
// (waits for Shopify).
func (s *Server) admitReads(next http.Handler) http.Handler {
	n := 2 * runtime.GOMAXPROCS(0)
	if s.opts.DB.Dialect == database.Postgres {
		n = s.opts.DB.PoolSize()
	}
	gated := httpkit.NewGate(n).Wrap(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if admittedRead(r) {
			gated.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// admittedRead tells whether r goes through admitReads' gate.
func admittedRead(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	switch {
	case p == "/events", p == "/healthz", p == "/readyz",
		strings.HasPrefix(p, "/static/"), strings.HasPrefix(p, "/shopify/"),
		strings.Contains(p, "/attachments/"), strings.HasSuffix(p, "/export"):
		return false
	}
	return true
}

func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := statusrec.Wrap(w)
		next.ServeHTTP(rec, r)
		elapsed := time.Since(start)
		status := rec.Status()
		if status == 0 { // the handler returned without writing: net/http answers 200
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

// logLevelFor logs failures. A 503 is no failure but a deliberate "not
// now" (not ready yet, Loop unreachable, a shop whose secrets this process
// cannot open) whose handler logs its reason itself; an error line for
// each request would bury it.
func logLevelFor(status int) slog.Level {
	if status >= 500 && status != http.StatusServiceUnavailable {
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
		// Nothing is cached unless its handler says so (hashed static
		// assets, embed.js): pages and API answers hold shops' and
		// shoppers' data, which no shared cache may keep.
		h.Set("Cache-Control", "no-store")
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
// the desk's session cookie never counts. A failed token lookup is a 500,
// not a 401 that would tell the client its token is bad.
func (s *Server) apiUser(h http.HandlerFunc) http.Handler {
	return s.apiRole(user.RoleAgent, h)
}

// apiRole is apiUser plus a minimum role; others get 403.
func (s *Server) apiRole(min user.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := s.auth.APIUser(r)
		if err != nil {
			s.logger.ErrorContext(r.Context(), "api: token lookup failed", "error", err)
			httpkit.WriteError(w, httpkit.Internal())
			return
		}
		if u == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hubdesk"`)
			httpkit.WriteError(w, &httpkit.Error{Status: http.StatusUnauthorized, Code: httpkit.CodeUnauthorized,
				Message: "A valid API token is required (Authorization: Bearer hd_…)."})
			return
		}
		if !u.Role.AtLeast(min) {
			httpkit.WriteError(w, &httpkit.Error{Status: http.StatusForbidden, Code: httpkit.CodeForbidden,
				Message: "This call needs the " + min.Label() + " role or above."})
			return
		}
		// The token's user replaces any session's: a browser session plus
		// any "Authorization: Bearer" string cannot pass for an API client.
		h(w, r.WithContext(auth.WithUser(r.Context(), u)))
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
		httpkit.WriteError(w, &httpkit.Error{Status: http.StatusMethodNotAllowed, Code: httpkit.CodeMethodNotAllowed,
			Message: "This endpoint takes " + strings.Join(allowed, ", ") + "."})
		return
	}
	httpkit.WriteError(w, &httpkit.Error{Status: http.StatusNotFound, Code: httpkit.CodeNotFound, Message: "No such API endpoint."})
}

// maxFormBytes bounds a desk or hub form body: the largest, a contact
// message of hub.MaxContactRunes or the returns settings, fits with room
// to spare.
const maxFormBytes = 64 << 10

// refuseUnstorableText answers 400 before any handler runs when the path,
// a query parameter or a form field holds a NUL character or bytes that
// are not UTF-8 (database.StorableText): PostgreSQL would fail the query
// while SQLite stored them. Form bodies of the desk and the hub are parsed
// here with the standard library, so handlers read the checked values from
// r.PostForm (their own ParseForm finds the work done); the API's JSON
// bodies are checked by its decoder. The raw query stays untouched for the
// App Proxy signature.
func (s *Server) refuseUnstorableText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !database.StorableText(r.URL.Path) {
			s.refuseInput(w, r, http.StatusBadRequest, "", unstorableMessage("The address", ""))
			return
		}
		// Pairs that do not parse are skipped here as r.URL.Query skips
		// them for the handlers: they never reach a store either.
		query, _ := url.ParseQuery(r.URL.RawQuery)
		if name, ok := unstorableField(query); ok {
			s.refuseInput(w, r, http.StatusBadRequest, name, unstorableMessage("The query parameter", name))
			return
		}
		if isAPI(r) || !hasFormBody(r) {
			next.ServeHTTP(w, r)
			return
		}
		// A signed-in staff member's multipart form may carry a message's
		// files (attachment.ParseUploads reads them from the parsed form);
		// its text fields are held to the same bound as any other form's.
		// Nobody else gets to make the server spool megabytes to disk.
		limit, tooBigMessage := int64(maxFormBytes), "The form is larger than "+strconv.Itoa(maxFormBytes>>10)+" KiB."
		if isMultipart(r) && !isHub(r) && auth.UserFrom(r.Context()) != nil {
			limit, tooBigMessage = attachment.MaxRequestBytes, "The files are larger than "+strconv.Itoa(attachment.MaxMessageBytes>>20)+" MiB together."
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		var err error
		if isMultipart(r) {
			err = r.ParseMultipartForm(maxFormBytes)
			if err == nil && formTextBytes(r.MultipartForm.Value) > maxFormBytes {
				err = &http.MaxBytesError{Limit: maxFormBytes}
				tooBigMessage = "The form is larger than " + strconv.Itoa(maxFormBytes>>10) + " KiB."
			}
		} else {
			err = r.ParseForm()
		}
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.refuseInput(w, r, http.StatusRequestEntityTooLarge, "", tooBigMessage)
			return
		case err != nil:
			s.refuseInput(w, r, http.StatusBadRequest, "", "The form could not be read.")
			return
		}
		if name, ok := unstorableField(r.PostForm); ok {
			s.refuseInput(w, r, http.StatusBadRequest, name, unstorableMessage("The form field", name))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// formTextBytes is the size of a form's text fields, names and values.
func formTextBytes(values map[string][]string) int {
	n := 0
	for name, vs := range values {
		for _, v := range vs {
			n += len(name) + len(v)
		}
	}
	return n
}

func unstorableMessage(what, name string) string {
	if name != "" {
		what += " " + strconv.Quote(name)
	}
	return what + " holds a NUL character or bytes that are not UTF-8."
}

// unstorableField names the first parameter whose name or values cannot be
// stored; the name is "" when it is the name itself that is at fault.
func unstorableField(values url.Values) (string, bool) {
	for name, vs := range values {
		if !database.StorableText(name) {
			return "", true
		}
		for _, v := range vs {
			if !database.StorableText(v) {
				return name, true
			}
		}
	}
	return "", false
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func isHub(r *http.Request) bool {
	return r.URL.Path == "/hub" || strings.HasPrefix(r.URL.Path, "/hub/")
}

func hasFormBody(r *http.Request) bool {
	if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch {
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// refuseInput answers a refused request in its surface's own style: the
// API's JSON error envelope, the hub's page in the shopper's language, the
// desk's error page. field names the parameter at fault, if known.
func (s *Server) refuseInput(w http.ResponseWriter, r *http.Request, status int, field, message string) {
	switch {
	case isAPI(r):
		httpkit.WriteError(w, &httpkit.Error{Status: status, Code: httpkit.CodeInvalidRequest, Field: field, Message: message})
	case isHub(r):
		s.Hub.Refuse(w, r, status)
	default:
		s.desk.Error(w, r, status, message)
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// readyz answers 200 only when the database answers and its schema has
// every migration this binary needs, so a load balancer holds traffic
// during an upgrade. A schema ahead of the binary (a newer release already
// migrated it) stays ready: migrations are expand-then-contract.
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
	if err != nil || current < s.opts.DB.LatestVersion() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable","reason":"database migrations are not current"}` + "\n"))
		return
	}
	if err := s.opts.DB.WriteHealth(ctx); err != nil {
		s.logger.Warn("readyz: the database cannot store changes", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"unavailable","reason":"database cannot store changes (disk full or read-only)"}` + "\n"))
		return
	}
	w.Write([]byte(`{"status":"ready"}` + "\n"))
}
