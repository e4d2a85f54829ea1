package loop

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Kind is what a caller can do about a failed call. Loop reports failures in
// half a dozen envelopes and sometimes inside HTTP 200 bodies; Kind is the one
// thing hubdesk branches on, so that a settings page, a ticket sidebar and a
// background job all read the same failure the same way.
type Kind string

const (
	// KindUnauthorized: the key is wrong or revoked. Asking again will not help.
	KindUnauthorized Kind = "unauthorized"
	// KindMissingScope: the key works, but not for this endpoint. Loop answers
	// exactly like KindUnauthorized, so this is only reported when the same key
	// recently succeeded on an endpoint of another scope (or KeyCheck said so).
	KindMissingScope Kind = "missing_scope"
	// KindNotFound: the order or return does not exist for this shop (or the
	// lookup value did not match it, which Loop does not tell apart).
	KindNotFound Kind = "not_found"
	// KindRateLimited: Loop said 429 and retries were exhausted.
	KindRateLimited Kind = "rate_limited"
	// KindUnavailable: Loop did not answer usefully (timeout, connection
	// refused, 5xx, a body that is not Loop's JSON, or the circuit is open).
	// Show the last known state and try later.
	KindUnavailable Kind = "unavailable"
	// KindInvalid: Loop refused the request itself (400, 422, or a refusal in a
	// 200 body such as UNPROCESSABLE_RETURN). Fix the input, do not retry.
	KindInvalid Kind = "invalid"
	// KindNotAvailable: the feature is not offered to this key or plan (return
	// eligibility answers 401/403/404 on plans without it). Fall back to the
	// return window configured in hubdesk.
	KindNotAvailable Kind = "not_available"
	// KindCanceled: the caller's context ended before Loop answered.
	KindCanceled Kind = "canceled"
)

// Sentinel errors, one per Kind, for errors.Is. An *Error matches the
// sentinel of its Kind.
var (
	ErrUnauthorized = errors.New("loop: unauthorized")
	ErrMissingScope = errors.New("loop: key lacks the scope for this endpoint")
	ErrNotFound     = errors.New("loop: not found")
	ErrRateLimited  = errors.New("loop: rate limited")
	ErrUnavailable  = errors.New("loop: unavailable")
	ErrInvalid      = errors.New("loop: invalid request")
	ErrNotAvailable = errors.New("loop: not available for this key or plan")
	ErrCanceled     = errors.New("loop: canceled")
)

var kindSentinels = map[Kind]error{
	KindUnauthorized: ErrUnauthorized,
	KindMissingScope: ErrMissingScope,
	KindNotFound:     ErrNotFound,
	KindRateLimited:  ErrRateLimited,
	KindUnavailable:  ErrUnavailable,
	KindInvalid:      ErrInvalid,
	KindNotAvailable: ErrNotAvailable,
	KindCanceled:     ErrCanceled,
}

// Error is every failure the client returns. It never contains the API key:
// the request URL and headers are deliberately not part of it.
type Error struct {
	Op         string              // what we were doing, e.g. "create deep link for #1001"
	Kind       Kind                // what the caller can do about it
	Status     int                 // HTTP status, 0 when Loop never answered
	Code       string              // Loop's error code when it sent one (ORDER_NOT_FOUND, GEN-UNAUTHORIZED, ...)
	Message    string              // Loop's message, or ours when Loop sent none
	Fields     map[string][]string // per-field validation messages (Laravel 422)
	RetryAfter time.Duration       // from Retry-After on 429/503, when present
	Attempts   int                 // HTTP attempts made, retries included
	Err        error               // underlying transport or decoding error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("loop: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(string(e.Kind))
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " [%s]", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "; %s: %s", k, strings.Join(e.Fields[k], " "))
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, loop.ErrNotFound) and friends work.
func (e *Error) Is(target error) bool {
	return kindSentinels[e.Kind] == target
}

