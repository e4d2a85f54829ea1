package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"testing/fstest"
)

func TestAssetsAreHashedCompressedAndCached(t *testing.T) {
	a, err := NewAssets(fstest.MapFS{"app.css": {Data: []byte("body{color:red}")}})
	if err != nil {
		t.Fatal(err)
	}
	u := a.URL("app.css")
	if !regexp.MustCompile(`^/static/app\.[0-9a-f]{12}\.css$`).MatchString(u) {
		t.Fatalf("URL %s is not content-hashed", u)
	}
	b, _ := NewAssets(fstest.MapFS{"app.css": {Data: []byte("body{color:blue}")}})
	if b.URL("app.css") == u {
		t.Fatal("a changed file kept its URL")
	}
	req := httptest.NewRequest("GET", u, nil)
	req.Header.Set("Accept-Encoding", "gzip, br")
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" || rec.Header().Get("Content-Type") != "text/css; charset=utf-8" ||
		rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("asset response: %d %v", rec.Code, rec.Header())
	}
	req = httptest.NewRequest("GET", u, nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec = httptest.NewRecorder()
	a.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("revalidation: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest("GET", "/static/app.css", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("unhashed URL: %d", rec.Code)
	}
	if a.GzipSize("app.css") == 0 {
		t.Fatal("no gzip size")
	}
}

// The desk's own assets stay within the hub's page-weight budget too.
func TestDeskAssetWeight(t *testing.T) {
	if n := DefaultAssets.GzipSize("desk.css"); n > 15<<10 {
		t.Fatalf("desk.css is %d bytes gzipped", n)
	}
	if n := DefaultAssets.GzipSize("settings.js"); n > 20<<10 {
		t.Fatalf("settings.js is %d bytes gzipped", n)
	}
}
