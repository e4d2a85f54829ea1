package desk

import (
	"html/template"

	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/web"
)

// The inbox page around its rows (navigation with counts, search, sorts,
// pager) is written in Go like its rows (inbox_rows.go) — the markup of
// the template in inbox_page_html_test.go, which
// TestInboxPageMatchesTheTemplate holds it to: once the rows and the
// layout were Go, the navigation's links were most of what html/template
// still walked on the desk's busiest page. Every value goes through
// htmlWriter.text, and links through htmlWriter.url.

// Body is the inbox page's markup.
func (v inboxPage) Body() template.HTML {
	return inboxPageHTML(staffLocale, web.DefaultAssets, &v)
}

func inboxPageHTML(l *locale.Locale, assets *web.Assets, v *inboxPage) template.HTML {
	var w htmlWriter
	w.Grow(4096 + 900*len(v.Rows))
	t := func(key string) { w.text(l.T(key)) }
	links := func(ls []inboxLink) {
		for _, k := range ls {
			w.raw(`<li><a href="`)
			w.url(k.URL)
			w.raw(`"`)
			if k.Current {
				w.raw(` aria-current="page"`)
			}
			w.raw(`>`)
			w.text(k.Label)
			if k.Count >= 0 {
				w.raw(` <span class="count" title="`)
				t("inbox.count_hint")
				w.raw(`">`)
				w.int(int64(k.Count))
				w.raw(`</span>`)
			}
			w.raw(`</a></li>`)
		}
	}
	w.raw(`
<h1>`)
	t("inbox.title")
	w.raw(`</h1>
`)
	helpdeskOffHTML(&w, v.Helpdesk)
	w.raw(`
<div class="inbox-layout" id="inbox-live" data-inbox-live>
  <nav class="inbox-nav" aria-label="`)
	t("inbox.filter")
	w.raw(`">
    <h2>`)
	t("inbox.views")
	w.raw(`</h2>
    <ul>`)
	links(v.Views)
	w.raw(`</ul>
    <h2>`)
	t("inbox.status")
	w.raw(`</h2>
    <ul>`)
	links(v.Statuses)
	w.raw(`</ul>
    `)
	if len(v.Tags) > 0 {
		w.raw(`<h2>`)
		t("inbox.tags")
		w.raw(`</h2>
    <ul>`)
		links(v.Tags)
		w.raw(`</ul>`)
	}
	w.raw(`
  </nav>
  <section class="inbox-main">
    <form class="inbox-search" role="search" method="get" action="/tickets">
      <label class="visually-hidden" for="ticket-search">`)
	t("inbox.search.label")
	w.raw(`</label>
      <input id="ticket-search" type="search" name="q" value="`)
	w.text(v.Query)
	w.raw(`" placeholder="`)
	t("inbox.search.placeholder")
	w.raw(`">
      `)
	if v.Status != "" {
		w.raw(`<input type="hidden" name="status" value="`)
		w.text(string(v.Status))
		w.raw(`">`)
	}
	w.raw(`
      <button type="submit" class="secondary">`)
	t("inbox.search.submit")
	w.raw(`</button>
    </form>
    `)
	if v.Query != "" {
		w.raw(`
    <p class="muted">`)
		t("inbox.search.ranked")
		w.raw(` · <a href="/tickets">`)
		t("inbox.search.clear")
		w.raw(`</a></p>
    `)
	} else {
		w.raw(`
    <div class="toolbar inbox-sorts" role="group" aria-label="`)
		t("inbox.sort")
		w.raw(`">
      `)
		for _, s := range v.Sorts {
			w.raw(`<a class="button`)
			if !s.Current {
				w.raw(` secondary`)
			}
			w.raw(`" href="`)
			w.url(s.URL)
			w.raw(`"`)
			if s.Current {
				w.raw(` aria-current="true"`)
			}
			w.raw(`>`)
			w.text(s.Label)
			w.raw(`</a>`)
		}
		w.raw(`
      <span class="muted shortcut-hint">`)
		t("shortcuts.hint")
		w.raw(`</span>
    </div>
    `)
	}
	w.raw(`
    `)
	switch {
	case len(v.Rows) > 0:
		w.raw(`
    <ol class="inbox" data-inbox>
    `)
		writeInboxRows(&w.Builder, v.Rows, v.Words, v.Back)
		w.raw(`
    </ol>
    `)
		if v.Pager.URL != "" {
			w.raw(`<div class="pager"><a class="button secondary" href="`)
			w.url(v.Pager.URL)
			w.raw(`">`)
			t(v.Pager.LabelKey)
			w.raw(`</a></div>`)
		}
		w.raw(`
    `)
	case v.Query != "":
		w.raw(`<div class="card empty">`)
		w.text(l.T("inbox.search.empty", "q", v.Query))
		w.raw(`</div>
    `)
	default:
		w.raw(`<div class="card empty">`)
		t("inbox.empty")
		w.raw(`</div>`)
	}
	w.raw(`
  </section>
</div>
<script src="`)
	w.text(assets.URL("live.js"))
	w.raw(`" defer></script>
`)
	return w.html()
}

// helpdeskOffHTML writes the "helpdesk-off" partial: the notice that the
// helpdesk is switched off, nothing while it is on.
func helpdeskOffHTML(w *htmlWriter, n helpdeskNotice) {
	if !n.Off {
		return
	}
	w.raw(`
<div class="alert warn" role="status" id="helpdesk-off">
  <strong>The helpdesk is off.</strong> The Customer Hub shows no Contact support form, so shoppers cannot open tickets from it.
  Tickets that arrive another way are still kept here.
  `)
	if n.CanSwitch {
		w.raw(`<a href="/settings/general">Switch it back on in Settings → General</a>.`)
	} else {
		w.raw(`A manager can switch it back on in Settings → General.`)
	}
	w.raw(`
</div>
`)
}
