package desk

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/user"
)

// grantable are the roles u may give, highest first.
func grantable(u *user.User) []user.Role {
	var out []user.Role
	for _, r := range []user.Role{user.RoleOwner, user.RoleAdmin, user.RoleManager, user.RoleAgent} {
		if user.CanGrant(u, r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// roleRefusal words why a role cannot be given.
func roleRefusal(err error) string {
	switch {
	case errors.Is(err, user.ErrAdminsOnly):
		return "Only an owner or admin can invite people or change roles."
	case errors.Is(err, user.ErrOwnerMakesOwners):
		return "Only an owner can make someone an owner."
	case errors.Is(err, user.ErrRoleAboveOwn):
		return "You cannot give a role above your own."
	case errors.Is(err, user.ErrOwnerOnly):
		return "Only an owner can change an owner's role."
	case errors.Is(err, user.ErrLastOwner):
		return "The shop's last owner cannot be demoted. Make someone else an owner first."
	}
	return ""
}

// InviteStaff invites someone by email with a role, and shows the link
// once (mailed too when mail is set up).
func (d *Desk) InviteStaff(w http.ResponseWriter, r *http.Request) {
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	me := auth.UserFrom(r.Context())
	form := inviteForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Name: strings.TrimSpace(r.PostForm.Get("name")),
		Role: user.Role(r.PostForm.Get("role"))}
	refuse := func(status int, msg string) {
		d.staffPage(w, r, status, staffView{Error: msg, Invite: form})
	}
	if len(form.Name) > 200 {
		refuse(http.StatusUnprocessableEntity, "Give a name of up to 200 characters.")
		return
	}
	role, err := user.ParseRole(string(form.Role))
	if err != nil {
		refuse(http.StatusUnprocessableEntity, "Choose a role.")
		return
	}
	if _, err := user.NormalizeEmail(form.Email); err != nil {
		refuse(http.StatusUnprocessableEntity, "Enter the email address of the person to invite.")
		return
	}
	inv, link, err := d.Team.Invite(r.Context(), me, form.Email, form.Name, role)
	switch {
	case roleRefusal(err) != "":
		refuse(http.StatusForbidden, roleRefusal(err))
	case errors.Is(err, user.ErrEmailTaken):
		refuse(http.StatusConflict, "Someone already has an account with this email.")
	case errors.Is(err, user.ErrAlreadyInvited):
		refuse(http.StatusConflict, "This email already has a pending invitation: resend it below.")
	case err != nil:
		d.serverError(w, r, err)
	default:
		d.Logger.Info("staff invited", "shop_id", me.ShopID, "invitation_id", inv.ID)
		d.staffPage(w, r, http.StatusOK, staffView{Link: &shownLink{Kind: "invitation", For: inv.Email, URL: link.URL, Mailed: link.Mailed}})
	}
}

// ResendInvitation gives a pending invitation a new link (the old one
// stops working), mails it and shows it once.
func (d *Desk) ResendInvitation(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		d.NotFound(w, r)
		return
	}
	inv, link, err := d.Team.ResendInvitation(r.Context(), auth.UserFrom(r.Context()), id)
	switch {
	case errors.Is(err, user.ErrNotFound):
		d.NotFound(w, r)
	case roleRefusal(err) != "":
		d.staffError(w, r, http.StatusForbidden, roleRefusal(err))
	case err != nil:
		d.serverError(w, r, err)
	default:
		d.staffPage(w, r, http.StatusOK, staffView{Link: &shownLink{Kind: "invitation", For: inv.Email, URL: link.URL, Mailed: link.Mailed}})
	}
}

// RevokeInvitation withdraws a pending invitation.
func (d *Desk) RevokeInvitation(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		d.NotFound(w, r)
		return
	}
	err := d.Team.RevokeInvitation(r.Context(), auth.UserFrom(r.Context()), id)
	switch {
	case errors.Is(err, user.ErrNotFound):
		d.NotFound(w, r)
	case err != nil:
		d.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/settings/staff", http.StatusSeeOther)
	}
}

