// Package web holds what every HTML surface shares: static assets served
// from the binary under content-hashed URLs, and template rendering.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFiles embed.FS

// asset is one file, kept both plain and gzipped so serving it costs no CPU.
type asset struct {
	contentType string
	plain, gz   []byte
	etag        string
}

// Assets serves embedded static files. A file "app.css" is published as
// "/static/app.<hash>.css", so it can be cached forever and a new release
// changes the URL.
type Assets struct {
	byURL  map[string]*asset
	urlFor map[string]string
}

// NewAssets loads every file under the given embedded tree.
func NewAssets(files fs.FS) (*Assets, error) {
	a := &Assets{byURL: map[string]*asset{}, urlFor: map[string]string{}}
	// One compressor for every file: each costs about a megabyte at
	// BestCompression, garbage the moment it is closed.
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestCompression)
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		hash := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(p)
		url := "/static/" + strings.TrimSuffix(p, ext) + "." + hash + ext
		var gz bytes.Buffer
		zw.Reset(&gz)
		zw.Write(data)
		zw.Close()
		ct := mime.TypeByExtension(ext)
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.byURL[url] = &asset{contentType: ct, plain: data, gz: gz.Bytes(), etag: `"` + hash + `"`}
		a.urlFor[p] = url
		return nil
	})
	return a, err
}

// DefaultAssets are the files shipped in this package's static folder.
var DefaultAssets = func() *Assets {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	a, err := NewAssets(sub)
	if err != nil {
		panic(err)
	}
	return a
}()

// URL returns the hashed URL of a file name such as "desk.css".
func (a *Assets) URL(name string) string {
	if u, ok := a.urlFor[name]; ok {
		return u
	}
	panic("web: unknown asset " + name)
}

// GzipSize is the compressed size of a file, for the page-weight budget.
func (a *Assets) GzipSize(name string) int { return len(a.byURL[a.urlFor[name]].gz) }

// ServeHTTP serves GET /static/{file}.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.byURL[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", f.etag)
	h.Add("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == f.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.plain
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	w.Write(body)
}
