// Package returns connects orders to the merchant's returns platform: the
// hub's and the returns integration's settings (draft and published), the
// resolver that decides where "Start a return" goes, and the returns the
// platform has reported.
package returns

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Provider is the merchant's returns platform.
type Provider string

const (
	ProviderDisabled  Provider = "disabled"
	ProviderLoop      Provider = "loop"
	ProviderAfterShip Provider = "aftership"
	ProviderParcelLab Provider = "parcellab"
	ProviderNarvar    Provider = "narvar"
	ProviderOther     Provider = "other"
)

// Providers lists them in the order the settings page offers them.
var Providers = []Provider{ProviderDisabled, ProviderLoop, ProviderAfterShip, ProviderParcelLab, ProviderNarvar, ProviderOther}

// Label is the provider's name for people.
func (p Provider) Label() string {
	switch p {
	case ProviderDisabled:
		return "Disabled"
	case ProviderLoop:
		return "Loop"
	case ProviderAfterShip:
		return "AfterShip Returns"
	case ProviderParcelLab:
		return "parcelLab"
	case ProviderNarvar:
		return "Narvar"
	case ProviderOther:
		return "Other portal"
	}
	return string(p)
}

// Valid reports whether p is a known provider.
func (p Provider) Valid() bool {
	for _, q := range Providers {
		if p == q {
			return true
		}
	}
	return false
}

// appendsParams is true for the portals that take the order number and the
// shopper's email or postal code in the URL (contracts/portals.md).
func (p Provider) appendsParams() bool {
	return p == ProviderAfterShip || p == ProviderParcelLab || p == ProviderNarvar
}

// ParamNames are the query parameter names a portal reads the order
// number, the shopper's email and the shipping postal code from.
type ParamNames struct {
	Order  string `json:"order"`
	Email  string `json:"email"`
	Postal string `json:"postal"`
}

// DefaultParams are the documented or observed names per provider
// (contracts/portals.md); merchants can override them. The postal-code
// names: AfterShip's link API takes postal_code, Narvar portals are seen
// with dzip, parcelLab's pages read zip.
var DefaultParams = map[Provider]ParamNames{
	ProviderAfterShip: {Order: "order_number", Email: "email", Postal: "postal_code"},
	ProviderParcelLab: {Order: "orderNo", Email: "email", Postal: "zip"},
	ProviderNarvar:    {Order: "order", Email: "email", Postal: "dzip"},
}

// LookupField is what Loop's portal asks for beside the order name.
type LookupField string

const (
	LookupZip   LookupField = "zip"
	LookupEmail LookupField = "email"
	LookupPhone LookupField = "phone"
)

// Valid reports whether f is known.
func (f LookupField) Valid() bool { return f == LookupZip || f == LookupEmail || f == LookupPhone }

// KeyCheck is the last per-scope check of the Loop key, shown on the
// settings page and in the API.
type KeyCheck struct {
	CheckedAt      time.Time `json:"checked_at"`
	Orders         string    `json:"orders"`          // granted, denied, unknown
	Returns        string    `json:"returns"`         // granted, denied, unknown
	DeveloperTools string    `json:"developer_tools"` // granted, denied, unknown
}

// General is the hub's General tab.
type General struct {
	HubEnabled       bool   `json:"hub_enabled"`
	HelpdeskEnabled  bool   `json:"helpdesk_enabled"`
	ReturnWindowDays int    `json:"return_window_days"`
	HelpCentreURL    string `json:"help_centre_url"`
	// InTheme shows the hub inside the store's theme (header, footer,
	// fonts) when it is reached through the App Proxy: its pages answer
	// as Liquid, which Shopify wraps in the theme's layout. A stored
	// configuration from before this setting decodes over the defaults,
	// so it is on there too.
	InTheme bool `json:"in_theme"`
	// LogoURL is the shop's logo (an https image), shown at the top of the
	// mail shoppers get; empty: the shop's name alone.
	LogoURL string `json:"logo_url,omitempty"`
	// StorefrontDomains are the host names the shop's storefront is served
	// on besides its myshopify domain (custom domains), lower-case and
	// without scheme or path. A hub form posted from one of them comes
	// from the shop's own storefront (see the hub's post origin rule).
	StorefrontDomains []string `json:"storefront_domains,omitempty"`
}

// MaxStorefrontDomains bounds General.StorefrontDomains: a shop has a few
// domains, and every hub post is checked against the list.
const MaxStorefrontDomains = 20

