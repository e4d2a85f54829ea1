package desk

import (
	"html/template"
	"time"

	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/web"
)

// The ticket view around its parts (header, notices, reply form with the
// macro picker and the file field, the side panel) is written in Go like
// the parts themselves (ticket_html.go, order_cards_html.go) — the markup
// of the template in ticket_page_html_test.go, which
// TestTicketPageMatchesTheTemplate holds it to. Every value goes through
// htmlWriter.text; the parts are written by their own writers.

// Body is the ticket view's markup.
func (v ticketPage) Body() template.HTML {
	return ticketPageHTML(staffLocale, web.DefaultAssets, &v, v.writtenAt())
}

// writtenAt is the page's clock: the desk's when the handler set it.
func (v ticketPage) writtenAt() time.Time {
	if v.now.IsZero() {
		return time.Now()
	}
	return v.now
}

func ticketPageHTML(l *locale.Locale, assets *web.Assets, v *ticketPage, now time.Time) template.HTML {
	var w htmlWriter
	conversation := conversationHTML(l, v.Messages)
	ticketCard, customerCard, orderCards := ticketCardHTML(l, v), customerCardHTML(l, v), orderCardsHTML(l, v, now)
	w.Grow(4096 + len(conversation) + len(ticketCard) + len(customerCard) + len(orderCards))
	t := func(key string) { w.text(l.T(key)) }
	tk := v.Ticket
	w.raw(`
<p><a href="/tickets">← Tickets</a></p>
`)
	helpdeskOffHTML(&w, v.Helpdesk)
	w.raw(`
`)
	if v.Error != "" {
		w.raw(`<div class="alert error" role="alert">`)
		w.text(v.Error)
		w.raw(`</div>`)
	}
	w.raw(`
<h1 id="ticket-subject">`)
	w.text(tk.Subject)
	w.raw(` `)
	w.badge(newBadge(l, "ticket", tk.Status))
	w.raw(`</h1>
`)
	if tk.SpamAt != nil {
		w.raw(`<div class="alert warn" role="status" id="spam-notice">Marked as spam `)
		w.text(l.DateTime(*tk.SpamAt))
		w.raw(`: it is kept, and shown in no inbox view.</div>`)
	}
	w.raw(`
`)
	if tk.MergedIntoID != 0 {
		w.raw(`<div class="alert warn" role="status">Merged into <a href="/tickets/`)
		w.int(tk.MergedIntoID)
		w.raw(`">ticket `)
		w.int(tk.MergedIntoID)
		w.raw(`</a>.</div>`)
	}
	w.raw(`
<p id="presence" class="presence-line muted small" aria-live="polite"></p>
<div class="ticket-view" data-ticket-view="`)
	w.int(tk.ID)
	w.raw(`" data-live-since="`)
	w.text(v.LiveSince)
	w.raw(`">
  <section class="conversation" aria-labelledby="conversation">
    <h2 id="conversation">Conversation</h2>
    <ol class="messages" id="messages">`)
	w.raw(string(conversation)) // escaped by conversationHTML
	w.raw(`    </ol>
    <form class="card reply-box" method="post" action="/tickets/`)
	w.int(tk.ID)
	w.raw(`/reply" enctype="multipart/form-data">
      <label for="reply-body"><strong>Your answer</strong> <span class="muted small">— Reply sends it to the customer; Add note keeps it for staff.</span></label>
      <textarea id="reply-body" name="body" rows="6" required maxlength="20000">`)
	w.text(v.Draft)
	w.raw(`</textarea>
      `)
	if mp := v.MacroPicker; len(mp.Macros) > 0 {
		w.raw(`<label for="macro-picker">`)
		t("macros.insert")
		w.raw(`</label>
<select id="macro-picker" data-macro-picker data-ticket="`)
		w.int(mp.TicketID)
		w.raw(`" data-target="`)
		w.text(mp.Target)
		w.raw(`">
  <option value="">`)
		t("macros.choose")
		w.raw(`</option>
  `)
		for _, m := range mp.Macros {
			w.raw(`<option value="`)
			w.int(m.ID)
			w.raw(`">`)
			w.text(m.Name)
			w.raw(`</option>`)
		}
		w.raw(`
</select>
<script src="`)
		w.text(assets.URL("macros.js"))
		w.raw(`" defer></script>`)
	}
	w.raw(`
      <label for="reply-files">`)
	t("attachments.add")
	w.raw(`</label>
<input id="reply-files" name="files" type="file" multiple aria-describedby="reply-files-hint">
<p class="hint" id="reply-files-hint">`)
	t("attachments.limits")
	w.raw(`</p>
      <div class="actions">
        <button type="submit" id="send-reply">Reply</button>
        <button type="submit" class="secondary" id="add-note" formaction="/tickets/`)
	w.int(tk.ID)
	w.raw(`/note">Add note</button>
      </div>
    </form>
  </section>

  <aside class="ticket-side" id="ticket-side" aria-label="Ticket and customer">
    `)
	w.raw(string(ticketCard)) // escaped by ticketCardHTML
	w.raw(`

    `)
	w.raw(string(customerCard)) // escaped by customerCardHTML
	w.raw(`

    `)
	w.raw(string(orderCards)) // escaped by orderCardsHTML
	w.raw(`
  </aside>
</div>
<script src="`)
	w.text(assets.URL("live.js"))
	w.raw(`" defer></script>
<script src="`)
	w.text(assets.URL("ticket.js"))
	w.raw(`" defer></script>
<script src="`)
	w.text(assets.URL("returns.js"))
	w.raw(`" defer></script>
`)
	return w.html()
}
