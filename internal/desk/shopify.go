package desk

import (
	"errors"
	"net/http"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
)

// shopifyPage is Settings → Shopify: how the shop is connected, the
// scopes granted against those hubdesk needs, the token's expiry, the
// webhook subscriptions' health, and the three ways to connect.
type shopifyPage struct {
	Status *shopifyconnect.Status
	Domain string
	// Form is what was typed, kept when a connect is refused (never the
	// secret or token).
	Form   shopifyconnect.CustomApp
	Notice string
	Error  string
	// Field names the input at fault, for aria-invalid.
	Field string
	Now   time.Time
	// Backfill is the sync's import progress, shown under the connection.
	Backfill shopifyBackfillView
}

// Method names for the template.
func (p shopifyPage) ClientCredentials() connection.ShopifyMethod {
	return connection.ShopifyClientCredentials
}
func (p shopifyPage) AdminToken() connection.ShopifyMethod { return connection.ShopifyAdminToken }
func (p shopifyPage) PublicApp() connection.ShopifyMethod  { return connection.ShopifyPublicApp }

// shopifyNotices are the words after a redirect (?done=…).
var shopifyNotices = map[string]string{
	"connected":    "Connected to Shopify. hubdesk is registering its webhooks with your store.",
	"checked":      "Checked with Shopify again.",
	"disconnected": "Disconnected: hubdesk no longer calls your store. Your customers, orders and tickets are kept.",
}

// ShopifySettings shows Settings → Shopify (Owner and Admin).
func (d *Desk) ShopifySettings(w http.ResponseWriter, r *http.Request) {
	d.renderShopify(w, r, http.StatusOK, &shopifyPage{Notice: shopifyNotices[r.URL.Query().Get("done")],
		Form: shopifyconnect.CustomApp{Method: connection.ShopifyClientCredentials}})
}

func (d *Desk) renderShopify(w http.ResponseWriter, r *http.Request, status int, p *shopifyPage) {
	u := auth.UserFrom(r.Context())
	st, err := d.Shopify.Status(r.Context(), u.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	sh, err := d.Shops.Get(r.Context(), u.ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	p.Status, p.Domain, p.Now = st, sh.Domain, time.Now()
	if p.Backfill, err = d.ShopifyBackfillView(r.Context(), u.ShopID); err != nil {
		d.serverError(w, r, err)
		return
	}
	d.page(w, r, status, "settings_shopify", "Settings · Shopify", p)
}

// ConnectShopify connects the shop with a custom app: a Dev Dashboard
// app's client id and secret, or an admin-created app's token and secret.
func (d *Desk) ConnectShopify(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	in := shopifyconnect.CustomApp{Method: connection.ShopifyMethod(r.PostFormValue("method")), ClientID: r.PostFormValue("client_id"),
		ClientSecret: r.PostFormValue("client_secret"), AccessToken: r.PostFormValue("access_token")}
	_, err := d.Shopify.ConnectCustomApp(r.Context(), u.ShopID, audit.UserActor(u), in)
	if err == nil {
		http.Redirect(w, r, "/settings/shopify?done=connected", http.StatusSeeOther)
		return
	}
	p := &shopifyPage{Form: shopifyconnect.CustomApp{Method: in.Method, ClientID: in.ClientID}}
	if !d.shopifyRefusal(w, r, err, p) {
		return
	}
	d.renderShopify(w, r, http.StatusUnprocessableEntity, p)
}

// shopifyRefusal words a refused connect or check on p; false when err
// was answered as a server error instead.
func (d *Desk) shopifyRefusal(w http.ResponseWriter, r *http.Request, err error, p *shopifyPage) bool {
	var input *shopifyconnect.InputError
	var refused *shopifyconnect.RefusedError
	var unreachable *shopifyconnect.UnreachableError
	switch {
	case errors.As(err, &input):
		p.Field = input.Field
		p.Error = shopifyFieldLabels[input.Field] + " " + input.Message + "."
	case errors.As(err, &refused):
		// Shopify's own words help the merchant (a wrong secret, a revoked
		// token); they never hold the credentials.
		p.Error = "Shopify refused these credentials, so nothing was saved. " + refused.Reason
	case errors.As(err, &unreachable):
		p.Error = "Shopify could not be reached, so nothing was saved. Try again in a moment."
	case errors.Is(err, shopifyconnect.ErrNotConnected):
		p.Error = "The shop is not connected to Shopify."
	default:
		d.serverError(w, r, err)
		return false
	}
	return true
}

var shopifyFieldLabels = map[string]string{
	"method": "The way to connect", "client_id": "The client id", "client_secret": "The client secret",
	"access_token": "The Admin API access token", "shop": "The shop",
}

// CheckShopify asks Shopify again which scopes the token has and repairs
// the webhook subscriptions.
func (d *Desk) CheckShopify(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	_, err := d.Shopify.Recheck(r.Context(), u.ShopID, audit.UserActor(u))
	if err == nil {
		http.Redirect(w, r, "/settings/shopify?done=checked", http.StatusSeeOther)
		return
	}
	p := &shopifyPage{Form: shopifyconnect.CustomApp{Method: connection.ShopifyClientCredentials}}
	if d.shopifyRefusal(w, r, err, p) {
		d.renderShopify(w, r, http.StatusUnprocessableEntity, p)
	}
}

// DisconnectShopify removes the connection; the shop's data stays.
func (d *Desk) DisconnectShopify(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	if err := d.Shopify.Disconnect(r.Context(), u.ShopID, audit.UserActor(u)); err != nil {
		d.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings/shopify?done=disconnected", http.StatusSeeOther)
}
