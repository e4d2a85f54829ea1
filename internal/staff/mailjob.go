package staff

import (
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	texttemplate "text/template"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/mail"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/user"
)

// The mails the team use cases send.
const (
	MailInvitation    = "invitation"
	MailPasswordReset = "password_reset"
)

// MailMaxAttempts bounds the retries of one mail (River's backoff,
// attempt⁴ s: about three hours in all) before it shows as dead on
// Settings → Jobs.
const MailMaxAttempts = 10

// MailArgs ask for one link to be mailed. The token is sealed with the
// secret box: job arguments are stored in the database, and a link in
// clear there would be as good as the password it sets.
type MailArgs struct {
	ShopID       int64  `json:"shop_id"`
	Mail         string `json:"mail"`
	InvitationID int64  `json:"invitation_id,omitempty"`
	SealedToken  string `json:"sealed_token"`
}

func (MailArgs) Kind() string  { return "staff_mail" }
func (a MailArgs) Shop() int64 { return a.ShopID }

// MailWorker sends the mails of MailArgs. It sends a link only while it
// still works — an invitation revoked or resent since, a reset used or
// expired, its person disabled, is dropped — and words it with the shop's
// name.
type MailWorker struct {
	river.WorkerDefaults[MailArgs]
	Users  *user.Store
	Shops  *shop.Store
	Box    *secret.Box
	Sender mail.Sender // nil: mail is not set up, and the job fails visibly
	// BaseURL is hubdesk's public URL, which links start with.
	BaseURL string
	Now     func() time.Time // time.Now when nil
	Logger  *slog.Logger
}

// Timeout leaves room for a slow mail server (mail.SMTP gives up after a
// minute).
func (w *MailWorker) Timeout(*river.Job[MailArgs]) time.Duration { return 2 * time.Minute }

func (w *MailWorker) Work(ctx context.Context, job *river.Job[MailArgs]) error {
	args := job.Args
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	token, err := w.Box.Open(args.SealedToken)
	if err != nil {
		return fmt.Errorf("open the sealed link: %w", err)
	}
	sh, err := w.Shops.Get(ctx, args.ShopID)
	if err != nil {
		return err
	}
	var msg mail.Message
	switch args.Mail {
	case MailInvitation:
		inv, ok, err := w.Users.InvitationTokenMatches(ctx, args.ShopID, args.InvitationID, token, now())
		if err != nil {
			return err
		}
		if !ok {
			w.dropped(args)
			return nil
		}
		msg, err = compose(invitationText, invitationHTML, inv.Email, "You are invited to "+sh.Name+" on hubdesk", mailData{
			Shop: sh.Name, Name: inv.Name, Role: inv.Role.Label(), Link: invitationURL(w.BaseURL, token), Expires: InvitationLifetime})
		if err != nil {
			return err
		}
	case MailPasswordReset:
		u, err := w.Users.PasswordResetUser(ctx, token, now())
		if errors.Is(err, user.ErrLinkInvalid) || (err == nil && u.ShopID != args.ShopID) {
			w.dropped(args)
			return nil
		}
		if err != nil {
			return err
		}
		msg, err = compose(resetText, resetHTML, u.Email, "Reset your "+sh.Name+" hubdesk password", mailData{
			Shop: sh.Name, Name: u.Name, Link: resetURL(w.BaseURL, token), Expires: ResetLifetime})
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown staff mail %q", args.Mail)
	}
	if w.Sender == nil {
		return errors.New("email is not set up on this server (HUBDESK_SMTP_URL): the mail waits for a retry once it is")
	}
	msg.FromName = sh.Name
	return w.Sender.Send(ctx, msg)
}

func (w *MailWorker) dropped(args MailArgs) {
	if w.Logger != nil {
		w.Logger.Info("staff mail not sent: its link no longer works", "shop_id", args.ShopID, "mail", args.Mail)
	}
}

// mailData is what the mail templates receive.
type mailData struct {
	Shop, Name, Role, Link string
	Expires                time.Duration
}

// ExpiresIn words the link's lifetime.
func (d mailData) ExpiresIn() string {
	if d.Expires >= 24*time.Hour {
		return fmt.Sprintf("%d days", int(d.Expires/(24*time.Hour)))
	}
	if d.Expires == time.Hour {
		return "1 hour"
	}
	return fmt.Sprintf("%d minutes", int(d.Expires/time.Minute))
}

func compose(text *texttemplate.Template, html *htmltemplate.Template, to, subject string, d mailData) (mail.Message, error) {
	t, h, err := mail.Compose(text, html, d)
	if err != nil {
		return mail.Message{}, err
	}
	return mail.Message{To: to, Subject: subject, Text: t, HTML: h}, nil
}

var (
	invitationText = texttemplate.Must(texttemplate.New("invitation").Parse(`Hello{{with .Name}} {{.}}{{end}},

you are invited to join {{.Shop}} on hubdesk as {{.Role}}.

Choose your password here to accept:
{{.Link}}

The link works once and for {{.ExpiresIn}}. If you did not expect this invitation, ignore this email.
`))
	invitationHTML = htmltemplate.Must(htmltemplate.New("invitation").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello{{with .Name}} {{.}}{{end}},</p>
<p>you are invited to join <strong>{{.Shop}}</strong> on hubdesk as {{.Role}}.</p>
<p><a href="{{.Link}}">Choose your password to accept</a></p>
<p style="color: #555">The link works once and for {{.ExpiresIn}}. If you did not expect this invitation, ignore this email.</p>
</body></html>
`))
	resetText = texttemplate.Must(texttemplate.New("reset").Parse(`Hello{{with .Name}} {{.}}{{end}},

someone asked to reset your hubdesk password for {{.Shop}}. Choose a new one here:
{{.Link}}

The link works once and for {{.ExpiresIn}}; setting a new password signs you out everywhere else. If you did not ask for this, ignore this email: your password stays as it is.
`))
	resetHTML = htmltemplate.Must(htmltemplate.New("reset").Parse(`<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello{{with .Name}} {{.}}{{end}},</p>
<p>someone asked to reset your hubdesk password for <strong>{{.Shop}}</strong>.</p>
<p><a href="{{.Link}}">Choose a new password</a></p>
<p style="color: #555">The link works once and for {{.ExpiresIn}}; setting a new password signs you out everywhere else. If you did not ask for this, ignore this email: your password stays as it is.</p>
</body></html>
`))
)
