package desk

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/web"
)

// ticketPageTemplate is the ticket view as a template around its parts
// (with parts.html's partials), the reference ticketPageHTML must match.
const ticketPageTemplate = `{{define "ticket-page"}}{{with .Data}}
<p><a href="/tickets">← Tickets</a></p>
{{template "helpdesk-off" .Helpdesk}}
{{with .Error}}<div class="alert error" role="alert">{{.}}</div>{{end}}
<h1 id="ticket-subject">{{.Ticket.Subject}} {{template "badge" (badge "ticket" .Ticket.Status)}}</h1>
{{if .Ticket.SpamAt}}<div class="alert warn" role="status" id="spam-notice">Marked as spam {{datetime .Ticket.SpamAt}}: it is kept, and shown in no inbox view.</div>{{end}}
{{if .Ticket.MergedIntoID}}<div class="alert warn" role="status">Merged into <a href="/tickets/{{.Ticket.MergedIntoID}}">ticket {{.Ticket.MergedIntoID}}</a>.</div>{{end}}
<p id="presence" class="presence-line muted small" aria-live="polite"></p>
<div class="ticket-view" data-ticket-view="{{.Ticket.ID}}" data-live-since="{{.LiveSince}}">
  <section class="conversation" aria-labelledby="conversation">
    <h2 id="conversation">Conversation</h2>
    <ol class="messages" id="messages">{{.Conversation}}    </ol>
    <form class="card reply-box" method="post" action="/tickets/{{.Ticket.ID}}/reply" enctype="multipart/form-data">
      <label for="reply-body"><strong>Your answer</strong> <span class="muted small">— Reply sends it to the customer; Add note keeps it for staff.</span></label>
      <textarea id="reply-body" name="body" rows="6" required maxlength="20000">{{.Draft}}</textarea>
      {{template "macro-picker" .MacroPicker}}
      {{template "attachment-input"}}
      <div class="actions">
        <button type="submit" id="send-reply">Reply</button>
        <button type="submit" class="secondary" id="add-note" formaction="/tickets/{{.Ticket.ID}}/note">Add note</button>
      </div>
    </form>
  </section>

  <aside class="ticket-side" id="ticket-side" aria-label="Ticket and customer">
    {{.TicketCard}}

    {{.CustomerCard}}

    {{.OrderCards}}
  </aside>
</div>
<script src="{{asset "live.js"}}" defer></script>
<script src="{{asset "ticket.js"}}" defer></script>
<script src="{{asset "returns.js"}}" defer></script>
{{end}}{{end}}
`

func TestTicketPageMatchesTheTemplate(t *testing.T) {
	tmpl := template.Must(template.New("parts.html").Funcs(templateFuncs(web.DefaultAssets, staffLocale)).
		ParseFS(templateFiles, "templates/parts.html", "templates/helpdesk_notice.html"))
	template.Must(tmpl.Parse(ticketPageTemplate))
	now := time.Now()
	for i, p := range hostileTicketPages() {
		p.Helpdesk = helpdeskNotice{Off: i%3 != 0, CanSwitch: i%3 == 2}
		if i%2 == 0 {
			p.Error, p.Draft = hostile, hostile+"\n</textarea><script>"
			p.Ticket.MergedIntoID = 12
			p.Orders = hostileOrders(now)
		}
		if i%3 == 1 {
			p.MacroPicker = newMacroPicker(p.Ticket.ID, []*macro.Macro{{ID: 3, Name: hostile}, {ID: 4, Name: "Refund"}}, hostile)
		}
		var want strings.Builder
		if err := tmpl.ExecuteTemplate(&want, "ticket-page", map[string]any{"Data": p}); err != nil {
			t.Fatal(err)
		}
		got := string(ticketPageHTML(staffLocale, web.DefaultAssets, &p, now))
		if normalize(got) != normalize(want.String()) {
			t.Errorf("page %d differs from the template:\n got: %s\nwant: %s", i, normalize(got), normalize(want.String()))
		}
		if strings.Contains(got, "<script>") {
			t.Errorf("page %d: a value was written unescaped", i)
		}
	}
}
