package desk

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
)

// settingsView is what both settings tabs render.
type settingsView struct {
	Tab      string
	State    *returns.State
	Config   returns.Config // the draft, or the form as submitted when it was refused
	Error    string
	Field    string
	Saved    bool
	Notice   string
	Warnings []string
	Report   *loop.KeyReport
	// SaveAnyway offers saving although Loop could not check the key.
	SaveAnyway bool
	Providers  []returns.Provider
	Defaults   map[returns.Provider]returns.ParamNames
	Sample     orderview.Sample
	Preview    string // where the sample order would go with Config
	PreviewFor string // customer id for the hub preview link
	// SampleLink opens the sample order in the hub preview, where Start
	// a return goes where Preview says; "" for a made-up or guest order.
	SampleLink string
	// Unreadable tells of the shop's stored secrets this server cannot open.
	Unreadable string
	// LoopWebhookURL is where Loop is to deliver the shop's webhooks.
	LoopWebhookURL string
	// GoLive is what the Live switch's confirmation lists before the
	// draft is published; ConfirmLive shows that confirmation open (the
	// switch was pressed in a browser that could not open it itself).
	GoLive      *goLive
	ConfirmLive bool
}

func (d *Desk) settingsView(r *http.Request, tab string) (*settingsView, error) {
	u := auth.UserFrom(r.Context())
	st, err := d.Settings.Load(r.Context(), u.ShopID)
	if err != nil {
		return nil, err
	}
	unreadable, err := d.Secrets.Unreadable(r.Context(), u.ShopID)
	if err != nil {
		return nil, err
	}
	sample, err := d.OrderView.Sample(r.Context(), u.ShopID, st.Published)
	if err != nil {
		return nil, err
	}
	sh, err := d.Shops.Get(r.Context(), u.ShopID)
	if err != nil {
		return nil, err
	}
	v := &settingsView{Tab: tab, State: st, Config: st.Draft, Providers: returns.Providers, Defaults: returns.DefaultParams,
		Saved: r.URL.Query().Get("saved") == "1", Sample: sample,
		LoopWebhookURL: strings.TrimSuffix(d.BaseURL, "/") + "/webhooks/loop/" + url.PathEscape(sh.Domain)}
	if len(unreadable) > 0 {
		v.Unreadable = "This server cannot read the shop's stored " + strings.Join(unreadable, " and ") + ". " + unreadableAdvice + " " + reentryAdvice
	}
	if o := sample.Order; o.CustomerID != 0 {
		v.PreviewFor = strconv.FormatInt(o.CustomerID, 10)
		v.SampleLink = "/settings/hub-preview/orders/" + strconv.FormatInt(o.ID, 10) + "?customer=" + v.PreviewFor
	}
	if st.Draft.Returns.Provider == returns.ProviderLoop {
		v.Warnings = returns.ScopeWarnings(st.Draft.Returns.KeyCheck)
	}
	v.GoLive = goLiveSummary(st.Published, st.Draft, sample)
	return v, nil
}

// returnsForm reads the Returns tab's fields. Parameter names come as
// param_<provider>_<order|email|postal>; every provider named is passed
// on, and returns.Config.Validate applies the one rule to them, as for
// the API.
func returnsForm(f url.Values) returns.ReturnsConfig {
	rc := returns.ReturnsConfig{
		Provider:          returns.Provider(f.Get("provider")),
		LoopAPIKey:        strings.TrimSpace(f.Get("loop_api_key")),
		LoopWebhookSecret: strings.TrimSpace(f.Get("loop_webhook_secret")),
		LoopPortalURL:     strings.TrimSpace(f.Get("loop_portal_url")),
		LookupField:       returns.LookupField(f.Get("lookup_field")),
		PortalURL:         strings.TrimSpace(f.Get("portal_url")),
		PortalLookup:      returns.LookupField(f.Get("portal_lookup")),
		// A checkbox: present when ticked.
		HideInitiateReturn: f.Get("hide_initiate_return") != "",
	}
	for key := range f {
		rest, ok := strings.CutPrefix(key, "param_")
		i := strings.LastIndexByte(rest, '_')
		if !ok || i < 0 {
			continue
		}
		p, value := returns.Provider(rest[:i]), f.Get(key)
		names := rc.Params[p]
		switch rest[i+1:] {
		case "order":
			names.Order = value
		case "email":
			names.Email = value
		case "postal":
			names.Postal = value
		default:
			continue
		}
		if rc.Params == nil {
			rc.Params = map[returns.Provider]returns.ParamNames{}
		}
		rc.Params[p] = names
	}
	return rc
}

// SettingsGeneral shows the General tab.
func (d *Desk) SettingsGeneral(w http.ResponseWriter, r *http.Request) {
	v, err := d.settingsView(r, "general")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, http.StatusOK, "settings_general", "Settings · General", v)
}

