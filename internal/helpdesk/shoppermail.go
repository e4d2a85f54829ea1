package helpdesk

import (
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/mail"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// ShopperMailMaxAttempts bounds the attempts of one mail to a shopper.
// River waits attempt⁴ seconds between them (1 s, 16 s, 81 s, … about 3
// hours over 10 attempts), which rides out a relay's restart or an
// afternoon's outage; after the last the mail shows as failed on its
// message.
const ShopperMailMaxAttempts = 10

// AcknowledgementInterval is how often one address gets an
// acknowledgement at most: a shopper who writes three times in a minute
// gets one, and two robots answering each other stop at the first.
const AcknowledgementInterval = 10 * time.Minute

// maxErrorRunes bounds the relay's words kept on a failed mail.
const maxErrorRunes = 500

// ShopperMailArgs ask for one mail to a ticket's shopper (an agent's
// reply or an acknowledgement) to be sent. Only the mail's id travels:
// what to send was recorded with it.
type ShopperMailArgs struct {
	ShopID int64 `json:"shop_id"`
	MailID int64 `json:"mail_id"`
}

func (ShopperMailArgs) Kind() string  { return "shopper_mail" }
func (a ShopperMailArgs) Shop() int64 { return a.ShopID }

// queueMail records the mail and enqueues its job in the use case's
// transaction: both commit with the message, or neither.
func (h *Tickets) queueMail(ctx context.Context, w *work, shopID int64, m ticket.Mail) error {
	m.MailMessageID = mail.NewMessageID(h.mailFrom)
	queued, err := w.tickets.QueueMail(ctx, shopID, m)
	if err != nil {
		return err
	}
	_, err = h.queue.Enqueue(ctx, w.tx, ShopperMailArgs{ShopID: shopID, MailID: queued.ID},
		&river.InsertOpts{MaxAttempts: ShopperMailMaxAttempts})
	return err
}

// queueReply mails the agent's reply m on t to the shopper, threaded on
// the ticket's mail: In-Reply-To the shopper's latest mail, References
// the conversation's. Nothing when mail is not set up or the ticket has
// no address to write to.
func (h *Tickets) queueReply(ctx context.Context, w *work, shopID int64, t *ticket.Ticket, m *ticket.Message) error {
	if !h.mailOn || !strings.Contains(t.RequesterEmail, "@") {
		return nil
	}
	inReplyTo, refs, err := w.tickets.MailThread(ctx, shopID, t.ID)
	if err != nil {
		return err
	}
	return h.queueMail(ctx, w, shopID, ticket.Mail{TicketID: t.ID, MessageID: m.ID, Kind: ticket.MailReply,
		Recipient: t.RequesterEmail, InReplyTo: inReplyTo, References: refs})
}

// acknowledge mails the shopper that their new ticket t arrived, in lang
// (the shop's default language when empty or not one of the hub's) —
// unless mail is not set up, the ticket has no address, or the address
// had one within AcknowledgementInterval.
func (h *Tickets) acknowledge(ctx context.Context, w *work, shopID int64, t *ticket.Ticket, lang string) error {
	if !h.mailOn || !strings.Contains(t.RequesterEmail, "@") {
		return nil
	}
	last, ok, err := w.tickets.LastAcknowledgement(ctx, shopID, t.RequesterEmail)
	if err != nil {
		return err
	}
	if ok && w.tickets.Now().Sub(last) < AcknowledgementInterval {
		return nil
	}
	if locale.Hub.Lookup(lang) == nil {
		lang = ""
	} else {
		lang = locale.Hub.For(lang).Lang
	}
	return h.queueMail(ctx, w, shopID, ticket.Mail{TicketID: t.ID, Kind: ticket.MailAcknowledgement,
		Recipient: t.RequesterEmail, Lang: lang})
}

// PublishedSettings reads what admins published; *settings.Editor is one.
type PublishedSettings interface {
	Published(ctx context.Context, shopID int64) (returns.Config, error)
}

// ShopperMailWorker sends one mail to a ticket's shopper and records how
// it went on the mail, which the desk and the API show on the message:
// sent with the relay's answer; retrying with the error while River tries
// again; failed when the relay refused it for good (5xx) or the attempts
// ran out. A mail already sent is not sent again, so a job that runs once
// more after its completion was lost (the process died between the send
// and River's bookkeeping) sends nothing.
type ShopperMailWorker struct {
	river.WorkerDefaults[ShopperMailArgs]
	Tickets  *ticket.Store
	Users    *user.Store
	Shops    *shop.Store
	Settings PublishedSettings
	Sender   mail.Sender // nil: mail is not set up, and the job waits for a retry
	Logger   *slog.Logger
}

// Timeout leaves room for a slow relay (mail.SMTP gives up after a
// minute).
func (w *ShopperMailWorker) Timeout(*river.Job[ShopperMailArgs]) time.Duration {
	return 2 * time.Minute
}

func (w *ShopperMailWorker) Work(ctx context.Context, job *river.Job[ShopperMailArgs]) error {
	args := job.Args
	m, err := w.Tickets.Mail(ctx, args.ShopID, args.MailID)
	if errors.Is(err, ticket.ErrNotFound) {
		w.log("shopper mail not sent: its ticket is gone", args)
		return nil
	}
	if err != nil {
		return err
	}
	if m.State == ticket.MailSent {
		return nil
	}
	msg, err := w.compose(ctx, args.ShopID, m)
	if errors.Is(err, ticket.ErrNotFound) {
		w.log("shopper mail not sent: its message is gone", args)
		return nil
	}
	if err != nil {
		return err
	}
	if w.Sender == nil {
		err = errors.New("email is not set up on this server (HUBDESK_SMTP_RELAY): the mail waits for a retry once it is")
	} else {
		var receipt mail.Receipt
		receipt, err = deliver(ctx, w.Sender, msg)
		if err == nil {
			// The mail left: record it even if the job's time ran out
			// meanwhile, so a retry does not send it twice.
			return w.Tickets.MailSent(context.WithoutCancel(ctx), args.ShopID, m.ID, job.Attempt, receipt.Response)
		}
	}
	permanent := mail.Permanent(err)
	final := permanent || job.Attempt >= job.MaxAttempts
	if rerr := w.Tickets.MailAttemptFailed(context.WithoutCancel(ctx), args.ShopID, m.ID, job.Attempt, problem(err), final); rerr != nil {
		return errors.Join(err, rerr)
	}
	if permanent {
		// No retry can help; the mail shows as failed on its message.
		return river.JobCancel(err)
	}
	return err
}

func (w *ShopperMailWorker) log(msg string, args ShopperMailArgs) {
	if w.Logger != nil {
		w.Logger.Info(msg, "shop_id", args.ShopID, "mail_id", args.MailID)
	}
}

// deliver sends through s, with the relay's answer when s tells it.
func deliver(ctx context.Context, s mail.Sender, m mail.Message) (mail.Receipt, error) {
	if d, ok := s.(mail.Deliverer); ok {
		return d.Deliver(ctx, m)
	}
	if err := s.Send(ctx, m); err != nil {
		return mail.Receipt{}, err
	}
	return mail.Receipt{MessageID: m.MessageID, Response: "250 accepted"}, nil
}

// problem is err as the desk shows it: one line, bounded.
func problem(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if r := []rune(s); len(r) > maxErrorRunes {
		s = string(r[:maxErrorRunes]) + "…"
	}
	return s
}

// compose words the mail m from what the ticket, the shop and the agent
// hold now.
func (w *ShopperMailWorker) compose(ctx context.Context, shopID int64, m *ticket.Mail) (mail.Message, error) {
	t, err := w.Tickets.Get(ctx, shopID, m.TicketID)
	if err != nil {
		return mail.Message{}, err
	}
	sh, err := w.Shops.Get(ctx, shopID)
	if err != nil {
		return mail.Message{}, err
	}
	brand := Brand{ShopName: sh.Name}
	if w.Settings != nil {
		cfg, err := w.Settings.Published(ctx, shopID)
		if err != nil {
			return mail.Message{}, err
		}
		brand.LogoURL = cfg.General.LogoURL
	}
	switch m.Kind {
	case ticket.MailReply:
		msgs, err := w.Tickets.Messages(ctx, shopID, t.ID)
		if err != nil {
			return mail.Message{}, err
		}
		var reply *ticket.Message
		for i := range msgs {
			if msgs[i].ID == m.MessageID {
				reply = &msgs[i]
			}
		}
		if reply == nil {
			return mail.Message{}, ticket.ErrNotFound
		}
		agent := Agent{Name: reply.AuthorName}
		if reply.AuthorUserID != 0 {
			if agent.Signature, err = w.Users.MailSignature(ctx, shopID, reply.AuthorUserID); err != nil && !errors.Is(err, user.ErrNotFound) {
				return mail.Message{}, err
			}
		}
		out, err := ComposeReply(brand, sh.Locale, t, agent, reply.Body)
		if err != nil {
			return mail.Message{}, err
		}
		out.MessageID, out.InReplyTo, out.References = m.MailMessageID, m.InReplyTo, m.References
		out.To = m.Recipient
		return out, nil
	case ticket.MailAcknowledgement:
		lang := m.Lang
		if lang == "" {
			lang = sh.Locale
		}
		// The shopper's first mail, when the ticket came by mail, is
		// known by now (the intake stamps it in the ticket's
		// transaction): the acknowledgement answers it.
		inReplyTo, refs, err := w.Tickets.MailThread(ctx, shopID, t.ID)
		if err != nil {
			return mail.Message{}, err
		}
		msgs, err := w.Tickets.Messages(ctx, shopID, t.ID)
		if err != nil {
			return mail.Message{}, err
		}
		first := ""
		if len(msgs) > 0 {
			first = msgs[0].Body
		}
		out, err := ComposeAcknowledgement(brand, lang, t, first)
		if err != nil {
			return mail.Message{}, err
		}
		out.MessageID, out.InReplyTo, out.References, out.To = m.MailMessageID, inReplyTo, refs, m.Recipient
		return out, nil
	}
	return mail.Message{}, fmt.Errorf("helpdesk: mail %d: unknown kind %q", m.ID, m.Kind)
}

// Brand is how a shop's mail looks: its name over the message, its logo
// when it has one.
type Brand struct {
	ShopName string
	LogoURL  string // https, checked when the setting was saved
}

// Agent is who signs a reply.
type Agent struct {
	Name      string
	Signature string
}

// Ref is a ticket's reference as shoppers see it, "[#123]": in the
// subject of every mail about it, where an answer that lost its headers
// is matched by it.
func Ref(ticketID int64) string { return "[#" + strconv.FormatInt(ticketID, 10) + "]" }

// ReplySubject is "Re: <subject> [#<id>]".
func ReplySubject(t *ticket.Ticket) string {
	return "Re: " + oneLine(stripRef(t.Subject, t.ID)) + " " + Ref(t.ID)
}

// stripRef drops the ticket's reference and leading "Re:"s from a
// subject, so an answer's subject does not grow "Re: Re: … [#1] [#1]".
func stripRef(subject string, ticketID int64) string {
	s := strings.TrimSpace(strings.ReplaceAll(subject, Ref(ticketID), ""))
	for {
		lower := strings.ToLower(s)
		if !strings.HasPrefix(lower, "re:") {
			return s
		}
		s = strings.TrimSpace(s[3:])
	}
}

// mailData is what the shopper mail templates receive.
type mailData struct {
	Brand
	Lang       string
	Paragraphs [][]string // the body: paragraphs of lines, as text
	Signature  []string
	AgentName  string
	Greeting   string
	Intro      string
	QuoteLabel string
	Quote      []string
	Footer     string
	// Button is a link the mail is about (a guest's order link), shown
	// as a button in HTML and on a line of its own in text.
	Button *mailButton
	After  []string // paragraphs after the button
}

type mailButton struct{ Label, URL string }

// ComposeReply words an agent's reply: the shop's name (and logo), the
// agent's text as they wrote it (escaped in HTML, its line breaks kept),
// their name and signature, and a footer with the ticket's reference in
// the shop's language.
func ComposeReply(b Brand, lang string, t *ticket.Ticket, agent Agent, body string) (mail.Message, error) {
	loc := locale.Hub.For(lang)
	d := mailData{Brand: b, Lang: loc.Lang, Paragraphs: paragraphs(body), AgentName: oneLine(agent.Name),
		Footer: loc.T("mail.footer", "shop", b.ShopName, "ref", Ref(t.ID))}
	if s := strings.TrimSpace(agent.Signature); s != "" {
		d.Signature = lines(s)
	}
	text, html, err := mail.Compose(replyText, shopperHTML, d)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{FromName: b.ShopName, To: t.RequesterEmail, Subject: ReplySubject(t), Text: text, HTML: html}, nil
}

// ComposeAcknowledgement words the mail that tells a shopper their
// message arrived, in lang: the reference to quote, that the answer comes
// by mail, and their message.
func ComposeAcknowledgement(b Brand, lang string, t *ticket.Ticket, first string) (mail.Message, error) {
	loc := locale.Hub.For(lang)
	name := oneLine(t.RequesterName)
	greeting := loc.T("mail.ack.greeting_anonymous")
	if name != "" {
		greeting = loc.T("mail.ack.greeting", "name", name)
	}
	d := mailData{Brand: b, Lang: loc.Lang, Greeting: greeting,
		Paragraphs: [][]string{{loc.T("mail.ack.received", "shop", b.ShopName)}, {loc.T("mail.ack.reference", "ref", Ref(t.ID))}},
		QuoteLabel: loc.T("mail.ack.your_message"), Quote: lines(excerpt(first, 2000)),
		Footer: loc.T("mail.footer", "shop", b.ShopName, "ref", Ref(t.ID))}
	text, html, err := mail.Compose(ackText, shopperHTML, d)
	if err != nil {
		return mail.Message{}, err
	}
	subject := loc.T("mail.ack.subject", "subject", oneLine(stripRef(t.Subject, t.ID)), "ref", Ref(t.ID))
	return mail.Message{FromName: b.ShopName, To: t.RequesterEmail, Subject: subject, Text: text, HTML: html, AutoReply: true}, nil
}

// ComposeGuestLink words the mail that gives a shopper who checked out
// without an account the one-time link to their order, in lang, in the
// shop's mail style: the order's name, the button, how long the link
// works, and that it can be ignored by whoever did not ask for it.
func ComposeGuestLink(b Brand, lang, to, orderName, link string, lifetime time.Duration) (mail.Message, error) {
	loc := locale.Hub.For(lang)
	hours := int(lifetime / time.Hour)
	d := mailData{Brand: b, Lang: loc.Lang, Greeting: loc.T("mail.guest.greeting"),
		Paragraphs: [][]string{{loc.T("mail.guest.body", "order", oneLine(orderName), "shop", b.ShopName)}},
		Button:     &mailButton{Label: loc.T("mail.guest.button", "order", oneLine(orderName)), URL: link},
		After:      []string{loc.T("mail.guest.expiry", "hours", loc.Number(int64(hours))), loc.T("mail.guest.ignore")},
		Footer:     b.ShopName}
	text, html, err := mail.Compose(guestText, shopperHTML, d)
	if err != nil {
		return mail.Message{}, err
	}
	subject := loc.T("mail.guest.subject", "order", oneLine(orderName), "shop", b.ShopName)
	return mail.Message{FromName: b.ShopName, To: to, Subject: subject, Text: text, HTML: html, AutoReply: true}, nil
}

// lines splits text at its line breaks.
func lines(s string) []string { return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") }

// paragraphs splits text at its blank lines, each paragraph into lines.
func paragraphs(s string) [][]string {
	var out [][]string
	for _, p := range strings.Split(strings.ReplaceAll(strings.TrimSpace(s), "\r\n", "\n"), "\n\n") {
		if p = strings.Trim(p, "\n"); p != "" {
			out = append(out, strings.Split(p, "\n"))
		}
	}
	return out
}

var (
	replyText = texttemplate.Must(texttemplate.New("reply").Parse(`{{range $i, $p := .Paragraphs}}{{if $i}}
{{end}}{{range $p}}{{.}}
{{end}}{{end}}
{{with .Signature}}-- 
{{range .}}{{.}}
{{end}}{{else}}{{.AgentName}}
{{end}}
{{.Footer}}
`))
	ackText = texttemplate.Must(texttemplate.New("ack").Parse(`{{.Greeting}}

{{range $i, $p := .Paragraphs}}{{if $i}}
{{end}}{{range $p}}{{.}}
{{end}}{{end}}{{with .Quote}}
{{$.QuoteLabel}}

{{range .}}> {{.}}
{{end}}{{end}}
{{.Footer}}
`))
	guestText = texttemplate.Must(texttemplate.New("guest").Parse(`{{.Greeting}}

{{range $i, $p := .Paragraphs}}{{if $i}}
{{end}}{{range $p}}{{.}}
{{end}}{{end}}
{{.Button.URL}}
{{range .After}}
{{.}}
{{end}}
{{.Footer}}
`))
	// shopperHTML is one simple layout for both: html/template escapes
	// every text, so what an agent or a shopper typed shows as typed;
	// the logo URL was checked to be https when it was saved.
	shopperHTML = htmltemplate.Must(htmltemplate.New("shopper").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"></head>
<body style="margin:0; padding:0; background:#f4f4f5">
<div style="max-width:600px; margin:0 auto; padding:24px; font-family:-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size:15px; line-height:1.5; color:#18181b">
<div style="padding-bottom:16px; border-bottom:1px solid #e4e4e7">{{if .LogoURL}}<img src="{{.LogoURL}}" alt="{{.ShopName}}" style="max-height:48px; max-width:240px">{{else}}<strong style="font-size:18px">{{.ShopName}}</strong>{{end}}</div>
<div style="background:#fff; padding:20px; margin-top:16px; border-radius:6px">
{{with .Greeting}}<p>{{.}}</p>
{{end}}{{range .Paragraphs}}<p>{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{end}}{{with .Quote}}<p style="color:#52525b">{{$.QuoteLabel}}</p>
<blockquote style="margin:0; padding-left:12px; border-left:3px solid #d4d4d8; color:#52525b">{{range $i, $l := .}}{{if $i}}<br>{{end}}{{$l}}{{end}}</blockquote>
{{end}}{{with .Button}}<p style="margin:24px 0"><a href="{{.URL}}" style="display:inline-block; background:#18181b; color:#fff; padding:10px 18px; border-radius:6px; text-decoration:none">{{.Label}}</a></p>
{{end}}{{range .After}}<p style="color:#52525b">{{.}}</p>
{{end}}{{if .Signature}}<p style="color:#3f3f46">{{range $i, $l := .Signature}}{{if $i}}<br>{{end}}{{$l}}{{end}}</p>
{{else if .AgentName}}<p style="color:#3f3f46">{{.AgentName}}</p>
{{end}}</div>
<p style="color:#71717a; font-size:12px; margin-top:16px">{{.Footer}}</p>
</div>
</body></html>
`))
)

// mailFirstMessage mails the first message of a ticket an agent opened
// (Create) to the shopper, as a reply.
func (h *Tickets) mailFirstMessage(ctx context.Context, w *work, shopID int64, t *ticket.Ticket) error {
	if !h.mailOn {
		return nil
	}
	msgs, err := w.tickets.Messages(ctx, shopID, t.ID)
	if err != nil || len(msgs) == 0 {
		return err
	}
	return h.queueReply(ctx, w, shopID, t, &msgs[0])
}
