package desk

import (
	"html/template"
	"regexp"
	"strings"
	"testing"
)

// inboxRowTemplate is the rows' markup as a template, the reference the
// hand-written inboxRowsHTML must match value for value, escapes included.
const inboxRowTemplate = `{{$w := .Words}}{{$back := .Back}}{{range .Rows}}
      <li class="inbox-row{{if .Unread}} is-unread{{end}}" data-ticket="{{.ID}}">
        <div class="inbox-head">
          {{if .Unread}}<span class="unread-dot" title="{{$w.Unread}}"><span class="visually-hidden">{{$w.Unread}}</span></span>{{end}}
          <a class="inbox-subject" href="/tickets/{{.ID}}">{{.Subject}}</a>
          <span class="badge {{.Status.Class}}">{{.Status.Label}}</span>
        </div>
        <div class="inbox-who">{{if .RequesterName}}{{.RequesterName}} <span class="muted">{{.RequesterEmail}}</span>{{else}}{{.RequesterEmail}}{{end}}</div>
        {{if .Preview}}<div class="inbox-preview muted">{{.Preview}}</div>{{end}}
        <div class="inbox-meta">
          <span class="inbox-assignee">{{if .Assignee}}{{.Assignee}}{{else}}{{$w.Unassigned}}{{end}}</span>
          {{range .Tags}}<span class="tag">{{.}}</span>{{end}}
          <span class="inbox-time">{{if .Waiting}}<strong>{{.Waiting}}</strong>{{else}}{{$w.LastActivity}} {{.LastActivity}}{{end}}</span>
          {{if not .Unread}}<form method="post" action="/tickets/{{.ID}}/unread" class="inline"><input type="hidden" name="back" value="{{$back}}"><button type="submit" class="link">{{$w.MarkUnread}}</button></form>{{end}}
        </div>
      </li>
{{end}}`

func TestInboxRowsHTMLMatchesTheTemplate(t *testing.T) {
	hostile := `<script>alert("x")</script> & 'quotes' "double"`
	rows := []inboxRow{
		{ID: 1, Subject: hostile, RequesterName: hostile, RequesterEmail: "a&b@example.com", Preview: hostile, Assignee: hostile,
			Tags: []string{"vip", hostile}, Unread: true, Status: badge{Class: "badge--ticket-open", Label: "Open <now>"}, Waiting: "waiting 3 h"},
		{ID: 22, Subject: "Plain", RequesterEmail: "b@example.com", Status: badge{Class: "badge--ticket-closed", Label: "Closed"},
			LastActivity: "5 Dec 2026, 09:00"},
		{ID: 333, Subject: "Ünïcødé — 返品", RequesterName: "Zoë", RequesterEmail: "z@example.com", Status: badge{Class: "badge--ticket-pending", Label: "Pending"},
			Waiting: "waiting 2 days", Tags: []string{"a"}},
	}
	words := inboxWords{Unread: `Unread "new"`, Unassigned: "<nobody>", LastActivity: "Last activity", MarkUnread: "Mark as unread"}
	back := `/tickets?view=mine&q="><script>`
	tmpl := template.Must(template.New("rows").Parse(inboxRowTemplate))
	var want strings.Builder
	if err := tmpl.Execute(&want, map[string]any{"Rows": rows, "Words": words, "Back": back}); err != nil {
		t.Fatal(err)
	}
	got := string(inboxRowsHTML(rows, words, back))
	if normalize(got) != normalize(want.String()) {
		t.Errorf("rows differ from the template:\n got: %s\nwant: %s", normalize(got), normalize(want.String()))
	}
	if strings.Contains(got, "<script>") {
		t.Errorf("a value was written unescaped: %s", got)
	}
}

var spaces = regexp.MustCompile(`\s+`)

// normalize collapses runs of white space and reads the two escapers'
// spellings of a double quote and a plus sign alike.
func normalize(s string) string {
	s = strings.NewReplacer("&#34;", "&quot;", "&#43;", "+").Replace(s)
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}