// ChangeStaffRole gives a person another role.
func (d *Desk) ChangeStaffRole(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		d.NotFound(w, r)
		return
	}
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	role, err := user.ParseRole(r.PostForm.Get("role"))
	if err != nil {
		d.staffError(w, r, http.StatusUnprocessableEntity, "Choose a role.")
		return
	}
	err = d.Access.ChangeRole(r.Context(), auth.UserFrom(r.Context()), id, role)
	switch {
	case errors.Is(err, user.ErrNotFound):
		d.NotFound(w, r)
	case errors.Is(err, user.ErrLastOwner):
		d.staffError(w, r, http.StatusConflict, roleRefusal(err))
	case roleRefusal(err) != "":
		d.staffError(w, r, http.StatusForbidden, roleRefusal(err))
	case err != nil:
		d.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/settings/staff", http.StatusSeeOther)
	}
}

// MakeResetLink makes a password reset link for a person and shows it
// once, for handing over where mail is not set up.
func (d *Desk) MakeResetLink(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		d.NotFound(w, r)
		return
	}
	target, link, err := d.Team.MakeResetLink(r.Context(), auth.UserFrom(r.Context()), id)
	switch {
	case errors.Is(err, user.ErrNotFound):
		d.NotFound(w, r)
	case errors.Is(err, user.ErrSelf):
		d.staffError(w, r, http.StatusForbidden, "To change your own password, sign out and use “Forgot your password?”.")
	case errors.Is(err, user.ErrOwnerOnly):
		d.staffError(w, r, http.StatusForbidden, "Only an owner can make a reset link for an owner.")
	case errors.Is(err, user.ErrDisabled):
		d.staffError(w, r, http.StatusConflict, "This person is disabled: enable them first.")
	case err != nil:
		d.serverError(w, r, err)
	default:
		d.staffPage(w, r, http.StatusOK, staffView{Link: &shownLink{Kind: "reset", For: target.Email, URL: link.URL}})
	}
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil
}

// linkInvalid is the one page for a link that does not work, whatever the
// reason, so links cannot be probed.
func (d *Desk) linkInvalid(w http.ResponseWriter, r *http.Request) {
	d.Error(w, r, http.StatusNotFound, "This link is not valid any more: it was used, it expired or it was withdrawn. Ask an owner or admin of your shop for a new one.")
}

type acceptView struct {
	Email, Shop, Name, Error string
	Role                     user.Role
	Token                    string
}

// InvitationPage lets an invited person choose their name and password.
func (d *Desk) InvitationPage(w http.ResponseWriter, r *http.Request) {
	d.invitationPage(w, r, http.StatusOK, "", "")
}

