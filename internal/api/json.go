package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// CodeNoClientSecret answers a shopper token request of a shop with no
// Shopify client secret yet; the other codes are httpkit's.
const CodeNoClientSecret = "no_client_secret"

// CodeSecretsUnreadable answers a request that needs one of the shop's
// stored credentials (its Loop API key or webhook secret, its Shopify
// client secret) when this server cannot open it: it was sealed with a
// HUBDESK_SECRET_KEY this process is not given.
const CodeSecretsUnreadable = "secrets_unreadable"

// secretsUnreadable is the 503 for CodeSecretsUnreadable. It carries no
// Retry-After: waiting mends nothing, an operator or an admin has to act.
func secretsUnreadable() *httpkit.Error {
	return &httpkit.Error{Status: http.StatusServiceUnavailable, Code: CodeSecretsUnreadable,
		Message: "this server cannot read the shop's stored credentials: they were sealed with another HUBDESK_SECRET_KEY. " +
			"Every hubdesk process on this database must be given the key that sealed them; " +
			"if that key is lost, an admin must re-enter them (the Loop API key and webhook secret on Settings → Returns or with " +
			"PUT /api/v1/settings/returns, the Shopify client secret with hubdesk shop secret)"}
}

// unreadableSecret reports err as CodeSecretsUnreadable when a stored
// secret could not be opened, logging it (never the value) as a warning:
// it is the operator's configuration, not a fault of the request.
func unreadableSecret(r *http.Request, log *slog.Logger, err error) (*httpkit.Error, bool) {
	if !errors.Is(err, secret.ErrUnreadable) {
		return nil, false
	}
	log.WarnContext(r.Context(), "api: a stored secret of this shop cannot be opened with this process's HUBDESK_SECRET_KEY",
		"method", r.Method, "path", r.URL.Path, "error", err)
	return secretsUnreadable(), true
}

// MaxBodyBytes caps request bodies; a large order is a few tens of KiB.
const MaxBodyBytes = 1 << 20

// respond turns any error into its answer. Known errors keep their message;
// anything else is logged and answered as a bare 500, because database and
// driver messages can reveal schema, queries or other shops' data.
func (a *API) respond(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *httpkit.Error
	var ve *commerce.ValidationError
	unreadable, isUnreadable := unreadableSecret(r, a.log, err)
	var tve *ticket.ValidationError
	switch {
	case errors.As(err, &apiErr):
	case isUnreadable:
		apiErr = unreadable
	case errors.As(err, &ve):
		apiErr = &httpkit.Error{Status: http.StatusUnprocessableEntity, Code: httpkit.CodeInvalidRequest, Field: ve.Field, Message: ve.Error()}
	case errors.As(err, &tve):
		apiErr = &httpkit.Error{Status: http.StatusUnprocessableEntity, Code: httpkit.CodeInvalidRequest, Field: tve.Field,
			Message: tve.Field + " " + tve.Problem}
	case errors.Is(err, helpdesk.ErrNotAllowed):
		apiErr = &httpkit.Error{Status: http.StatusForbidden, Code: httpkit.CodeForbidden, Message: strings.TrimPrefix(err.Error(), "helpdesk: ")}
	case errors.Is(err, commerce.ErrNotFound):
		apiErr = httpkit.NotFound("resource")
	case database.IsStorageFailure(err):
		a.log.WarnContext(r.Context(), "api: the database refused a write", "method", r.Method, "path", r.URL.Path, "error", err)
		apiErr = httpkit.StorageUnavailable()
	default:
		a.log.ErrorContext(r.Context(), "api: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		apiErr = httpkit.Internal()
	}
	httpkit.WriteError(w, apiErr)
}

// decodeJSON reads a JSON request body into dst, strictly: the body must be
// declared as JSON, fit in MaxBodyBytes, hold exactly one value and use only
// known fields. Failures come back as *httpkit.Error saying what and where, so a
// client can fix its request without reading our source.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &httpkit.Error{Status: http.StatusUnsupportedMediaType, Code: httpkit.CodeUnsupportedMediaType,
			Message: "request body must be sent as Content-Type: application/json"}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &httpkit.Error{Status: http.StatusRequestEntityTooLarge, Code: httpkit.CodePayloadTooLarge,
				Message: fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}
		}
		return fmt.Errorf("read request body: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return httpkit.BadRequest("", "request body is empty; send a JSON object")
	}
	// encoding/json would quietly replace bytes that are not UTF-8; the
	// client should learn that its text did not arrive as sent.
	if at := invalidUTF8At(data); at >= 0 {
		line, col := position(data, int64(at))
		return httpkit.BadRequest("", "request body is not valid UTF-8 at line %d, column %d", line, col)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return httpkit.BadRequest("", "request body must hold a single JSON object, but more follows it")
	}
	if field, found := nulString(data); found {
		return httpkit.BadRequest(field, "%s holds a NUL character (\\u0000), which cannot be stored", field)
	}
	return nil
}

// invalidUTF8At is the offset of the first byte that is not UTF-8, or -1.
func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// nulString finds the first string (name or value) of a well-formed JSON
// document that decodes to text holding U+0000, which no store accepts
// (database.StorableText), and names where it is as a dotted path
// ("line_items[0].title"); "" is the document itself.
func nulString(data []byte) (field string, found bool) {
	if !bytes.Contains(data, []byte(`\u0000`)) {
		return "", false // the only way to write NUL in valid JSON
	}
	field, found, _ = nulIn(json.NewDecoder(bytes.NewReader(data)), "")
	return field, found
}

// nulIn reads one value from dec, path naming it, and stops at the first
// NUL. The document decoded already, so it nests at most encoding/json's
// 10000 levels.
func nulIn(dec *json.Decoder, path string) (string, bool, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", false, err
	}
	switch t := tok.(type) {
	case string:
		return path, strings.ContainsRune(t, 0), nil
	case json.Delim:
		if t == '{' {
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return "", false, err
				}
				name, _ := tok.(string)
				member := name
				if path != "" {
					member = path + "." + name
				}
				if strings.ContainsRune(name, 0) {
					return member, true, nil
				}
				if field, found, err := nulIn(dec, member); found || err != nil {
					return field, found, err
				}
			}
		} else {
			for i := 0; dec.More(); i++ {
				if field, found, err := nulIn(dec, fmt.Sprintf("%s[%d]", path, i)); found || err != nil {
					return field, found, err
				}
			}
		}
		_, err := dec.Token() // the closing '}' or ']'
		return "", false, err
	}
	return "", false, nil
}

// decodeError explains a json.Decoder failure in the client's terms.
func decodeError(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := position(data, syntax.Offset)
		return httpkit.BadRequest("", "malformed JSON at line %d, column %d: %s", line, col, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return httpkit.BadRequest("", "malformed JSON: the body ends before the value is complete")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return httpkit.BadRequest("", "request body must be a JSON %s, not %s", jsonKind(typ.Type), typ.Value)
		}
		// Field has no array indexes ("line_items.quantity"), so the
		// position tells the client which element.
		line, col := position(data, typ.Offset)
		return httpkit.BadRequest(typ.Field, "%s must be a JSON %s, not %s (line %d, column %d)", typ.Field, jsonKind(typ.Type), typ.Value, line, col)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return httpkit.BadRequest(name, "unknown field %q", name)
	}
	return httpkit.BadRequest("", "request body is not valid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// position converts a byte offset into a 1-based line and column.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// jsonKind names the JSON type a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}
