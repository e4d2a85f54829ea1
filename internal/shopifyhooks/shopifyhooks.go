// Package shopifyhooks applies Shopify's webhooks (intake.Handler for
// provider shopify), inside the transaction that marks each event
// processed:
//
//   - a delivery already applied — the same X-Shopify-Webhook-Id, or the
//     same X-Shopify-Event-Id for the topic — applies nothing;
//   - orders/*: the order with its customer, lines and shipments, through
//     the ingest use case (newer updated_at wins, so a retry carrying its
//     original payload changes nothing);
//   - fulfillments/*: one shipment, with the lines it carries;
//   - fulfillment_events/create: a carrier step (in transit, out for
//     delivery, delivered) and its date;
//   - customers/*: the customer and their default address;
//   - refunds/create: the refund on its order (amount, lines, once per
//     refund id) and the order's financial status;
//   - shop/update: the storefront's domains, for the hub's origin check;
//   - app/uninstalled, bulk_operations/finish: told to the connection and
//     the backfill through interfaces they implement;
//   - the privacy topics: privacy.Requests.
//
// A body that cannot be read fails its event for good (intake.Permanent):
// the reason stays on the event, listed with the dead jobs.
package shopifyhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/privacy"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// Uninstaller is told that the app was uninstalled from a shop: its
// tokens are dropped, its data kept until a redact request. The Shopify
// connection implements it.
type Uninstaller interface {
	AppUninstalled(ctx context.Context, tx *database.Tx, shopID int64) error
}

// BulkOperations is told that a bulk operation finished, so a backfill
// waiting on it goes on at once rather than at its next poll. The
// Shopify sync implements it.
type BulkOperations interface {
	BulkOperationFinished(ctx context.Context, tx *database.Tx, shopID int64, operationID, status, errorCode string) error
}

// OrderRefresher re-reads an order from Shopify in the background, for an
// event about an order (or shipment) hubdesk does not hold yet. The
// Shopify sync implements it.
type OrderRefresher interface {
	RefreshOrder(ctx context.Context, tx *database.Tx, shopID int64, orderExternalID string) error
}

// Handler applies Shopify's webhook events.
type Handler struct {
	Commerce *commerce.Store
	Returns  *returns.Records
	Shops    *shop.Store
	Privacy  *privacy.Requests
	Claims   *Claims
	// Optional: nil leaves the event acknowledged, with the outcome
	// saying nobody was told.
	Uninstall Uninstaller
	Bulk      BulkOperations
	Refresh   OrderRefresher
	Logger    *slog.Logger
	Now       func() time.Time // time.Now when nil
}

// DeliveryID is the intake's delivery id of a Shopify delivery: its
// X-Shopify-Webhook-Id and X-Shopify-Event-Id, so that a redelivery (same
// webhook id, same event) is dropped at the door and the handler can
// claim both. "" when Shopify sent neither (the body's digest then
// stands in).
func DeliveryID(webhookID, eventID string) string {
	webhookID, eventID = strings.TrimSpace(webhookID), strings.TrimSpace(eventID)
	if webhookID == "" && eventID == "" {
		return ""
	}
	return "w:" + webhookID + " e:" + eventID
}

// parseDeliveryID undoes DeliveryID.
func parseDeliveryID(id string) (webhookID, eventID string) {
	w, e, ok := strings.Cut(id, " e:")
	if !ok || !strings.HasPrefix(w, "w:") {
		return "", ""
	}
	return strings.TrimPrefix(w, "w:"), e
}

// claimKeys are the keys a delivery claims when it is applied: its
// webhook id, and its event id for its topic.
func claimKeys(ev *intake.Event) []string {
	webhookID, eventID := parseDeliveryID(ev.DeliveryID)
	var claims []string
	if webhookID != "" {
		claims = append(claims, "webhook:"+webhookID)
	}
	if eventID != "" {
		claims = append(claims, "event:"+ev.Topic+":"+eventID)
	}
	return claims
}

