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
	"unicode/utf8"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/mail"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// NotificationMailDelay is how long after a desk notification its email
// waits. An agent at the desk sees the badge first and opens the ticket,
// which marks the notification read, and then gets no email about what
// they have just seen; an agent away from the desk hears of it two
// minutes late, which is nothing next to a shopper's wait.
const NotificationMailDelay = 2 * time.Minute

// NotificationMailMaxAttempts bounds the retries of one email (River's
// backoff, attempt⁴ s: about three hours in all) before it shows as dead
// on Settings → Jobs.
const NotificationMailMaxAttempts = 10

// ExcerptRunes is how much of the shopper's latest message an email
// quotes.
const ExcerptRunes = 500

// Enqueuer adds a job inside a transaction; *jobs.Queue is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *database.Tx, args jobs.Args, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// NotificationMailArgs ask for one desk notification to be emailed to its
// agent. Only the notification's id travels: the job reads the rest when
// it runs, so what was read or changed meanwhile is respected.
type NotificationMailArgs struct {
	ShopID         int64 `json:"shop_id"`
	NotificationID int64 `json:"notification_id"`
}

func (NotificationMailArgs) Kind() string  { return "notification_mail" }
func (a NotificationMailArgs) Shop() int64 { return a.ShopID }

// notify tells the agent userID about the ticket in the desk and, when
// mail is set up and the agent has not turned these emails off, enqueues
// its email in the same transaction, NotificationMailDelay later, unique
// per notification. Callers never notify the actor of their own action.
func (h *Tickets) notify(ctx context.Context, w *work, shopID, userID, ticketID int64, kind ticket.NotificationKind) error {
	id, err := w.tickets.AddNotification(ctx, shopID, userID, ticketID, kind)
	if err != nil || !h.mailOn {
		return err
	}
	on, err := w.users.NotificationMail(ctx, shopID, userID)
	if err != nil || !on {
		return err
	}
	// River runs scheduled jobs by the wall clock, so the delay is counted
	// from it rather than from the tickets' (possibly stepped) clock.
	_, err = h.queue.Enqueue(ctx, w.tx, NotificationMailArgs{ShopID: shopID, NotificationID: id}, &river.InsertOpts{
		MaxAttempts: NotificationMailMaxAttempts,
		ScheduledAt: time.Now().Add(h.mailDelay),
		UniqueOpts:  river.UniqueOpts{ByArgs: true},
	})
	return err
}

// NotificationMailWorker emails an agent about a desk notification: a
// ticket assigned to them, or the shopper's reply on their ticket. It
// sends nothing when the agent has read the notification since (opened the
// ticket or marked all read), is disabled, or has turned these emails
// off; nor when the notification is gone with its ticket.
type NotificationMailWorker struct {
	river.WorkerDefaults[NotificationMailArgs]
	Tickets *ticket.Store
	Users   *user.Store
	Shops   *shop.Store
	Sender  mail.Sender // nil: mail is not set up, and the job fails visibly
	// BaseURL is hubdesk's public URL (HUBDESK_BASE_URL), which the link
	// to the ticket starts with.
	BaseURL string
	Logger  *slog.Logger
}

// Timeout leaves room for a slow mail server (mail.SMTP gives up after a
// minute).
func (w *NotificationMailWorker) Timeout(*river.Job[NotificationMailArgs]) time.Duration {
	return 2 * time.Minute
}

func (w *NotificationMailWorker) Work(ctx context.Context, job *river.Job[NotificationMailArgs]) error {
	args := job.Args
	n, err := w.Tickets.NotificationForMail(ctx, args.ShopID, args.NotificationID)
	if errors.Is(err, ticket.ErrNotFound) {
		w.dropped(args, "the notification is gone")
		return nil
	}
	if err != nil {
		return err
	}
	if n.Read {
		w.dropped(args, "already read in the desk")
		return nil
	}
	agent, err := w.Users.Get(ctx, args.ShopID, n.UserID)
	if err != nil {
		return err
	}
	if agent.DisabledAt != nil {
		w.dropped(args, "the agent is disabled")
		return nil
	}
	on, err := w.Users.NotificationMail(ctx, args.ShopID, n.UserID)
	if err != nil {
		return err
	}
	if !on {
		w.dropped(args, "the agent turned these emails off")
		return nil
	}
	sh, err := w.Shops.Get(ctx, args.ShopID)
	if err != nil {
		return err
	}
	msg, err := ComposeNotificationMail(sh.Name, w.BaseURL, agent, n)
	if err != nil {
		return err
	}
	if w.Sender == nil {
		return errors.New("email is not set up on this server (HUBDESK_SMTP_URL): the mail waits for a retry once it is")
	}
	return w.Sender.Send(ctx, msg)
}

