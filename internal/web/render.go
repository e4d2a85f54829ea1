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
	pages map[string]*template.Template
	// shared holds the layout files alone: the partials a page fragment
	// is rendered from.
	shared *template.Template
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
	if len(layouts) > 0 {
		if r.shared, err = template.New(path.Base(layouts[0])).Funcs(funcs).ParseFS(files, layouts...); err != nil {
			return nil, fmt.Errorf("parse %s: %w", strings.Join(layouts, ", "), err)
		}
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
	r.execute(w, status, t, "layout", data)
}

// RenderBetween writes page's "page" template with data between head and
// tail: the markup of a layout its caller writes itself (in Go, where
// html/template's reflective walk of a layout on every page costs more
// than the page's own values). head and tail must be escaped already.
func (r *Renderer) RenderBetween(w http.ResponseWriter, status int, page string, data any, head, tail string) {
	t, ok := r.pages[page]
	if !ok {
		r.logger.Error("render: unknown page", "page", page)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer r.bufs.Put(buf)
	buf.WriteString(head)
	if err := t.ExecuteTemplate(buf, "page", data); err != nil {
		r.logger.Error("render failed", "template", page, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	buf.WriteString(tail)
	r.write(w, status, buf)
}

// Fragment writes one template defined in the layout files (a partial
// such as a list's rows) without the layout around it, for pages that
// replace part of themselves.
func (r *Renderer) Fragment(w http.ResponseWriter, status int, name string, data any) {
	var t *template.Template
	if r.shared != nil {
		t = r.shared.Lookup(name)
	}
	if t == nil {
		r.logger.Error("render: unknown fragment", "fragment", name)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	r.execute(w, status, t, name, data)
}

func (r *Renderer) execute(w http.ResponseWriter, status int, t *template.Template, name string, data any) {
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer r.bufs.Put(buf)
	if err := t.ExecuteTemplate(buf, name, data); err != nil {
		r.logger.Error("render failed", "template", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	r.write(w, status, buf)
}

func (r *Renderer) write(w http.ResponseWriter, status int, buf *bytes.Buffer) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
