package hub

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/hubdesk/hubdesk/internal/locale"
)

//go:embed embed/embed.js
var embedSource string

// buildEmbedJS fills the drawer's button and dialog labels in every
// language from the catalogues, once, so the script stays one static,
// cacheable file.
func (h *Hub) buildEmbedJS() error {
	labels := map[string]map[string]string{}
	for _, lang := range locale.Hub.Languages {
		l := locale.Hub.For(lang)
		labels[lang] = map[string]string{"open": l.T("embed.open"), "close": l.T("embed.close"), "title": l.T("embed.title")}
	}
	raw, err := json.Marshal(labels)
	if err != nil {
		return err
	}
	js := strings.Replace(embedSource, "/*LABELS*/{}", string(raw), 1)
	h.embedJS = []byte(js)
	sum := sha256.Sum256(h.embedJS)
	h.embedETag = `"` + hex.EncodeToString(sum[:8]) + `"`
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(h.embedJS)
	zw.Close()
	h.embedGz = gz.Bytes()
	return nil
}

// EmbedJS serves the drawer script merchants put on their storefront:
//
//	<script src="https://HUBDESK/hub/embed.js" data-shop="x.myshopify.com" data-proxy-path="/apps/hub" defer></script>
//
// It needs no authentication and holds no data. Its URL cannot change per
// release (it is pasted into themes), so it is cached for an hour and
// revalidated by ETag rather than cached forever.
func (h *Hub) EmbedJS(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=3600")
	hd.Set("ETag", h.embedETag)
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	hd.Add("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == h.embedETag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := h.embedJS
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		hd.Set("Content-Encoding", "gzip")
		body = h.embedGz
	}
	w.Write(body)
}

// EmbedGzipSize is the compressed size of embed.js, for the page-weight
// budget.
func (h *Hub) EmbedGzipSize() int { return len(h.embedGz) }
