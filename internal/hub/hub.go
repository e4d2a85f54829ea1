// Package hub is the Customer Hub: the shopper's own orders, tracking,
// reorder, contact support and Start a return, server-rendered in five
// languages.
//
// One set of handlers serves three ways in; the access middleware decides
// who is asking and puts a session in the request context:
//
//   - Shopify's App Proxy (Shopper): the storefront forwards
//     /apps/<subpath>/... to /hub/... with a signed query; the signature
//     (contracts/shopify.md §1) is verified with the shop's client secret
//     on every request, and the shopper is logged_in_customer_id.
//   - A shopper token (Shopper): headless storefronts ask the API for a
//     short-lived signed token (token.go) and open /hub?token=....
//   - The admin preview (Preview): a desk user with settings rights sees
//     the hub as one customer would, with the draft configuration.
//
// The session carries what differs between them: where the configuration
// comes from (published or draft), the prefix of every link, the query
// every link must carry, and who is acting for the audit log.
//
// Pages reached through the App Proxy are shown on the storefront's domain,
// so every asset URL is absolute to hubdesk's BaseURL (a relative one would
// resolve against the shop), and the Content-Security-Policy names that
// origin explicitly. Links between hub pages are root-relative to the
// storefront (path_prefix), because Shopify signs each proxied request
// itself.
//
// Through the App Proxy, while the shop's "Show the hub inside the store's
// theme" setting is on, pages answer as application/liquid so that Shopify
// shows them inside the theme's layout (layout-theme; contracts/shopify.md
// §6). The body is Liquid source then: web.Renderer.RenderLiquid writes
// every "{" as a character reference, so nothing a shopper or a store
// record holds is ever evaluated. The drawer (?view=drawer), shopper
// tokens and the preview get the standalone page, with the shop's name
// and a link back to the store.
package hub

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/guest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/web"
)

//go:embed templates
var templateFiles embed.FS

// Options are the hub's dependencies.
type Options struct {
	Shops    *shop.Store
	Commerce *commerce.Store
	Settings *settings.Editor
	// Orders views orders (status, return eligibility) and resolves
	// Start a return.
	Orders *orderview.View
	// Tickets reads the shopper's conversations; Helpdesk takes their
	// messages in.
	Tickets  *ticket.Store
	Helpdesk *helpdesk.Tickets
	Logger   *slog.Logger
	// BaseURL is hubdesk's public root (https://hubdesk.example.com).
	// Asset URLs and token hub URLs are built on it.
	BaseURL string
	// PageSize is the number of orders per page of the orders tab
	// (default 25).
	PageSize int
	// Now is the clock for signatures, tokens and return windows.
	Now func() time.Time
	// Guests takes guest order lookups and opens their links; nil: the
	// hub offers no lookup.
	Guests *guest.Lookups
	// Proxies are trusted to name the client in X-Forwarded-For (the
	// lookups' rate limit per address).
	Proxies auth.Proxies
	// Freshness refreshes a signed-in shopper's orders from the store's
	// platform in the background when they are stale (shopifysync); nil:
	// none.
	Freshness CustomerFreshener
}

// CustomerFreshener asks for the background refresh of a customer's
// orders; it never waits on the platform.
type CustomerFreshener interface {
	Freshen(ctx context.Context, shopID, customerID int64) (bool, error)
}

// Hub serves the shopper-facing pages.
type Hub struct {
	opts   Options
	log    *slog.Logger
	render *web.Renderer
	shops  shopCache
	// customers remembers signed-in shoppers for a few seconds.
	customers customerCache
	// pages keeps rendered orders tabs, orderPages rendered order pages
	// (orders_cache.go).
	pages      pageCache
	orderPages pageCache
	origin     string // scheme://host of BaseURL, for the CSP; "" when unset
	// devAncestors allows loopback storefronts (the demo's Shopify
	// sandbox) to frame the hub when hubdesk itself runs on loopback.
	devAncestors bool
	css, js      string
	embedJS      []byte
	embedGz      []byte
	embedETag    string
	// unreadableLogged holds the ids of the shops whose unreadable secrets
	// were logged, so a shop's every request does not log it again.
	unreadableLogged sync.Map
}

// New builds the hub; templates and catalogues are checked here, so a
// broken one stops the server at start-up rather than on a request.
func New(opts Options) (*Hub, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 25
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	h := &Hub{opts: opts, log: opts.Logger}
	if u, err := url.Parse(opts.BaseURL); err == nil && u.Host != "" {
		h.origin = u.Scheme + "://" + u.Host
		h.devAncestors = isLoopback(u.Hostname())
	}
	sub, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, err
	}
	h.render, err = web.NewRenderer(sub, template.FuncMap{"inc": func(i int) int { return i + 1 }}, opts.Logger, "layout.html", "parts.html")
	if err != nil {
		return nil, err
	}
	h.css = opts.BaseURL + web.DefaultAssets.URL("hub.css")
	h.js = opts.BaseURL + web.DefaultAssets.URL("hub.js")
	if err := h.buildEmbedJS(); err != nil {
		return nil, err
	}
	return h, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// shopDomain matches what may be written into a header as a shop's host.
