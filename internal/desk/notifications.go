package desk

import (
	"net/http"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// notificationsPage is the signed-in agent's notifications.
type notificationsPage struct {
	Notifications []ticket.Notification
	Next          string
	Unread        int
}

// Notifications lists what the signed-in agent was told about — tickets
// assigned to them, shoppers' replies on their tickets — newest first,
// each linking to its ticket.
func (d *Desk) Notifications(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	page, ok := d.listPage(w, r)
	if !ok {
		return
	}
	list, next, err := d.Tickets.Notifications(r.Context(), u.ShopID, u.ID, page)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	unread := 0
	for _, n := range list {
		if n.ReadAt == nil {
			unread++
		}
	}
	d.page(w, r, http.StatusOK, "notifications", staffLocale.T("notifications.title"), notificationsPage{list, next, unread})
}

// ReadNotifications marks every notification of the signed-in agent read.
func (d *Desk) ReadNotifications(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if err := d.Tickets.MarkAllNotificationsRead(r.Context(), u.ShopID, u.ID); err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
}
