package desk

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/mailhtml"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
	"github.com/hubdesk/hubdesk/internal/web"
)

// The ticket view's parts as templates: the reference the Go writers of
// ticket_html.go must match value for value, escapes included.
const (
	conversationTemplate = `{{define "conversation"}}{{with .Data}}
    {{range .Messages}}
      <li class="card message message--{{.Type}}" id="m{{.ID}}">
        <div class="muted small">
          <strong>{{if .AuthorName}}{{.AuthorName}}{{else}}{{label "ticket.author" .AuthorKind}}{{end}}</strong>
          · {{label "ticket.type" .Type}}
          · <time datetime="{{.CreatedAt.UTC.Format "2006-01-02T15:04:05Z"}}">{{datetime .CreatedAt}}</time>
          {{with .Delivery}}· <span class="delivery delivery--{{.State}}" data-delivery="{{.State}}" title="{{.Recipient}}{{with .Response}} — {{.}}{{end}}">{{label "ticket.delivery" .State}}{{if and .LastError (ne .State "sent")}} — {{.LastError}}{{end}}</span>{{end}}
        </div>
        {{if .HTML.Shown}}
        <div class="message-body message-html">{{.HTML.Shown}}</div>
        {{if .HTML.RemoteImages}}<p class="muted small remote-images">Images from other servers are not loaded: loading them tells the sender you read the mail. <button type="button" class="secondary small" data-show-images>Show images</button></p>{{end}}
        {{if .HTML.Quoted}}<details class="quoted"><summary>Show quoted text</summary><div class="message-body message-html muted">{{.HTML.Quoted}}</div></details>{{end}}
        {{else}}
        <p class="message-body">{{range $i, $l := .Shown}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
        {{if .Quoted}}<details class="quoted"><summary>Show quoted text</summary><p class="message-body muted">{{range $i, $l := .Quoted}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p></details>{{end}}
        {{end}}
        {{template "attachments" .Files}}
      </li>
    {{end}}
    {{end}}{{end}}`
	ticketCardTemplate = `{{define "ticket-card"}}{{with .Data}}<section class="card" aria-labelledby="ticket-facts">
      <h2 id="ticket-facts">Ticket</h2>
      <form method="post" action="/tickets/{{.Ticket.ID}}/status" class="control">
        <label for="status">Status</label>
        <select id="status" name="status">
          {{range $s := $.Data.Statuses}}<option value="{{$s}}"{{if eq $s $.Data.Ticket.Status}} selected{{end}}>{{label "ticket.status" $s}}</option>{{end}}
        </select>
        <button type="submit" class="secondary small" id="set-status">Set</button>
      </form>
      <div class="control" id="assignee">
        <span>Assignee</span>
        {{if .CanAssign}}
        <form method="post" action="/tickets/{{.Ticket.ID}}/assign" class="control">
          <label class="visually-hidden" for="assignee-select">Assignee</label>
          <select id="assignee-select" name="assignee">
            <option value="0">Unassigned</option>
            {{range .Staff}}<option value="{{.ID}}"{{if eq .ID $.Data.Ticket.AssigneeID}} selected{{end}}>{{.DisplayName}}</option>{{end}}
          </select>
          <button type="submit" class="secondary small" id="set-assignee">Assign</button>
        </form>
        {{else}}
          <strong id="assignee-name">{{with .Assignee}}{{.DisplayName}}{{else}}Unassigned{{end}}</strong>
        {{end}}
        {{if not .Ticket.AssigneeID}}
        <form method="post" action="/tickets/{{.Ticket.ID}}/assign"><input type="hidden" name="assignee" value="{{.Me.ID}}"><button type="submit" class="small" id="take-it">Take it</button></form>
        {{else if eq .Ticket.AssigneeID .Me.ID}}
        <form method="post" action="/tickets/{{.Ticket.ID}}/assign"><input type="hidden" name="assignee" value="0"><button type="submit" class="secondary small" id="unassign-me">Unassign me</button></form>
        {{end}}
      </div>
      <form method="post" action="/tickets/{{.Ticket.ID}}/tags" class="control">
        <label for="tags">Tags</label>
        <input type="text" id="tags" name="tags" list="known-tags" value="{{range $i, $t := .Tags}}{{if $i}}, {{end}}{{$t.Name}}{{end}}" placeholder="comma, separated">
        <datalist id="known-tags">{{range .AllTags}}<option value="{{.Name}}">{{end}}</datalist>
        <button type="submit" class="secondary small" id="set-tags">Save</button>
      </form>
      <dl class="facts">
        <dt>Requester</dt><dd>{{.Ticket.RequesterName}}{{with .Ticket.RequesterEmail}} &lt;{{.}}&gt;{{end}}</dd>
        <dt>Channel</dt><dd>{{label "ticket.channel" .Ticket.Channel}}</dd>
        <dt>Opened</dt><dd>{{datetime .Ticket.CreatedAt}}</dd>
        <dt>First response</dt><dd id="first-response">{{with .FirstResponse}}{{.}}{{else}}Not answered yet{{end}}</dd>
        <dt>Resolution</dt><dd id="resolution">{{with .Resolution}}{{.}}{{else}}Not closed{{end}}</dd>
        {{with .Order}}<dt>Order</dt><dd><a href="/orders/{{.ID}}">{{.Name}}</a> {{template "badge" (badge "order" .Status)}}</dd>{{end}}
      </dl>
      {{if .MergeTargets}}
      <form method="post" action="/tickets/{{.Ticket.ID}}/merge" class="control">
        <label for="merge-target">Merge into</label>
        <select id="merge-target" name="target">
          {{range .MergeTargets}}<option value="{{.ID}}">{{.ID}} · {{.Subject}}</option>{{end}}
        </select>
        <button type="submit" class="secondary small">Merge</button>
      </form>
      {{end}}
      <div class="control">
        {{if not .Ticket.SpamAt}}<form method="post" action="/tickets/{{.Ticket.ID}}/spam"><button type="submit" class="secondary small" id="mark-spam">Mark as spam</button></form>{{end}}
        {{if .Blocked}}<span class="muted small" id="sender-blocked">Sender blocked</span>{{else}}<form method="post" action="/tickets/{{.Ticket.ID}}/block"><button type="submit" class="secondary small" id="block-sender">Block sender</button></form>{{end}}
      </div>
    </section>
{{end}}{{end}}`
	customerCardTemplate = `{{define "customer-card"}}{{with .Data}}<section class="card" aria-labelledby="customer-profile">
      <h2 id="customer-profile">Customer</h2>
      {{with .Customer}}
      <dl class="facts">
        <dt>Name</dt><dd><a href="/customers/{{.ID}}">{{.Name}}</a></dd>
        <dt>Email</dt><dd>{{.Email}}</dd>
        <dt>Orders</dt><dd>{{$.Data.OrdersCount}}</dd>
        <dt>Since</dt><dd>{{date .CreatedAt}}</dd>
      </dl>
      {{else}}<p class="muted">Not matched to a customer of the store.</p>{{end}}
    </section>
{{end}}{{end}}`
	attachmentsTemplate = `{{define "attachments"}}{{if .}}<ul class="attachments">{{range .}}<li>
  {{- if .Inline}}<a href="/tickets/{{.TicketID}}/attachments/{{.ID}}" class="thumb"><img src="/tickets/{{.TicketID}}/attachments/{{.ID}}?inline=1" alt="{{.Filename}}" loading="lazy" width="96" height="96"></a>{{end -}}
  <a href="/tickets/{{.TicketID}}/attachments/{{.ID}}" download="{{.Filename}}">{{.Filename}}</a> <span class="muted small">{{.SizeLabel}}</span></li>{{end}}</ul>{{end}}{{end}}`
	badgeTemplate = `{{define "badge"}}<span class="badge {{.Class}}">{{.Label}}</span>{{end}}`
)

