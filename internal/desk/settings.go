package desk

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/returns"
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
	Sample     sampleOrder
	Preview    string // the URL the sample order would get with the draft
	PreviewFor string // customer id for the hub preview link
}

// sampleOrder is the order the settings preview shows links for.
type sampleOrder struct {
	Name, Email, Zip string
}

func (d *Desk) settingsView(r *http.Request, tab string) (*settingsView, error) {
	u := auth.UserFrom(r.Context())
	st, err := d.Settings.Load(r.Context(), u.ShopID)
	if err != nil {
		return nil, err
	}
	v := &settingsView{Tab: tab, State: st, Config: st.Draft, Providers: returns.Providers, Defaults: returns.DefaultParams,
		Saved: r.URL.Query().Get("saved") == "1", Sample: sampleOrder{Name: "#1001", Email: "shopper@example.com", Zip: "10115"}}
	// The shop's newest order makes the preview concrete.
	if orders, _, err := d.Commerce.ListOrders(r.Context(), u.ShopID, commerce.OrderFilter{}, database.Page{Limit: 1}); err == nil && len(orders) > 0 {
		o := orders[0]
		v.Sample = sampleOrder{Name: o.Name, Email: o.Email, Zip: o.ShippingAddress.Zip}
		if o.CustomerID != 0 {
			v.PreviewFor = strconv.FormatInt(o.CustomerID, 10)
		}
	}
	if st.Draft.Returns.Provider == returns.ProviderLoop {
		v.Warnings = returns.ScopeWarnings(st.Draft.Returns.KeyCheck)
	}
	return v, nil
}

// previewURL is where the sample order would be sent with cfg.
func previewURL(cfg returns.Config, s sampleOrder) string {
	r := cfg.Returns
	switch r.Provider {
	case returns.ProviderOther:
		return r.PortalURL
	case returns.ProviderAfterShip, returns.ProviderParcelLab, returns.ProviderNarvar:
		names := cfg.ParamsFor(r.Provider)
		u, _ := returns.PortalURL(r.PortalURL, [2]string{names.Order, s.Name}, [2]string{names.Email, s.Email})
		return u
	case returns.ProviderLoop:
		if r.LoopAPIKey != "" {
			return "A deep link created by Loop for " + s.Name + " when the shopper presses the button"
		}
		if r.LoopPortalURL != "" {
			u, _ := returns.PortalURL(r.LoopPortalURL, [2]string{"order", s.Name}, [2]string{"zip", s.Zip})
			return u
		}
	}
	return ""
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
// return window, help centre, storefront domains).
func (d *Desk) SaveSettingsGeneral(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if !parseForm(w, r) {
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
		HelpCentreURL:   strings.TrimSpace(r.PostForm.Get("help_centre_url")),
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
	// Only the General tab changes: a Returns save made meanwhile stays.
	_, err = d.Settings.Update(r.Context(), u.ShopID, audit.UserActor(u), func(c *returns.Config) error {
		c.General = general
		return nil
	})
	if err != nil {
		cfg := v.State.Draft
		cfg.General = general
		d.settingsRefused(w, r, v, cfg, err, "settings_general")
		return
	}
	http.Redirect(w, r, "/settings/general?saved=1", http.StatusSeeOther)
}

// SetLive switches the hub's Live mode; switching it on publishes the draft.
func (d *Desk) SetLive(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if !parseForm(w, r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	if err := d.Settings.SetLive(r.Context(), u.ShopID, r.PostForm.Get("live") == "on", audit.UserActor(u)); err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/general?saved=1", http.StatusSeeOther)
}

// SettingsReturns shows the Returns tab.
func (d *Desk) SettingsReturns(w http.ResponseWriter, r *http.Request) {
	v, err := d.settingsView(r, "returns")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	v.Preview = previewURL(v.Config, v.Sample)
	d.page(w, r, http.StatusOK, "settings_returns", "Settings · Returns", v)
}

// SaveSettingsReturns validates and stores the Returns tab; a new Loop key
// is checked against Loop before it is accepted.
func (d *Desk) SaveSettingsReturns(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if !parseForm(w, r) {
		d.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	v, err := d.settingsView(r, "returns")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	f := r.PostForm
	rc := returns.ReturnsConfig{
		Provider:      returns.Provider(f.Get("provider")),
		LoopAPIKey:    strings.TrimSpace(f.Get("loop_api_key")),
		LoopPortalURL: strings.TrimSpace(f.Get("loop_portal_url")),
		LookupField:   returns.LookupField(f.Get("lookup_field")),
		PortalURL:     strings.TrimSpace(f.Get("portal_url")),
	}
	for p := range returns.DefaultParams {
		names := returns.ParamNames{Order: strings.TrimSpace(f.Get("param_" + string(p) + "_order")), Email: strings.TrimSpace(f.Get("param_" + string(p) + "_email"))}
		def := returns.DefaultParams[p]
		if names.Order == def.Order {
			names.Order = ""
		}
		if names.Email == def.Email {
			names.Email = ""
		}
		if names != (returns.ParamNames{}) {
			if rc.Params == nil {
				rc.Params = map[returns.Provider]returns.ParamNames{}
			}
			rc.Params[p] = names
		}
	}
	out, err := d.Settings.SaveReturns(r.Context(), u.ShopID, rc, d.KeyChecker, f.Get("save_anyway") == "1", audit.UserActor(u))
	if err != nil {
		cfg := v.State.Draft
		cfg.Returns = rc
		cfg.Returns.LoopAPIKey = "" // never echo a key back into the page
		var kce *returns.KeyCheckError
		if errors.As(err, &kce) {
			v.Report = &kce.Report
			v.SaveAnyway = errors.Is(err, returns.ErrLoopUnreachable)
		}
		d.settingsRefused(w, r, v, cfg, err, "settings_returns")
		return
	}
	if out.Report != nil || len(out.Warnings) > 0 {
		// Show the key report right away rather than after a redirect.
		v, _ = d.settingsView(r, "returns")
		v.Saved, v.Report, v.Warnings = true, out.Report, out.Warnings
		v.Preview = previewURL(v.Config, v.Sample)
		d.page(w, r, http.StatusOK, "settings_returns", "Settings · Returns", v)
		return
	}
	http.Redirect(w, r, "/settings/returns?saved=1", http.StatusSeeOther)
}

// settingsRefused re-renders a tab with the submitted values and the reason.
func (d *Desk) settingsRefused(w http.ResponseWriter, r *http.Request, v *settingsView, cfg returns.Config, err error, page string) {
	var fe *returns.FieldError
	var kce *returns.KeyCheckError
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
	v.Preview = previewURL(cfg, v.Sample)
	d.page(w, r, http.StatusUnprocessableEntity, page, "Settings", v)
}

var fieldLabels = map[string]string{
	"general.return_window_days": "Return window",
	"general.help_centre_url":    "Help centre URL",
	"general.storefront_domains": "Storefront domains:",
	"returns.provider":           "Provider",
	"returns.loop_api_key":       "Loop API key",
	"returns.loop_portal_url":    "Loop portal URL",
	"returns.lookup_field":       "Lookup field",
	"returns.portal_url":         "Portal URL",
}

func fieldLabel(field string) string {
	if l, ok := fieldLabels[field]; ok {
		return l
	}
	return "Parameter names:"
}

func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	return r.ParseForm() == nil
}
