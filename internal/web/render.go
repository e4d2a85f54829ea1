package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
)

// Renderer executes named pages, each parsed together with shared layout
// files. Pages render into a pooled buffer first so a template error never
// leaves a half-written page behind.
type Renderer struct {
	pages  map[string]*template.Template
	logger *slog.Logger
	bufs   sync.Pool
}

// NewRenderer parses every "pages/*.html" file in files together with the
// given layout files; each page is reachable by its base name without
// extension ("customers" for pages/customers.html).
func NewRenderer(files fs.FS, funcs template.FuncMap, logger *slog.Logger, layouts ...string) (*Renderer, error) {
	r := &Renderer{pages: map[string]*template.Template{}, logger: logger}
	r.bufs.New = func() any { return new(bytes.Buffer) }
	names, err := fs.Glob(files, "pages/*.html")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		t, err := template.New(path.Base(name)).Funcs(funcs).ParseFS(files, append(append([]string{}, layouts...), name)...)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		r.pages[strings.TrimSuffix(path.Base(name), ".html")] = t
	}
	return r, nil
}

// Render writes page with data and status. The page's templates must
// define "page"; layouts call it.
func (r *Renderer) Render(w http.ResponseWriter, status int, page string, data any) {
	t, ok := r.pages[page]
	if !ok {
		r.logger.Error("render: unknown page", "page", page)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer r.bufs.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", data); err != nil {
		r.logger.Error("render failed", "page", page, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