func (d *Desk) invitationPage(w http.ResponseWriter, r *http.Request, status int, name, message string) {
	token := r.PathValue("token")
	inv, err := d.Team.OpenInvitation(r.Context(), token)
	if errors.Is(err, user.ErrLinkInvalid) {
		d.linkInvalid(w, r)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	sh, err := d.Shops.Get(r.Context(), inv.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	if name == "" {
		name = inv.Name
	}
	d.page(w, r, status, "invite", "Join "+sh.Name, acceptView{Email: inv.Email, Shop: sh.Name, Name: name, Role: inv.Role, Token: token, Error: message})
}

// AcceptInvitation creates the invited person's account and signs them in.
func (d *Desk) AcceptInvitation(w http.ResponseWriter, r *http.Request) {
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if len(name) > 200 {
		d.invitationPage(w, r, http.StatusUnprocessableEntity, "", "Give a name of up to 200 characters.")
		return
	}
	u, err := d.Team.AcceptInvitation(r.Context(), r.PathValue("token"), name, r.PostForm.Get("password"))
	switch {
	case errors.Is(err, user.ErrLinkInvalid):
		d.linkInvalid(w, r)
		return
	case errors.Is(err, user.ErrEmailTaken):
		d.Error(w, r, http.StatusConflict, "Someone already has an account with this email. Sign in instead, or ask for a password reset.")
		return
	case errors.Is(err, user.ErrWeakPassword):
		d.invitationPage(w, r, http.StatusUnprocessableEntity, name, passwordRule)
		return
	case err != nil:
		d.serverError(w, r, err)
		return
	}
	d.startSession(w, r, u)
}

// passwordRule is what a password must be.
var passwordRule = fmt.Sprintf("Choose a password of at least %d characters.", user.MinPasswordLength)

// startSession signs u in and opens the desk.
func (d *Desk) startSession(w http.ResponseWriter, r *http.Request, u *user.User) {
	token, err := d.Users.CreateSession(r.Context(), u)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.Auth.SetSessionCookie(w, token)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

type forgotView struct {
	Email, Error string
	Sent         bool
	MailOff      bool
}

// ForgotPasswordPage asks for the email to send a reset link to, or says
// to ask an owner or admin when this server sends no mail.
func (d *Desk) ForgotPasswordPage(w http.ResponseWriter, r *http.Request) {
	d.page(w, r, http.StatusOK, "forgot_password", "Reset your password", forgotView{MailOff: !d.Team.MailConfigured()})
}

// ForgotPassword mails a reset link if an active user has the email. The
// answer is the same whether or not one does; asking is limited per
// client address (refused, 429) and per email (further asks are answered
// the same but send nothing).
func (d *Desk) ForgotPassword(w http.ResponseWriter, r *http.Request) {
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	v := forgotView{Email: strings.TrimSpace(r.PostForm.Get("email")), MailOff: !d.Team.MailConfigured()}
	if v.MailOff {
		d.page(w, r, http.StatusOK, "forgot_password", "Reset your password", v)
		return
	}
	email, err := user.NormalizeEmail(v.Email)
	if err != nil {
		v.Error = "Enter the email address you sign in with."
		d.page(w, r, http.StatusUnprocessableEntity, "forgot_password", "Reset your password", v)
		return
	}
	if ok, retry := d.ResetLimits.Address.Allow(d.Proxies.ClientIP(r)); !ok {
		v.Error = fmt.Sprintf("Too many reset requests from here. Try again in %d minutes.", int(retry.Minutes())+1)
		d.page(w, r, http.StatusTooManyRequests, "forgot_password", "Reset your password", v)
		return
	}
	if ok, _ := d.ResetLimits.Email.Allow(email); ok {
		if err := d.Team.RequestPasswordReset(r.Context(), email); err != nil {
			d.serverError(w, r, err)
			return
		}
	}
	v.Sent = true
	d.page(w, r, http.StatusOK, "forgot_password", "Reset your password", v)
}

type resetView struct {
	Email, Error, Token string
}

// ResetPasswordPage lets the person a reset link is for choose a new
// password.
func (d *Desk) ResetPasswordPage(w http.ResponseWriter, r *http.Request) {
	d.resetPage(w, r, http.StatusOK, "")
}

func (d *Desk) resetPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	token := r.PathValue("token")
	u, err := d.Team.OpenPasswordReset(r.Context(), token)
	if errors.Is(err, user.ErrLinkInvalid) {
		d.linkInvalid(w, r)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, status, "reset_password", "Choose a new password", resetView{Email: u.Email, Token: token, Error: message})
}

// ResetPassword sets the new password, which ends every other session of
// the person, and signs them in.
func (d *Desk) ResetPassword(w http.ResponseWriter, r *http.Request) {
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	u, err := d.Team.ResetPassword(r.Context(), r.PathValue("token"), r.PostForm.Get("password"))
	switch {
	case errors.Is(err, user.ErrLinkInvalid):
		d.linkInvalid(w, r)
		return
	case errors.Is(err, user.ErrWeakPassword):
		d.resetPage(w, r, http.StatusUnprocessableEntity, passwordRule)
		return
	case err != nil:
		d.serverError(w, r, err)
		return
	}
	d.Logger.Info("password reset", "user_id", u.ID, "shop_id", u.ShopID)
	d.startSession(w, r, u)
}

// ResetLimits bound "Forgot your password?" per client address and per
// email.
type ResetLimits struct {
	Address, Email *auth.RateLimiter
}

// DefaultResetLimits: 10 requests an hour from one address, 3 mails an
// hour to one email.
func DefaultResetLimits() ResetLimits {
	return ResetLimits{Address: auth.NewRateLimiter(10, time.Hour), Email: auth.NewRateLimiter(3, time.Hour)}
}