// hostile is text an attacker controls: a subject, a name, a filename.
const hostile = `<script>alert("x")</script> & 'quotes' "double" +1`

// hostileTicketPages are ticket views whose every value is hostile, in
// each state the parts tell apart.
func hostileTicketPages() []ticketPage {
	at := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	var msgs []messageView
	for _, a := range []ticket.AuthorKind{ticket.AuthorCustomer, ticket.AuthorAgent, ticket.AuthorSystem, ticket.AuthorKind(hostile)} {
		for _, k := range []ticket.MessageKind{ticket.KindMessage, ticket.KindNote} {
			m := ticket.Message{ID: int64(len(msgs) + 1), Kind: k, AuthorKind: a, Body: hostile + "\n" + hostile + "\n\nOn Monday, " + hostile + " wrote:\n> " + hostile, CreatedAt: at}
			if len(msgs)%2 == 1 {
				m.AuthorName = hostile
			}
			shown, quoted := splitQuoted(m.Body)
			msgs = append(msgs, messageView{Message: m, Type: m.ConversationKind(), Shown: shown, Quoted: quoted})
		}
	}
	// Mail HTML: the template writes mailhtml's output raw; so must Go.
	rendered := mailhtml.Render(`<p>Hi <b>there</b> <img src="https://tracker.example.com/p.gif" alt="`+hostile+`"></p>`+
		`<div class="gmail_quote">On Monday wrote:<blockquote>`+hostile+`</blockquote></div><script>alert(1)</script>`, nil)
	if rendered.Shown == "" || rendered.Quoted == "" || !rendered.RemoteImages {
		panic("the sample mail should have shown and quoted parts and a remote image")
	}
	msgs = append(msgs, messageView{Message: ticket.Message{ID: 90, Kind: ticket.KindMessage, AuthorKind: ticket.AuthorCustomer, Body: "text", CreatedAt: at},
		Type: ticket.Inbound, HTML: rendered},
		messageView{Message: ticket.Message{ID: 91, Kind: ticket.KindMessage, AuthorKind: ticket.AuthorCustomer, Body: "text", CreatedAt: at},
			Type: ticket.Inbound, HTML: mailhtml.Rendered{Shown: "<p>only shown</p>"}})
	for i, state := range []ticket.MailState{ticket.MailQueued, ticket.MailSent, ticket.MailRetrying, ticket.MailFailed, ticket.MailState(hostile)} {
		mail := &ticket.Mail{State: state, Recipient: hostile, LastError: hostile}
		if i%2 == 0 {
			mail.Response = hostile
		}
		if i == 3 {
			mail.LastError = ""
		}
		msgs = append(msgs, messageView{Message: ticket.Message{ID: int64(100 + i), Kind: ticket.KindMessage, AuthorKind: ticket.AuthorAgent, Body: "Sent", CreatedAt: at},
			Type: ticket.Reply, Shown: []string{"Sent"}, Delivery: mail})
	}
	msgs[0].Files = []attachment.Attachment{
		{ID: 5, TicketID: 9, Filename: hostile + ".png", ContentType: "image/png", Size: 2_400_000},
		{ID: 6, TicketID: 9, Filename: hostile + ".svg", ContentType: "image/svg+xml", Size: 512},
		{ID: 7, TicketID: 9, Filename: hostile, ContentType: "application/pdf", Size: 48_000},
	}
	msgs[1].Shown, msgs[1].Quoted = nil, nil

	me := &user.User{ID: 1, Email: hostile, Role: user.RoleAgent}
	staff := []*user.User{me, {ID: 2, Email: "grace@example.com", Name: hostile, Role: user.RoleManager}, {ID: 3, Email: hostile}}
	order := orderview.Order{Order: &commerce.Order{ID: 77, Name: hostile}, Status: commerce.Status(hostile)}
	customer := &commerce.Customer{ID: 8, Email: hostile, FirstName: hostile, CreatedAt: at}
	var pages []ticketPage
	for i := range 6 {
		closed := at.Add(time.Hour)
		tk := &ticket.Ticket{ID: int64(40 + i), Subject: hostile, RequesterName: hostile, RequesterEmail: hostile, Status: []ticket.Status{ticket.StatusOpen, ticket.StatusPending, ticket.StatusClosed}[i%3],
			Channel: []ticket.Channel{ticket.ChannelHub, ticket.ChannelEmail, ticket.Channel(hostile)}[i%3], AssigneeID: int64(i % 3), CreatedAt: at}
		if i%2 == 0 {
			tk.SpamAt = &closed
			tk.RequesterName = ""
		}
		if i == 3 {
			tk.RequesterEmail = ""
		}
		p := ticketPage{Ticket: tk, Statuses: append(ticketStatuses, ticket.Status(hostile)), Messages: msgs, Me: me, Staff: staff, CanAssign: i%2 == 1,
			Tags: []ticket.Tag{{ID: 1, Name: hostile}, {ID: 2, Name: "vip"}}, AllTags: []ticket.Tag{{ID: 1, Name: hostile}, {ID: 2, Name: "vip"}},
			Blocked: i%3 == 0, OrdersCount: 12}
		if i%2 == 0 {
			p.Customer, p.Order = customer, &order
			p.MergeTargets = []*ticket.Ticket{{ID: 3, Subject: hostile}, {ID: 4, Subject: "Plain"}}
			p.FirstResponse, p.Resolution = hostile, hostile
			p.Assignee = staff[1]
		}
		pages = append(pages, p)
	}
	pages = append(pages, ticketPage{Ticket: &ticket.Ticket{ID: 1, Status: ticket.StatusOpen}, Statuses: ticketStatuses, Me: me})
	return pages
}

func TestTicketViewPartsMatchTheTemplates(t *testing.T) {
	tmpl := template.Must(template.New("parts").Funcs(templateFuncs(web.DefaultAssets, staffLocale)).Parse(
		conversationTemplate + ticketCardTemplate + customerCardTemplate + attachmentsTemplate + badgeTemplate))
	for i, p := range hostileTicketPages() {
		for _, part := range []struct {
			name string
			got  template.HTML
		}{
			{"conversation", p.Conversation()},
			{"ticket-card", p.TicketCard()},
			{"customer-card", p.CustomerCard()},
		} {
			var want strings.Builder
			if err := tmpl.ExecuteTemplate(&want, part.name, map[string]any{"Data": p}); err != nil {
				t.Fatal(err)
			}
			if normalize(string(part.got)) != normalize(want.String()) {
				t.Errorf("page %d: %s differs from the template:\n got: %s\nwant: %s", i, part.name, normalize(string(part.got)), normalize(want.String()))
			}
			if strings.Contains(string(part.got), "<script>") {
				t.Errorf("page %d: %s wrote a value unescaped: %s", i, part.name, part.got)
			}
		}
	}
}