// ReturnsConfig is the Returns tab. The Loop key, its last four characters
// and its check, and the Loop webhook secret and its last four characters,
// are the shop's Loop connections, not settings: they are never part of
// the stored draft or published copy (json "-"), take effect when saved,
// and are attached by the settings use case when it reads.
type ReturnsConfig struct {
	Provider     Provider `json:"provider"`
	LoopAPIKey   string   `json:"-"`
	LoopKeyLast4 string   `json:"-"`
	// LoopWebhookSecret signs Loop's webhooks to /webhooks/loop/{shop}.
	LoopWebhookSecret      string      `json:"-"`
	LoopWebhookSecretLast4 string      `json:"-"`
	LoopPortalURL          string      `json:"loop_portal_url,omitempty"`
	LookupField            LookupField `json:"lookup_field,omitempty"`
	PortalURL              string      `json:"portal_url,omitempty"`
	// PortalLookup is what a portal provider gets beside the order number:
	// the shopper's email (LookupEmail) or the shipping postal code
	// (LookupZip).
	PortalLookup LookupField             `json:"portal_lookup,omitempty"`
	Params       map[Provider]ParamNames `json:"params,omitempty"` // overrides of DefaultParams
	// HideInitiateReturn hides the desk's Initiate return button (and
	// refuses its link) shop-wide, for shops that want agents to send
	// shoppers to the hub instead. The hub's Start a return is unaffected.
	HideInitiateReturn bool      `json:"hide_initiate_return,omitempty"`
	KeyCheck           *KeyCheck `json:"-"`
	// LoopKeyUnreadable and LoopWebhookSecretUnreadable: a key or secret
	// is stored but this process cannot open it (it was sealed with
	// another HUBDESK_SECRET_KEY), so LoopAPIKey or LoopWebhookSecret is
	// empty and has no last four characters. A save must enter it again
	// or remove it; it is never kept silently.
	LoopKeyUnreadable           bool `json:"-"`
	LoopWebhookSecretUnreadable bool `json:"-"`
}

// Config is everything an admin publishes.
type Config struct {
	General General       `json:"general"`
	Returns ReturnsConfig `json:"returns"`
}

// DefaultConfig is a new shop's configuration: hub on, returns off until a
// provider is chosen.
func DefaultConfig() Config {
	return Config{
		General: General{HubEnabled: true, HelpdeskEnabled: true, InTheme: true, ReturnWindowDays: 30},
		Returns: ReturnsConfig{Provider: ProviderDisabled, LookupField: LookupZip, PortalLookup: LookupEmail},
	}
}

// ReturnsEnabled reports whether Start a return / Initiate return show.
func (c Config) ReturnsEnabled() bool {
	r := c.Returns
	switch r.Provider {
	case ProviderLoop:
		return r.LoopAPIKey != "" || r.LoopPortalURL != ""
	case ProviderAfterShip, ProviderParcelLab, ProviderNarvar, ProviderOther:
		return r.PortalURL != ""
	}
	return false
}

// ParamsFor returns the parameter names in force for a provider.
func (c Config) ParamsFor(p Provider) ParamNames {
	names := DefaultParams[p]
	if o, ok := c.Returns.Params[p]; ok {
		if o.Order != "" {
			names.Order = o.Order
		}
		if o.Email != "" {
			names.Email = o.Email
		}
		if o.Postal != "" {
			names.Postal = o.Postal
		}
	}
	return names
}

// FieldError names the form field that is wrong.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Validate checks and normalises a configuration before it is saved.
func (c *Config) Validate() error {
	g := &c.General
	if g.ReturnWindowDays < 1 || g.ReturnWindowDays > 365 {
		return &FieldError{"general.return_window_days", "must be between 1 and 365 days"}
	}
	if g.HelpCentreURL != "" {
		u, err := ValidatePortalURL(g.HelpCentreURL)
		if err != nil {
			return &FieldError{"general.help_centre_url", err.Error()}
		}
		g.HelpCentreURL = u
	}
	if g.LogoURL != "" {
		u, err := ValidatePortalURL(g.LogoURL)
		if err != nil {
			return &FieldError{"general.logo_url", err.Error()}
		}
		g.LogoURL = u
	}
	domains, err := normalizeStorefrontDomains(g.StorefrontDomains)
	if err != nil {
		return &FieldError{"general.storefront_domains", err.Error()}
	}
	g.StorefrontDomains = domains
	r := &c.Returns
	r.LoopAPIKey = strings.TrimSpace(r.LoopAPIKey)
	r.LoopWebhookSecret = strings.TrimSpace(r.LoopWebhookSecret)
	if len(r.LoopWebhookSecret) > 512 || strings.ContainsAny(r.LoopWebhookSecret, " \t\r\n") {
		return &FieldError{"returns.loop_webhook_secret", "does not look like a Loop webhook secret"}
	}
	if !r.Provider.Valid() {
		return &FieldError{"returns.provider", fmt.Sprintf("%q is not one of disabled, loop, aftership, parcellab, narvar, other", r.Provider)}
	}
	if r.LookupField == "" {
		r.LookupField = LookupZip
	}
	if !r.LookupField.Valid() {
		return &FieldError{"returns.lookup_field", "must be zip, email or phone"}
	}
	if r.LoopPortalURL != "" {
		u, err := ValidatePortalURL(r.LoopPortalURL)
		if err != nil {
			return &FieldError{"returns.loop_portal_url", err.Error()}
		}
		r.LoopPortalURL = u
	}
	if r.PortalURL != "" {
		u, err := ValidatePortalURL(r.PortalURL)
		if err != nil {
			return &FieldError{"returns.portal_url", err.Error()}
		}
		r.PortalURL = u
	}
	switch r.Provider {
	case ProviderLoop:
		if r.LoopAPIKey == "" {
			return &FieldError{"returns.loop_api_key", "is required for Loop"}
		}
		if len(r.LoopAPIKey) > 512 || strings.ContainsAny(r.LoopAPIKey, " \t\r\n") {
			return &FieldError{"returns.loop_api_key", "does not look like a Loop API key"}
		}
	case ProviderAfterShip, ProviderParcelLab, ProviderNarvar, ProviderOther:
		if r.PortalURL == "" {
			return &FieldError{"returns.portal_url", "is required for " + r.Provider.Label()}
		}
	}
	if r.PortalLookup == "" {
		r.PortalLookup = LookupEmail
	}
	if r.PortalLookup != LookupEmail && r.PortalLookup != LookupZip {
		return &FieldError{"returns.portal_lookup", "must be email or zip"}
	}
	params, err := normalizeParams(r.Params)
	if err != nil {
		return err
	}
	r.Params = params
	return nil
}

