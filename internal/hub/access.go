package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// mode is how the request reached the hub.
type mode int

const (
	viaProxy mode = iota + 1
	viaToken
	viaPreview
	// viaGuest: one order's pages on hubdesk's own domain, opened with a
	// guest link (guest.go), or the lookup form of a headless store.
	viaGuest
)

// session is who is asking and how their pages are built.
type session struct {
	mode     mode
	shop     *shop.Shop
	customer *commerce.Customer // nil: nobody logged in, or not synced yet
	loggedIn bool
	cfg      returns.Config
	loc      *locale.Locale
	base     string     // prefix of every hub link
	carry    url.Values // query every hub link carries
	carried  string     // carry, encoded once
	actor    audit.Actor
	// drawer: the page is shown in the embeddable drawer (embed.js asks
	// with ?view=drawer), where the store's theme around it would be a
	// second header and footer inside the storefront's own.
	drawer bool
	// guestOrder is the one order a guest link opened (grant.go); the
	// session then shows that order and nothing of a customer.
	guestOrder int64
	// noReferrer: the page's address holds a secret (a guest link's
	// token), which no request from it may pass on as its referrer.
	noReferrer bool
}

// orderPath is where an order's page is: the guest's one order has one
// address, the grant saying which.
func (s *session) orderPath(id int64) string {
	if s.guestOrder != 0 {
		return "/guest/order"
	}
	return "/orders/" + itoa(id)
}

// inTheme reports whether pages answer as Liquid, for Shopify to show
// inside the store's theme: only through the App Proxy (a shopper token
// or the preview has no theme around it), only while the shop's General
// setting asks for it, and not in the drawer.
func (s *session) inTheme() bool {
	return s.mode == viaProxy && s.cfg.General.InTheme && !s.drawer
}

// link is a hub URL: base + p with the carried query and extra.
func (s *session) link(p string, extra url.Values) string {
	u := s.base + p
	if u == "" {
		u = "/"
	}
	if len(extra) == 0 {
		if len(s.carry) == 0 {
			return u
		}
		if s.carried == "" {
			s.carried = s.carry.Encode()
		}
		return u + "?" + s.carried
	}
	q := url.Values{}
	for k, v := range s.carry {
		q[k] = v
	}
	for k, v := range extra {
		q[k] = v
	}
	return u + "?" + q.Encode()
}

func (s *session) hubOn() bool { return s.cfg.General.HubEnabled }

// helpdeskOn says whether the hub offers Contact support: the shop's
// helpdesk switch, published for shoppers, the draft in the preview.
func (s *session) helpdeskOn() bool { return s.cfg.General.HelpdeskEnabled }

// storefrontURL addresses a page of the shop's online store. Through the
// App Proxy the browser is on the storefront already, so a root-relative
// path is right on the myshopify domain, on a custom domain and on the
// demo's storefront sandbox alike; elsewhere (headless token, preview) it
// is absolute on the shop's myshopify domain, which Shopify redirects to
// the primary domain.
func (s *session) storefrontURL(p string) string {
	if s.mode == viaProxy {
		return p
	}
	return "https://" + s.shop.Domain + p
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// pathPrefix is what a signed path_prefix may look like: a plain path, so
// links built on it stay on the storefront ("//evil" would not).
var pathPrefix = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)

// Shopper admits shoppers: an App Proxy request when the query is signed,
// else a shopper token (Authorization: Bearer or ?token=). Anything that
// does not verify — bad or missing signature, stale timestamp, unknown
// shop, bad token — gets the same 401 and no data; a signed post from a
// foreign origin gets a 403 and changes nothing.
func (h *Hub) Shopper(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		var err error
		q := r.URL.Query()
		switch {
		case q.Has("signature"):
			s, err = h.proxySession(r, q)
		default:
			s, err = h.tokenSession(r, q)
		}
		if errors.Is(err, errForeignOrigin) {
			h.refused(w, r, err)
			return
		}
		if err != nil {
			var nf *notFoundError
			if errors.As(err, &nf) || errors.Is(err, errNoAccess) || isAccessError(err) {
				h.denied(w, r, err)
				return
			}
			h.serverError(w, r, &session{loc: locale.Hub.Negotiate(q.Get("locale"), r.Header.Get("Accept-Language"), locale.Default)}, err)
			return
		}
		h.serve(w, r, s, next)
	}
}

// serve runs next for an admitted session: the login prompt when nobody is
// logged in, the unavailable page when the shop switched the hub off.
func (h *Hub) serve(w http.ResponseWriter, r *http.Request, s *session, next http.HandlerFunc) {
	if !s.hubOn() {
		h.message(w, s, http.StatusNotFound, "error.unavailable.title", "error.unavailable.body")
		return
	}
	if !s.loggedIn {
		status := http.StatusOK
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			status = http.StatusUnauthorized
		}
		// Shopify's login returns to return_url (a path on the store), so
		// the shopper lands back on the hub.
		login := s.storefrontURL("/account/login?return_url=" + url.QueryEscape(s.link("", nil)))
		data := struct{ LoginURL, GuestURL string }{LoginURL: login}
		if h.opts.Guests != nil {
			data.GuestURL = s.link("/guest", nil)
		}
		h.page(w, s, status, "login", s.loc.T("login.title"), data)
		return
	}
	next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
}

