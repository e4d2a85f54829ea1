// Package auth decides who is making a request: desk users by session
// cookie, API clients by bearer token. Handlers read the result with
// UserFrom; role checks wrap routes in the route list.
package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/hubdesk/hubdesk/internal/user"
)

type ctxKey struct{}

// WithUser returns a context carrying the signed-in user.
func WithUser(ctx context.Context, u *user.User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// UserFrom returns the signed-in user, or nil.
func UserFrom(ctx context.Context) *user.User {
	u, _ := ctx.Value(ctxKey{}).(*user.User)
	return u
}

// SessionCookie is the name of the desk's session cookie.
const SessionCookie = "hubdesk_session"

// Authenticator loads users from sessions and API tokens.
type Authenticator struct {
	Users *user.Store
	// SecureCookies marks cookies Secure; on whenever hubdesk is reached
	// over HTTPS.
	SecureCookies bool
}

// LoadSession puts the session's user, if any, into the request context.
// It never rejects: pages decide whether they need a user.
func (a *Authenticator) LoadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
			if u, err := a.Users.SessionUser(r.Context(), c.Value); err == nil {
				r = r.WithContext(WithUser(r.Context(), u))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// SetSessionCookie starts the browser session after a successful login.
func (a *Authenticator) SetSessionCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: a.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: int(user.SessionLifetime.Seconds()),
	})
}

// ClearSessionCookie ends the browser session.
func (a *Authenticator) ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: a.SecureCookies,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// APIUser is the user of the request's bearer token: nil when there is
// none or it is no live token; an error only when the lookup itself failed
// (the database), which is no reason to tell a client its token is bad.
func (a *Authenticator) APIUser(r *http.Request) (*user.User, error) {
	tok := BearerToken(r)
	if tok == "" {
		return nil, nil
	}
	u, err := a.Users.APITokenUser(r.Context(), tok)
	if errors.Is(err, user.ErrNotFound) {
		return nil, nil
	}
	return u, err
}