// normalizeParams is the one rule for parameter-name overrides, whether
// they come from the settings page or the API: a provider that appends no
// parameters is refused, names are trimmed and checked, and a name equal
// to the default is not an override, so only real overrides are stored
// (nil when there are none).
func normalizeParams(in map[Provider]ParamNames) (map[Provider]ParamNames, error) {
	var out map[Provider]ParamNames
	for p, names := range in {
		if !p.appendsParams() {
			return nil, &FieldError{"returns.params", fmt.Sprintf("%s takes no parameter names", p)}
		}
		def := DefaultParams[p]
		slots := []struct {
			name *string
			def  string
		}{{&names.Order, def.Order}, {&names.Email, def.Email}, {&names.Postal, def.Postal}}
		for _, slot := range slots {
			*slot.name = strings.TrimSpace(*slot.name)
			if *slot.name != "" && !validParamName(*slot.name) {
				return nil, &FieldError{"returns.params." + string(p), fmt.Sprintf("%q is not a valid parameter name", *slot.name)}
			}
			if *slot.name == slot.def {
				*slot.name = ""
			}
		}
		if names == (ParamNames{}) {
			continue
		}
		if out == nil {
			out = map[Provider]ParamNames{}
		}
		out[p] = names
	}
	return out, nil
}

// normalizeStorefrontDomains trims, lower-cases and de-duplicates host
// names, keeping their order; blank entries are dropped and an empty list
// becomes nil, so a form that sends nothing and one that sends blanks
// save the same thing.
func normalizeStorefrontDomains(in []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, raw := range in {
		host := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), ".")
		if host == "" || seen[host] {
			continue
		}
		if err := checkHostName(host); err != nil {
			return nil, fmt.Errorf("%q %s", strings.TrimSpace(raw), err)
		}
		seen[host] = true
		out = append(out, host)
	}
	if len(out) > MaxStorefrontDomains {
		return nil, fmt.Errorf("may list at most %d domains", MaxStorefrontDomains)
	}
	return out, nil
}

// checkHostName accepts a lower-case DNS host name of two labels or more,
// as a browser writes it in an Origin header: no scheme, port, path or IP
// address, and an international name in its xn-- form.
func checkHostName(host string) error {
	const want = "is not a plain host name such as shop.example.com"
	switch {
	case strings.Contains(host, "://"):
		return fmt.Errorf("%s: leave out %s", want, host[:strings.Index(host, "://")+3])
	case strings.ContainsAny(host, "/?#@:"):
		return fmt.Errorf("%s: leave out any port, path or query", want)
	case len(host) > 253:
		return fmt.Errorf("is longer than 253 characters")
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%s", want)
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			if strings.IndexFunc(l, func(c rune) bool { return c > 127 }) >= 0 {
				return fmt.Errorf("%s: write an international name in its xn-- form", want)
			}
			return fmt.Errorf("%s", want)
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("%s: an IP address is not a storefront domain", want)
	}
	return nil
}

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func validParamName(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c == '.' || c == '[' || c == ']' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// ValidatePortalURL accepts absolute https URLs (http only on loopback, for
// development and the sandboxes), without credentials, of sane length.
func ValidatePortalURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > 2048 {
		return "", fmt.Errorf("is longer than 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return "", fmt.Errorf("must be an absolute URL such as https://returns.example.com/")
	}
	if u.User != nil {
		return "", fmt.Errorf("must not contain a user name or password")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return "", fmt.Errorf("must use https (http is allowed only for localhost)")
		}
	default:
		return "", fmt.Errorf("must use https")
	}
	if u.Fragment != "" && !strings.HasPrefix(u.Fragment, "/") {
		return "", fmt.Errorf("must not contain a #fragment")
	}
	return u.String(), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// MaskKey shows only the last four characters of a secret.
func MaskKey(key string) string {
	if len(key) <= 4 {
		return strings.Repeat("•", len(key))
	}
	return key[len(key)-4:]
}
