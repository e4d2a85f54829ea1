package httpkit_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/httpkit"
)

// The envelope is byte for byte what openapi.json's Error schema and the
// API's clients read.
func TestWriteErrorEnvelope(t *testing.T) {
	for _, tc := range []struct {
		err  *httpkit.Error
		want string
	}{
		{httpkit.NotFound("order"), `{"error":{"code":"not_found","message":"order not found"}}` + "\n"},
		{httpkit.BadRequest("line_items[0].title", "say <%s>", "why"), `{"error":{"code":"invalid_request","message":"say \u003cwhy\u003e","field":"line_items[0].title"}}` + "\n"},
	} {
		rec := httptest.NewRecorder()
		httpkit.WriteError(rec, tc.err)
		if rec.Code != tc.err.Status || rec.Body.String() != tc.want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%v: %d %s %q", tc.err, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
	}
}

func TestParsePage(t *testing.T) {
	valid := database.EncodeCursor(1700000000000, 42)
	for _, tc := range []struct {
		query     string
		want      database.Page
		wantField string
	}{
		{query: "", want: database.Page{}},
		{query: "?limit=1", want: database.Page{Limit: 1}},
		{query: "?limit=200&cursor=" + valid, want: database.Page{Limit: 200, After: &database.Cursor{Key: 1700000000000, ID: 42}}},
		{query: "?limit=0", wantField: "limit"},
		{query: "?limit=201", wantField: "limit"},
		{query: "?limit=ten", wantField: "limit"},
		{query: "?cursor=!!", wantField: "cursor"},
		{query: "?cursor=" + database.EncodeCursor(5, 0), wantField: "cursor"},
	} {
		p, bad := httpkit.ParsePage(httptest.NewRequest(http.MethodGet, "/list"+tc.query, nil))
		switch {
		case tc.wantField != "":
			if bad == nil || bad.Status != http.StatusBadRequest || bad.Field != tc.wantField {
				t.Errorf("%s: %v, want a 400 on %s", tc.query, bad, tc.wantField)
			}
		case bad != nil:
			t.Errorf("%s: %v", tc.query, bad)
		case p.Limit != tc.want.Limit || (p.After == nil) != (tc.want.After == nil) || (p.After != nil && *p.After != *tc.want.After):
			t.Errorf("%s: %+v, want %+v", tc.query, p, tc.want)
		}
	}
}

func TestPageSize(t *testing.T) {
	for limit, want := range map[int]int{0: database.DefaultPageSize, -3: database.DefaultPageSize, 7: 7, 10_000: database.MaxPageSize} {
		if got := (database.Page{Limit: limit}).Size(); got != want {
			t.Errorf("Page{Limit: %d}.Size() = %d, want %d", limit, got, want)
		}
	}
}
