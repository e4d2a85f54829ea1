package desk

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/user"
)

// staffMember is one person on the Staff page.
type staffMember struct {
	*user.User
	// CannotChange says why the signed-in user may not disable or enable
	// this person; empty when they may.
	CannotChange string
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
}

// Staff lists the shop's people with their status and every API token of
// the shop, for offboarding.
func (d *Desk) Staff(w http.ResponseWriter, r *http.Request) {
	d.staffPage(w, r, http.StatusOK, "")
}

func (d *Desk) staffPage(w http.ResponseWriter, r *http.Request, status int, message string) {
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
	v := staffView{Error: message}
	byID := map[int64]*user.User{}
	for _, p := range people {
		byID[p.ID] = p
		m := staffMember{User: p}
		if err := user.CanChangeStatus(me, p); err != nil {
			m.CannotChange = cannotChangeReason(err)
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
		d.staffPage(w, r, http.StatusForbidden, cannotChangeReason(err))
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