// SaveSettingsGeneral stores the General tab (hub on/off, helpdesk on/off,
// hub inside the store's theme, return window, help centre, storefront domains).
func (d *Desk) SaveSettingsGeneral(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	v, err := d.settingsView(r, "general")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	general := returns.General{
		HubEnabled:      r.PostForm.Get("hub_enabled") == "on",
		HelpdeskEnabled: r.PostForm.Get("helpdesk_enabled") == "on",
		InTheme:         r.PostForm.Get("in_theme") == "on",
		HelpCentreURL:   strings.TrimSpace(r.PostForm.Get("help_centre_url")),
		LogoURL:         strings.TrimSpace(r.PostForm.Get("logo_url")),
		// One host name a line; commas and spaces separate them too, as
		// people paste lists. returns.Config.Validate normalises them.
		StorefrontDomains: strings.FieldsFunc(r.PostForm.Get("storefront_domains"), func(c rune) bool {
			return c == ',' || unicode.IsSpace(c)
		}),
	}
	days, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get("return_window_days")))
	if err != nil {
		days = -1
	}
	general.ReturnWindowDays = days
	if _, err := d.Settings.SaveGeneral(r.Context(), u.ShopID, general, audit.UserActor(u)); err != nil {
		cfg := v.State.Draft
		cfg.General = general
		d.settingsRefused(w, r, v, cfg, err, "settings_general")
		return
	}
	http.Redirect(w, r, "/settings/general?saved=1", http.StatusSeeOther)
}

// SetLive switches the hub's Live mode; switching it on publishes the
// draft, and only once confirmed (confirmed=1, sent by the confirmation
// that lists what will change): unconfirmed, the settings page comes back
// with that confirmation open. The page the switch was pressed on (the
// tab) is where the answer returns.
func (d *Desk) SetLive(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	tab := "general"
	if r.PostForm.Get("tab") == "returns" {
		tab = "returns"
	}
	live := r.PostForm.Get("live") == "on"
	if live && r.PostForm.Get("confirmed") != "1" {
		v, err := d.settingsView(r, tab)
		if err != nil {
			d.serverError(w, r, err)
			return
		}
		if v.State.Live { // already live: nothing to confirm
			http.Redirect(w, r, "/settings/"+tab, http.StatusSeeOther)
			return
		}
		v.ConfirmLive = true
		v.Preview = v.Sample.Preview(v.Config).Text()
		d.page(w, r, http.StatusOK, "settings_"+tab, "Settings · Go live", v)
		return
	}
	if err := d.Settings.SetLive(r.Context(), u.ShopID, live, audit.UserActor(u)); err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/"+tab+"?saved=1", http.StatusSeeOther)
}

// SettingsReturns shows the Returns tab.
func (d *Desk) SettingsReturns(w http.ResponseWriter, r *http.Request) {
	v, err := d.settingsView(r, "returns")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	v.Preview = v.Sample.Preview(v.Config).Text()
	d.page(w, r, http.StatusOK, "settings_returns", "Settings · Returns", v)
}

// PreviewReturns answers the Returns tab's live preview: where the sample
// order would go with the form as typed so far (POSTed like the save, not
// saved). It runs the resolver's own code (orderview.Sample.Preview), so
// the page shows exactly where Start a return will go. An empty Loop key
// means the stored one, as on save; a field the save would refuse answers
// 422 with the reason.
func (d *Desk) PreviewReturns(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if !parseForm(r) {
		writePreview(w, http.StatusBadRequest, previewAnswer{Error: "The form could not be read."})
		return
	}
	st, err := d.Settings.Load(r.Context(), u.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	sample, err := d.OrderView.Sample(r.Context(), u.ShopID, st.Published)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	cfg := st.Draft
	cfg.Returns = returnsForm(r.PostForm)
	if cfg.Returns.LoopAPIKey == "" {
		cfg.Returns.LoopAPIKey = st.Draft.Returns.LoopAPIKey
	}
	if err := cfg.Validate(); err != nil {
		var fe *returns.FieldError
		if !errors.As(err, &fe) {
			d.serverError(w, r, err)
			return
		}
		writePreview(w, http.StatusUnprocessableEntity, previewAnswer{Error: fieldLabel(fe.Field) + " " + fe.Message, Field: fe.Field})
		return
	}
	p := sample.Preview(cfg)
	writePreview(w, http.StatusOK, previewAnswer{URL: p.URL, Text: p.Text()})
}

// previewAnswer is PreviewReturns' JSON: the URL (or "" when Loop makes
// the link at click time), the line to show, or why the draft is refused.
type previewAnswer struct {
	URL   string `json:"url"`
	Text  string `json:"text"`
	Error string `json:"error,omitempty"`
	Field string `json:"field,omitempty"`
}

func writePreview(w http.ResponseWriter, status int, a previewAnswer) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(a)
}

