package loop

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// Every error envelope loop.md lists, and what the client makes of it.
var envelopeCases = []struct {
	name     string
	status   int
	body     string
	kind     Kind
	code     string
	message  string
	field    string // a field with validation messages, if any
	inBody   bool   // a failure inside a 2xx
	notError bool   // a successful payload
}{
	{name: "401 Loop", status: 401, body: `{"error":{"code":"401","http_code":"GEN-UNAUTHORIZED","message":"Unauthorized."}}`, kind: KindUnauthorized, code: "GEN-UNAUTHORIZED", message: "Unauthorized."},
	{name: "401 errors string", status: 401, body: `{"errors":"Unauthorized."}`, kind: KindUnauthorized, message: "Unauthorized."},
	{name: "401 numeric code", status: 401, body: `{"error":{"code":401,"message":"Unauthorized."}}`, kind: KindUnauthorized, code: "401", message: "Unauthorized."},
	{name: "error string", status: 500, body: `{"error":"Something broke"}`, kind: KindUnavailable, message: "Something broke"},
	{name: "deep link 400", status: 400, body: `{"errors":["Order not found."]}`, kind: KindNotFound, message: "Order not found."},
	{name: "deep link 400 other", status: 400, body: `{"errors":["The zip field is required."]}`, kind: KindInvalid, message: "The zip field is required."},
	{name: "errors list of objects", status: 400, body: `{"errors":[{"message":"Bad thing","code":"ORDER_NOT_FOUND"}]}`, kind: KindNotFound, code: "ORDER_NOT_FOUND", message: "Bad thing"},
	{name: "errors object", status: 404, body: `{"errors":{"code":"NOT_FOUND"}}`, kind: KindNotFound, code: "NOT_FOUND"},
	{name: "laravel 422", status: 422, body: `{"message":"The given data was invalid.","errors":{"to":["The date range may not be greater than 120 days."],"from":["Bad."]}}`, kind: KindInvalid, message: "The given data was invalid.", field: "to"},
	{name: "laravel 422 no message", status: 422, body: `{"errors":{"state":["The selected state is invalid."]}}`, kind: KindInvalid, message: "The selected state is invalid.", field: "state"},
	{name: "429", status: 429, body: `{"message":"Too Many Attempts."}`, kind: KindRateLimited, message: "Too Many Attempts."},
	{name: "503 html", status: 503, body: `<html>503</html>`, kind: KindUnavailable},
	{name: "500 laravel", status: 500, body: `{"message":"Server Error"}`, kind: KindUnavailable, message: "Server Error"},
	{name: "403 plan", status: 403, body: `{"errors":{"message":"Not on your plan.","code":"NOT_AUTHORIZED"}}`, kind: KindMissingScope, code: "NOT_AUTHORIZED", message: "Not on your plan."},
	{name: "empty 502", status: 502, body: ``, kind: KindUnavailable},
	{name: "200 no return", status: 200, body: `{"error":{"message":"No return found with this ID."}}`, kind: KindNotFound, message: "No return found with this ID.", inBody: true},
	{name: "200 unprocessable", status: 200, body: `{"errors":{"message":"Return is closed and therefore cannot be processed.","code":"UNPROCESSABLE_RETURN"}}`, kind: KindInvalid, code: "UNPROCESSABLE_RETURN", message: "Return is closed and therefore cannot be processed.", inBody: true},
	{name: "200 bare message", status: 200, body: `{"message":"Return is cancelled and therefore cannot be processed."}`, kind: KindInvalid, message: "Return is cancelled and therefore cannot be processed.", inBody: true},
	{name: "200 content", status: 200, body: `{"content":"Return is expired and cannot be processed."}`, kind: KindInvalid, message: "Return is expired and cannot be processed.", inBody: true},
	{name: "200 false", status: 200, body: `false`, kind: KindInvalid, message: "operation failed", inBody: true},
	{name: "200 return", status: 200, body: `{"id":1,"state":"open","message":"hello","errors":null}`, notError: true},
	{name: "200 list", status: 200, body: `[{"id":"1"}]`, notError: true},
	{name: "200 true", status: 200, body: `true`, notError: true},
	{name: "200 url", status: 200, body: `{"url":"https:\/\/x.loopreturns.com\/#\/link\/abc"}`, notError: true},
}

