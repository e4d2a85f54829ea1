package demo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
)

// LoopStores are what connecting the demo shop to the Loop sandbox writes.
type LoopStores struct {
	// Settings saves the Loop configuration as a merchant's save would,
	// checking the sandbox key, so the settings page shows a real
	// per-scope report.
	Settings *settings.Editor
	Records  ReturnRecorder
}

// ReturnRecorder stores a return as a webhook would (returns.Records).
type ReturnRecorder interface {
	Upsert(ctx context.Context, shopID int64, r returns.Return) (commerce.UpsertResult, error)
}

// returnPlan gives some delivered orders a return, so every state shows up
// in the hub and the desk. Keys index the delivered orders, oldest first.
var returnPlan = []sandbox.ReturnSpec{
	{State: loop.StateClosed, Carrier: "UPS", TrackingNumber: "1ZRETURN0001", LabelStatus: "delivered"},
	{State: loop.StateOpen, Carrier: "USPS", TrackingNumber: "9202090153540000000011", LabelStatus: "in_transit"},
	{State: loop.StateReview, Carrier: "FedEx", TrackingNumber: "774900000022", LabelStatus: "delivered"},
	{State: loop.StateCancelled},
	{State: loop.StateExpired},
	{State: loop.StateOpen},
}

// ConnectLoop tells the sandbox about the demo's orders, seeds returns in
// every state (mirrored into hubdesk as a webhook would), and configures the
// demo shop to use Loop through the sandbox, published and live.
func ConnectLoop(ctx context.Context, sb *sandbox.Sandbox, st LoopStores, seeded *Result, now time.Time) error {
	byID := map[int64]*commerce.Customer{}
	for _, c := range seeded.Customers {
		if c != nil {
			byID[c.ID] = c
		}
	}
	var delivered []*commerce.Order
	storeIDs := map[int64]int64{} // hubdesk's order id → the store's
	for _, o := range seeded.Orders {
		c := byID[o.CustomerID]
		// Loop knows an order by the store's id (its provider_order_id);
		// hubdesk attaches Loop's returns to orders by that id.
		storeID, err := strconv.ParseInt(o.ExternalID, 10, 64)
		if err != nil {
			return fmt.Errorf("demo: order %s: store id %q is not Shopify's numeric id", o.Name, o.ExternalID)
		}
		storeIDs[o.ID] = storeID
		so := sandbox.Order{Name: o.Name, ProviderOrderID: storeID, Email: o.Email, Zip: o.ShippingAddress.Zip, Phone: o.ShippingAddress.Phone,
			Currency: o.Currency, CreatedAt: o.CreatedAt, ReturnWindowDays: 30}
		if c != nil {
			so.FirstName, so.LastName = c.FirstName, c.LastName
		}
		if at := o.DeliveredAt(); at != nil && o.CancelledAt == nil {
			so.DeliveredAt = *at
			delivered = append(delivered, o)
		}
		for _, li := range o.LineItems {
			so.Items = append(so.Items, sandbox.Item{Title: li.Title, SKU: li.SKU, Price: commerce.FormatAmount(li.PriceMinor, o.Currency)})
		}
		sb.AddOrder(so)
	}
	// The demo shopper's delivered orders, oldest first: the first is past
	// the return window; the second has a closed return, the third an open
	// one (Return in progress); the newest has none, so Start a return
	// shows. Other customers' orders get the remaining states.
	var shopperOrders, others []*commerce.Order
	for _, o := range delivered {
		if seeded.Shopper != nil && o.CustomerID == seeded.Shopper.ID {
			shopperOrders = append(shopperOrders, o)
		} else {
			others = append(others, o)
		}
	}
	targets := []*commerce.Order{}
	if !seeded.Created {
		// A restarted demo keeps its returns; the sandbox starts empty
		// of them, as a Loop account whose history hubdesk already synced.
		shopperOrders, others = nil, nil
	}
	if len(shopperOrders) >= 4 {
		targets = append(targets, shopperOrders[1], shopperOrders[2])
	}
	for i := 0; len(targets) < len(returnPlan) && i < len(others); i += 3 {
		targets = append(targets, others[i])
	}
	for i, o := range targets {
		spec := returnPlan[i]
		spec.OrderName = o.Name
		spec.ProviderOrderID = storeIDs[o.ID]
		at := o.DeliveredAt()
		spec.CreatedAt = at.Add(36 * time.Hour)
		spec.UpdatedAt = spec.CreatedAt.Add(24 * time.Hour)
		if spec.UpdatedAt.After(now) {
			spec.UpdatedAt = now
		}
		info, err := sb.SeedReturn(spec)
		if err != nil {
			return fmt.Errorf("demo: seed Loop return for %s: %w", o.Name, err)
		}
		_, err = st.Records.Upsert(ctx, seeded.Shop.ID, returns.Return{
			Provider: returns.ProviderLoop, ExternalID: strconv.FormatInt(info.ID, 10),
			OrderName: info.OrderName, OrderExternalID: strconv.FormatInt(info.ProviderOrderID, 10),
			State: returns.ReturnState(info.State), Outcome: info.Outcome, Carrier: info.Carrier, TrackingNumber: info.TrackingNumber,
			LabelStatus: info.LabelStatus, StatusPageURL: sb.BaseURL() + "/portal/", CreatedAt: spec.CreatedAt, UpdatedAt: spec.UpdatedAt,
		})
		if err != nil {
			return err
		}
	}
	// The sandbox's webhook secret is pasted as a merchant would from Loop's
	// Developer Tools; the full key holds that scope, so saving it
	// subscribes the demo shop's webhook URL and a sandbox return advanced
	// by hand reaches an open ticket within seconds.
	rc := returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyFull, LoopWebhookSecret: sb.WebhookSecret(),
		LoopPortalURL: sb.BaseURL() + "/portal/", LookupField: returns.LookupZip}
	system := audit.Actor{Kind: audit.ActorSystem, Label: "demo"}
	if _, err := st.Settings.SaveReturns(ctx, seeded.Shop.ID, rc, settings.SaveOptions{}, system); err != nil {
		return fmt.Errorf("demo: configure Loop: %w", err)
	}
	return st.Settings.SetLive(ctx, seeded.Shop.ID, true, system)
}
