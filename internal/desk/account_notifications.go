package desk

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/user"
)

type notificationMailView struct {
	// On says the signed-in person gets notification emails.
	On bool
	// MailOff says this server sends no email at all.
	MailOff bool
	Saved   bool
	// Signature ends the person's replies in mail to shoppers.
	Signature      string
	SignatureSaved bool
	SignatureError string
	MaxSignature   int
}

// NotificationMailSettings shows whether the signed-in person is emailed
// when a ticket is assigned to them or the shopper replies on their
// ticket, with the form that turns it off or on.
func (d *Desk) NotificationMailSettings(w http.ResponseWriter, r *http.Request) {
	d.notificationMailPage(w, r, r.URL.Query().Get("saved") == "1")
}

func (d *Desk) notificationMailPage(w http.ResponseWriter, r *http.Request, saved bool) {
	u := auth.UserFrom(r.Context())
	sig, err := d.Users.MailSignature(r.Context(), u.ShopID, u.ID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.accountMailPage(w, r, http.StatusOK, notificationMailView{Saved: saved, Signature: sig,
		SignatureSaved: r.URL.Query().Get("saved") == "signature"})
}

// accountMailPage renders the page with the person's notification choice
// and v's signature state.
func (d *Desk) accountMailPage(w http.ResponseWriter, r *http.Request, status int, v notificationMailView) {
	u := auth.UserFrom(r.Context())
	on, err := d.Users.NotificationMail(r.Context(), u.ShopID, u.ID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	v.On, v.MailOff, v.MaxSignature = on, !d.Team.MailConfigured(), user.MaxSignatureRunes
	d.page(w, r, status, "account_notifications", "Email notifications", v)
}

// SetMailSignature keeps the signed-in person's mail signature; one too
// long is refused with the text kept in the form.
func (d *Desk) SetMailSignature(w http.ResponseWriter, r *http.Request) {
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	sig := r.PostForm.Get("signature")
	err := d.Access.SetMailSignature(r.Context(), auth.UserFrom(r.Context()), sig)
	if errors.Is(err, user.ErrSignatureTooLong) {
		d.accountMailPage(w, r, http.StatusUnprocessableEntity, notificationMailView{Signature: sig,
			SignatureError: fmt.Sprintf("A signature is at most %d characters.", user.MaxSignatureRunes)})
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/notifications?saved=signature", http.StatusSeeOther)
}

// SetNotificationMail turns the signed-in person's notification emails on
// (mail=on) or off (mail=off).
func (d *Desk) SetNotificationMail(w http.ResponseWriter, r *http.Request) {
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	var on bool
	switch r.PostForm.Get("mail") {
	case "on":
		on = true
	case "off":
	default:
		d.Error(w, r, http.StatusBadRequest, "Choose whether to get these emails.")
		return
	}
	if err := d.Access.SetNotificationMail(r.Context(), auth.UserFrom(r.Context()), on); err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/notifications?saved=1", http.StatusSeeOther)
}
