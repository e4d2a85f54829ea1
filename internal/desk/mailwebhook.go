package desk

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/secret"
)

// mailWebhookPage is Settings → Mail webhook: the address mail
// providers' inbound forwarding posts raw mail to, token included.
type mailWebhookPage struct {
	URL        string // "" until a token is made
	Unreadable bool   // the token was sealed with a key this process lacks
	Made       bool   // a new token was just made
}

// MailWebhook shows the shop's inbound mail webhook address (Owner and
// Admin: the token in it lets anyone file mail as the shop's shoppers).
func (d *Desk) MailWebhook(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	token, err := d.Settings.MailWebhookToken(r.Context(), u.ShopID)
	v := mailWebhookPage{Made: r.URL.Query().Has("made")}
	switch {
	case errors.Is(err, secret.ErrUnreadable):
		v.Unreadable = true
	case err != nil:
		d.serverError(w, r, err)
		return
	case token != "":
		v.URL = d.BaseURL + "/webhooks/email/" + strconv.FormatInt(u.ShopID, 10) + "?token=" + url.QueryEscape(token)
	}
	d.page(w, r, http.StatusOK, "settings_mail_webhook", "Settings · Mail webhook", v)
}

// NewMailWebhookToken makes a new token; the old address stops working.
func (d *Desk) NewMailWebhookToken(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if _, err := d.Settings.NewMailWebhookToken(r.Context(), u.ShopID, audit.UserActor(u)); err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/mail-webhook?made=1", http.StatusSeeOther)
}
