package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
)

// CodeLoopUnreachable answers a save whose new Loop key could not be checked
// because Loop did not answer; send it again with "save_anyway": true.
const CodeLoopUnreachable = "loop_unreachable"

// returnsSettingsJSON is the Returns tab as the API reads and writes it. The
// API key and the webhook secret are write-only: answers carry only their
// last four characters, or that the stored one cannot be read and must be
// entered again (or removed) before the next save.
type returnsSettingsJSON struct {
	Provider                    returns.Provider                        `json:"provider"`
	LoopAPIKeyLast4             string                                  `json:"loop_api_key_last4"`
	LoopAPIKeyUnreadable        bool                                    `json:"loop_api_key_unreadable"`
	LoopWebhookSecretLast4      string                                  `json:"loop_webhook_secret_last4"`
	LoopWebhookSecretUnreadable bool                                    `json:"loop_webhook_secret_unreadable"`
	LoopPortalURL               string                                  `json:"loop_portal_url"`
	LookupField                 returns.LookupField                     `json:"lookup_field"`
	PortalURL                   string                                  `json:"portal_url"`
	PortalLookup                returns.LookupField                     `json:"portal_lookup"`
	Params                      map[returns.Provider]returns.ParamNames `json:"params"`
	HideInitiateReturn          bool                                    `json:"hide_initiate_return"`
	KeyCheck                    *returns.KeyCheck                       `json:"key_check"`
	Warnings                    []string                                `json:"warnings"`
	Live                        bool                                    `json:"live"`
	Published                   bool                                    `json:"published"`
}

// returnsSettingsInput is the same shape plus the write-only fields; the
// read-only ones are accepted and ignored so a client can GET, edit, PUT.
type returnsSettingsInput struct {
	Provider          returns.Provider                        `json:"provider"`
	LoopAPIKey        string                                  `json:"loop_api_key"`
	LoopWebhookSecret string                                  `json:"loop_webhook_secret"`
	LoopPortalURL     string                                  `json:"loop_portal_url"`
	LookupField       returns.LookupField                     `json:"lookup_field"`
	PortalURL         string                                  `json:"portal_url"`
	PortalLookup      returns.LookupField                     `json:"portal_lookup"`
	Params            map[returns.Provider]returns.ParamNames `json:"params"`
	// HideInitiateReturn: omitted means false, like every other field of
	// this PUT (it replaces the tab).
	HideInitiateReturn bool `json:"hide_initiate_return"`
	SaveAnyway         bool `json:"save_anyway"`
	// LoopAPIKeyRemove and LoopWebhookSecretRemove remove the saved key or
	// secret: an empty or missing loop_api_key / loop_webhook_secret keeps
	// it, so that a client can GET, edit and PUT without knowing it.
	LoopAPIKeyRemove        bool `json:"loop_api_key_remove"`
	LoopWebhookSecretRemove bool `json:"loop_webhook_secret_remove"`

	LoopAPIKeyLast4             *string           `json:"loop_api_key_last4"`
	LoopAPIKeyUnreadable        *bool             `json:"loop_api_key_unreadable"`
	LoopWebhookSecretLast4      *string           `json:"loop_webhook_secret_last4"`
	LoopWebhookSecretUnreadable *bool             `json:"loop_webhook_secret_unreadable"`
	KeyCheck                    *returns.KeyCheck `json:"key_check"`
	Warnings                    []string          `json:"warnings"`
	Live                        *bool             `json:"live"`
	Published                   *bool             `json:"published"`
}

func toReturnsSettingsJSON(st *returns.State, warnings []string) returnsSettingsJSON {
	rc := st.Draft.Returns
	params := map[returns.Provider]returns.ParamNames{}
	for p := range returns.DefaultParams {
		params[p] = st.Draft.ParamsFor(p)
	}
	if warnings == nil {
		warnings = []string{}
		if rc.Provider == returns.ProviderLoop {
			if w := returns.ScopeWarnings(rc.KeyCheck); w != nil {
				warnings = w
			}
		}
	}
	return returnsSettingsJSON{
		Provider: rc.Provider, LoopAPIKeyLast4: rc.LoopKeyLast4, LoopAPIKeyUnreadable: rc.LoopKeyUnreadable,
		LoopWebhookSecretLast4: rc.LoopWebhookSecretLast4, LoopWebhookSecretUnreadable: rc.LoopWebhookSecretUnreadable,
		LoopPortalURL: rc.LoopPortalURL, LookupField: rc.LookupField,
		PortalURL: rc.PortalURL, PortalLookup: rc.PortalLookup, Params: params, HideInitiateReturn: rc.HideInitiateReturn, KeyCheck: rc.KeyCheck, Warnings: warnings, Live: st.Live, Published: !st.Unpublished(),
	}
}

