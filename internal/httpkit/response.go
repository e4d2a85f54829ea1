// Package httpkit is the response vocabulary every HTTP surface shares: the
// JSON answer and the JSON error envelope of the API (and of the server's
// middleware when it refuses an API request), and the one way a list's
// page is read from a request. It depends on nothing but the standard
// library and the database package, so desk, hub, api and server can all
// use it.
package httpkit

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error codes of the envelope's "error.code" field. Clients branch on
// these, never on the message, so they are part of the API's contract
// (internal/api/openapi.json).
const (
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeInvalidRequest       = "invalid_request"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodePayloadTooLarge      = "payload_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeInternal             = "internal"
	// CodeStorageUnavailable: the database cannot store changes right now
	// (its disk is full or read-only); nothing was saved, the same call
	// may succeed later.
	CodeStorageUnavailable = "storage_unavailable"
)

// Error is a JSON error answer. Handlers return it (or an error their
// surface maps to one) so the status, code and message are decided once.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the input at fault, as a dotted path ("line_items[0].title").
	Field string `json:"field,omitempty"`
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// BadRequest is a 400 invalid_request naming the field at fault ("" when
// it is the request as a whole).
func BadRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound is a 404 saying which kind of thing was not found.
func NotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: what + " not found"}
}

// Internal is the bare 500: the cause is logged, never sent, because
// database and driver messages can reveal schema, queries or other shops'
// data.
func Internal() *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal server error"}
}

// StorageUnavailable is the 503 of a write the database refused because
// its storage cannot take it (database.IsStorageFailure): a condition an
// operator fixes, not a bug, so the client is told to retry.
func StorageUnavailable() *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeStorageUnavailable,
		Message: "the database cannot store changes right now (disk full or read-only); nothing was saved, try again later"}
}

// JSON answers with v as JSON. It encodes before writing the status so an
// encoding failure can still become a clean 500.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"error":{"code":"internal","message":"internal server error"}}`)
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// WriteError answers with the error envelope {"error": {...}}.
func WriteError(w http.ResponseWriter, e *Error) {
	JSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}
