package web

import (
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func testRenderer(t *testing.T) *Renderer {
	t.Helper()
	files := fstest.MapFS{
		"layout.html":       {Data: []byte(`{{define "layout"}}<html><body>{{template "page" .}}</body></html>{{end}}`)},
		"parts.html":        {Data: []byte(`{{define "rows"}}{{range .}}<li>{{shout .}}</li>{{end}}{{end}}{{define "broken"}}{{.Missing.Field}}{{end}}`)},
		"pages/inbox.html":  {Data: []byte(`{{define "page"}}<ul>{{template "rows" .}}</ul>{{end}}`)},
		"pages/single.html": {Data: []byte(`{{define "page"}}<p>{{.}}</p>{{end}}`)},
	}
	r, err := NewRenderer(files, template.FuncMap{"shout": strings.ToUpper}, slog.New(slog.DiscardHandler), "layout.html", "parts.html")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRenderWrapsThePageInTheLayout(t *testing.T) {
	w := httptest.NewRecorder()
	testRenderer(t).Render(w, http.StatusOK, "inbox", []string{"a<b"})
	if got, want := w.Body.String(), "<html><body><ul><li>A&lt;B</li></ul></body></html>"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func TestFragmentRendersAPartialWithoutTheLayout(t *testing.T) {
	w := httptest.NewRecorder()
	testRenderer(t).Fragment(w, http.StatusAccepted, "rows", []string{"one", "<script>"})
	if w.Code != http.StatusAccepted {
		t.Errorf("status = %d", w.Code)
	}
	if got, want := w.Body.String(), "<li>ONE</li><li>&lt;SCRIPT&gt;</li>"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
}

func TestFragmentFailsWhole(t *testing.T) {
	for _, name := range []string{"no-such-fragment", "broken", "page"} {
		w := httptest.NewRecorder()
		testRenderer(t).Fragment(w, http.StatusOK, name, struct{ Missing *struct{ Field string } }{})
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "<li>") {
			t.Errorf("%s: status %d, body %q; want a 500 and nothing of the fragment", name, w.Code, w.Body.String())
		}
	}
}

func TestRenderBetweenWrapsThePageInTheGivenMarkup(t *testing.T) {
	w := httptest.NewRecorder()
	testRenderer(t).RenderBetween(w, http.StatusCreated, "single", "a<b", "<main>", "</main>")
	if got, want := w.Body.String(), "<main><p>a&lt;b</p></main>"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if w.Code != http.StatusCreated {
		t.Errorf("status = %d", w.Code)
	}
	w = httptest.NewRecorder()
	testRenderer(t).RenderBetween(w, http.StatusOK, "no-such-page", nil, "<main>", "</main>")
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "<main>") {
		t.Errorf("unknown page: status %d, body %q", w.Code, w.Body.String())
	}
}
