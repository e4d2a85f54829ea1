package orderview

import (
	"context"
	"errors"
	"fmt"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/qr"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// ErrInitiateHidden refuses Initiate return where a manager hid it
// shop-wide (returns.ReturnsConfig.HideInitiateReturn).
var ErrInitiateHidden = errors.New("orderview: Initiate return is hidden for this shop")

// ReturnLink is what Initiate return gives an agent to pass on: the link
// into the shop's returns portal and its QR code, drawn here.
type ReturnLink struct {
	URL      string
	Provider returns.Provider
	// Via says how the link was made (returns.Destination.Via).
	Via string
	// Failure is set when Loop could not make a deep link and URL is the
	// Loop portal fallback the merchant configured instead.
	Failure *returns.Failure
	QR      qr.Code
}

// CanInitiate reports whether the desk offers Initiate return for o under
// cfg: the order can start a return and the button is not hidden.
func CanInitiate(cfg returns.Config, o Order) bool {
	return o.Return.Eligible() && !cfg.Returns.HideInitiateReturn
}

// InitiateReturn is an agent's Initiate return: the same eligibility and
// destination as the hub's Start a return (StartReturn: at most one Loop
// call, shared by concurrent clicks and cached briefly), audited as a
// return QR generation with the agent, the order and the outcome. When
// Loop fails and the merchant configured a Loop portal URL, the portal
// link comes back with the Failure set; otherwise the *returns.Failure is
// the error. req.Config must be the configuration o was viewed with.
func (v *View) InitiateReturn(ctx context.Context, o Order, req returns.Request) (*ReturnLink, error) {
	if req.Config.Returns.HideInitiateReturn {
		return nil, ErrInitiateHidden
	}
	req.Action = audit.ActionReturnQR
	link := &ReturnLink{Provider: req.Config.Returns.Provider}
	dest, err := v.StartReturn(ctx, o, req)
	var f *returns.Failure
	switch {
	case err == nil:
		link.URL, link.Provider, link.Via = dest.URL, dest.Provider, dest.Via
	case errors.As(err, &f) && f.FallbackURL != "":
		link.URL, link.Via, link.Failure = f.FallbackURL, "loop_portal", f
	default:
		return nil, err
	}
	if link.QR, err = qr.Encode(link.URL); err != nil {
		return nil, fmt.Errorf("orderview: QR of the return link of order %d: %w", o.ID, err)
	}
	return link, nil
}

// IssuedLink reports whether url is a return link Initiate return gives
// for o now without asking anyone (returns.Resolver.Issued), so a QR
// download can be drawn for it and for nothing else.
func (v *View) IssuedLink(req returns.Request, url string) bool {
	return v.opts.Resolver.Issued(req.ShopID, req.Config, req.Order, req.Customer, url)
}

// AgentOrder is one order as an agent's Initiate return sees it: viewed
// with the shop's published settings, with its customer (nil for a guest
// order) for the portal's lookup value.
type AgentOrder struct {
	Order    Order
	Config   returns.Config
	Customer *commerce.Customer
	// Health is how calls to the shop's returns platform fare (SyncHealth).
	Health returns.SyncHealth
}

// ForAgent reads and views one order of the shop for Initiate return and
// its QR download; a missing order is commerce.ErrNotFound.
func (v *View) ForAgent(ctx context.Context, shopID, orderID int64) (AgentOrder, error) {
	cfg, err := v.opts.Settings.Published(ctx, shopID)
	if err != nil {
		return AgentOrder{}, err
	}
	o, err := v.Order(ctx, shopID, cfg, 0, orderID)
	if err != nil {
		return AgentOrder{}, err
	}
	out := AgentOrder{Order: o, Config: cfg}
	if out.Health, err = v.SyncHealth(ctx, shopID, cfg); err != nil {
		return AgentOrder{}, err
	}
	if o.CustomerID != 0 {
		c, err := v.opts.Commerce.Customer(ctx, shopID, o.CustomerID)
		if err != nil && !errors.Is(err, commerce.ErrNotFound) {
			return AgentOrder{}, err
		}
		out.Customer = c
	}
	return out, nil
}

// Request is the Initiate return request of the agent actor for a.
func (a AgentOrder) Request(shopID int64, actor audit.Actor) returns.Request {
	return returns.Request{ShopID: shopID, Order: a.Order.Order, Customer: a.Customer, Actor: actor, Config: a.Config}
}
