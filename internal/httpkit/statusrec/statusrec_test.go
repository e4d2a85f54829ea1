package statusrec_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hubdesk/hubdesk/internal/httpkit/statusrec"
)

func TestStatusIsTheFirstCodeSent(t *testing.T) {
	for name, tc := range map[string]struct {
		handler func(w http.ResponseWriter)
		want    int
	}{
		"nothing written":  {func(http.ResponseWriter) {}, 0},
		"body only":        {func(w http.ResponseWriter) { w.Write([]byte("hi")) }, http.StatusOK},
		"explicit code":    {func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot) }, http.StatusTeapot},
		"second code lost": {func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound); w.WriteHeader(http.StatusOK) }, http.StatusNotFound},
	} {
		rec := statusrec.Wrap(httptest.NewRecorder())
		tc.handler(rec)
		if got := rec.Status(); got != tc.want {
			t.Errorf("%s: status %d, want %d", name, got, tc.want)
		}
	}
}
