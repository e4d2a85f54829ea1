package hub

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/guest"
	"github.com/hubdesk/hubdesk/internal/locale"
)

// Guest orders: a shopper who checked out without an account — or is not
// logged in on the storefront — looks an order up by its number and
// email (GuestForm, GuestLookup), gets a one-time link by mail (package
// guest), and the link — its page (GuestOpen), then the button on it
// (GuestOpenPost) — is exchanged for a grant to that one order
// (grant.go) carried by every link of its pages (Guest).
//
// Three ways in, as for the rest of the hub: through the App Proxy
// (signed; the pages in the store's theme), on hubdesk's own domain (a
// headless store links to /hub/guest?shop=<myshopify domain>; the mailed
// link opens here too, its host taken from configuration, never from the
// request), and the admin preview (GuestPreview), which shows the form
// and a guest's order page with the draft settings and sends nothing.

// guestFormPage is the lookup form and what it says after a post.
type guestFormPage struct {
	Action       string
	Order, Email string
	Error        string
	Sent         bool
	Again        string // the empty form, after a lookup was sent
	Notice       string // the preview's: nothing is sent from here
}

// GuestEntry admits the lookup form's visitors: a signed App Proxy request
// (logged in or not: the shopper's account plays no part), or a request
// on hubdesk's own domain naming the shop (?shop=<myshopify domain>).
func (h *Hub) GuestEntry(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var s *session
		var err error
		if q.Has("signature") {
			s, err = h.proxySession(r, q)
		} else {
			s, err = h.directGuestSession(r, q.Get("shop"), 0)
			if err == nil {
				s.carry.Set("shop", s.shop.Domain)
			}
		}
		if !h.admitted(w, r, err) {
			return
		}
		h.serveGuest(w, r, s, next)
	}
}

// Guest admits the pages of one order opened with a guest link: the
// request carries a grant (?grant=) of the shop it reaches, through the
// App Proxy or on hubdesk's own domain. A missing, forged or expired
// grant gets the page that says access ended, with the way back to the
// lookup form.
func (h *Hub) Guest(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		raw := q.Get("grant")
		var s *session
		var err error
		var e *shopEntry
		if q.Has("signature") {
			if s, err = h.proxySession(r, q); err == nil {
				e, _, err = h.shopByID(r.Context(), s.shop.ID, false)
			}
		} else {
			var c grantClaims
			if c, _, _, err = decodeGrant(raw); err == nil {
				if s, err = h.directGuestSession(r, "", c.ShopID); err == nil {
					e, _, err = h.shopByID(r.Context(), s.shop.ID, false)
				}
			}
		}
		if !h.admitted(w, r, err) {
			return
		}
		now := h.opts.Now()
		c, err := verifyGrant(raw, e.secret, now)
		if errors.Is(err, errTokenSignature) {
			if e, _, err = h.shopByID(r.Context(), s.shop.ID, true); err == nil {
				c, err = verifyGrant(raw, e.secret, now)
			}
		}
		if err == nil && (e.secret == "" || c.ShopID != s.shop.ID) {
			err = errTokenSignature
		}
		if err != nil {
			if !isAccessError(err) {
				h.serverError(w, r, s, err)
				return
			}
			s.customer = nil
			h.guestEnded(w, s)
			return
		}
		if renewed, ok := c.renewed(now); ok {
			c = renewed
		}
		s.customer, s.loggedIn, s.guestOrder = nil, true, c.OrderID
		s.carry.Set("grant", signGrant(c, e.secret))
		s.carried = ""
		s.actor = audit.ShopperActor("", "guest")
		h.serveGuest(w, r, s, next)
	}
}

// GuestPreview admits a desk user (the route list requires Manager or
// above) to the guest pages with the draft settings: the form, and with
// ?order=<id> that order as its guest would see it. Nothing is sent from
// here.
func (h *Hub) GuestPreview(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := h.previewSession(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		if q.Has("order") {
			id, err := strconv.ParseInt(q.Get("order"), 10, 64)
			if err != nil || id <= 0 {
				h.notFound(w, s)
				return
			}
			s.guestOrder = id
			s.carry.Set("order", strconv.FormatInt(id, 10))
		}
		h.serveGuest(w, r, s, next)
	}
}

