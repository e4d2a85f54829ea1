package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// returnJSON is one stored return of an order, as the returns platform
// last reported it. synced_at is when hubdesk last heard of it (the age
// of the data); the API never asks the platform.
type returnJSON struct {
	ID             string              `json:"id"`
	Provider       returns.Provider    `json:"provider"`
	State          returns.ReturnState `json:"state"`
	Outcome        string              `json:"outcome"`
	Carrier        string              `json:"carrier"`
	TrackingNumber *string             `json:"tracking_number"`
	TrackingURL    *string             `json:"tracking_url"`
	LabelStatus    string              `json:"label_status"`
	LabelURL       *string             `json:"label_url"`
	StatusPageURL  string              `json:"status_page_url"`
	CreatedAt      time.Time           `json:"created_at"`
	UpdatedAt      time.Time           `json:"updated_at"`
	SyncedAt       time.Time           `json:"synced_at"`
}

func toReturnJSON(r returns.Return) returnJSON {
	out := returnJSON{ID: r.ExternalID, Provider: r.Provider, State: r.State, Outcome: r.Outcome, Carrier: r.Carrier,
		LabelStatus: r.LabelStatus, StatusPageURL: r.StatusPageURL,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), SyncedAt: r.SyncedAt.UTC()}
	if r.LabelStatus == "N/A" {
		out.LabelStatus = ""
	}
	if returns.HasTracking(r.TrackingNumber) {
		n := r.TrackingNumber
		out.TrackingNumber = &n
	}
	if u := r.Tracking(); u != "" {
		out.TrackingURL = &u
	}
	if u := r.LabelLink(); u != "" {
		out.LabelURL = &u
	}
	return out
}

// agentOrder reads and views one order of the caller's shop for the
// returns endpoints; false when it answered already.
func (a *API) agentOrder(w http.ResponseWriter, r *http.Request) (orderview.AgentOrder, int64, bool) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return orderview.AgentOrder{}, 0, false
	}
	id, ok := pathID(r)
	if !ok {
		a.respond(w, r, httpkit.NotFound("order"))
		return orderview.AgentOrder{}, 0, false
	}
	o, err := a.orders.ForAgent(r.Context(), shopID, id)
	if errors.Is(err, commerce.ErrNotFound) {
		err = httpkit.NotFound("order")
	}
	if err != nil {
		a.respond(w, r, err)
		return orderview.AgentOrder{}, 0, false
	}
	return o, shopID, true
}

// ListOrderReturns answers GET /api/v1/orders/{id}/returns: the order's
// stored returns, newest first.
func (a *API) ListOrderReturns(w http.ResponseWriter, r *http.Request) {
	o, _, ok := a.agentOrder(w, r)
	if !ok {
		return
	}
	writeList(w, o.Order.Returns, "", toReturnJSON)
}

// returnEligibilityJSON is whether the order can start a return now.
type returnEligibilityJSON struct {
	Eligible     bool                 `json:"eligible"`
	Reason       *returns.NotEligible `json:"reason"`
	WindowEndsAt *time.Time           `json:"window_ends_at"`
}

// GetReturnEligibility answers GET /api/v1/orders/{id}/return-eligibility
// by the one order-view rule the hub and the desk follow.
func (a *API) GetReturnEligibility(w http.ResponseWriter, r *http.Request) {
	o, _, ok := a.agentOrder(w, r)
	if !ok {
		return
	}
	out := returnEligibilityJSON{Eligible: o.Order.Return.Eligible(), WindowEndsAt: utc(o.Order.Return.WindowEnds)}
	if reason := o.Order.Return.Reason; reason != "" {
		out.Reason = &reason
	}
	httpkit.JSON(w, http.StatusOK, out)
}

// returnLinkJSON is Initiate return's answer.
type returnLinkJSON struct {
	URL      string           `json:"url"`
	QRSVG    string           `json:"qr_svg"`
	Provider returns.Provider `json:"provider"`
	Via      string           `json:"via"`
	// FallbackReason says why Loop made no deep link and url is the
	// merchant's Loop portal instead; null when Loop made it.
	FallbackReason *returns.Reason `json:"fallback_reason"`
}

// CreateReturnLink answers POST /api/v1/orders/{id}/return-link: the link
// into the shop's returns portal and its QR code as SVG, audited.
func (a *API) CreateReturnLink(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	o, shopID, ok := a.agentOrder(w, r)
	if !ok {
		return
	}
	link, err := a.orders.InitiateReturn(r.Context(), o.Order, o.Request(shopID, audit.UserActor(u)))
	var ne *orderview.NotEligibleError
	var f *returns.Failure
	switch {
	case errors.Is(err, orderview.ErrInitiateHidden):
		err = &httpkit.Error{Status: http.StatusConflict, Code: "initiate_return_hidden", Message: "Initiate return is hidden for this shop (returns settings)"}
	case errors.As(err, &ne):
		err = &httpkit.Error{Status: http.StatusConflict, Code: "not_eligible", Message: "the order cannot start a return: " + string(ne.Reason)}
	case errors.As(err, &f):
		status := http.StatusBadGateway
		if f.Reason == returns.ReasonLookupMissing || f.Reason == returns.ReasonOrderUnknown {
			status = http.StatusUnprocessableEntity
		}
		err = &httpkit.Error{Status: status, Code: string(f.Reason), Message: "no return link could be made: " + string(f.Reason)}
	}
	if err != nil {
		a.respond(w, r, err)
		return
	}
	out := returnLinkJSON{URL: link.URL, QRSVG: link.QR.SVG("QR code of the return link"), Provider: link.Provider, Via: link.Via}
	if link.Failure != nil {
		out.FallbackReason = &link.Failure.Reason
	}
	httpkit.JSON(w, http.StatusOK, out)
}
