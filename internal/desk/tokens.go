package desk

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/user"
)

type tokensView struct {
	Tokens []user.APIToken
	// New is a token just created, shown this once.
	New   string
	Error string
}

// APITokens lists the signed-in user's API tokens.
func (d *Desk) APITokens(w http.ResponseWriter, r *http.Request) {
	d.tokensPage(w, r, http.StatusOK, tokensView{})
}

func (d *Desk) tokensPage(w http.ResponseWriter, r *http.Request, status int, v tokensView) {
	list, err := d.Users.APITokens(r.Context(), auth.UserFrom(r.Context()))
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	v.Tokens = list
	d.page(w, r, status, "tokens", "API tokens", v)
}

// CreateAPIToken issues a token for the signed-in user and shows it once:
// only its hash is stored.
func (d *Desk) CreateAPIToken(w http.ResponseWriter, r *http.Request) {
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if name == "" || len(name) > 100 {
		d.tokensPage(w, r, http.StatusUnprocessableEntity, tokensView{Error: "Give the token a name of up to 100 characters, such as the integration that will use it."})
		return
	}
	token, err := d.Access.CreateAPIToken(r.Context(), auth.UserFrom(r.Context()), name)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.Logger.Info("API token created", "user_id", auth.UserFrom(r.Context()).ID)
	d.tokensPage(w, r, http.StatusOK, tokensView{New: token})
}

// RevokeAPIToken deletes one of the signed-in user's tokens.
func (d *Desk) RevokeAPIToken(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return
	}
	err = d.Access.RevokeAPIToken(r.Context(), auth.UserFrom(r.Context()), id)
	if errors.Is(err, user.ErrNotFound) {
		d.NotFound(w, r)
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account/tokens", http.StatusSeeOther)
}