var shopDomain = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)

// setHeaders replaces the server-wide framing ban and CSP for hub pages.
//
// Framing: the embeddable drawer (embed.js) frames the storefront's own
// /apps/<subpath>, so through the App Proxy the page and the storefront
// share an origin and 'self' allows it — on the myshopify domain and on
// any custom domain alike. https://{shop} also lets the myshopify storefront
// frame a hub shown directly (headless tokens). When hubdesk itself runs on
// loopback (demo, development), loopback origins on any port may frame it
// too, for the Shopify storefront sandbox. X-Frame-Options cannot express
// "these origins" and is dropped; frame-ancestors supersedes it.
//
// Assets come from hubdesk's origin even when the page is shown on the
// storefront, so the policy names that origin beside 'self'. form-action is
// left out on purpose: Start a return answers with a redirect to the
// returns portal, and browsers apply form-action to redirect targets; the
// destination never comes from the request (see StartReturn).
func (h *Hub) setHeaders(w http.ResponseWriter, sh *shop.Shop) {
	self := "'self'"
	if h.origin != "" {
		self += " " + h.origin
	}
	hd := w.Header()
	hd.Del("X-Frame-Options")
	hd.Set("Content-Security-Policy", "default-src 'none'; img-src "+self+" https: data:; style-src "+self+"; script-src "+self+
		"; base-uri 'none'; frame-ancestors "+h.frameAncestors(sh))
	hd.Set("Referrer-Policy", "same-origin")
}

// setThemeHeaders is setHeaders for a page Shopify shows inside the
// store's theme: the page is the theme's then, and a policy naming only
// hubdesk's sources would block the theme's own scripts and styles if it
// were passed on, so only the framing rule is kept.
func (h *Hub) setThemeHeaders(w http.ResponseWriter, sh *shop.Shop) {
	hd := w.Header()
	hd.Del("X-Frame-Options")
	hd.Set("Content-Security-Policy", "frame-ancestors "+h.frameAncestors(sh))
	hd.Set("Referrer-Policy", "same-origin")
}

// frameAncestors lists who may frame a hub page of shop sh (nil: no shop).
func (h *Hub) frameAncestors(sh *shop.Shop) string {
	ancestors := "'self'"
	if sh != nil && shopDomain.MatchString(sh.Domain) {
		ancestors += " https://" + sh.Domain
	}
	if h.devAncestors {
		// IPv6 literals are not valid CSP sources (Chromium rejects them
		// with a console error), so [::1] storefronts are not covered.
		ancestors += " http://127.0.0.1:* http://localhost:*"
	}
	return ancestors
}

// view is what every hub page template receives.
type view struct {
	L        *locale.Locale
	Title    string
	CSS, JS  string
	ShopName string
	Home     string // the orders tab; empty on pages without a shopper
	// MessagesURL is the Messages tab; empty without a shopper or while
	// the shop's helpdesk is off.
	MessagesURL string
	// AccountURL is the Account tab; empty without a shopper.
	AccountURL string
	HelpURL    string
	// StoreURL is the store's home page, for the standalone page's
	// header (shop name, Back to store); empty inside the theme, whose
	// own header does that, and on pages that name no shop.
	StoreURL string
	Preview  *previewBanner
	Data     any
}

type previewBanner struct{ Name string }

// page renders a hub page for a session: inside the store's theme when
// the session says so (inTheme), else as a page of its own.
func (h *Hub) page(w http.ResponseWriter, s *session, status int, name, title string, data any) {
	v := h.layoutView(s, title, data)
	if p, ok := data.(orderPage); ok {
		writeGoPage(w, status, &v, h.pageHeaders(w, s), &p)
		return
	}
	if h.pageHeaders(w, s) {
		h.render.RenderLiquid(w, status, name, "layout-theme", v)
		return
	}
	h.render.Render(w, status, name, v)
}

// pageHeaders sets the framing and content policy of a page for s and
// reports whether it is shown inside the store's theme.
func (h *Hub) pageHeaders(w http.ResponseWriter, s *session) (theme bool) {
	theme = s.inTheme()
	if theme {
		h.setThemeHeaders(w, s.shop)
	} else {
		h.setHeaders(w, s.shop)
	}
	if s.noReferrer {
		w.Header().Set("Referrer-Policy", "no-referrer")
	}
	return theme
}

// layoutView is what the layout around every page shows for s.
func (h *Hub) layoutView(s *session, title string, data any) view {
	v := view{L: s.loc, Title: title, CSS: h.css, JS: h.js, Data: data}
	if s.shop != nil {
		v.ShopName = s.shop.Name
		if !s.inTheme() {
			v.StoreURL = s.storefrontURL("/")
		}
	}
	if s.customer != nil {
		v.Home = s.link("", nil)
		if s.helpdeskOn() {
			v.MessagesURL = s.link("/messages", nil)
		}
		v.AccountURL = s.link("/account", nil)
	}
	if s.hubOn() {
		v.HelpURL = safeURL(s.cfg.General.HelpCentreURL)
	}
	switch {
	case s.mode == viaPreview && s.customer != nil:
		v.Preview = &previewBanner{Name: s.customer.Name()}
	case s.mode == viaPreview:
		v.Preview = &previewBanner{Name: s.loc.T("guest.preview_name")}
	}
	return v
}

