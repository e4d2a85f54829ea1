package desk

import (
	"errors"
	"net/http"

	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
)

// The public app's install, reached from Shopify (the app's install link)
// or from Settings → Shopify: GET /shopify/install?shop=… and Shopify's
// redirect back, GET /shopify/callback. Neither needs a session: the
// callback's hmac, single-use state and the state cookie are the
// credentials (shopifyconnect.CompleteInstall).

// installCookie binds an install to the browser that started it.
const installCookie = "hubdesk_shopify_install"

// ShopifyInstall starts an install for ?shop= (Shopify's install link, or
// Settings → Shopify's button).
func (d *Desk) ShopifyInstall(w http.ResponseWriter, r *http.Request) {
	in, err := d.Shopify.BeginInstall(r.Context(), r.URL.Query().Get("shop"))
	var input *shopifyconnect.InputError
	switch {
	case errors.Is(err, shopifyconnect.ErrInstallOff):
		d.Error(w, r, http.StatusNotFound, "This hubdesk has no public Shopify app to install. Connect your store with a custom app under Settings → Shopify.")
		return
	case errors.As(err, &input):
		d.Error(w, r, http.StatusBadRequest, "The shop must be your store's myshopify.com domain, for example my-store.myshopify.com.")
		return
	case err != nil:
		d.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: installCookie, Value: in.State, Path: "/shopify/callback", MaxAge: int(shopifyconnect.StateTTL.Seconds()),
		HttpOnly: true, Secure: d.Auth.SecureCookies, SameSite: http.SameSiteLaxMode})
	// The address is built from a domain that matched Shopify's pattern
	// (or the admin root of the configuration), never taken from the
	// request as it came: no open redirect.
	http.Redirect(w, r, in.AuthorizeURL, http.StatusFound)
}

// installedPage is the callback's answer.
type installedPage struct {
	Shop    string
	Created bool
	Missing []string
	Reason  string // a refused callback: why
}

// ShopifyCallback completes an install; a forged, replayed or foreign
// callback is refused with the reason and changes nothing.
func (d *Desk) ShopifyCallback(w http.ResponseWriter, r *http.Request) {
	var browserState string
	if c, err := r.Cookie(installCookie); err == nil {
		browserState = c.Value
	}
	// The state is used up whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: installCookie, Value: "", Path: "/shopify/callback", MaxAge: -1,
		HttpOnly: true, Secure: d.Auth.SecureCookies, SameSite: http.SameSiteLaxMode})
	done, err := d.Shopify.CompleteInstall(r.Context(), r.URL.Query(), browserState)
	var forged *shopifyconnect.ForgedError
	var refused *shopifyconnect.RefusedError
	var unreachable *shopifyconnect.UnreachableError
	switch {
	case errors.Is(err, shopifyconnect.ErrInstallOff):
		d.NotFound(w, r)
	case errors.As(err, &forged):
		d.Logger.Warn("shopify install callback refused", "reason", forged.Reason, "err", forged.Err)
		d.page(w, r, http.StatusForbidden, "shopify_installed", "Install refused", installedPage{Reason: forged.Reason})
	case errors.As(err, &refused):
		d.page(w, r, http.StatusForbidden, "shopify_installed", "Install refused", installedPage{Reason: "Shopify refused to give hubdesk access: " + refused.Reason})
	case errors.As(err, &unreachable):
		d.page(w, r, http.StatusBadGateway, "shopify_installed", "Install failed", installedPage{Reason: "Shopify could not be reached. Start the install again."})
	case err != nil:
		d.serverError(w, r, err)
	default:
		d.page(w, r, http.StatusOK, "shopify_installed", "Installed", installedPage{Shop: done.Shop.Domain, Created: done.Created,
			Missing: done.Status.MissingRequired})
	}
}