// admitted answers a request whose way in did not verify, as Shopper
// does, and reports whether it may go on.
func (h *Hub) admitted(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, errForeignOrigin) {
		h.refused(w, r, err)
		return false
	}
	var nf *notFoundError
	if errors.As(err, &nf) || errors.Is(err, errNoAccess) || isAccessError(err) {
		h.denied(w, r, err)
		return false
	}
	h.serverError(w, r, &session{loc: locale.Hub.Negotiate(r.URL.Query().Get("locale"), r.Header.Get("Accept-Language"), locale.Default)}, err)
	return false
}

// serveGuest runs next for a guest session: the unavailable page when the
// shop switched the hub off. Whoever is logged in on the storefront plays
// no part: a guest page shows one order and nothing of a customer.
func (h *Hub) serveGuest(w http.ResponseWriter, r *http.Request, s *session, next http.HandlerFunc) {
	if !s.hubOn() {
		h.message(w, s, http.StatusNotFound, "error.unavailable.title", "error.unavailable.body")
		return
	}
	if h.opts.Guests == nil {
		h.notFound(w, s)
		return
	}
	if s.mode == viaProxy {
		s.customer = nil
		s.actor = audit.ShopperActor("", "guest")
	}
	next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
}

// directGuestSession is a guest's session on hubdesk's own domain, for
// the shop named by its myshopify domain or (shopID) by a grant. A post
// must come from hubdesk's own pages or the shop's storefronts.
func (h *Hub) directGuestSession(r *http.Request, domain string, shopID int64) (*session, error) {
	ctx := r.Context()
	var e *shopEntry
	var err error
	switch {
	case shopID != 0:
		e, _, err = h.shopByID(ctx, shopID, false)
	case domain != "":
		e, _, err = h.shopByDomain(ctx, domain, false)
	default:
		return nil, errNoAccess
	}
	if err != nil {
		return nil, err
	}
	sh := e.shop
	q := r.URL.Query()
	s := &session{mode: viaGuest, shop: sh, base: "/hub", carry: url.Values{}}
	if lc := q.Get("locale"); lc != "" && locale.Hub.Lookup(lc) != nil {
		s.carry.Set("locale", lc)
	}
	s.loc = locale.Hub.Negotiate(q.Get("locale"), r.Header.Get("Accept-Language"), sh.Locale)
	if s.cfg, err = h.opts.Settings.Published(ctx, sh.ID); err != nil {
		return nil, unreadable(sh, err)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		origins := postOrigins{hubdesk: h.origin, myshopify: sh.Domain,
			storefronts: append(slices.Clip(s.cfg.General.StorefrontDomains), sh.StorefrontDomains...)}
		if !postFromAllowedOrigin(r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Origin"), origins) {
			return nil, errForeignOrigin
		}
	}
	return s, nil
}

// GuestForm is the lookup form, or (?sent=1) what a lookup answers.
func (h *Hub) GuestForm(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	data := guestFormPage{Action: s.link("/guest", nil)}
	if r.URL.Query().Get("sent") == "1" {
		data.Sent, data.Again = true, s.link("/guest", nil)
		h.page(w, s, http.StatusOK, "guest", s.loc.T("guest.sent.title"), data)
		return
	}
	if s.mode == viaPreview {
		data.Notice = s.loc.T("preview.no_send")
	}
	h.page(w, s, http.StatusOK, "guest", s.loc.T("guest.title"), data)
}