// message renders a page that only says something: errors, the login
// prompt's siblings, refusals.
func (h *Hub) message(w http.ResponseWriter, s *session, status int, titleKey, bodyKey string) {
	h.page(w, s, status, "message", s.loc.T(titleKey), messagePage{Title: s.loc.T(titleKey), Body: s.loc.T(bodyKey)})
}

type messagePage struct{ Title, Body string }

// denied answers a request whose signature or token did not verify: a
// 401 that names nothing of the shop or the shopper.
func (h *Hub) denied(w http.ResponseWriter, r *http.Request, reason error) {
	h.log.Debug("hub: access denied", "path", r.URL.Path, "reason", reason)
	s := &session{loc: locale.Hub.Negotiate(r.URL.Query().Get("locale"), r.Header.Get("Accept-Language"), locale.Default)}
	w.Header().Set("WWW-Authenticate", `Bearer realm="hubdesk hub"`)
	h.message(w, s, http.StatusUnauthorized, "error.unauthorized.title", "error.unauthorized.body")
}

// Refuse answers with status a request the server refused before the hub
// saw it (a form it cannot read, text it cannot store): the
// refused-request page in the shopper's language, naming nothing of the
// shop or the shopper.
func (h *Hub) Refuse(w http.ResponseWriter, r *http.Request, status int) {
	s := &session{loc: locale.Hub.Negotiate(r.URL.Query().Get("locale"), r.Header.Get("Accept-Language"), locale.Default)}
	h.message(w, s, status, "error.forbidden.title", "error.forbidden.body")
}

// refused answers a post the browser says came from another site: a 403
// that, like denied, names nothing of the shop or the shopper.
func (h *Hub) refused(w http.ResponseWriter, r *http.Request, reason error) {
	h.log.Debug("hub: post refused", "path", r.URL.Path, "origin", r.Header.Get("Origin"),
		"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "reason", reason)
	h.Refuse(w, r, http.StatusForbidden)
}

func (h *Hub) notFound(w http.ResponseWriter, s *session) {
	h.message(w, s, http.StatusNotFound, "error.not_found.title", "error.not_found.body")
}

func (h *Hub) serverError(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if errors.Is(err, secret.ErrUnreadable) {
		h.beingSetUp(w, s, err)
		return
	}
	status := http.StatusInternalServerError
	if database.IsStorageFailure(err) {
		status = http.StatusServiceUnavailable // an operator's fix, not a bug: the shopper may try again
	}
	h.log.Error("hub page failed", "path", r.URL.Path, "err", err)
	h.message(w, s, status, "error.server.title", "error.server.body")
}

// unreadableError marks a stored secret of shop this process cannot open.
type unreadableError struct {
	shop *shop.Shop
	err  error
}

func (e *unreadableError) Error() string { return e.err.Error() }
func (e *unreadableError) Unwrap() error { return e.err }

// unreadable names sh as the shop of err when err is a stored secret this
// process cannot open, for beingSetUp's log line.
func unreadable(sh *shop.Shop, err error) error {
	if errors.Is(err, secret.ErrUnreadable) {
		return &unreadableError{shop: sh, err: err}
	}
	return err
}

// beingSetUp answers for a shop whose stored secrets this process cannot
// open (its processes were not all given the same key): the shopper gets
// a 503 "being set up" page naming nothing, the log one line per shop;
// the desk's settings page tells the shop's staff.
func (h *Hub) beingSetUp(w http.ResponseWriter, s *session, err error) {
	sh := s.shop
	if ue := (*unreadableError)(nil); errors.As(err, &ue) {
		sh = ue.shop
	}
	if sh == nil { // a path that did not name its shop: log each time rather than guess
		h.log.Warn("hub: a stored secret cannot be opened with this process's HUBDESK_SECRET_KEY", "err", err)
	} else if _, logged := h.unreadableLogged.LoadOrStore(sh.ID, true); !logged {
		h.log.Warn("hub: a stored secret of this shop cannot be opened with this process's HUBDESK_SECRET_KEY; its hub answers 503",
			"shop", sh.Domain, "err", err)
	}
	h.message(w, s, http.StatusServiceUnavailable, "error.setting_up.title", "error.setting_up.body")
}

// safeURL passes only absolute http(s) URLs into href and src attributes;
// stored data (tracking URLs, portal links, images) comes from outside
// systems. The common case — https, no characters that need encoding — is
// checked without parsing, because the orders tab does this for every
// thumbnail.
func safeURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if rest, ok := strings.CutPrefix(raw, "https://"); ok && rest != "" && rest[0] != '/' && plainURLChars(rest) {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.String()
}

// plainURLChars reports whether s has only characters a URL may carry
// as they are.
func plainURLChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == '`' {
			return false
		}
	}
	return true
}

var errNoAccess = errors.New("hub: no signature or shopper token")
