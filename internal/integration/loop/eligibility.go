package loop

import (
	"context"
	"net/http"
)

// Eligibility is Loop's read-only opinion on which items of an order can be
// returned today. It is advisory: a return Loop actually drafts is
// authoritative.
type Eligibility struct {
	OrderID  ID                `json:"order_id"`
	AsOf     Time              `json:"as_of"`
	Advisory Bool              `json:"advisory"`
	Items    []EligibilityItem `json:"items"`
}

// EligibilityItem is one line item's verdict.
type EligibilityItem struct {
	ID         ID   `json:"id"`
	ExternalID ID   `json:"external_id"` // the store's line item id
	Eligible   Bool `json:"eligible"`
	// Reasons why not, when Loop gives them. Not documented; the sandbox
	// sends "outside_return_window", "not_delivered", "already_returned".
	Reasons []string `json:"reasons,omitempty"`
}

// AnyEligible reports whether at least one item can be returned, which is
// when hubdesk offers "Initiate return".
func (e Eligibility) AnyEligible() bool {
	for _, it := range e.Items {
		if it.Eligible {
			return true
		}
	}
	return false
}

// Eligibility asks Loop which items of an order are returnable. The endpoint
// is plan-gated: when Loop answers 401, 403 or 404 (other than "order not
// found") the error is ErrNotAvailable, and the caller falls back to the
// return window configured in hubdesk. Its Status still says which code came.
func (c *Client) Eligibility(ctx context.Context, orderName string) (Eligibility, error) {
	req := request{
		endpoint: "return_eligibility", op: "return eligibility for " + orderName, scope: ScopeOrders,
		method: http.MethodPost, path: "/orders/return-eligibility",
		body:       map[string]string{"order_name": orderName},
		idempotent: true, // read-only despite POST
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		if le, ok := err.(*Error); ok {
			switch le.Status {
			case http.StatusUnauthorized, http.StatusForbidden:
				le.Kind = KindNotAvailable
			case http.StatusNotFound:
				if !notFoundHint(envelope{Code: le.Code}) {
					le.Kind = KindNotAvailable
				}
			}
		}
		return Eligibility{}, err
	}
	var out struct {
		Eligibility *Eligibility `json:"return_eligibility"`
	}
	if err := decode(req, resp, &out); err != nil {
		return Eligibility{}, err
	}
	if out.Eligibility == nil {
		return Eligibility{}, &Error{Op: req.op, Kind: KindUnavailable, Status: resp.status, Message: "answer carries no return_eligibility"}
	}
	return *out.Eligibility, nil
}
