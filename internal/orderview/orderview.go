// Package orderview is how every surface sees an order: the hub's orders
// tab, order page and Start a return, the desk's order lists, order,
// customer and ticket pages, and the REST API all ask it. For a page of
// orders it gives each order its returns, its shopper- and agent-facing
// status (commerce.DeriveStatus) and whether it can start a return and
// why not (returns.CheckEligibility); for one order it resolves where the
// return starts (returns.Resolver); for the settings page it previews
// that destination for a sample order through the same code.
package orderview

import (
	"context"
	"errors"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
)

// Options are the view's parts.
type Options struct {
	Commerce *commerce.Store
	Returns  *returns.Records
	Settings *settings.Editor
	Resolver *returns.Resolver
	// Eligibility holds the returns platform's cached answers (Loop's
	// return-eligibility endpoint); nil leaves the return window alone
	// deciding.
	Eligibility *returns.EligibilityCache
	// Refresh queues a fetch of the platform's answer for orders whose
	// cached one is missing or stale; nil queues nothing. Pages never wait
	// for it: until the answer arrives the last one (or the window)
	// decides.
	Refresh EligibilityRefresher
	// Health says how calls to the returns platform fare, for the notice
	// beside order cards; nil: nothing is said.
	Health SyncHealthReader
	// Now is the clock of the return window; time.Now when nil.
	Now func() time.Time
}

// View is the order view use case.
type View struct{ opts Options }

// New returns the order view.
func New(opts Options) *View {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &View{opts: opts}
}

// Order is one order as shoppers and agents see it.
type Order struct {
	*commerce.Order
	Status  commerce.Status
	Returns []returns.Return // newest first
	Return  returns.Eligibility
	// EligibilityCheckedAt is when the returns platform last answered
	// for this order; zero when its answer is not used.
	EligibilityCheckedAt time.Time
	// EligibilityStale: the returns platform decides this order but its
	// answer is missing or was given about other data (another key, the
	// order or its returns changed since); a refresh was asked for, and
	// Return changes when its answer is stored.
	EligibilityStale bool
	// ReturnHoldsUntil is the last instant at which Return stays what it
	// is on the view's clock alone: the end of a return window still
	// open. Nil when no passing of time changes Return.
	ReturnHoldsUntil *time.Time
}

// ActiveReturn is the return under way, if any.
func (o *Order) ActiveReturn() *returns.Return { return returns.ActiveReturn(o.Returns) }

// List reads a page of orders and views it with cfg: the orders, their
// items, shipments and returns are read in one batch (one round trip on
// PostgreSQL).
func (v *View) List(ctx context.Context, shopID int64, cfg returns.Config, f commerce.OrderFilter, p database.Page) ([]Order, string, error) {
	byOrder := map[int64][]returns.Return{}
	orders, next, err := v.opts.Commerce.ListOrders(ctx, shopID, f, p, ReturnsInto(shopID, byOrder))
	if err != nil {
		return nil, "", err
	}
	viewed, err := v.view(ctx, shopID, cfg, orders, byOrder)
	return viewed, next, err
}

// Order reads one order of the shop's customer (of any customer when
// customerID is 0) and views it with cfg, in one batch like List. Another
// customer's order is commerce.ErrNotFound, like a missing one, and is
// never viewed (no returns platform is asked about it).
//
// Where the returns platform answers eligibility, its cached answer is
// read in the same batch, so the whole view is one round trip.
func (v *View) Order(ctx context.Context, shopID int64, cfg returns.Config, customerID, id int64) (Order, error) {
	byOrder := map[int64][]returns.Return{}
	reads := ReturnsInto(shopID, byOrder)
	var answers map[int64]returns.PlatformAnswer
	if v.opts.Eligibility != nil && returns.AsksPlatform(cfg) {
		answers = map[int64]returns.PlatformAnswer{}
		withReturns := reads
		reads = func(b *database.Batch, ids string, args []any) {
			withReturns(b, ids, args)
			returns.ReadAnswers(b, shopID, ids, args, answers)
		}
	}
	o, err := v.opts.Commerce.OrderOf(ctx, shopID, customerID, id, reads)
	if err != nil {
		return Order{}, err
	}
	viewed, err := v.viewWith(ctx, shopID, cfg, []*commerce.Order{o}, byOrder, answers)
	if err != nil {
		return Order{}, err
	}
	return viewed[0], nil
}