// KindOf returns the Kind of err, or "" when err did not come from this
// package.
func KindOf(err error) Kind {
	var le *Error
	if errors.As(err, &le) {
		return le.Kind
	}
	return ""
}

// envelope is what Loop said went wrong, whatever shape it used.
type envelope struct {
	Code    string
	Message string
	Fields  map[string][]string
}

// parseErrorEnvelope reads every error shape Loop is known to send:
//
//	{"error":{"code":"401","http_code":"GEN-UNAUTHORIZED","message":"Unauthorized."}}
//	{"error":{"message":"No return found with this ID."}}   (inside HTTP 200)
//	{"error":"..."}
//	{"errors":"Unauthorized."}
//	{"errors":{"message":"...","code":"UNPROCESSABLE_RETURN"}}
//	{"errors":[{"message":"..."}]}
//	{"errors":["..."]}
//	{"message":"The given data was invalid.","errors":{"field":["..."]}}
//	{"message":"..."}  {"content":"..."}  and the bare JSON string false
//
// ok is false when body is not one of them (a successful payload, HTML from a
// proxy, garbage). It never panics on any input; FuzzParseErrorEnvelope holds
// it to that.
func parseErrorEnvelope(body []byte) (env envelope, ok bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return env, false
	}
	if bytes.Equal(body, []byte("false")) || bytes.Equal(body, []byte(`"false"`)) {
		return envelope{Message: "operation failed"}, true
	}
	if body[0] != '{' {
		return env, false
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return env, false
	}
	if raw, found := top["error"]; found && !isNull(raw) {
		readErrorValue(raw, &env)
		ok = true
	}
	if raw, found := top["errors"]; found && !isNull(raw) {
		readErrorValue(raw, &env)
		ok = true
	}
	if raw, found := top["message"]; found {
		if s, isStr := jsonString(raw); isStr {
			// Laravel puts the summary here and the details in "errors".
			env.Message = firstNonEmpty(env.Message, s)
			ok = true
		}
	}
	if !ok {
		// {"content":"Return is expired and cannot be processed."}: the only
		// key is "content". Accept it only alone, so a successful object that
		// happens to carry a "content" field is not read as a failure.
		if raw, found := top["content"]; found && len(top) == 1 {
			if s, isStr := jsonString(raw); isStr {
				env.Message = s
				ok = true
			}
		}
	}
	if ok && env.Message == "" && len(env.Fields) > 0 {
		env.Message = firstFieldMessage(env.Fields)
	}
	return env, ok
}

// failureInSuccess reports whether a 2xx body is really a failure. Loop
// answers "no return found" and refused actions with HTTP 200. A successful
// payload never has a non-null "error" or "errors" key; the bare
// {"message":...} and {"content":...} refusals are recognised only when they
// are the whole object, so a payload that merely has a "message" field is not
// mistaken for one.
func failureInSuccess(body []byte) (envelope, bool) {
	env, ok := parseErrorEnvelope(body)
	if !ok {
		return env, false
	}
	trimmed := bytes.TrimSpace(body)
	if trimmed[0] != '{' {
		return env, true // the bare false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(trimmed, &top) != nil {
		return env, false
	}
	for _, k := range []string{"error", "errors"} {
		if raw, found := top[k]; found && !isNull(raw) {
			return env, true
		}
	}
	return env, len(top) == 1
}

// readErrorValue folds one "error" or "errors" value into env.
func readErrorValue(raw json.RawMessage, env *envelope) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	switch raw[0] {
	case '"':
		if s, ok := jsonString(raw); ok {
			env.Message = firstNonEmpty(env.Message, s)
		}
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return
		}
		var msgs []string
		for _, it := range items {
			if s, ok := jsonString(it); ok {
				msgs = append(msgs, s)
				continue
			}
			var sub envelope
			readObject(it, &sub)
			if sub.Code != "" && env.Code == "" {
				env.Code = sub.Code
			}
			if sub.Message != "" {
				msgs = append(msgs, sub.Message)
			}
		}
		if len(msgs) > 0 && env.Message == "" {
			env.Message = strings.Join(msgs, "; ")
		}
	case '{':
		readObject(raw, env)
	}
}