// SaveSettingsReturns validates and stores the Returns tab; a new Loop key
// is checked against Loop before it is accepted.
func (d *Desk) SaveSettingsReturns(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if !parseForm(r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	v, err := d.settingsView(r, "returns")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	f := r.PostForm
	rc := returnsForm(f)
	out, err := d.Settings.SaveReturns(r.Context(), u.ShopID, rc, settings.SaveOptions{SaveAnyway: f.Get("save_anyway") == "1",
		RemoveLoopKey: f.Get("loop_api_key_remove") == "on", RemoveLoopWebhookSecret: f.Get("loop_webhook_secret_remove") == "on"}, audit.UserActor(u))
	if err != nil {
		cfg := v.State.Draft
		cfg.Returns = rc
		// Never echo a key or secret back into the page.
		cfg.Returns.LoopAPIKey, cfg.Returns.LoopWebhookSecret = "", ""
		cfg.Returns.LoopKeyLast4 = v.State.Draft.Returns.LoopKeyLast4
		cfg.Returns.LoopWebhookSecretLast4 = v.State.Draft.Returns.LoopWebhookSecretLast4
		cfg.Returns.LoopKeyUnreadable = v.State.Draft.Returns.LoopKeyUnreadable
		cfg.Returns.LoopWebhookSecretUnreadable = v.State.Draft.Returns.LoopWebhookSecretUnreadable
		// The saved key stays in effect: the page goes on describing it.
		cfg.Returns.KeyCheck = v.State.Draft.Returns.KeyCheck
		// A key Loop refused or could not check says so in one message:
		// no table of denied scopes, no warnings about the saved key.
		var kce *settings.KeyCheckError
		if errors.As(err, &kce) {
			v.Warnings = nil
			v.SaveAnyway = errors.Is(err, settings.ErrLoopUnreachable)
		}
		if rc.Provider != returns.ProviderLoop {
			v.Warnings = nil // Loop's scopes matter only while Loop is the provider
		}
		d.settingsRefused(w, r, v, cfg, err, "settings_returns")
		return
	}
	if out.Report != nil || len(out.Warnings) > 0 {
		// Show the key report right away rather than after a redirect.
		v, _ = d.settingsView(r, "returns")
		v.Saved, v.Report, v.Warnings = true, out.Report, out.Warnings
		v.Preview = v.Sample.Preview(v.Config).Text()
		d.page(w, r, http.StatusOK, "settings_returns", "Settings · Returns", v)
		return
	}
	http.Redirect(w, r, "/settings/returns?saved=1", http.StatusSeeOther)
}

// settingsRefused re-renders a tab with the submitted values and the reason.
func (d *Desk) settingsRefused(w http.ResponseWriter, r *http.Request, v *settingsView, cfg returns.Config, err error, page string) {
	var fe *returns.FieldError
	var kce *settings.KeyCheckError
	switch {
	case errors.As(err, &fe):
		v.Error, v.Field = fieldLabel(fe.Field)+" "+fe.Message, fe.Field
	case errors.As(err, &kce):
		v.Error, v.Field = kce.Error(), "returns.loop_api_key"
	default:
		d.serverError(w, r, err)
		return
	}
	v.Config = cfg
	// The page never holds a key, but the preview goes by whether one is
	// saved: a refused save leaves the saved key in effect.
	preview := cfg
	if preview.Returns.LoopAPIKey == "" {
		preview.Returns.LoopAPIKey = v.State.Draft.Returns.LoopAPIKey
	}
	v.Preview = v.Sample.Preview(preview).Text()
	d.page(w, r, http.StatusUnprocessableEntity, page, "Settings", v)
}

var fieldLabels = map[string]string{
	"general.return_window_days":  "Return window",
	"general.help_centre_url":     "Help centre URL",
	"general.logo_url":            "Logo URL",
	"general.storefront_domains":  "Storefront domains:",
	"returns.provider":            "Provider",
	"returns.loop_api_key":        "Loop API key",
	"returns.loop_webhook_secret": "Loop webhook secret",
	"returns.loop_portal_url":     "Loop portal URL",
	"returns.lookup_field":        "Lookup field",
	"returns.portal_url":          "Portal URL",
	"returns.portal_lookup":       "Portal lookup",
}

func fieldLabel(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	return "Parameter names:"
}

// parseForm reads a form the server has already capped and parsed
// (refuseUnstorableText); it fails only on a body that is not a form.
func parseForm(r *http.Request) bool {
	return r.ParseForm() == nil
}
