package desk

import (
	"net/http"

	"github.com/hubdesk/hubdesk/internal/auth"
)

type notificationMailView struct {
	// On says the signed-in person gets notification emails.
	On bool
	// MailOff says this server sends no email at all.
	MailOff bool
	Saved   bool
}

// NotificationMailSettings shows whether the signed-in person is emailed
// when a ticket is assigned to them or the shopper replies on their
// ticket, with the form that turns it off or on.
func (d *Desk) NotificationMailSettings(w http.ResponseWriter, r *http.Request) {
	d.notificationMailPage(w, r, r.URL.Query().Get("saved") == "1")
}

func (d *Desk) notificationMailPage(w http.ResponseWriter, r *http.Request, saved bool) {
	u := auth.UserFrom(r.Context())
	on, err := d.Users.NotificationMail(r.Context(), u.ShopID, u.ID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "account_notifications", "Email notifications",
		notificationMailView{On: on, MailOff: !d.Team.MailConfigured(), Saved: saved})
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