// readObject reads {"code":..,"http_code":..,"message":..} or a Laravel
// field map {"field":["msg", ...]}.
func readObject(raw json.RawMessage, env *envelope) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return
	}
	known := false
	if v, ok := obj["message"]; ok {
		if s, isStr := jsonString(v); isStr {
			env.Message = firstNonEmpty(env.Message, s)
		}
		known = true
	}
	// Loop's 401 puts "401" in code and the word in http_code; elsewhere code
	// is the word. Prefer the word: it is what callers match on.
	code, codeOK := scalarString(obj["code"])
	httpCode, httpOK := scalarString(obj["http_code"])
	switch {
	case httpOK && !isNumeric(httpCode):
		env.Code = firstNonEmpty(env.Code, httpCode)
		known = true
	case codeOK && !isNumeric(code):
		env.Code = firstNonEmpty(env.Code, code)
		known = true
	case codeOK || httpOK:
		env.Code = firstNonEmpty(env.Code, code, httpCode)
		known = true
	}
	if known {
		return
	}
	// A field map: every value a string or a list of strings.
	fields := map[string][]string{}
	for k, v := range obj {
		if s, ok := jsonString(v); ok {
			fields[k] = append(fields[k], s)
			continue
		}
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil {
			for _, item := range list {
				if s, ok := jsonString(item); ok {
					fields[k] = append(fields[k], s)
				}
			}
		}
	}
	if len(fields) > 0 {
		if env.Fields == nil {
			env.Fields = map[string][]string{}
		}
		for k, v := range fields {
			env.Fields[k] = append(env.Fields[k], v...)
		}
	}
}

func firstFieldMessage(fields map[string][]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(fields[k]) > 0 {
			return fields[k][0]
		}
	}
	return ""
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// scalarString accepts a JSON string or number, since Loop sends codes both
// ways ("401" and 401).
func scalarString(raw json.RawMessage) (string, bool) {
	if raw == nil {
		return "", false
	}
	if s, ok := jsonString(raw); ok {
		return s, true
	}
	raw = bytes.TrimSpace(raw)
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String(), true
	}
	return "", false
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// notFoundHint reports whether Loop's words mean "no such order or return".
// Loop's 400 on /order/link and the HTTP 200 failure of return details carry
// no stable code, only English text, so this is a small phrase match backed by
// the codes from Loop's catalogue.
func notFoundHint(env envelope) bool {
	switch strings.ToUpper(env.Code) {
	case "ORDER_NOT_FOUND", "NOT_FOUND", "RETURN_NOT_FOUND":
		return true
	}
	m := strings.ToLower(env.Message)
	for _, phrase := range []string{"not found", "no return found", "no order found", "could not find", "unable to find", "does not exist"} {
		if strings.Contains(m, phrase) {
			return true
		}
	}
	return false
}

// classify turns an HTTP status and Loop's envelope into a Kind. inBody is
// true for failures reported inside a 2xx response.
func classify(status int, env envelope, inBody bool) Kind {
	code := strings.ToUpper(env.Code)
	switch {
	case inBody:
		if notFoundHint(env) {
			return KindNotFound
		}
		if code == "NOT_AUTHORIZED" || code == "GEN-UNAUTHORIZED" {
			return KindUnauthorized
		}
		return KindInvalid
	case status == http.StatusUnauthorized:
		return KindUnauthorized
	case status == http.StatusForbidden:
		return KindMissingScope
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusRequestTimeout || status >= 500:
		return KindUnavailable
	case status == http.StatusBadRequest && notFoundHint(env):
		return KindNotFound
	case status >= 400:
		return KindInvalid
	}
	return KindUnavailable
}