// claim records ev's keys and returns the one claimed before by another
// event, if any (a duplicate): as the chunk's Prefetch found it and
// recorded, or asked now.
func (h *Handler) claim(ctx context.Context, tx *database.Tx, ev *intake.Event, p *prefetched) (duplicate string, err error) {
	if v, ok := p.verdict(ev.ID); ok {
		return v.duplicate, nil
	}
	return h.Claims.With(tx).Claim(ctx, ev.ShopID, ev.ID, ev.ReceivedAt, claimKeys(ev))
}

// HandleOutcome applies ev and says what came of it.
func (h *Handler) HandleOutcome(ctx context.Context, tx *database.Tx, ev *intake.Event) (string, error) {
	p, _ := ctx.Value(prefetchKey{}).(*prefetched)
	dup, err := h.claim(ctx, tx, ev, p)
	if err != nil {
		return "", err
	}
	if dup != "" {
		if isPrivacy(ev.Topic) {
			// A repeated privacy request's body names the person too.
			if err := h.Privacy.Events.With(tx).ForgetBody(ctx, ev.ShopID, ev.ID); err != nil {
				return "", err
			}
		}
		return "duplicate: " + dup + " was applied already", nil
	}
	parsed, ok := p.parsed(ev.ID)
	if !ok {
		if parsed, err = shopify.ParseWebhook(ev.Topic, ev.Body); err != nil {
			return "", intake.Permanent(err)
		}
	}
	switch parsed.(type) {
	case *shopify.WebhookOrder, *shopify.WebhookFulfillment, *shopify.WebhookCustomer:
	default:
		// What the chunk's orders left for its end is written before an
		// event that may read or remove it (a refund reads the lines, a
		// redact erases the orders).
		if err := p.finish(ctx); err != nil {
			return "", err
		}
	}
	outcome, err := h.apply(ctx, tx, ev, parsed, p)
	var ve *commerce.ValidationError
	if errors.As(err, &ve) {
		return "", intake.Permanent(fmt.Errorf("%s: %w", ev.Topic, err))
	}
	return outcome, err
}

// Handle is HandleOutcome without the outcome.
func (h *Handler) Handle(ctx context.Context, tx *database.Tx, ev *intake.Event) error {
	_, err := h.HandleOutcome(ctx, tx, ev)
	return err
}

func isPrivacy(topic string) bool {
	switch topic {
	case shopify.TopicCustomersDataRequest, shopify.TopicCustomersRedact, shopify.TopicShopRedact:
		return true
	}
	return false
}