// GetReturnsSettings answers the returns settings as admins edit them (the
// draft), with whether they are published.
func (a *API) GetReturnsSettings(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	st, err := a.settings.Load(r.Context(), u.ShopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	httpkit.JSON(w, http.StatusOK, toReturnsSettingsJSON(st, nil))
}

// PutReturnsSettings validates and saves the returns settings, checking a
// new Loop key with Loop first, exactly as the settings page does.
func (a *API) PutReturnsSettings(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	var in returnsSettingsInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.respond(w, r, err)
		return
	}
	// Parameter names are normalised by returns.Config.Validate, the same
	// rule as the settings page's.
	rc := returns.ReturnsConfig{Provider: in.Provider, LoopAPIKey: in.LoopAPIKey, LoopWebhookSecret: in.LoopWebhookSecret, LoopPortalURL: in.LoopPortalURL,
		LookupField: in.LookupField, PortalURL: in.PortalURL, PortalLookup: in.PortalLookup, Params: in.Params,
		HideInitiateReturn: in.HideInitiateReturn}
	out, err := a.settings.SaveReturns(r.Context(), u.ShopID, rc, settings.SaveOptions{SaveAnyway: in.SaveAnyway, RemoveLoopKey: in.LoopAPIKeyRemove, RemoveLoopWebhookSecret: in.LoopWebhookSecretRemove}, audit.UserActor(u))
	var fe *returns.FieldError
	switch {
	case errors.As(err, &fe):
		a.respond(w, r, &httpkit.Error{Status: http.StatusUnprocessableEntity, Code: httpkit.CodeInvalidRequest, Field: trimPrefix(fe.Field), Message: fe.Error()})
		return
	case errors.Is(err, settings.ErrKeyRefused):
		a.respond(w, r, &httpkit.Error{Status: http.StatusUnprocessableEntity, Code: httpkit.CodeInvalidRequest, Field: "loop_api_key", Message: err.Error()})
		return
	case errors.Is(err, settings.ErrLoopUnreachable):
		a.respond(w, r, &httpkit.Error{Status: http.StatusServiceUnavailable, Code: CodeLoopUnreachable, Field: "loop_api_key", Message: err.Error()})
		return
	case err != nil:
		a.respond(w, r, err)
		return
	}
	st, err := a.settings.Load(r.Context(), u.ShopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	httpkit.JSON(w, http.StatusOK, toReturnsSettingsJSON(st, nonNil(out.Warnings)))
}

func trimPrefix(field string) string {
	if len(field) > 8 && field[:8] == "returns." {
		return field[8:]
	}
	return field
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type auditEntryJSON struct {
	ID       int64          `json:"id"`
	At       time.Time      `json:"at"`
	Actor    audit.Actor    `json:"actor"`
	Action   string         `json:"action"`
	Subject  string         `json:"subject"`
	Provider string         `json:"provider"`
	Outcome  string         `json:"outcome"`
	Details  map[string]any `json:"details"`
}

// ListAudit lists audit entries newest first, filtered by action (exact, or
// a prefix ending in "."), actor, subject and time.
func (a *API) ListAudit(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := audit.Filter{Action: q.Get("action"), Actor: q.Get("actor"), Subject: q.Get("subject")}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				a.respond(w, r, httpkit.BadRequest(name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z"))
				return
			}
			*dst = t
		}
	}
	p, bad := httpkit.ParsePage(r)
	if bad != nil {
		httpkit.WriteError(w, bad)
		return
	}
	entries, next, err := a.audit.List(r.Context(), u.ShopID, f, p)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	items := make([]auditEntryJSON, len(entries))
	for i, e := range entries {
		items[i] = auditEntryJSON{ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Provider: e.Provider, Outcome: e.Outcome, Details: e.Details}
	}
	httpkit.JSON(w, http.StatusOK, map[string]any{"items": items, "next_cursor": next})
}
