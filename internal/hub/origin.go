package hub

import (
	"errors"
	"slices"
	"strings"
)

// A hub form posted through the App Proxy is signed by Shopify, and that
// proves only that Shopify forwarded it: the storefront's own session makes
// Shopify sign logged_in_customer_id for a form that any site posts to the
// store's /apps/... . So before a post changes anything, the hub asks the
// browser where it came from (postFromAllowedOrigin). The desk's
// http.CrossOriginProtection cannot judge these posts: to hubdesk they
// come from the storefront's origin, a different one, so the server
// exempts the hub's post routes from it and this rule takes its place.
//
// Assumed, as Shopify does not document it: the App Proxy forwards the
// browser's Origin and Sec-Fetch-Site headers unchanged, as it forwards
// the other request headers (the storefront sandbox does the same). Were
// both dropped, every post would look like one from a client that sends
// neither and pass, as before this rule; were Sec-Fetch-Site alone
// dropped, posts from a custom domain missing from the shop's storefront
// domains would be refused.

// errForeignOrigin refuses a post the browser says came from another site.
var errForeignOrigin = errors.New("hub: post from a foreign origin")

// postOrigins are the origins a hub form may be posted from.
type postOrigins struct {
	hubdesk     string   // scheme://host of hubdesk's BaseURL; "" when unset
	myshopify   string   // the shop's myshopify domain
	storefronts []string // the shop's other storefront domains (General settings)
}

// allows reports whether origin, as a browser writes it (scheme://host
// with a port only when it is not the default), is hubdesk itself or one
// of the shop's storefronts, which Shopify serves over https only.
func (o postOrigins) allows(origin string) bool {
	if origin == "" {
		return false
	}
	if o.hubdesk != "" && strings.EqualFold(origin, o.hubdesk) {
		return true
	}
	host, ok := strings.CutPrefix(strings.ToLower(origin), "https://")
	if !ok || host == "" {
		return false
	}
	return host == o.myshopify || slices.Contains(o.storefronts, host)
}

// postFromAllowedOrigin is the one rule for state-changing hub requests,
// judged by what the browser says about where they came from:
//
//   - Sec-Fetch-Site same-origin or none: yes. The page was on the
//     storefront itself — under whatever domain it is served, listed or
//     not — or the shopper typed the address.
//   - cross-site: no.
//   - same-site, or a value this rule does not know: only from an allowed
//     origin; a sibling subdomain of the store is not the store.
//   - absent (older browsers, clients that are not browsers): no Origin
//     passes, as nothing marks the request as another site's; an Origin
//     must be an allowed one, so a foreign site or "null" (sandboxed
//     frames, some redirects) is refused.
func postFromAllowedOrigin(secFetchSite, origin string, allowed postOrigins) bool {
	switch secFetchSite {
	case "same-origin", "none":
		return true
	case "cross-site":
		return false
	case "":
		return origin == "" || allowed.allows(origin)
	default:
		return allowed.allows(origin)
	}
}
