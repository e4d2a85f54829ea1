package hub

import (
	"net/http/httptest"
	"testing"

	"github.com/hubdesk/hubdesk/internal/locale"
)

// TestGoLayoutMatchesTheTemplates holds the Go-written layout around a
// Go-written page to layout.html's "layout" and "layout-theme" (the
// order page's "page" calls orderPage.HTML), byte for byte, with hostile
// values in every field of the layout.
func TestGoLayoutMatchesTheTemplates(t *testing.T) {
	h, err := New(Options{BaseURL: "https://hubdesk.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	pages := hostilePages()
	n := 0
	for _, lang := range []string{"en", "de", "fr", "es", "nl"} {
		l := locale.Hub.For(lang)
		for i := range 12 {
			url := func(k int) string { return hostileURLs[(i+k)%len(hostileURLs)] }
			v := view{L: l, Title: hostileText, CSS: h.css, JS: h.js, Data: pages[(i+n)%len(pages)]}
			if i%2 == 0 {
				v.CSS, v.JS = url(1), url(2)
			}
			if i%3 != 0 {
				v.ShopName = hostileText
			}
			if i%4 != 0 {
				v.Home = url(3)
			}
			if i%5 < 3 {
				v.MessagesURL, v.AccountURL, v.HelpURL = url(4), url(6), url(5)
			}
			if i%6 < 4 {
				v.StoreURL = url(6)
			}
			if i%4 == 1 {
				v.Preview = &previewBanner{Name: hostileText}
			}
			for _, theme := range []bool{false, true} {
				rec := httptest.NewRecorder()
				if theme {
					h.render.RenderLiquid(rec, 200, "order", "layout-theme", v)
				} else {
					h.render.Render(rec, 200, "order", v)
				}
				want := rec.Body.String()
				got := httptest.NewRecorder()
				data := v.Data.(orderPage)
				writeGoPage(got, 200, &v, theme, &data)
				if g := got.Body.String(); g != want {
					at := 0
					for at < len(g) && at < len(want) && g[at] == want[at] {
						at++
					}
					t.Fatalf("%s view %d (theme %v) differs from the templates at byte %d:\n got: …%s\nwant: …%s", lang, i, theme, at,
						g[max(0, at-200):min(len(g), at+200)], want[max(0, at-200):min(len(want), at+200)])
				}
				if g, w := got.Header().Get("Content-Type"), rec.Header().Get("Content-Type"); g != w {
					t.Errorf("content type %q, the templates' %q", g, w)
				}
				if g, w := got.Header().Get("Cache-Control"), rec.Header().Get("Cache-Control"); g != w {
					t.Errorf("Cache-Control %q, the templates' %q", g, w)
				}
				n++
			}
		}
	}
}
