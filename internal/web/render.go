package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
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
	r.execute(w, status, t, "layout", data, false)
}

// RenderLiquid writes page like Render but from the layout named layout,
// as Shopify's application/liquid: an App Proxy answer that Shopify
// renders inside the store's theme. The body is Liquid source then, so
// every "{" in it is written as the character reference &#123;: no
// "{{" or "{%" is left for Liquid to evaluate, whatever the data held,
// and a browser shows the same brace. A character reference is not
// decoded inside <script> or <style>, so pages rendered this way must
// have no inline script or style (the hub's CSP forbids them anyway).
func (r *Renderer) RenderLiquid(w http.ResponseWriter, status int, page, layout string, data any) {
	t, ok := r.pages[page]
	if !ok {
		r.logger.Error("render: unknown page", "page", page)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	r.execute(w, status, t, layout, data, true)
}

// NeutraliseLiquid returns b with every "{" written as &#123;, so that
// Liquid finds no tag or output in it.
func NeutraliseLiquid(b []byte) []byte {
	if bytes.IndexByte(b, '{') < 0 {
		return b
	}
	return bytes.ReplaceAll(b, []byte("{"), []byte("&#123;"))
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
	r.write(w, status, "text/html; charset=utf-8", buf.Bytes())
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
	r.execute(w, status, t, name, data, false)
}

func (r *Renderer) execute(w http.ResponseWriter, status int, t *template.Template, name string, data any, liquid bool) {
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer r.bufs.Put(buf)
	if err := t.ExecuteTemplate(buf, name, data); err != nil {
		r.logger.Error("render failed", "template", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	body, contentType := buf.Bytes(), "text/html; charset=utf-8"
	if liquid {
		body, contentType = NeutraliseLiquid(body), "application/liquid" // as Shopify documents it, no parameters
	}
	r.write(w, status, contentType, body)
}

func (r *Renderer) write(w http.ResponseWriter, status int, contentType string, body []byte) {
	WritePage(w, status, contentType, body)
}

// WritePage answers with a page rendered earlier, with the headers every
// rendered page gets: its type and no-store (pages hold the visitor's own
// data). Its length is said up front: without it a page past net/http's
// 2 KB buffer goes out chunked, one more write to the socket per page.
func WritePage(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}