func TestErrorEnvelopes(t *testing.T) {
	for _, c := range envelopeCases {
		t.Run(c.name, func(t *testing.T) {
			if c.status >= 200 && c.status < 300 {
				env, failed := failureInSuccess([]byte(c.body))
				if failed == c.notError {
					t.Fatalf("failureInSuccess = %v, want %v", failed, !c.notError)
				}
				if c.notError {
					return
				}
				if k := classify(c.status, env, true); k != c.kind {
					t.Fatalf("kind %s, want %s", k, c.kind)
				}
				checkEnvelope(t, env, c.code, c.message, c.field)
				return
			}
			env, _ := parseErrorEnvelope([]byte(c.body))
			if k := classify(c.status, env, false); k != c.kind {
				t.Fatalf("kind %s, want %s (env %+v)", k, c.kind, env)
			}
			checkEnvelope(t, env, c.code, c.message, c.field)
		})
	}
}

func checkEnvelope(t *testing.T, env envelope, code, message, field string) {
	t.Helper()
	if env.Code != code {
		t.Fatalf("code %q, want %q", env.Code, code)
	}
	if env.Message != message {
		t.Fatalf("message %q, want %q", env.Message, message)
	}
	if field != "" && len(env.Fields[field]) == 0 {
		t.Fatalf("no messages for field %q: %v", field, env.Fields)
	}
}

func TestErrorIsAndText(t *testing.T) {
	e := &Error{Op: "create deep link for #1001", Kind: KindNotFound, Status: 400, Message: "Order not found.", Fields: map[string][]string{"zip": {"bad"}}}
	var err error = e
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnauthorized) {
		t.Fatal("errors.Is does not follow Kind")
	}
	if KindOf(err) != KindNotFound || KindOf(errors.New("x")) != "" {
		t.Fatal("KindOf")
	}
	want := "loop: create deep link for #1001: not_found (HTTP 400): Order not found.; zip: bad"
	if e.Error() != want {
		t.Fatalf("Error() = %q, want %q", e.Error(), want)
	}
}

func TestRetryAfter(t *testing.T) {
	now := mustTime(t, "2024-01-01T00:00:00Z")
	cases := map[string]int{"": 0, "7": 7, "-1": 0, "soon": 0, "Mon, 01 Jan 2024 00:00:30 GMT": 30, "Sun, 31 Dec 2023 00:00:00 GMT": 0}
	for in, secs := range cases {
		if got := parseRetryAfter(in, now); got.Seconds() != float64(secs) {
			t.Errorf("Retry-After %q = %v, want %ds", in, got, secs)
		}
	}
}

// FuzzParseErrorEnvelope: never panic, and whatever is found is printable
// and classifies to a known kind.
func FuzzParseErrorEnvelope(f *testing.F) {
	for _, c := range envelopeCases {
		f.Add(c.status, []byte(c.body))
	}
	f.Add(200, []byte(`{"errors":[[[]]],"error":{"code":{"x":1}}}`))
	f.Add(422, []byte(`{"errors":{"a":[1,"x",null],"b":"y"},"message":7}`))
	f.Add(400, []byte("\xff\xfe{"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		env, ok := parseErrorEnvelope(body)
		if !ok && (env.Message != "" || env.Code != "") {
			t.Fatalf("not an envelope but found %+v", env)
		}
		_, _ = failureInSuccess(body)
		if status < 100 || status > 599 {
			status = 500
		}
		k := classify(status, env, status < 300)
		if _, known := kindSentinels[k]; !known {
			t.Fatalf("unknown kind %q", k)
		}
		e := &Error{Kind: k, Status: status, Code: env.Code, Message: env.Message, Fields: env.Fields}
		if s := e.Error(); !strings.HasPrefix(s, "loop: ") || (utf8.ValidString(string(body)) && !utf8.ValidString(s)) {
			t.Fatalf("bad error text %q", s)
		}
		_ = http.StatusText(status)
	})
}
