package desk

import (
	"html"
	"html/template"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// The ticket view's conversation and its Ticket and Customer cards are
// written in Go — the same markup the templates in
// ticket_html_test.go would write — for the reason the inbox's rows are
// (inbox_rows.go): the ticket view is the agents' most opened page, and
// html/template's reflective walk and escaping of every value of every
// message cost more than reading the ticket. Every value written here
// goes through html.EscapeString (text and double-quoted attributes
// alike) or is an integer; the only raw parts are this file's literals and
// the mail HTML that mailhtml sanitised (template.HTML, written raw by the
// template too).

// Conversation is the ticket's messages written out.
func (v ticketPage) Conversation() template.HTML {
	return conversationHTML(staffLocale, v.Messages)
}

// TicketCard is the side panel's Ticket card: status, assignee, tags,
// facts, merge, spam and block.
func (v ticketPage) TicketCard() template.HTML {
	return ticketCardHTML(staffLocale, &v)
}

// CustomerCard is the side panel's Customer card.
func (v ticketPage) CustomerCard() template.HTML {
	return customerCardHTML(staffLocale, &v)
}

// htmlWriter is a strings.Builder that escapes what it is given unless
// told the text is markup.
type htmlWriter struct{ strings.Builder }

// raw writes markup: literals of this file only.
func (w *htmlWriter) raw(s string) { w.WriteString(s) }

// text writes a value, escaped for text and double-quoted attributes.
func (w *htmlWriter) text(s string) {
	// Most values need no escape; skip EscapeString's allocation then.
	if strings.ContainsAny(s, `<>&'"`) {
		s = html.EscapeString(s)
	}
	w.WriteString(s)
}

func (w *htmlWriter) int(n int64) {
	var buf [20]byte
	w.Write(strconv.AppendInt(buf[:0], n, 10))
}

func (w *htmlWriter) html() template.HTML {
	return template.HTML(w.String()) // every value was escaped on the way in
}

// conversationHTML writes the messages as the ticket view lists them.
func conversationHTML(l *locale.Locale, msgs []messageView) template.HTML {
	var w htmlWriter
	size := 0
	for _, m := range msgs {
		size += 700 + len(m.Body) + len(m.HTML.Shown) + len(m.HTML.Quoted) + 300*len(m.Files)
	}
	w.Grow(size)
	w.raw("\n    ")
	for i := range msgs {
		m := &msgs[i]
		w.raw(`
      <li class="card message message--`)
		w.text(string(m.Type))
		w.raw(`" id="m`)
		w.int(m.ID)
		w.raw(`">
        <div class="muted small">
          <strong>`)
		if m.AuthorName != "" {
			w.text(m.AuthorName)
		} else {
			w.text(label(l, "ticket.author", string(m.AuthorKind)))
		}
		w.raw(`</strong>
          · `)
		w.text(label(l, "ticket.type", string(m.Type)))
		w.raw(`
          · <time datetime="`)
		w.text(m.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
		w.raw(`">`)
		w.text(l.DateTime(m.CreatedAt))
		w.raw(`</time>
          `)
		if d := m.Delivery; d != nil {
			w.raw(`· <span class="delivery delivery--`)
			w.text(string(d.State))
			w.raw(`" data-delivery="`)
			w.text(string(d.State))
			w.raw(`" title="`)
			w.text(d.Recipient)
			if d.Response != "" {
				w.raw(` — `)
				w.text(d.Response)
			}
			w.raw(`">`)
			w.text(label(l, "ticket.delivery", string(d.State)))
			if d.LastError != "" && d.State != ticket.MailSent {
				w.raw(` — `)
				w.text(d.LastError)
			}
			w.raw(`</span>`)
		}
		w.raw(`
        </div>
        `)
		if m.HTML.Shown != "" {
			w.raw(`
        <div class="message-body message-html">`)
			w.raw(string(m.HTML.Shown)) // sanitised by mailhtml.Render
			w.raw(`</div>
        `)
			if m.HTML.RemoteImages {
				w.raw(`<p class="muted small remote-images">Images from other servers are not loaded: loading them tells the sender you read the mail. <button type="button" class="secondary small" data-show-images>Show images</button></p>`)
			}
			w.raw(`
        `)
			if m.HTML.Quoted != "" {
				w.raw(`<details class="quoted"><summary>Show quoted text</summary><div class="message-body message-html muted">`)
				w.raw(string(m.HTML.Quoted)) // sanitised by mailhtml.Render
				w.raw(`</div></details>`)
			}
			w.raw(`
        `)
		} else {
			w.raw(`
        <p class="message-body">`)
			lines(&w, m.Shown)
			w.raw(`</p>
        `)
			if len(m.Quoted) > 0 {
				w.raw(`<details class="quoted"><summary>Show quoted text</summary><p class="message-body muted">`)
				lines(&w, m.Quoted)
				w.raw(`</p></details>`)
			}
			w.raw(`
        `)
		}
		w.raw(`
        `)
		attachmentsHTML(&w, m.Files)
		w.raw(`
      </li>
    `)
	}
	w.raw("\n    ")
	return w.html()
}

// lines writes text lines apart by <br>.
func lines(w *htmlWriter, ls []string) {
	for i, l := range ls {
		if i > 0 {
			w.raw(`<br>`)
		}
		w.text(l)
	}
}

// attachmentsHTML lists one message's files: each a download link, raster
// images also as a thumbnail (never SVG) — the "attachments" partial.
func attachmentsHTML(w *htmlWriter, files []attachment.Attachment) {
	if len(files) == 0 {
		return
	}
	w.raw(`<ul class="attachments">`)
	for i := range files {
		f := &files[i]
		w.raw(`<li>`)
		if f.Inline() {
			w.raw(`<a href="/tickets/`)
			w.int(f.TicketID)
			w.raw(`/attachments/`)
			w.int(f.ID)
			w.raw(`" class="thumb"><img src="/tickets/`)
			w.int(f.TicketID)
			w.raw(`/attachments/`)
			w.int(f.ID)
			w.raw(`?inline=1" alt="`)
			w.text(f.Filename)
			w.raw(`" loading="lazy" width="96" height="96"></a>`)
		}
		w.raw(`<a href="/tickets/`)
		w.int(f.TicketID)
		w.raw(`/attachments/`)
		w.int(f.ID)
		w.raw(`" download="`)
		w.text(f.Filename)
		w.raw(`">`)
		w.text(f.Filename)
		w.raw(`</a> <span class="muted small">`)
		w.text(f.SizeLabel())
		w.raw(`</span></li>`)
	}
	w.raw(`</ul>`)
}

// ticketCardHTML writes the side panel's Ticket card.
func ticketCardHTML(l *locale.Locale, v *ticketPage) template.HTML {
	t := v.Ticket
	var w htmlWriter
	w.Grow(3000 + 100*(len(v.Staff)+len(v.AllTags)+len(v.MergeTargets)))
	id := strconv.FormatInt(t.ID, 10)
	w.raw(`<section class="card" aria-labelledby="ticket-facts">
      <h2 id="ticket-facts">Ticket</h2>
      <form method="post" action="/tickets/` + id + `/status" class="control">
        <label for="status">Status</label>
        <select id="status" name="status">
          `)
	for _, s := range v.Statuses {
		w.raw(`<option value="`)
		w.text(string(s))
		w.raw(`"`)
		if s == t.Status {
			w.raw(` selected`)
		}
		w.raw(`>`)
		w.text(label(l, "ticket.status", string(s)))
		w.raw(`</option>`)
	}
	w.raw(`
        </select>
        <button type="submit" class="secondary small" id="set-status">Set</button>
      </form>
      <div class="control" id="assignee">
        <span>Assignee</span>
        `)
	if v.CanAssign {
		w.raw(`
        <form method="post" action="/tickets/` + id + `/assign" class="control">
          <label class="visually-hidden" for="assignee-select">Assignee</label>
          <select id="assignee-select" name="assignee">
            <option value="0">Unassigned</option>
            `)
		for _, u := range v.Staff {
			w.raw(`<option value="`)
			w.int(u.ID)
			w.raw(`"`)
			if u.ID == t.AssigneeID {
				w.raw(` selected`)
			}
			w.raw(`>`)
			w.text(u.DisplayName())
			w.raw(`</option>`)
		}
		w.raw(`
          </select>
          <button type="submit" class="secondary small" id="set-assignee">Assign</button>
        </form>
        `)
	} else {
		w.raw(`
          <strong id="assignee-name">`)
		if v.Assignee != nil {
			w.text(v.Assignee.DisplayName())
		} else {
			w.raw(`Unassigned`)
		}
		w.raw(`</strong>
        `)
	}
	w.raw(`
        `)
	switch {
	case t.AssigneeID == 0:
		w.raw(`
        <form method="post" action="/tickets/` + id + `/assign"><input type="hidden" name="assignee" value="`)
		w.int(v.Me.ID)
		w.raw(`"><button type="submit" class="small" id="take-it">Take it</button></form>
        `)
	case t.AssigneeID == v.Me.ID:
		w.raw(`
        <form method="post" action="/tickets/` + id + `/assign"><input type="hidden" name="assignee" value="0"><button type="submit" class="secondary small" id="unassign-me">Unassign me</button></form>
        `)
	}
	w.raw(`
      </div>
      <form method="post" action="/tickets/` + id + `/tags" class="control">
        <label for="tags">Tags</label>
        <input type="text" id="tags" name="tags" list="known-tags" value="`)
	for i, tag := range v.Tags {
		if i > 0 {
			w.raw(`, `)
		}
		w.text(tag.Name)
	}
	w.raw(`" placeholder="comma, separated">
        <datalist id="known-tags">`)
	for _, tag := range v.AllTags {
		w.raw(`<option value="`)
		w.text(tag.Name)
		w.raw(`">`)
	}
	w.raw(`</datalist>
        <button type="submit" class="secondary small" id="set-tags">Save</button>
      </form>
      <dl class="facts">
        <dt>Requester</dt><dd>`)
	w.text(t.RequesterName)
	if t.RequesterEmail != "" {
		w.raw(` &lt;`)
		w.text(t.RequesterEmail)
		w.raw(`&gt;`)
	}
	w.raw(`</dd>
        <dt>Channel</dt><dd>`)
	w.text(label(l, "ticket.channel", string(t.Channel)))
	w.raw(`</dd>
        <dt>Opened</dt><dd>`)
	w.text(l.DateTime(t.CreatedAt))
	w.raw(`</dd>
        <dt>First response</dt><dd id="first-response">`)
	if v.FirstResponse != "" {
		w.text(v.FirstResponse)
	} else {
		w.raw(`Not answered yet`)
	}
	w.raw(`</dd>
        <dt>Resolution</dt><dd id="resolution">`)
	if v.Resolution != "" {
		w.text(v.Resolution)
	} else {
		w.raw(`Not closed`)
	}
	w.raw(`</dd>
        `)
	if o := v.Order; o != nil {
		b := newBadge(l, "order", o.Status)
		w.raw(`<dt>Order</dt><dd><a href="/orders/`)
		w.int(o.ID)
		w.raw(`">`)
		w.text(o.Name)
		w.raw(`</a> <span class="badge `)
		w.text(b.Class)
		w.raw(`">`)
		w.text(b.Label)
		w.raw(`</span></dd>`)
	}
	w.raw(`
      </dl>
      `)
	if len(v.MergeTargets) > 0 {
		w.raw(`
      <form method="post" action="/tickets/` + id + `/merge" class="control">
        <label for="merge-target">Merge into</label>
        <select id="merge-target" name="target">
          `)
		for _, m := range v.MergeTargets {
			w.raw(`<option value="`)
			w.int(m.ID)
			w.raw(`">`)
			w.int(m.ID)
			w.raw(` · `)
			w.text(m.Subject)
			w.raw(`</option>`)
		}
		w.raw(`
        </select>
        <button type="submit" class="secondary small">Merge</button>
      </form>
      `)
	}
	w.raw(`
      <div class="control">
        `)
	if t.SpamAt == nil {
		w.raw(`<form method="post" action="/tickets/` + id + `/spam"><button type="submit" class="secondary small" id="mark-spam">Mark as spam</button></form>`)
	}
	w.raw(`
        `)
	if v.Blocked {
		w.raw(`<span class="muted small" id="sender-blocked">Sender blocked</span>`)
	} else {
		w.raw(`<form method="post" action="/tickets/` + id + `/block"><button type="submit" class="secondary small" id="block-sender">Block sender</button></form>`)
	}
	w.raw(`
      </div>
    </section>`)
	return w.html()
}

// customerCardHTML writes the side panel's Customer card.
func customerCardHTML(l *locale.Locale, v *ticketPage) template.HTML {
	var w htmlWriter
	w.Grow(600)
	w.raw(`<section class="card" aria-labelledby="customer-profile">
      <h2 id="customer-profile">Customer</h2>
      `)
	if c := v.Customer; c != nil {
		w.raw(`
      <dl class="facts">
        <dt>Name</dt><dd><a href="/customers/`)
		w.int(c.ID)
		w.raw(`">`)
		w.text(c.Name())
		w.raw(`</a></dd>
        <dt>Email</dt><dd>`)
		w.text(c.Email)
		w.raw(`</dd>
        <dt>Orders</dt><dd>`)
		w.int(int64(v.OrdersCount))
		w.raw(`</dd>
        <dt>Since</dt><dd>`)
		w.text(l.Date(c.CreatedAt))
		w.raw(`</dd>
      </dl>
      `)
	} else {
		w.raw(`<p class="muted">Not matched to a customer of the store.</p>`)
	}
	w.raw(`
    </section>`)
	return w.html()
}