// apply applies the parsed event, knowing what the chunk's Prefetch read
// (p), if it did.
func (h *Handler) apply(ctx context.Context, tx *database.Tx, ev *intake.Event, parsed any, p *prefetched) (string, error) {
	shopID := ev.ShopID
	store := p.commerce(h.Commerce)
	switch v := parsed.(type) {
	case nil:
		return "topic " + ev.Topic + " is not applied", nil
	case *shopify.WebhookOrder:
		o, c, err := translateOrder(v)
		if err != nil {
			return "", err
		}
		var res commerce.UpsertResult
		if p != nil && p.orders != nil {
			_, res, err = p.orders.Apply(ctx, o, c)
		} else {
			_, res, err = ingest.New(tx, store, h.Returns).Apply(ctx, shopID, o, c)
		}
		if err != nil {
			return "", err
		}
		if res == commerce.Stale {
			return "order " + o.Name + ": stale, a newer version is stored", nil
		}
		return "order " + strings.TrimSpace(o.Name) + " " + res.String(), nil
	case *shopify.WebhookFulfillment:
		f := translateFulfillment(v)
		res, err := store.With(tx).UpsertFulfillment(ctx, shopID, string(v.OrderID), f)
		if errors.Is(err, commerce.ErrNotFound) {
			return h.unknownOrder(ctx, tx, ev, string(v.OrderID))
		}
		if err != nil {
			return "", err
		}
		return "shipment " + f.ExternalID + " " + res.String(), nil
	case *shopify.FulfillmentEvent:
		status := commerce.ShipmentStatusOf(v.Status)
		if status == "" {
			return "carrier step " + v.Status + " is not applied", nil
		}
		at := v.HappenedAt.Time
		if at.IsZero() {
			at = v.CreatedAt.Time
		}
		res, err := h.Commerce.With(tx).ApplyShipmentEvent(ctx, shopID, string(v.OrderID), string(v.FulfillmentID),
			commerce.ShipmentEvent{Status: status, HappenedAt: at, EstimatedDeliveryAt: v.EstimatedDeliveryAt.Ptr()})
		if errors.Is(err, commerce.ErrNotFound) {
			return h.unknownOrder(ctx, tx, ev, string(v.OrderID))
		}
		if err != nil {
			return "", err
		}
		return "shipment " + string(v.FulfillmentID) + " " + status + ": " + res.String(), nil
	case *shopify.WebhookCustomer:
		c := translateCustomer(v, "")
		_, res, err := store.With(tx).UpsertCustomer(ctx, shopID, c)
		if err != nil {
			return "", err
		}
		return "customer " + c.ExternalID + " " + res.String(), nil
	case *shopify.Refund:
		return h.applyRefund(ctx, tx, ev, v)
	case *shopify.WebhookShop:
		if ev.Topic == shopify.TopicAppUninstalled {
			if h.Uninstall == nil {
				return "app uninstalled: no connection to drop", nil
			}
			return "app uninstalled: tokens dropped, data kept", h.Uninstall.AppUninstalled(ctx, tx, shopID)
		}
		at := v.UpdatedAt.Time
		if at.IsZero() {
			at = ev.ReceivedAt
		}
		stored, err := h.Shops.With(tx).SetStorefrontDomains(ctx, shopID, v.Domain, nil, at)
		if err != nil {
			return "", err
		}
		if !stored {
			return "storefront domains: stale", nil
		}
		return "storefront domains: " + v.Domain, nil
	case *shopify.BulkOperationFinish:
		if h.Bulk == nil {
			return "bulk operation " + v.Status + ": no backfill to tell", nil
		}
		return "bulk operation " + strings.ToLower(v.Status) + ": backfill told",
			h.Bulk.BulkOperationFinished(ctx, tx, shopID, v.AdminGraphqlAPIID, v.Status, v.ErrorCode)
	case *shopify.CustomersDataRequest:
		id, err := h.Privacy.Export(ctx, tx, shopID, privacyCustomer(v.Customer, v.OrdersRequested), string(v.DataRequest.ID))
		if err != nil {
			return "", err
		}
		// The export holds what the request named; the event need not.
		if err := h.Privacy.Events.With(tx).ForgetBody(ctx, shopID, ev.ID); err != nil {
			return "", err
		}
		return fmt.Sprintf("export %d ready for an admin to download", id), nil
	case *shopify.CustomersRedact:
		return h.Privacy.EraseCustomer(ctx, tx, shopID, privacyCustomer(v.Customer, v.OrdersToRedact), ev.ID)
	case *shopify.ShopRedact:
		return h.Privacy.EraseShop(ctx, tx, shopID, ev.ID)
	}
	return "", fmt.Errorf("shopifyhooks: %s parsed into %T, which is not applied", ev.Topic, parsed)
}

// WaitForParent is how long an event about an order or shipment hubdesk
// does not hold yet is retried: deliveries arrive in any order, and the
// order's or shipment's own event is usually seconds behind. Past it the
// event is set aside (orders/updated carries the order with its
// shipments) and the order re-read when a refresher is wired.
const WaitForParent = 15 * time.Minute

// errParentMissing asks for the event to be tried again later.
var errParentMissing = errors.New("shopifyhooks: its order or shipment is not stored yet; tried again")