// notFoundError marks a lookup that found nothing, for the 401 decision.
type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return "hub: " + e.what + " not found" }

func isAccessError(err error) bool {
	for _, target := range []error{shopify.ErrProxyUnsigned, shopify.ErrProxySignature, shopify.ErrProxyTimestamp, shopify.ErrProxyRepeated,
		errTokenMalformed, errTokenSignature, errTokenExpired, errBadPrefix} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

var errBadPrefix = errors.New("hub: path_prefix is not a plain path")

// proxySession verifies an App Proxy request. The shop is looked up by the
// unverified "shop" parameter only to find the secret that verifies it.
func (h *Hub) proxySession(r *http.Request, q url.Values) (*session, error) {
	ctx := r.Context()
	e, cached, err := h.shopByDomain(ctx, q.Get("shop"), false)
	if err != nil {
		return nil, err
	}
	err = shopify.VerifyProxy(q, e.secret, h.opts.Now())
	if errors.Is(err, shopify.ErrProxySignature) && cached {
		if e, _, err = h.shopByDomain(ctx, q.Get("shop"), true); err != nil {
			return nil, err
		}
		err = shopify.VerifyProxy(q, e.secret, h.opts.Now())
	}
	if err == nil && e.secret == "" {
		err = shopify.ErrProxySignature // a shop without a secret verifies nothing
	}
	if err != nil {
		return nil, err
	}
	sh := e.shop
	prefix := strings.TrimRight(q.Get("path_prefix"), "/")
	if !pathPrefix.MatchString(prefix) {
		return nil, errBadPrefix
	}
	s := &session{mode: viaProxy, shop: sh, base: prefix, carry: url.Values{}}
	if lc := q.Get("locale"); lc != "" && locale.Hub.Lookup(lc) != nil {
		s.carry.Set("locale", lc)
	}
	if q.Get("view") == "drawer" {
		s.drawer = true
		s.carry.Set("view", "drawer")
	}
	s.loc = locale.Hub.Negotiate(q.Get("locale"), r.Header.Get("Accept-Language"), sh.Locale)
	if s.cfg, err = h.opts.Settings.Published(ctx, sh.ID); err != nil {
		return nil, unreadable(sh, err)
	}
	// Only App Proxy posts need the origin rule: the storefront's session
	// stands behind their signature whoever sent them, while a shopper
	// token or the desk's session (preview) is nothing a foreign page has.
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// The merchant's list and Shopify's report of the shop's domains.
		origins := postOrigins{hubdesk: h.origin, myshopify: sh.Domain,
			storefronts: append(slices.Clip(s.cfg.General.StorefrontDomains), sh.StorefrontDomains...)}
		if !postFromAllowedOrigin(r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Origin"), origins) {
			return nil, errForeignOrigin
		}
	}
	id := q.Get("logged_in_customer_id")
	if id == "" {
		return s, nil
	}
	s.loggedIn = true
	c, err := h.customer(ctx, sh.ID, id)
	switch {
	case errors.Is(err, commerce.ErrNotFound):
		// Logged in but not synced to hubdesk yet: no orders to show.
		s.actor = audit.ShopperActor(id, "")
	case err != nil:
		return nil, fmt.Errorf("hub: customer %s of shop %d: %w", id, sh.ID, err)
	default:
		s.customer = c
		s.actor = audit.ShopperActor(c.ExternalID, c.Email)
	}
	return s, nil
}

// tokenSession verifies a shopper token and renews it for the page's links.
func (h *Hub) tokenSession(r *http.Request, q url.Values) (*session, error) {
	tok := auth.BearerToken(r)
	if tok == "" {
		tok = q.Get("token")
	}
	if tok == "" {
		return nil, errNoAccess
	}
	ctx := r.Context()
	shopID, err := tokenShop(tok)
	if err != nil {
		return nil, err
	}
	e, cached, err := h.shopByID(ctx, shopID, false)
	if err != nil {
		return nil, err
	}
	now := h.opts.Now()
	claims, err := verifyToken(tok, e.secret, now)
	if errors.Is(err, errTokenSignature) && cached {
		if e, _, err = h.shopByID(ctx, shopID, true); err != nil {
			return nil, err
		}
		claims, err = verifyToken(tok, e.secret, now)
	}
	if err == nil && e.secret == "" {
		err = errTokenSignature
	}
	if err != nil {
		return nil, err
	}
	sh, secret := e.shop, e.secret
	c, err := h.opts.Commerce.Customer(ctx, sh.ID, claims.CustomerID)
	if errors.Is(err, commerce.ErrNotFound) {
		return nil, &notFoundError{"customer"}
	}
	if err != nil {
		return nil, fmt.Errorf("hub: customer %d of shop %d: %w", claims.CustomerID, sh.ID, err)
	}
	linkToken := tok
	if renewed, ok := claims.renewed(now); ok {
		linkToken = signToken(renewed, secret)
	}
	s := &session{mode: viaToken, shop: sh, customer: c, loggedIn: true, base: "/hub", carry: url.Values{"token": {linkToken}},
		actor: audit.ShopperActor(c.ExternalID, c.Email)}
	if lc := q.Get("locale"); lc != "" && locale.Hub.Lookup(lc) != nil {
		s.carry.Set("locale", lc)
	}
	s.loc = locale.Hub.Negotiate(q.Get("locale"), r.Header.Get("Accept-Language"), sh.Locale)
	if s.cfg, err = h.opts.Settings.Published(ctx, sh.ID); err != nil {
		return nil, unreadable(sh, err)
	}
	return s, nil
}