// GuestLookup takes a lookup. Whatever the database holds, a well-formed
// lookup within the limits answers the same way, at once: a 303 to the
// "check your email" page; the order is looked for and the link mailed by
// a job (package guest). Over a limit the shopper is told to wait (429);
// that depends only on how often this address and this email asked.
func (h *Hub) GuestLookup(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	if err := r.ParseForm(); err != nil {
		h.message(w, s, http.StatusBadRequest, "error.forbidden.title", "error.forbidden.body")
		return
	}
	data := guestFormPage{Action: s.link("/guest", nil), Order: strings.TrimSpace(r.PostForm.Get("order")),
		Email: strings.TrimSpace(r.PostForm.Get("email"))}
	if s.mode == viaPreview {
		data.Notice = s.loc.T("preview.no_send")
		h.page(w, s, http.StatusUnprocessableEntity, "guest", s.loc.T("guest.title"), data)
		return
	}
	err := h.opts.Guests.Request(r.Context(), s.shop.ID, guest.Lookup{OrderName: data.Order, Email: data.Email,
		Address: h.clientAddress(r, s), Lang: s.loc.Lang})
	var limited *guest.LimitedError
	switch {
	case errors.Is(err, guest.ErrInvalid):
		data.Error = s.loc.T("guest.invalid")
		h.page(w, s, http.StatusUnprocessableEntity, "guest", s.loc.T("guest.title"), data)
		return
	case errors.As(err, &limited):
		h.log.Info("hub: guest order lookups over the limit", "shop", s.shop.ID)
		w.Header().Set("Retry-After", strconv.Itoa(int(limited.RetryAfter.Seconds())+1))
		data.Error = s.loc.T("guest.limited")
		h.page(w, s, http.StatusTooManyRequests, "guest", s.loc.T("guest.title"), data)
		return
	case err != nil:
		h.serverError(w, r, s, err)
		return
	}
	h.pageHeaders(w, s)
	http.Redirect(w, r, s.link("/guest", url.Values{"sent": {"1"}}), http.StatusSeeOther)
}

// GuestOpen answers a mailed link: a page saying which order it opens,
// with one button. The link is not used up here: mail security scanners
// (Outlook Safe Links, Proofpoint, Mimecast, corporate gateways) fetch
// the links in a mail before the shopper clicks, and a link spent by that
// fetch would greet the shopper as "already used". The page names only
// the order's number, which the shopper typed; its contents wait for the
// button (GuestOpenPost). A link used, expired, unknown or of another
// shop gets the page that offers the lookup again, as on a post.
func (h *Hub) GuestOpen(w http.ResponseWriter, r *http.Request) {
	h.guestLink(w, r, false)
}

// GuestOpenPost is the button of GuestOpen's page, posted to the same
// address: the first time, the link is exchanged for a grant to its order
// and the browser goes on to the order's page; every other time, the page
// that offers the lookup again.
//
// Cross-site posts: the route is exempt from http.CrossOriginProtection
// like the hub's other posts (through the App Proxy the form comes from
// the storefront's origin), and the hub's own origin rule
// (postFromAllowedOrigin, in proxySession and directGuestSession) refuses
// a post another site's page makes — before the link is read for its
// shop, let alone consumed. Even without that rule a forged post would
// gain its sender nothing: it must carry the secret token, and whoever
// has the token can open the order directly. What the rule prevents is
// the other way round: a page that posts an attacker's own link from a
// victim's browser, which would show the victim the attacker's order
// (and a message sent from it would go to the attacker's address). A
// victim's own link cannot be spent that way: the attacker does not know
// its token.
func (h *Hub) GuestOpenPost(w http.ResponseWriter, r *http.Request) {
	h.guestLink(w, r, true)
}

// guestOpenPage is the page of a mailed link before its button.
type guestOpenPage struct {
	Action string
	Title  string
}

