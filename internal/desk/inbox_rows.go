package desk

import (
	"html"
	"html/template"
	"strconv"
	"strings"
)

// inboxRowsHTML writes the inbox's rows — the markup of inboxRowTemplate
// (inbox_rows_test.go) — in Go. The inbox is the desk's busiest
// page and its fifty rows are most of its rendering: html/template calls
// an escaper by reflection for every value of every row, which cost more
// than everything else the page does. Every value written here goes
// through html.EscapeString (text and double-quoted attributes alike);
// the only raw parts are this file's literals and integers.
func inboxRowsHTML(rows []inboxRow, w inboxWords, back string) template.HTML {
	var b strings.Builder
	writeInboxRows(&b, rows, w, back)
	return template.HTML(b.String()) // every value is escaped
}

// writeInboxRows writes the rows of inboxRowsHTML into b, for the page
// (inboxPageHTML) to write them in its own buffer.
func writeInboxRows(b *strings.Builder, rows []inboxRow, w inboxWords, back string) {
	b.Grow(len(rows) * 900)
	text := func(s string) { b.WriteString(html.EscapeString(s)) }
	unread := html.EscapeString(w.Unread)
	for _, r := range rows {
		id := strconv.FormatInt(r.ID, 10)
		b.WriteString(`<li class="inbox-row`)
		if r.Unread {
			b.WriteString(` is-unread`)
		}
		b.WriteString(`" data-ticket="` + id + `">
        <div class="inbox-head">
          `)
		if r.Unread {
			b.WriteString(`<span class="unread-dot" title="` + unread + `"><span class="visually-hidden">` + unread + `</span></span>`)
		}
		b.WriteString(`
          <a class="inbox-subject" href="/tickets/` + id + `">`)
		text(r.Subject)
		b.WriteString(`</a>
          <span class="badge `)
		text(r.Status.Class)
		b.WriteString(`">`)
		text(r.Status.Label)
		b.WriteString(`</span>
        </div>
        <div class="inbox-who">`)
		if r.RequesterName != "" {
			text(r.RequesterName)
			b.WriteString(` <span class="muted">`)
			text(r.RequesterEmail)
			b.WriteString(`</span>`)
		} else {
			text(r.RequesterEmail)
		}
		b.WriteString(`</div>
        `)
		if r.Preview != "" {
			b.WriteString(`<div class="inbox-preview muted">`)
			text(r.Preview)
			b.WriteString(`</div>`)
		}
		b.WriteString(`
        <div class="inbox-meta">
          <span class="inbox-assignee">`)
		if r.Assignee != "" {
			text(r.Assignee)
		} else {
			text(w.Unassigned)
		}
		b.WriteString(`</span>
          `)
		for _, tag := range r.Tags {
			b.WriteString(`<span class="tag">`)
			text(tag)
			b.WriteString(`</span>`)
		}
		b.WriteString(`
          <span class="inbox-time">`)
		if r.Waiting != "" {
			b.WriteString(`<strong>`)
			text(r.Waiting)
			b.WriteString(`</strong>`)
		} else {
			text(w.LastActivity)
			b.WriteString(` `)
			text(r.LastActivity)
		}
		b.WriteString(`</span>
          `)
		if !r.Unread {
			b.WriteString(`<form method="post" action="/tickets/` + id + `/unread" class="inline"><input type="hidden" name="back" value="`)
			text(back)
			b.WriteString(`"><button type="submit" class="link">`)
			text(w.MarkUnread)
			b.WriteString(`</button></form>`)
		}
		b.WriteString(`
        </div>
      </li>
`)
	}
}