// unknownOrder: an event about an order (or a shipment of it) hubdesk
// does not hold.
func (h *Handler) unknownOrder(ctx context.Context, tx *database.Tx, ev *intake.Event, orderID string) (string, error) {
	if h.now().Sub(ev.ReceivedAt) < WaitForParent {
		return "", fmt.Errorf("order %s: %w", orderID, errParentMissing)
	}
	if h.Refresh == nil {
		return "order " + orderID + " or its shipment not stored: set aside", nil
	}
	return "order " + orderID + " or its shipment not stored: re-read", h.Refresh.RefreshOrder(ctx, tx, ev.ShopID, orderID)
}

func (h *Handler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

func privacyCustomer(c shopify.PrivacyCustomer, orders []shopify.ID) privacy.Customer {
	out := privacy.Customer{ExternalID: string(c.ID), Email: c.Email, Phone: c.Phone}
	for _, id := range orders {
		if id != "" {
			out.OrderExternalIDs = append(out.OrderExternalIDs, string(id))
		}
	}
	return out
}

// unknownTime stands for a record's version when Shopify sent none: older
// than any real one, so it never overwrites what is stored.
var unknownTime = time.UnixMilli(1).UTC()

func versionOf(t shopify.Time) time.Time {
	if t.IsZero() {
		return unknownTime
	}
	return t.Time
}

func translateCustomer(c *shopify.WebhookCustomer, orderEmail string) commerce.Customer {
	out := commerce.Customer{ExternalID: string(c.ID), Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone,
		CreatedAt: c.CreatedAt.Time, UpdatedAt: versionOf(c.UpdatedAt)}
	if out.Email == "" {
		out.Email = orderEmail
	}
	if a := c.DefaultAddress; a != nil {
		out.DefaultAddress = translateAddress(a)
	}
	return out
}

func translateAddress(a *shopify.WebhookAddress) commerce.Address {
	return commerce.Address{Name: a.FullName(), Address1: a.Address1, Address2: a.Address2, City: a.City, Province: a.Province,
		Zip: a.Zip, CountryCode: a.CountryCode, Phone: a.Phone}
}

func translateFulfillment(f *shopify.WebhookFulfillment) commerce.Fulfillment {
	number, url := f.Tracking()
	out := commerce.Fulfillment{ExternalID: string(f.ID), Status: f.Status, ShipmentStatus: commerce.ShipmentStatusOf(f.ShipmentStatus),
		Carrier: f.TrackingCompany, TrackingNumber: number, TrackingURL: url, CreatedAt: f.CreatedAt.Time, UpdatedAt: versionOf(f.UpdatedAt)}
	for _, l := range f.LineItems {
		if l.ID != "" {
			out.LineItems = append(out.LineItems, commerce.FulfillmentLine{LineItemID: string(l.ID), Quantity: max(l.Quantity, 0)})
		}
	}
	return out
}

func translateOrder(o *shopify.WebhookOrder) (commerce.Order, *commerce.Customer, error) {
	out := commerce.Order{ExternalID: string(o.ID), Name: o.Name, Email: o.Email, FinancialStatus: o.FinancialStatus,
		FulfillmentStatus: o.FulfillmentStatus, Currency: o.Currency, CreatedAt: o.CreatedAt.Time, UpdatedAt: versionOf(o.UpdatedAt),
		CancelledAt: o.CancelledAt.Ptr()}
	money := func(field string, m shopify.Amount) (int64, error) {
		v, err := commerce.ParseAmount(string(m), o.Currency)
		if err != nil {
			return 0, &commerce.ValidationError{Field: field, Problem: err.Error()}
		}
		return v, nil
	}
	var err error
	if out.SubtotalMinor, err = money("subtotal_price", o.SubtotalPrice); err != nil {
		return out, nil, err
	}
	if out.TotalMinor, err = money("total_price", o.TotalPrice); err != nil {
		return out, nil, err
	}
	if out.TaxMinor, err = money("total_tax", o.TotalTax); err != nil {
		return out, nil, err
	}
	if o.TotalShippingPriceSet != nil {
		if out.ShippingMinor, err = money("total_shipping_price_set", o.TotalShippingPriceSet.ShopMoney.Amount); err != nil {
			return out, nil, err
		}
	}
	if o.ShippingAddress != nil {
		out.ShippingAddress = translateAddress(o.ShippingAddress)
	}
	for i, li := range o.LineItems {
		price, err := money(fmt.Sprintf("line_items[%d].price", i), li.Price)
		if err != nil {
			return out, nil, err
		}
		current := li.Quantity
		if li.CurrentQuantity != nil {
			current = *li.CurrentQuantity
		}
		out.LineItems = append(out.LineItems, commerce.LineItem{ExternalID: string(li.ID), VariantID: string(li.VariantID),
			VariantAvailable: li.VariantID != "", SKU: li.SKU, Title: li.Title, VariantTitle: li.VariantTitle,
			Quantity: li.Quantity, CurrentQuantity: current, PriceMinor: price})
	}
	for i := range o.Fulfillments {
		out.Fulfillments = append(out.Fulfillments, translateFulfillment(&o.Fulfillments[i]))
	}
	var c *commerce.Customer
	if o.Customer != nil && o.Customer.ID != "" {
		cu := translateCustomer(o.Customer, o.Email)
		c = &cu
	}
	return out, c, nil
}

// applyRefund records a refund on its order: the money given back (the
// refund's successful refund transactions), the lines and quantities,
// and the order's financial status (refunded once its total is given
// back, partially refunded before).
func (h *Handler) applyRefund(ctx context.Context, tx *database.Tx, ev *intake.Event, v *shopify.Refund) (string, error) {
	orderID := string(v.OrderID)
	if orderID == "" || v.ID == "" {
		return "", intake.Permanent(fmt.Errorf("%s: a refund needs its id and its order_id", ev.Topic))
	}
	store := h.Commerce.With(tx)
	o, err := store.OrderByExternalID(ctx, ev.ShopID, orderID)
	if errors.Is(err, commerce.ErrNotFound) {
		return h.unknownOrder(ctx, tx, ev, orderID)
	}
	if err != nil {
		return "", err
	}
	r, err := translateRefund(v, o.Currency)
	if err != nil {
		return "", err
	}
	res, err := store.ApplyRefund(ctx, ev.ShopID, orderID, r)
	if errors.Is(err, commerce.ErrNotFound) {
		return h.unknownOrder(ctx, tx, ev, orderID)
	}
	if err != nil {
		return "", err
	}
	if !res.Applied {
		return "refund " + r.ExternalID + " on order " + o.Name + ": applied already", nil
	}
	out := fmt.Sprintf("refund %s on order %s: %s given back, %d lines", r.ExternalID, o.Name, commerce.FormatAmount(r.AmountMinor, o.Currency), len(r.Lines))
	if res.StatusChanged {
		out += "; order " + res.FinancialStatus
	}
	return out, nil
}

func translateRefund(v *shopify.Refund, currency string) (commerce.Refund, error) {
	out := commerce.Refund{ExternalID: string(v.ID), CreatedAt: versionOf(v.At())}
	money := func(field string, m shopify.Amount) (int64, error) {
		if m == "" {
			return 0, nil
		}
		n, err := commerce.ParseAmount(string(m), currency)
		if err != nil {
			return 0, &commerce.ValidationError{Field: field, Problem: err.Error()}
		}
		return n, nil
	}
	for i, t := range v.Transactions {
		if !t.Refunded() {
			continue
		}
		n, err := money(fmt.Sprintf("transactions[%d].amount", i), t.Amount)
		if err != nil {
			return out, err
		}
		out.AmountMinor += n
	}
	for i, l := range v.RefundLineItems {
		amount := l.Subtotal
		if l.SubtotalSet != nil && l.SubtotalSet.ShopMoney.Amount != "" {
			amount = l.SubtotalSet.ShopMoney.Amount
		}
		n, err := money(fmt.Sprintf("refund_line_items[%d].subtotal", i), amount)
		if err != nil {
			return out, err
		}
		out.Lines = append(out.Lines, commerce.RefundLine{LineItemID: string(l.LineItemID), Quantity: l.Quantity, SubtotalMinor: n, RestockType: l.RestockType})
	}
	return out, nil
}