// ReturnsInto reads the returns of the orders being read into byOrder,
// for a page that batches its orders (commerce.ReadOrders) and views them
// with PublishedOf.
func ReturnsInto(shopID int64, byOrder map[int64][]returns.Return) commerce.OrderReads {
	return func(b *database.Batch, ids string, args []any) {
		returns.ReadForOrders(b, shopID, ids, args, byOrder)
	}
}

// Orders views a page of orders with cfg: the published configuration for
// shoppers and agents, the draft in an admin's preview. The page costs one
// query for the returns of all its orders.
func (v *View) Orders(ctx context.Context, shopID int64, cfg returns.Config, orders []*commerce.Order) ([]Order, error) {
	byOrder, err := v.opts.Returns.ForOrders(ctx, shopID, returns.OrderIDs(orders))
	if err != nil {
		return nil, err
	}
	return v.view(ctx, shopID, cfg, orders, byOrder)
}

// view gives each order its status and return eligibility: the shop's
// rule (returns.CheckEligibility), then, for an order that passes it but
// perhaps the window, the returns platform's cached answer in place of
// the window. Orders whose answer is missing or stale are queued for a
// refresh; this page shows the last answer meanwhile.
func (v *View) view(ctx context.Context, shopID int64, cfg returns.Config, orders []*commerce.Order, byOrder map[int64][]returns.Return) ([]Order, error) {
	return v.viewWith(ctx, shopID, cfg, orders, byOrder, nil)
}