// guestLink serves a mailed link: its page (consume false) or its
// button's post (consume true).
func (h *Hub) guestLink(w http.ResponseWriter, r *http.Request, consume bool) {
	ctx := r.Context()
	q := r.URL.Query()
	key := q.Get("key")
	var s *session
	var err error
	shopID := int64(0)
	if q.Has("signature") {
		if s, err = h.proxySession(r, q); err == nil {
			shopID = s.shop.ID
		}
		if !h.admitted(w, r, err) {
			return
		}
		if !s.hubOn() {
			// Switched off: the link stays unused for when it is on again.
			h.message(w, s, http.StatusNotFound, "error.unavailable.title", "error.unavailable.body")
			return
		}
	}
	fallback := &session{loc: locale.Hub.Negotiate(q.Get("locale"), r.Header.Get("Accept-Language"), locale.Default), carry: url.Values{}}
	if h.opts.Guests == nil {
		h.notFound(w, fallback)
		return
	}
	// The link names no shop on hubdesk's own domain; its token does, so
	// it is read first (nothing consumed) to know whose page this is.
	pending, err := h.opts.Guests.Peek(ctx, shopID, key)
	if errors.Is(err, guest.ErrLinkInvalid) {
		if s == nil {
			s = fallback
		}
		h.guestLinkUsed(w, s)
		return
	}
	if err != nil {
		h.serverError(w, r, fallback, err)
		return
	}
	if s == nil {
		if s, err = h.directGuestSession(r, "", pending.ShopID); !h.admitted(w, r, err) {
			return
		}
		if !s.hubOn() {
			h.message(w, s, http.StatusNotFound, "error.unavailable.title", "error.unavailable.body")
			return
		}
	}
	if !consume {
		// The page's address holds the token: it is sent to nobody (the
		// stylesheet's request included) and indexed nowhere.
		s.noReferrer = true
		w.Header().Set("X-Robots-Tag", "noindex, nofollow")
		data := guestOpenPage{Action: s.link("/guest/open", url.Values{"key": {key}}),
			Title: s.loc.T("guest.open.title", "order", pending.OrderName)}
		h.page(w, s, http.StatusOK, "guest_open", data.Title, data)
		return
	}
	link, err := h.opts.Guests.Open(ctx, pending.ShopID, key)
	if errors.Is(err, guest.ErrLinkInvalid) {
		// Opened by another post since it was read.
		h.guestLinkUsed(w, s)
		return
	}
	if err != nil {
		h.serverError(w, r, s, err)
		return
	}
	e, _, err := h.shopByID(ctx, link.ShopID, false)
	if err != nil {
		h.serverError(w, r, s, err)
		return
	}
	if e.secret == "" {
		h.serverError(w, r, s, ErrNoClientSecret)
		return
	}
	now := h.opts.Now()
	g := signGrant(grantClaims{ShopID: link.ShopID, OrderID: link.OrderID, Expires: now.Add(GrantTTL), SessionStart: now}, e.secret)
	s.noReferrer = true
	h.pageHeaders(w, s)
	http.Redirect(w, r, s.link("/guest/order", url.Values{"grant": {g}}), http.StatusSeeOther)
}

// guestLinkUsed says a link no longer opens anything; through the App
// Proxy or with the shop known, it offers the form again.
func (h *Hub) guestLinkUsed(w http.ResponseWriter, s *session) {
	data := guestEndedPage{Title: s.loc.T("guest.link_used.title"), Body: s.loc.T("guest.link_used.body")}
	if s.shop != nil {
		data.Again = s.link("/guest", nil)
	}
	h.page(w, s, http.StatusGone, "guest_ended", data.Title, data)
}

// guestEnded says a grant no longer opens its order (it expired, or the
// link was forged) and offers the form again.
func (h *Hub) guestEnded(w http.ResponseWriter, s *session) {
	s.carry.Del("grant")
	s.carried = ""
	if s.mode == viaGuest {
		s.carry.Set("shop", s.shop.Domain)
	}
	data := guestEndedPage{Title: s.loc.T("guest.ended.title"), Body: s.loc.T("guest.ended.body"), Again: s.link("/guest", nil)}
	h.page(w, s, http.StatusUnauthorized, "guest_ended", data.Title, data)
}

type guestEndedPage struct{ Title, Body, Again string }

// clientAddress is who asked, for the lookups' rate limit: through the App
// Proxy the peer is Shopify, which the verified signature vouches for, so
// the address it appended to X-Forwarded-For is the shopper's; elsewhere
// the peer, or what trusted proxies say.
func (h *Hub) clientAddress(r *http.Request, s *session) string {
	if s.mode == viaProxy {
		return h.opts.Proxies.ClientIPBehindForwarder(r)
	}
	return h.opts.Proxies.ClientIP(r)
}
