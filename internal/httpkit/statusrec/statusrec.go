// Package statusrec remembers the status code a handler answered with, for
// request logs and metrics. It depends on the standard library alone, so
// the server's middleware and the integration sandboxes, which must not
// pull in hubdesk's data layer, share it.
package statusrec

import "net/http"

// Writer is a ResponseWriter that remembers the first status code sent.
type Writer struct {
	http.ResponseWriter
	status int
}

// Wrap returns w remembering its status.
func Wrap(w http.ResponseWriter) *Writer { return &Writer{ResponseWriter: w} }

func (w *Writer) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *Writer) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status is the code sent, 0 while nothing was: a handler that returns
// without writing gets net/http's 200, one whose client went away first
// gets nothing, and only the caller knows which it was.
func (w *Writer) Status() int { return w.status }