// previewSession is the session of a preview (Preview, GuestPreview): the
// signed-in desk user's shop with its draft settings, in the language
// asked for, its links under PreviewPrefix. It answers the request itself
// and reports false when there is none.
func (h *Hub) previewSession(w http.ResponseWriter, r *http.Request) (*session, bool) {
	ctx := r.Context()
	u := auth.UserFrom(ctx)
	q := r.URL.Query()
	fallback := &session{loc: locale.Hub.Negotiate(q.Get("locale"), r.Header.Get("Accept-Language"), locale.Default)}
	if u == nil { // the route list wraps these in RequireRole; fail closed anyway
		h.denied(w, r, errNoAccess)
		return nil, false
	}
	sh, err := h.opts.Shops.Get(ctx, u.ShopID)
	if err != nil {
		h.serverError(w, r, fallback, fmt.Errorf("hub preview: shop %d: %w", u.ShopID, err))
		return nil, false
	}
	s := &session{mode: viaPreview, shop: sh, base: PreviewPrefix, carry: url.Values{}, actor: audit.UserActor(u), loggedIn: true}
	s.loc = locale.Hub.Negotiate(q.Get("locale"), r.Header.Get("Accept-Language"), sh.Locale)
	if lc := q.Get("locale"); lc != "" && locale.Hub.Lookup(lc) != nil {
		s.carry.Set("locale", lc)
	}
	state, err := h.opts.Settings.Load(ctx, sh.ID)
	if err != nil {
		h.serverError(w, r, s, err)
		return nil, false
	}
	s.cfg = state.Draft
	return s, true
}

// PreviewPrefix is where the admin preview lives; its links stay under it.
const PreviewPrefix = "/settings/hub-preview"

// Preview admits a signed-in desk user (the route list requires Manager or
// above) to see the hub as one of their shop's customers (?customer=<id>)
// would, with the draft configuration, so changes can be checked before
// they go live; without ?customer it shows the shopper of the order named,
// else of the settings page's sample order (previewShopper). A Start a
// return pressed here is audit-logged as the user.
func (h *Hub) Preview(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := h.previewSession(w, r)
		if !ok {
			return
		}
		ctx, q, sh := r.Context(), r.URL.Query(), s.shop
		if q.Get("customer") == "" && r.Method == http.MethodGet {
			// Opened without a customer (a bookmark, a typed address): show
			// the hub as the shopper of the order named would see it, else
			// as the shopper of the settings' sample order, one who can
			// start a return.
			shopper, err := h.previewShopper(r, sh.ID, s.cfg)
			if err != nil {
				h.serverError(w, r, s, err)
				return
			}
			if shopper != 0 {
				q.Set("customer", strconv.FormatInt(shopper, 10))
				http.Redirect(w, r, r.URL.Path+"?"+q.Encode(), http.StatusSeeOther)
				return
			}
		}
		id, err := strconv.ParseInt(q.Get("customer"), 10, 64)
		if err != nil || id <= 0 {
			h.notFound(w, s)
			return
		}
		c, err := h.opts.Commerce.Customer(ctx, sh.ID, id)
		if errors.Is(err, commerce.ErrNotFound) {
			h.notFound(w, s)
			return
		}
		if err != nil {
			h.serverError(w, r, s, err)
			return
		}
		s.customer = c
		s.carry.Set("customer", strconv.FormatInt(c.ID, 10))
		h.serve(w, r, s, next)
	}
}

// previewShopper is the customer a preview opened without one shows: the
// one whose order the address names, else the sample order's; 0 when
// there is none.
func (h *Hub) previewShopper(r *http.Request, shopID int64, draft returns.Config) (int64, error) {
	if id, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err == nil && strings.Contains(r.URL.Path, "/orders/") {
		o, err := h.opts.Commerce.Order(r.Context(), shopID, id)
		switch {
		case err == nil:
			return o.CustomerID, nil
		case !errors.Is(err, commerce.ErrNotFound):
			return 0, err
		}
	}
	sample, err := h.opts.Orders.Sample(r.Context(), shopID, draft)
	if err != nil {
		return 0, err
	}
	return sample.Order.CustomerID, nil
}
