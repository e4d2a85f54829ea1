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
	// LineItems are the returned items, grouped by title, variant and
	// reason.
	LineItems []returnedItemJSON `json:"line_items"`
	// ProcessingFailed: Loop reported that processing the return failed
	// (return.processing.failed), with ProcessingError its message when
	// it gave one; cleared when Loop reports the return moved on.
	ProcessingFailed bool      `json:"processing_failed"`
	ProcessingError  *string   `json:"processing_error"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	SyncedAt         time.Time `json:"synced_at"`
}

// returnedItemJSON is one kind of item in a return.
type returnedItemJSON struct {
	Title    string  `json:"title"`
	Variant  *string `json:"variant"`
	Quantity int     `json:"quantity"`
	Reason   *string `json:"reason"`
}

// optional is s, or null when it is empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// returnListJSON is an order's returns and how the shop's connection to
// its returns platform fares.
type returnListJSON struct {
	Items      []returnJSON `json:"items"`
	NextCursor string       `json:"next_cursor"`
	// Sync is null unless the shop is on Loop with a key.
	Sync *syncHealthJSON `json:"sync"`
}

// syncHealthJSON says whether the stored returns may be behind because
// calls to the platform fail (Loop down, a 429 storm, the key refused).
type syncHealthJSON struct {
	Status       string               `json:"status"`
	Problem      *returns.SyncProblem `json:"problem"`
	FailingSince *time.Time           `json:"failing_since"`
	LastOKAt     *time.Time           `json:"last_ok_at"`
}

func toSyncHealthJSON(h returns.SyncHealth) *syncHealthJSON {
	out := &syncHealthJSON{Status: "ok"}
	if !h.LastOK.IsZero() {
		out.LastOKAt = utc(&h.LastOK)
	}
	if h.Failing() {
		p := h.Problem
		out.Status, out.Problem, out.FailingSince = "failing", &p, utc(&h.FailingSince)
	}
	return out
}

func toReturnJSON(r returns.Return) returnJSON {
	out := returnJSON{ID: r.ExternalID, Provider: r.Provider, State: r.State, Outcome: r.Outcome, Carrier: r.Carrier,
		LabelStatus: r.LabelStatus, StatusPageURL: r.StatusPageURL,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), SyncedAt: r.SyncedAt.UTC(),
		LineItems: make([]returnedItemJSON, 0, len(r.LineItems)), ProcessingFailed: r.ProcessingFailed}
	if r.ProcessingFailed {
		out.ProcessingError = optional(r.ProcessingError)
	}
	for _, it := range r.LineItems {
		out.LineItems = append(out.LineItems, returnedItemJSON{Title: it.Title, Variant: optional(it.Variant), Quantity: it.Quantity, Reason: optional(it.Reason)})
	}
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
// stored returns, newest first, and for a shop on Loop how calls to Loop
// fare (the returns may be behind while they fail).
func (a *API) ListOrderReturns(w http.ResponseWriter, r *http.Request) {
	o, _, ok := a.agentOrder(w, r)
	if !ok {
		return
	}
	out := returnListJSON{Items: make([]returnJSON, 0, len(o.Order.Returns))}
	for _, ret := range o.Order.Returns {
		out.Items = append(out.Items, toReturnJSON(ret))
	}
	if returns.AsksPlatform(o.Config) {
		out.Sync = toSyncHealthJSON(o.Health)
	}
	httpkit.JSON(w, http.StatusOK, out)
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
