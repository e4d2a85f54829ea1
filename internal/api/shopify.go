package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
)

// Error codes of the Shopify settings.
const (
	// CodeShopifyRefused: Shopify refused the credentials; nothing saved.
	CodeShopifyRefused = "shopify_refused"
	// CodeShopifyUnreachable: Shopify did not answer; nothing saved.
	CodeShopifyUnreachable = "shopify_unreachable"
)

// shopifySettingsJSON is the Shopify connection as the API shows it: no
// token, no secret.
type shopifySettingsJSON struct {
	Connected       bool                     `json:"connected"`
	State           string                   `json:"state"`
	Method          string                   `json:"method"`
	ClientID        string                   `json:"client_id"`
	ExpiresAt       *time.Time               `json:"expires_at"`
	UninstalledAt   *time.Time               `json:"uninstalled_at"`
	CheckedAt       *time.Time               `json:"checked_at"`
	Unreadable      bool                     `json:"credentials_unreadable"`
	Scopes          []shopifyScopeJSON       `json:"scopes"`
	MissingRequired []string                 `json:"missing_required_scopes"`
	Webhooks        shopifySubscriptionsJSON `json:"webhooks"`
	InstallURL      string                   `json:"install_url"`
}

type shopifyScopeJSON struct {
	Scope    string `json:"scope"`
	Required bool   `json:"required"`
	Granted  bool   `json:"granted"`
}

type shopifySubscriptionsJSON struct {
	URL       string             `json:"url"`
	Healthy   bool               `json:"healthy"`
	CheckedAt *time.Time         `json:"checked_at"`
	LastError string             `json:"last_error"`
	Topics    []shopifyTopicJSON `json:"topics"`
}

type shopifyTopicJSON struct {
	Topic string `json:"topic"`
	State string `json:"state"`
}

func toShopifySettingsJSON(st *shopifyconnect.Status) shopifySettingsJSON {
	out := shopifySettingsJSON{Connected: st.Connected, State: string(st.State), Method: string(st.Method), ClientID: st.ClientID,
		ExpiresAt: st.ExpiresAt, UninstalledAt: st.Uninstalled, CheckedAt: st.CheckedAt, Unreadable: st.Unreadable,
		MissingRequired: nonNil(st.MissingRequired), Scopes: []shopifyScopeJSON{},
		Webhooks: shopifySubscriptionsJSON{URL: st.WebhookURL, Healthy: st.SubscriptionsHealthy, CheckedAt: st.SubscriptionsCheckedAt,
			LastError: st.SubscriptionsError, Topics: []shopifyTopicJSON{}}}
	for _, s := range st.Scopes {
		out.Scopes = append(out.Scopes, shopifyScopeJSON{Scope: s.Scope, Required: s.Required, Granted: s.Granted})
	}
	for _, t := range st.Subscriptions {
		out.Webhooks.Topics = append(out.Webhooks.Topics, shopifyTopicJSON{Topic: t.Name, State: t.State})
	}
	out.InstallURL = st.InstallURL
	return out
}

// shopifySettingsInput connects a custom app.
type shopifySettingsInput struct {
	Method       string `json:"method"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	AccessToken  string `json:"access_token"`
}

// GetShopifySettings is GET /api/v1/settings/shopify (Owner, Admin).
func (a *API) GetShopifySettings(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	st, err := a.shopify.Status(r.Context(), u.ShopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	httpkit.JSON(w, http.StatusOK, toShopifySettingsJSON(st))
}

// PutShopifySettings is PUT /api/v1/settings/shopify: connect with a
// custom app (client credentials, or a pasted admin token), checked with
// Shopify before anything is saved.
func (a *API) PutShopifySettings(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	var in shopifySettingsInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.respond(w, r, err)
		return
	}
	st, err := a.shopify.ConnectCustomApp(r.Context(), u.ShopID, audit.UserActor(u), shopifyconnect.CustomApp{
		Method: connection.ShopifyMethod(in.Method), ClientID: in.ClientID, ClientSecret: in.ClientSecret, AccessToken: in.AccessToken})
	var input *shopifyconnect.InputError
	var refused *shopifyconnect.RefusedError
	var unreachable *shopifyconnect.UnreachableError
	switch {
	case errors.As(err, &input):
		a.respond(w, r, &httpkit.Error{Status: http.StatusUnprocessableEntity, Code: httpkit.CodeInvalidRequest, Field: input.Field, Message: input.Error()})
		return
	case errors.As(err, &refused):
		a.respond(w, r, &httpkit.Error{Status: http.StatusUnprocessableEntity, Code: CodeShopifyRefused, Message: refused.Error()})
		return
	case errors.As(err, &unreachable):
		a.respond(w, r, &httpkit.Error{Status: http.StatusServiceUnavailable, Code: CodeShopifyUnreachable, Message: "Shopify could not be reached; nothing was saved"})
		return
	case err != nil:
		a.respond(w, r, err)
		return
	}
	httpkit.JSON(w, http.StatusOK, toShopifySettingsJSON(st))
}

// DeleteShopifySettings is DELETE /api/v1/settings/shopify: the
// connection goes, the shop's data stays.
func (a *API) DeleteShopifySettings(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	if err := a.shopify.Disconnect(r.Context(), u.ShopID, audit.UserActor(u)); err != nil {
		a.respond(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
