package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// ShopperTokenIssuer signs shopper tokens for the Customer Hub (the hub
// package implements it).
type ShopperTokenIssuer interface {
	IssueShopperToken(ctx context.Context, shopID, customerID int64) (token string, expiresAt time.Time, hubURL string, err error)
}

// HubTokens serves POST /api/v1/hub/tokens: a headless storefront's server,
// which has authenticated the shopper itself, asks for a short-lived token
// that opens the hub for that customer. It is a separate handler from API
// because it needs the hub's signer.
type HubTokens struct {
	Commerce *commerce.Store
	Issuer   ShopperTokenIssuer
	Logger   *slog.Logger
}

type hubTokenInput struct {
	CustomerID         int64  `json:"customer_id"`
	CustomerExternalID string `json:"customer_external_id"`
}

type hubTokenJSON struct {
	Token      string    `json:"token"`
	ExpiresAt  time.Time `json:"expires_at"`
	HubURL     string    `json:"hub_url"`
	CustomerID int64     `json:"customer_id"`
}

// Issue answers POST /api/v1/hub/tokens. The route list lets only Owner
// and Admin tokens ask: a shopper token reads a customer's orders, so it is
// a credential the shop's administrators hand out, not every agent.
func (h *HubTokens) Issue(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	var in hubTokenInput
	if err := decodeJSON(w, r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	var c *commerce.Customer
	var err error
	switch {
	case in.CustomerID != 0 && in.CustomerExternalID != "":
		h.fail(w, r, httpkit.BadRequest("customer_id", "give customer_id or customer_external_id, not both"))
		return
	case in.CustomerID > 0:
		c, err = h.Commerce.Customer(r.Context(), u.ShopID, in.CustomerID)
	case in.CustomerExternalID != "":
		c, err = h.Commerce.CustomerByExternalID(r.Context(), u.ShopID, in.CustomerExternalID)
	default:
		h.fail(w, r, httpkit.BadRequest("customer_id", "customer_id (hubdesk's id) or customer_external_id (the store's id) is required"))
		return
	}
	if errors.Is(err, commerce.ErrNotFound) {
		h.fail(w, r, httpkit.NotFound("customer"))
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	token, expires, hubURL, err := h.Issuer.IssueShopperToken(r.Context(), u.ShopID, c.ID)
	if errors.Is(err, shop.ErrNoClientSecret) {
		h.fail(w, r, &httpkit.Error{Status: http.StatusConflict, Code: CodeNoClientSecret,
			Message: "the shop has no Shopify client secret to sign shopper tokens with; set it first"})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpkit.JSON(w, http.StatusOK, hubTokenJSON{Token: token, ExpiresAt: expires.UTC(), HubURL: hubURL, CustomerID: c.ID})
}

// fail answers with err's API error; anything unexpected is logged and
// answered as a bare 500.
func (h *HubTokens) fail(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *httpkit.Error
	if errors.As(err, &apiErr) {
		httpkit.WriteError(w, apiErr)
		return
	}
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	if unreadable, ok := unreadableSecret(r, log, err); ok {
		httpkit.WriteError(w, unreadable)
		return
	}
	log.ErrorContext(r.Context(), "api: hub token failed", "error", err)
	httpkit.WriteError(w, &httpkit.Error{Status: http.StatusInternalServerError, Code: httpkit.CodeInternal, Message: "internal server error"})
}
