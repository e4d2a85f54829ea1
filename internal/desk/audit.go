package desk

import (
	"net/http"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
)

// auditActions are the action filter's choices.
var auditActions = []string{audit.ActionReturnLink, audit.ActionReturnQR, audit.ActionReturnLinked, audit.ActionSettingsChanged, audit.ActionHubPublished,
	audit.ActionTokenCreated, audit.ActionTokenRevoked, audit.ActionUserDisabled, audit.ActionUserEnabled,
	audit.ActionUserInvited, audit.ActionInvitationResent, audit.ActionInvitationRevoked, audit.ActionUserJoined,
	audit.ActionRoleChanged, audit.ActionPasswordResetRequested, audit.ActionPasswordReset,
	audit.ActionMacroCreated, audit.ActionMacroUpdated, audit.ActionMacroDeleted,
	audit.ActionTicketStatus, audit.ActionTicketAssigned, audit.ActionTicketTags, audit.ActionTicketMerged, audit.ActionTicketSpam,
	audit.ActionSenderBlocked}

type auditPage struct {
	Filter  audit.Filter
	Entries []audit.Entry
	Next    string
	Actions []string
}

// AuditLog lists the shop's audit entries, newest first, with filters.
func (d *Desk) AuditLog(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	q := r.URL.Query()
	f := audit.Filter{Action: q.Get("action"), Actor: q.Get("actor"), Subject: q.Get("subject")}
	p, ok := d.listPage(w, r)
	if !ok {
		return
	}
	entries, next, err := d.Audit.List(r.Context(), u.ShopID, f, p)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "audit", "Audit log", auditPage{f, entries, next, auditActions})
}
