package desk

import (
	"html/template"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/web"
)

// inboxPageTemplate is the inbox page as a template (with parts.html's
// "pager" and helpdesk_notice.html's "helpdesk-off"), the reference
// inboxPageHTML must match value for value, escapes included.
const inboxPageTemplate = `{{define "inbox-page"}}
<h1>{{t "inbox.title"}}</h1>
{{template "helpdesk-off" .Data.Helpdesk}}
<div class="inbox-layout" id="inbox-live" data-inbox-live>
  <nav class="inbox-nav" aria-label="{{t "inbox.filter"}}">
    <h2>{{t "inbox.views"}}</h2>
    <ul>{{range .Data.Views}}{{template "inbox-link" .}}{{end}}</ul>
    <h2>{{t "inbox.status"}}</h2>
    <ul>{{range .Data.Statuses}}{{template "inbox-link" .}}{{end}}</ul>
    {{if .Data.Tags}}<h2>{{t "inbox.tags"}}</h2>
    <ul>{{range .Data.Tags}}{{template "inbox-link" .}}{{end}}</ul>{{end}}
  </nav>
  <section class="inbox-main">
    <form class="inbox-search" role="search" method="get" action="/tickets">
      <label class="visually-hidden" for="ticket-search">{{t "inbox.search.label"}}</label>
      <input id="ticket-search" type="search" name="q" value="{{.Data.Query}}" placeholder="{{t "inbox.search.placeholder"}}">
      {{if .Data.Status}}<input type="hidden" name="status" value="{{.Data.Status}}">{{end}}
      <button type="submit" class="secondary">{{t "inbox.search.submit"}}</button>
    </form>
    {{if .Data.Query}}
    <p class="muted">{{t "inbox.search.ranked"}} · <a href="/tickets">{{t "inbox.search.clear"}}</a></p>
    {{else}}
    <div class="toolbar inbox-sorts" role="group" aria-label="{{t "inbox.sort"}}">
      {{range .Data.Sorts}}<a class="button{{if not .Current}} secondary{{end}}" href="{{.URL}}"{{if .Current}} aria-current="true"{{end}}>{{.Label}}</a>{{end}}
      <span class="muted shortcut-hint">{{t "shortcuts.hint"}}</span>
    </div>
    {{end}}
    {{if .Data.Rows}}
    <ol class="inbox" data-inbox>
    {{.Data.RowsHTML}}
    </ol>
    {{template "pager" .Data.Pager}}
    {{else if .Data.Query}}<div class="card empty">{{t "inbox.search.empty" "q" .Data.Query}}</div>
    {{else}}<div class="card empty">{{t "inbox.empty"}}</div>{{end}}
  </section>
</div>
<script src="{{asset "live.js"}}" defer></script>
{{end}}
{{define "inbox-link"}}<li><a href="{{.URL}}"{{if .Current}} aria-current="page"{{end}}>{{.Label}}{{if ge .Count 0}} <span class="count" title="{{t "inbox.count_hint"}}">{{.Count}}</span>{{end}}</a></li>{{end}}
`

func TestInboxPageMatchesTheTemplate(t *testing.T) {
	tmpl := template.Must(template.New("parts.html").Funcs(templateFuncs(web.DefaultAssets, staffLocale)).
		ParseFS(templateFiles, "templates/parts.html", "templates/helpdesk_notice.html"))
	template.Must(tmpl.Parse(inboxPageTemplate))
	hostileURL := `/tickets?view=mine&q=%22%3E%3Cscript%3E+x&status=` + hostile
	links := []inboxLink{{Label: hostile, URL: hostileURL, Count: 3, Current: true}, {Label: "All", URL: "/tickets", Count: 0},
		{Label: "Spam", URL: "javascript:alert(1)", Count: -1}, {Label: "Ünïcødé", URL: "/tickets?tag=5&q=a b", Count: 12_345}}
	rows := []inboxRow{{ID: 1, Subject: hostile, RequesterEmail: hostile, Status: badge{Class: "badge--ticket-open", Label: "Open"}, Waiting: "waiting 3 h"}}
	words := inboxWords{Unread: "Unread", Unassigned: "Unassigned", LastActivity: "Last activity", MarkUnread: "Mark as unread"}
	var pages []inboxPage
	for i := range 16 {
		p := inboxPage{Views: links[:3], Statuses: links, Sorts: []inboxLink{{Label: hostile, URL: hostileURL, Count: -1, Current: i%2 == 0}, {Label: "Newest", URL: "/tickets", Count: -1, Current: i%2 == 1}},
			Helpdesk: helpdeskNotice{Off: i%4 == 1 || i%4 == 2, CanSwitch: i%4 == 2}, Back: hostileURL}
		if i%2 == 0 {
			p.Tags = links[1:]
		}
		if i%3 != 0 {
			p.Rows = rows
			p.Words = words
		}
		if i%4 < 2 {
			p.Query = hostile
		}
		if i%5 == 0 {
			p.Status = ticket.Status(hostile)
		}
		if i%3 == 1 {
			p.Pager = pagerLink{URL: hostileURL + "&cursor=abc%3D%3D", LabelKey: "pager.next"}
		}
		pages = append(pages, p)
	}
	for i, p := range pages {
		var want strings.Builder
		ref := struct {
			inboxPage
			RowsHTML template.HTML
		}{p, inboxRowsHTML(p.Rows, p.Words, p.Back)}
		if err := tmpl.ExecuteTemplate(&want, "inbox-page", map[string]any{"Data": ref}); err != nil {
			t.Fatal(err)
		}
		got := string(inboxPageHTML(staffLocale, web.DefaultAssets, &p))
		if normalize(got) != normalize(want.String()) {
			t.Errorf("page %d differs from the template:\n got: %s\nwant: %s", i, normalize(got), normalize(want.String()))
		}
		if strings.Contains(got, "<script>") || strings.Contains(got, `href="javascript:`) {
			t.Errorf("page %d: a value was written unescaped: %s", i, got)
		}
	}
}