func (w *NotificationMailWorker) dropped(args NotificationMailArgs, why string) {
	if w.Logger != nil {
		w.Logger.Info("notification mail not sent", "shop_id", args.ShopID, "notification_id", args.NotificationID, "reason", why)
	}
}

// notificationMailData is what the notification mail templates receive.
type notificationMailData struct {
	Shop, Agent, Customer, Subject, Excerpt, Link string
	Assigned                                      bool
}

// ComposeNotificationMail words the email about notification n to agent:
// the subject line names the shop and what happened, the body the
// ticket's subject, the shopper, the start of their latest message (as
// text: the HTML template escapes it, so markup a shopper wrote shows as
// written) and the link to the ticket in the desk.
func ComposeNotificationMail(shopName, baseURL string, agent *user.User, n *ticket.NotificationMail) (mail.Message, error) {
	d := notificationMailData{
		Shop:     shopName,
		Agent:    agent.DisplayName(),
		Customer: oneLine(n.CustomerName),
		Subject:  oneLine(n.Subject),
		Excerpt:  excerpt(n.LatestCustomerMessage, ExcerptRunes),
		Link:     strings.TrimRight(baseURL, "/") + "/tickets/" + strconv.FormatInt(n.TicketID, 10),
		Assigned: n.Kind == ticket.NotifyAssigned,
	}
	subject := fmt.Sprintf("[%s] %s replied: %s", oneLine(shopName), d.Customer, d.Subject)
	if d.Assigned {
		subject = fmt.Sprintf("[%s] Assigned to you: %s", oneLine(shopName), d.Subject)
	}
	text, html, err := mail.Compose(notificationText, notificationHTML, d)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{FromName: shopName, To: agent.Email, Subject: subject, Text: text, HTML: html}, nil
}

// oneLine folds a text's whitespace, line breaks included, into single
// spaces, for a subject line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// excerpt is the first max characters of s, trimmed, with "…" when cut.
func excerpt(s string, max int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	runes := []rune(s)
	return strings.TrimSpace(string(runes[:max])) + "…"
}

var (
	notificationText = texttemplate.Must(texttemplate.New("notification").Parse(`Hello {{.Agent}},

{{if .Assigned}}a ticket of {{.Shop}} was assigned to you.{{else}}{{.Customer}} replied on your ticket at {{.Shop}}.{{end}}

Ticket: {{.Subject}}
Customer: {{.Customer}}
{{with .Excerpt}}
Their latest message:

{{.}}
{{end}}
Open the ticket in the desk:
{{.Link}}

You get these emails because you work tickets at {{.Shop}}; turn them off on your account page in the desk.
`))
	notificationHTML = htmltemplate.Must(htmltemplate.New("notification").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello {{.Agent}},</p>
<p>{{if .Assigned}}a ticket of <strong>{{.Shop}}</strong> was assigned to you.{{else}}{{.Customer}} replied on your ticket at <strong>{{.Shop}}</strong>.{{end}}</p>
<p><strong>Ticket:</strong> {{.Subject}}<br><strong>Customer:</strong> {{.Customer}}</p>
{{with .Excerpt}}<p>Their latest message:</p>
<blockquote style="white-space: pre-wrap; border-left: 3px solid #ccc; margin: 0; padding-left: 1em">{{.}}</blockquote>{{end}}
<p><a href="{{.Link}}">Open the ticket in the desk</a></p>
<p style="color: #555">You get these emails because you work tickets at {{.Shop}}; turn them off on your account page in the desk.</p>
</body></html>
`))
)
