package apitest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/api/apitest"
)

// recorder collects what the validator reports instead of failing the
// test, so the test can assert that it does report.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Failed() bool { return len(r.errs) > 0 }
func (r *recorder) FailNow()     { runtime.Goexit() }

// run calls fn with a recorder in its own goroutine, so Fatalf can stop it.
func run(t *testing.T, fn func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r.errs
}

func TestValidatorReportsMismatches(t *testing.T) {
	v := apitest.NewValidator(t)
	for _, c := range []struct {
		name, method, path string
		status             int
		body, want         string
	}{
		{"valid error", "GET", "/api/v1/orders/{id}", 404, `{"error": {"code": "not_found", "message": "order not found"}}`, ""},
		{"undocumented status", "GET", "/api/v1/orders/{id}", 418, `{}`, "status 418 is not documented"},
		{"unknown operation", "DELETE", "/api/v1/orders/{id}", 200, `{}`, "not in the document"},
		{"wrong shape", "GET", "/api/v1/customers", 200, `{"items": [{"id": "1"}], "next_cursor": ""}`, "does not match"},
		{"unknown error code", "GET", "/api/v1/orders", 400, `{"error": {"code": "oops", "message": "x"}}`, "does not match"},
		{"not JSON", "GET", "/api/v1/orders", 500, `internal error`, "not JSON"},
	} {
		errs := run(t, func(tb testing.TB) { v.Validate(tb, c.method, c.path, c.status, []byte(c.body)) })
		got := strings.Join(errs, "\n")
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("%s: reported %q, want %q", c.name, got, c.want)
		}
	}
}

func TestValidatorRejectsBrokenDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"not 3.1":    `{"openapi": "3.0.3", "paths": {}}`,
		"broken ref": `{"openapi": "3.1.0", "paths": {"/x": {"get": {"responses": {"200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}}`,
		"no paths":   `{"openapi": "3.1.0"}`,
	} {
		if errs := run(t, func(tb testing.TB) { apitest.NewValidatorFor(tb, []byte(doc)) }); len(errs) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}
