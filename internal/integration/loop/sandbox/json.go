package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"
)

// phpJSON encodes v the way Loop's PHP backend does (json_encode with default
// flags): "/" written as "\/" and non-ASCII as \uXXXX escapes. Receivers that
// verify webhook signatures over re-encoded JSON instead of the raw bytes
// break on exactly this, which is why the sandbox reproduces it everywhere.
//
// Rewriting after encoding is safe: outside strings, JSON text contains only
// ASCII punctuation, digits and literals, never "/" or non-ASCII bytes.
func phpJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // PHP does not escape <, > and & by default
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	in := bytes.TrimRight(buf.Bytes(), "\n")
	out := make([]byte, 0, len(in)+len(in)/8)
	for i := 0; i < len(in); {
		c := in[i]
		switch {
		case c == '/':
			out = append(out, '\\', '/')
			i++
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(in[i:])
			i += size
			if r > 0xFFFF {
				r -= 0x10000
				out = fmt.Appendf(out, `\u%04x\u%04x`, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			} else {
				out = fmt.Appendf(out, `\u%04x`, r)
			}
		}
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := phpJSON(v)
	if err != nil {
		http.Error(w, `{"message":"Server Error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// obj keeps field order irrelevant for small literal bodies.
type obj = map[string]any

// unauthorized is Loop's 401, byte for byte: code holds "401", http_code the
// word.
func unauthorized(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, obj{"error": obj{
		"code": "401", "http_code": "GEN-UNAUTHORIZED", "message": "Unauthorized.",
	}})
}

// invalid is Laravel's validation failure: a summary in message, the details
// per field in errors.
func invalid(w http.ResponseWriter, field, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, obj{
		"message": msg,
		"errors":  obj{field: []string{msg}},
	})
}