// viewWith is view with the platform's answers already read (nil: read
// them here when they are needed).
func (v *View) viewWith(ctx context.Context, shopID int64, cfg returns.Config, orders []*commerce.Order, byOrder map[int64][]returns.Return,
	answers map[int64]returns.PlatformAnswer) ([]Order, error) {
	now := v.opts.Now()
	out := make([]Order, len(orders))
	var asking []int64
	for i, o := range orders {
		rets := byOrder[o.ID]
		status := commerce.DeriveStatus(o, returns.Progress(rets))
		e := returns.CheckEligibility(cfg, o, status, rets, now)
		out[i] = Order{Order: o, Status: status, Returns: rets, Return: e}
		if e.WindowEnds != nil && !now.After(*e.WindowEnds) {
			// The window decides by now.After(end): it closes once.
			out[i].ReturnHoldsUntil = e.WindowEnds
		}
		if platformDecides(cfg, e) {
			asking = append(asking, o.ID)
		}
	}
	if len(asking) == 0 || v.opts.Eligibility == nil {
		return out, nil
	}
	if answers == nil {
		var err error
		if answers, err = v.opts.Eligibility.ForOrders(ctx, shopID, asking); err != nil {
			return nil, err
		}
	}
	var stale []int64
	for i := range out {
		o := &out[i]
		if !platformDecides(cfg, o.Return) {
			continue
		}
		a, ok := answers[o.ID]
		if ok {
			o.Return = a.Decide(o.Return)
			o.EligibilityCheckedAt = a.CheckedAt
		}
		if !ok || a.Basis != returns.EligibilityBasis(cfg, o.Order, o.Returns) {
			o.EligibilityStale = true
			stale = append(stale, o.ID)
		}
	}
	if len(stale) > 0 && v.opts.Refresh != nil {
		if err := v.opts.Refresh.RefreshEligibility(ctx, shopID, stale); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// platformDecides reports whether the returns platform's answer decides
// an order the shop's rule left at e: the platform is asked (Loop with a
// key) and only the window or a finished return stands in the way, if
// anything — after a closed return Loop knows which items are still
// returnable. An open return, a missing provider or an order not yet
// delivered stay the shop's facts.
func platformDecides(cfg returns.Config, e returns.Eligibility) bool {
	return returns.AsksPlatform(cfg) &&
		(e.Eligible() || e.Reason == returns.OutsideWindow || e.Reason == returns.AlreadyReturned)
}

// Published views a page of orders with the shop's published
// configuration, as agents and API clients see them.
func (v *View) Published(ctx context.Context, shopID int64, orders []*commerce.Order) ([]Order, error) {
	cfg, err := v.opts.Settings.Published(ctx, shopID)
	if err != nil {
		return nil, err
	}
	return v.Orders(ctx, shopID, cfg, orders)
}

// PublishedOf views orders read with their returns (ReturnsInto filled
// byOrder) with the shop's published configuration, which it returns too.
func (v *View) PublishedOf(ctx context.Context, shopID int64, orders []*commerce.Order, byOrder map[int64][]returns.Return) ([]Order, returns.Config, error) {
	cfg, err := v.opts.Settings.Published(ctx, shopID)
	if err != nil {
		return nil, returns.Config{}, err
	}
	viewed, err := v.view(ctx, shopID, cfg, orders, byOrder)
	return viewed, cfg, err
}

// NotEligibleError refuses a return for an order that shows no button.
type NotEligibleError struct{ Reason returns.NotEligible }

func (e *NotEligibleError) Error() string {
	return "orderview: not eligible for a return: " + string(e.Reason)
}

// StartReturn resolves where o's return starts (req.Config must be the
// configuration o was viewed with). An order the view found not eligible
// is refused with a *NotEligibleError before anything is asked, so a
// forged click for an order without a button goes nowhere.
func (v *View) StartReturn(ctx context.Context, o Order, req returns.Request) (*returns.Destination, error) {
	if !o.Return.Eligible() {
		return nil, &NotEligibleError{Reason: o.Return.Reason}
	}
	req.Order = o.Order
	return v.opts.Resolver.Resolve(ctx, req)
}

// Sample is the order the settings preview shows a destination for.
type Sample struct {
	Order    *commerce.Order
	Customer *commerce.Customer // nil for a guest order or the made-up sample
}

// sampleScan is how many of the newest orders are searched for a
// delivered one.
const sampleScan = 25

// madeUpSample stands in while the shop has no orders.
var madeUpSample = commerce.Order{Name: "#1001", Email: "shopper@example.com",
	ShippingAddress: commerce.Address{Zip: "10115", Phone: "+49 30 901820"}}

// Sample picks the shop's newest delivered order a shopper could start a
// return for, else its newest delivered order without a return under way,
// else its newest order, else a made-up one, viewed
// with published, the shop's published settings as the settings page
// loaded them (settings.Editor.Load): a Loop key this process cannot read
// leaves the page open to enter it again instead of failing it.
func (v *View) Sample(ctx context.Context, shopID int64, published returns.Config) (Sample, error) {
	orders, _, err := v.opts.Commerce.ListOrders(ctx, shopID, commerce.OrderFilter{}, database.Page{Limit: sampleScan})
	if err != nil {
		return Sample{}, err
	}
	if len(orders) == 0 {
		o := madeUpSample
		return Sample{Order: &o}, nil
	}
	viewed, err := v.Orders(ctx, shopID, published, orders)
	if err != nil {
		return Sample{}, err
	}
	// Best: one that can start a return with these settings (it shows
	// the Start a return button); else one delivered without a return
	// under way (with the provider off, say); else the newest.
	pick, delivered := orders[0], (*commerce.Order)(nil)
	for _, o := range viewed {
		if o.Status != commerce.StatusDelivered || o.ActiveReturn() != nil {
			continue
		}
		if o.Return.Eligible() {
			delivered = o.Order
			break
		}
		if delivered == nil {
			delivered = o.Order
		}
	}
	if delivered != nil {
		pick = delivered
	}
	s := Sample{Order: pick}
	if pick.CustomerID != 0 {
		c, err := v.opts.Commerce.Customer(ctx, shopID, pick.CustomerID)
		if err != nil && !errors.Is(err, commerce.ErrNotFound) {
			return Sample{}, err
		}
		s.Customer = c
	}
	return s, nil
}

// Preview is where the sample order would go with cfg — the same
// resolver code the click runs, without asking Loop or auditing.
func (s Sample) Preview(cfg returns.Config) returns.Preview {
	return returns.PreviewFor(cfg, s.Order, s.Customer)
}
