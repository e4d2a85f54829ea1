package desk

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/user"
	"github.com/hubdesk/hubdesk/internal/web"
)

type loginForm struct {
	Email, Next, Error string
}

// LoginPage shows the sign-in form.
func (d *Desk) LoginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if auth.UserFrom(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d.page(w, r, http.StatusOK, "login", "Sign in", loginForm{Next: next})
}

// Login checks the credentials and starts a session.
func (d *Desk) Login(w http.ResponseWriter, r *http.Request) {
	// The server has already capped and parsed the form (refuseUnstorableText).
	if err := r.ParseForm(); err != nil {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	form := loginForm{Email: strings.TrimSpace(r.PostForm.Get("email")), Next: safeNext(r.PostForm.Get("next"))}
	ip := d.Proxies.ClientIP(r)
	check := d.Limiter.Check(form.Email, ip)
	if check.RetryAfter > 0 {
		form.Error = fmt.Sprintf("Too many failed sign-ins. Try again in %d minutes.", int(check.RetryAfter.Minutes())+1)
		d.page(w, r, http.StatusTooManyRequests, "login", "Sign in", form)
		return
	}
	if check.Delay > 0 {
		wait := time.NewTimer(check.Delay)
		select {
		case <-wait.C:
		case <-r.Context().Done():
			wait.Stop()
			return
		}
	}
	u, err := d.Users.Authenticate(r.Context(), form.Email, r.PostForm.Get("password"))
	if errors.Is(err, user.ErrInvalidCredentials) {
		d.Limiter.Fail(form.Email, ip)
		d.Logger.Info("login failed", "ip", ip)
		form.Error = "The email or password is incorrect."
		d.page(w, r, http.StatusUnauthorized, "login", "Sign in", form)
		return
	}
	if errors.Is(err, user.ErrDisabled) {
		form.Error = "This account is disabled. Ask your shop's owner or an admin."
		d.page(w, r, http.StatusForbidden, "login", "Sign in", form)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.Limiter.Succeed(form.Email, ip)
	token, err := d.Users.CreateSession(r.Context(), u)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.Auth.SetSessionCookie(w, token)
	d.Logger.Info("login", "user_id", u.ID, "shop_id", u.ShopID)
	http.Redirect(w, r, form.Next, http.StatusSeeOther)
}

// Logout ends the session.
func (d *Desk) Logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(auth.SessionCookie); err == nil {
		if err := d.Users.DeleteSession(r.Context(), c.Value); err != nil {
			d.Logger.Warn("logout: delete session", "err", err)
		}
	}
	d.Auth.ClearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps post-login redirects on this site (web.LocalPath), and
// sends anything else to the start page.
func safeNext(next string) string {
	if local, ok := web.LocalPath(next); ok {
		return local
	}
	return "/"
}
