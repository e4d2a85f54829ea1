package desk

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/user"
)

// staffMember is one person on the Staff page.
type staffMember struct {
	*user.User
	// CannotChange says why the signed-in user may not disable or enable
	// this person (nor make a reset link for them); empty when they may.
	CannotChange string
	// Roles are the roles the signed-in user may give this person, theirs
	// among them; none when they may not change it.
	Roles []user.Role
}

// staffToken is an API token with the person it belongs to.
type staffToken struct {
	user.APIToken
	Owner *user.User
}

type staffView struct {
	Members []staffMember
	Tokens  []staffToken
	Error   string
	// Invitations are the pending ones, expired included (Resend renews).
	Invitations []pendingInvitation
	// Grantable are the roles the signed-in user may give.
	Grantable []user.Role
	// MailOff says links are not mailed: the page says so, and the link
	// shown once is the only way to hand it over.
	MailOff bool
	// Link is a link just made, shown this once.
	Link *shownLink
	// Invite is the invitation form as last typed.
	Invite inviteForm
}

type pendingInvitation struct {
	*user.Invitation
	Expired bool
	// CanResend: the signed-in user may grant its role.
	CanResend bool
}

// shownLink is an invitation or reset link, shown once with a Copy
// button.
type shownLink struct {
	// Kind is "invitation" or "reset".
	Kind   string
	For    string // the email it is for
	URL    string
	Mailed bool
}

type inviteForm struct {
	Email, Name string
	Role        user.Role
}

// Staff lists the shop's people with their status and roles, pending
// invitations, and every API token of the shop, for offboarding.
func (d *Desk) Staff(w http.ResponseWriter, r *http.Request) {
	d.staffPage(w, r, http.StatusOK, staffView{})
}

func (d *Desk) staffError(w http.ResponseWriter, r *http.Request, status int, message string) {
	d.staffPage(w, r, status, staffView{Error: message})
}

func (d *Desk) staffPage(w http.ResponseWriter, r *http.Request, status int, v staffView) {
	me := auth.UserFrom(r.Context())
	people, err := d.Users.List(r.Context(), me.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	tokens, err := d.Users.ShopAPITokens(r.Context(), me.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	invitations, err := d.Users.PendingInvitations(r.Context(), me.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	now := d.now()
	for _, inv := range invitations {
		v.Invitations = append(v.Invitations, pendingInvitation{Invitation: inv, Expired: inv.Expired(now), CanResend: user.CanGrant(me, inv.Role) == nil})
	}
	v.Grantable = grantable(me)
	v.MailOff = !d.Team.MailConfigured()
	if v.Invite.Role == "" {
		v.Invite.Role = user.RoleAgent
	}
	byID := map[int64]*user.User{}
	for _, p := range people {
		byID[p.ID] = p
		m := staffMember{User: p}
		if err := user.CanChangeStatus(me, p); err != nil {
			m.CannotChange = cannotChangeReason(err)
		}
		for _, role := range v.Grantable {
			if user.CanChangeRole(me, p, role) == nil {
				m.Roles = append(m.Roles, role)
			}
		}
		if !slices.Contains(m.Roles, p.Role) {
			m.Roles = nil // an owner's role, seen by an admin
		}
		v.Members = append(v.Members, m)
	}
	for _, t := range tokens {
		v.Tokens = append(v.Tokens, staffToken{APIToken: t, Owner: byID[t.UserID]})
	}
	d.page(w, r, status, "staff", "Staff", v)
}

func cannotChangeReason(err error) string {
	switch {
	case errors.Is(err, user.ErrSelf):
		return "You cannot disable yourself."
	case errors.Is(err, user.ErrOwnerOnly):
		return "Only an owner can disable an owner."
	}
	return ""
}

// DisableStaff signs a person out everywhere and stops their API tokens.
func (d *Desk) DisableStaff(w http.ResponseWriter, r *http.Request) { d.setStaffDisabled(w, r, true) }

// EnableStaff lets a disabled person sign in again.
func (d *Desk) EnableStaff(w http.ResponseWriter, r *http.Request) { d.setStaffDisabled(w, r, false) }

func (d *Desk) setStaffDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return
	}
	err = d.Access.SetDisabled(r.Context(), auth.UserFrom(r.Context()), id, disabled)
	switch {
	case errors.Is(err, user.ErrNotFound):
		d.NotFound(w, r)
	case errors.Is(err, user.ErrSelf), errors.Is(err, user.ErrOwnerOnly):
		d.staffError(w, r, http.StatusForbidden, cannotChangeReason(err))
	case errors.Is(err, user.ErrLastOwner):
		d.staffError(w, r, http.StatusConflict, "The shop's last owner cannot be disabled.")
	case err != nil:
		d.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/settings/staff", http.StatusSeeOther)
	}
}

// RevokeStaffToken revokes any API token of the shop.
func (d *Desk) RevokeStaffToken(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return
	}
	err = d.Access.RevokeShopAPIToken(r.Context(), auth.UserFrom(r.Context()), id)
	switch {
	case errors.Is(err, user.ErrNotFound):
		d.NotFound(w, r)
	case err != nil:
		d.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/settings/staff", http.StatusSeeOther)
	}
}
