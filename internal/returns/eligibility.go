package returns

import (
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
)

// NotEligible says why an order cannot start a return; "" when it can.
type NotEligible string

const (
	ReturnOpen      NotEligible = "return_open"       // a return is under way
	AlreadyReturned NotEligible = "returned"          // a return was completed
	NoProvider      NotEligible = "provider_disabled" // the shop has no returns provider
	NotConnected    NotEligible = "not_connected"     // a provider is chosen but not set up
	OrderCancelled  NotEligible = "cancelled"         // the order was cancelled
	NotDelivered    NotEligible = "not_delivered"     // the order has not arrived yet
	OutsideWindow   NotEligible = "outside_window"    // delivered longer ago than the return window
	// PlatformRefused: the returns platform answered that no item of the
	// order can be returned, for reasons it did not name (see
	// IneligibleReason).
	PlatformRefused NotEligible = "platform_refused"
)

// Reasons lists every reason, for the pages that put them in words.
var Reasons = []NotEligible{ReturnOpen, AlreadyReturned, NoProvider, NotConnected, OrderCancelled, NotDelivered,
	OutsideWindow, PlatformRefused}

// Eligibility is whether an order can start a return, and why not.
type Eligibility struct {
	Reason NotEligible // "" when the order can start a return
	// WindowEnds is the end of the return window of a delivered order
	// (inside it or past it), nil otherwise.
	WindowEnds *time.Time
}

// Eligible reports whether Start a return / Initiate return may be offered.
func (e Eligibility) Eligible() bool { return e.Reason == "" }

// CheckEligibility is the one rule for whether an order can start a return,
// for the hub, the desk and the API alike. The order of the checks is what
// the shopper is told: an open or finished return first (whatever the
// provider), then a missing provider, then the order's own state, then the
// return window counted from delivery.
func CheckEligibility(cfg Config, o *commerce.Order, status commerce.Status, rets []Return, now time.Time) Eligibility {
	switch {
	case ActiveReturn(rets) != nil:
		return Eligibility{Reason: ReturnOpen}
	case status == commerce.StatusReturned:
		return Eligibility{Reason: AlreadyReturned}
	case cfg.Returns.Provider == ProviderDisabled || !cfg.Returns.Provider.Valid():
		return Eligibility{Reason: NoProvider}
	case !cfg.ReturnsEnabled():
		return Eligibility{Reason: NotConnected}
	case status == commerce.StatusCancelled:
		return Eligibility{Reason: OrderCancelled}
	case status != commerce.StatusDelivered:
		return Eligibility{Reason: NotDelivered}
	}
	var e Eligibility
	if at := o.DeliveredAt(); at != nil && cfg.General.ReturnWindowDays > 0 {
		end := at.Add(time.Duration(cfg.General.ReturnWindowDays) * 24 * time.Hour)
		e.WindowEnds = &end
		if now.After(end) {
			e.Reason = OutsideWindow
		}
	}
	return e
}
