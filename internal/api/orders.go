package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// orderJSON is the Order schema of openapi.json. Money is a decimal string
// in the order's currency ("129.90") so no client meets floating point.
type orderJSON struct {
	ID                int64             `json:"id"`
	ExternalID        string            `json:"external_id"`
	CustomerID        *int64            `json:"customer_id"`
	Name              string            `json:"name"`
	Email             string            `json:"email"`
	Status            commerce.Status   `json:"status"`
	FinancialStatus   string            `json:"financial_status"`
	FulfillmentStatus string            `json:"fulfillment_status"`
	Currency          string            `json:"currency"`
	Subtotal          string            `json:"subtotal"`
	Shipping          string            `json:"shipping"`
	Tax               string            `json:"tax"`
	Total             string            `json:"total"`
	ShippingAddress   commerce.Address  `json:"shipping_address"`
	CreatedAt         time.Time         `json:"created_at"`
	UpdatedAt         time.Time         `json:"updated_at"`
	CancelledAt       *time.Time        `json:"cancelled_at"`
	LineItems         []lineItemJSON    `json:"line_items"`
	Fulfillments      []fulfillmentJSON `json:"fulfillments"`
	Refunded          string            `json:"refunded"`
	Refunds           []refundJSON      `json:"refunds"`
	ReturnEligibility eligibilityJSON   `json:"return_eligibility"`
}

// refundJSON is a refund the platform reported, its money in the order's
// currency.
type refundJSON struct {
	ID        string           `json:"id"`
	CreatedAt time.Time        `json:"created_at"`
	Amount    string           `json:"amount"`
	Lines     []refundLineJSON `json:"lines"`
}

type refundLineJSON struct {
	LineItemID  string `json:"line_item_id"`
	Quantity    int    `json:"quantity"`
	Subtotal    string `json:"subtotal"`
	RestockType string `json:"restock_type"`
}

// eligibilityJSON is whether the order can start a return with the
// published settings, and why not (orderview, as the hub and the desk).
type eligibilityJSON struct {
	Eligible     bool                 `json:"eligible"`
	Reason       *returns.NotEligible `json:"reason"`
	WindowEndsAt *time.Time           `json:"window_ends_at"`
}

type lineItemJSON struct {
	ExternalID       string `json:"external_id"`
	VariantID        string `json:"variant_id"`
	VariantAvailable bool   `json:"variant_available"`
	SKU              string `json:"sku"`
	Title            string `json:"title"`
	VariantTitle     string `json:"variant_title"`
	Quantity         int    `json:"quantity"`
	CurrentQuantity  int    `json:"current_quantity"`
	Price            string `json:"price"`
	ImageURL         string `json:"image_url"`
}

type fulfillmentJSON struct {
	ExternalID          string     `json:"external_id"`
	Status              string     `json:"status"`
	ShipmentStatus      string     `json:"shipment_status"`
	Carrier             string     `json:"carrier"`
	TrackingNumber      string     `json:"tracking_number"`
	TrackingURL         string     `json:"tracking_url"`
	CreatedAt           time.Time  `json:"created_at"`
	UpdatedAt           time.Time  `json:"updated_at"`
	InTransitAt         *time.Time `json:"in_transit_at"`
	OutForDeliveryAt    *time.Time `json:"out_for_delivery_at"`
	DeliveredAt         *time.Time `json:"delivered_at"`
	EstimatedDeliveryAt *time.Time `json:"estimated_delivery_at"`
	// LineItems are the order's lines this shipment carries ([] when the
	// platform did not say).
	LineItems []commerce.FulfillmentLine `json:"line_items"`
}

func toOrderJSON(v orderview.Order) orderJSON {
	o := v.Order
	money := func(minor int64) string { return commerce.FormatAmount(minor, o.Currency) }
	out := orderJSON{
		ID: o.ID, ExternalID: o.ExternalID, Name: o.Name, Email: o.Email, Status: v.Status,
		FinancialStatus: o.FinancialStatus, FulfillmentStatus: o.FulfillmentStatus, Currency: o.Currency,
		Subtotal: money(o.SubtotalMinor), Shipping: money(o.ShippingMinor), Tax: money(o.TaxMinor), Total: money(o.TotalMinor),
		ShippingAddress: o.ShippingAddress, CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(), CancelledAt: utc(o.CancelledAt),
		LineItems:         make([]lineItemJSON, 0, len(o.LineItems)),
		Fulfillments:      make([]fulfillmentJSON, 0, len(o.Fulfillments)),
		Refunded:          money(o.RefundedMinor),
		Refunds:           make([]refundJSON, 0, len(o.Refunds)),
		ReturnEligibility: eligibilityJSON{Eligible: v.Return.Eligible(), WindowEndsAt: utc(v.Return.WindowEnds)},
	}
	if reason := v.Return.Reason; reason != "" {
		out.ReturnEligibility.Reason = &reason
	}
	if o.CustomerID != 0 {
		out.CustomerID = &o.CustomerID
	}
	for _, li := range o.LineItems {
		out.LineItems = append(out.LineItems, lineItemJSON{
			ExternalID: li.ExternalID, VariantID: li.VariantID, VariantAvailable: li.VariantAvailable, SKU: li.SKU,
			Title: li.Title, VariantTitle: li.VariantTitle, Quantity: li.Quantity, CurrentQuantity: li.CurrentQuantity,
			Price: money(li.PriceMinor), ImageURL: li.ImageURL,
		})
	}
	for _, f := range o.Fulfillments {
		out.Fulfillments = append(out.Fulfillments, fulfillmentJSON{
			ExternalID: f.ExternalID, Status: f.Status, ShipmentStatus: f.ShipmentStatus, Carrier: f.Carrier,
			TrackingNumber: f.TrackingNumber, TrackingURL: f.TrackingURL, CreatedAt: f.CreatedAt.UTC(), UpdatedAt: f.UpdatedAt.UTC(),
			InTransitAt: utc(f.InTransitAt), OutForDeliveryAt: utc(f.OutForDeliveryAt), DeliveredAt: utc(f.DeliveredAt),
			EstimatedDeliveryAt: utc(f.EstimatedDeliveryAt), LineItems: append([]commerce.FulfillmentLine{}, f.LineItems...),
		})
	}
	for _, r := range o.Refunds {
		rj := refundJSON{ID: r.ExternalID, CreatedAt: r.CreatedAt.UTC(), Amount: money(r.AmountMinor), Lines: make([]refundLineJSON, 0, len(r.Lines))}
		for _, l := range r.Lines {
			rj.Lines = append(rj.Lines, refundLineJSON{LineItemID: l.LineItemID, Quantity: l.Quantity, Subtotal: money(l.SubtotalMinor), RestockType: l.RestockType})
		}
		out.Refunds = append(out.Refunds, rj)
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// orderInput is the OrderInput schema: the Order shape without what
// hubdesk owns (id, the derived status). The customer is either embedded,
// and upserted in the same transaction, or referenced by customer_id.
type orderInput struct {
	ExternalID        string             `json:"external_id"`
	CustomerID        *int64             `json:"customer_id"`
	Customer          *customerInput     `json:"customer"`
	Name              string             `json:"name"`
	Email             string             `json:"email"`
	FinancialStatus   string             `json:"financial_status"`
	FulfillmentStatus string             `json:"fulfillment_status"`
	Currency          string             `json:"currency"`
	Subtotal          string             `json:"subtotal"`
	Shipping          string             `json:"shipping"`
	Tax               string             `json:"tax"`
	Total             string             `json:"total"`
	ShippingAddress   commerce.Address   `json:"shipping_address"`
	CreatedAt         string             `json:"created_at"`
	UpdatedAt         string             `json:"updated_at"`
	CancelledAt       string             `json:"cancelled_at"`
	LineItems         []lineItemInput    `json:"line_items"`
	Fulfillments      []fulfillmentInput `json:"fulfillments"`
}

type lineItemInput struct {
	ExternalID string `json:"external_id"`
	VariantID  string `json:"variant_id"`
	// VariantAvailable defaults to true: a variant just ordered is normally
	// still for sale, and false would hide it from Reorder.
	VariantAvailable *bool  `json:"variant_available"`
	SKU              string `json:"sku"`
	Title            string `json:"title"`
	VariantTitle     string `json:"variant_title"`
	Quantity         int    `json:"quantity"`
	// CurrentQuantity defaults to quantity: most orders are never edited.
	CurrentQuantity *int   `json:"current_quantity"`
	Price           string `json:"price"`
	ImageURL        string `json:"image_url"`
}

type fulfillmentInput struct {
	ExternalID          string `json:"external_id"`
	Status              string `json:"status"`
	ShipmentStatus      string `json:"shipment_status"`
	Carrier             string `json:"carrier"`
	TrackingNumber      string `json:"tracking_number"`
	TrackingURL         string `json:"tracking_url"`
	CreatedAt           string `json:"created_at"`
	UpdatedAt           string `json:"updated_at"`
	InTransitAt         string `json:"in_transit_at"`
	OutForDeliveryAt    string `json:"out_for_delivery_at"`
	DeliveredAt         string `json:"delivered_at"`
	EstimatedDeliveryAt string `json:"estimated_delivery_at"`
	// LineItems name the order's lines (their external_id) the shipment
	// carries, and how many.
	LineItems []commerce.FulfillmentLine `json:"line_items"`
}

// model converts the input, parsing money in the order's currency and
// timestamps, and returns the embedded customer (nil when none).
func (in *orderInput) model() (commerce.Order, *commerce.Customer, error) {
	o := commerce.Order{
		ExternalID: in.ExternalID, Name: in.Name, Email: in.Email, FinancialStatus: in.FinancialStatus,
		FulfillmentStatus: in.FulfillmentStatus, Currency: strings.ToUpper(strings.TrimSpace(in.Currency)),
		ShippingAddress: in.ShippingAddress,
	}
	if in.CustomerID != nil && in.Customer != nil {
		return o, nil, &commerce.ValidationError{Field: "customer_id", Problem: "must not be given together with customer"}
	}
	if in.CustomerID != nil {
		if *in.CustomerID <= 0 {
			return o, nil, &commerce.ValidationError{Field: "customer_id", Problem: "does not exist"}
		}
		o.CustomerID = *in.CustomerID
	}
	var customer *commerce.Customer
	if in.Customer != nil {
		c, err := in.Customer.model("customer.")
		if err != nil {
			return o, nil, err
		}
		customer = &c
	}
	var errs []error
	amount := func(field, s string) int64 {
		n, err := commerce.ParseAmount(s, o.Currency)
		if err != nil {
			errs = append(errs, &commerce.ValidationError{Field: field,
				Problem: fmt.Sprintf("must be a decimal string with at most %d decimals for %s, such as \"129.90\"", commerce.CurrencyExponent(o.Currency), o.Currency)})
		}
		return n
	}
	timestamp := func(field, s string) time.Time {
		t, err := parseTime(field, s)
		errs = append(errs, err)
		return t
	}
	optional := func(field, s string) *time.Time {
		t, err := parseOptionalTime(field, s)
		errs = append(errs, err)
		return t
	}
	o.SubtotalMinor = amount("subtotal", in.Subtotal)
	o.ShippingMinor = amount("shipping", in.Shipping)
	o.TaxMinor = amount("tax", in.Tax)
	o.TotalMinor = amount("total", in.Total)
	o.CreatedAt = timestamp("created_at", in.CreatedAt)
	o.UpdatedAt = timestamp("updated_at", in.UpdatedAt)
	o.CancelledAt = optional("cancelled_at", in.CancelledAt)
	for i, li := range in.LineItems {
		p := fmt.Sprintf("line_items[%d].", i)
		item := commerce.LineItem{
			ExternalID: li.ExternalID, VariantID: li.VariantID, VariantAvailable: li.VariantAvailable == nil || *li.VariantAvailable,
			SKU: li.SKU, Title: li.Title, VariantTitle: li.VariantTitle, Quantity: li.Quantity, CurrentQuantity: li.Quantity,
			PriceMinor: amount(p+"price", li.Price), ImageURL: li.ImageURL,
		}
		if li.CurrentQuantity != nil {
			item.CurrentQuantity = *li.CurrentQuantity
		}
		o.LineItems = append(o.LineItems, item)
	}
	for i, f := range in.Fulfillments {
		p := fmt.Sprintf("fulfillments[%d].", i)
		o.Fulfillments = append(o.Fulfillments, commerce.Fulfillment{
			ExternalID: f.ExternalID, Status: f.Status, ShipmentStatus: f.ShipmentStatus, Carrier: f.Carrier,
			TrackingNumber: f.TrackingNumber, TrackingURL: f.TrackingURL,
			CreatedAt: timestamp(p+"created_at", f.CreatedAt), UpdatedAt: timestamp(p+"updated_at", f.UpdatedAt),
			InTransitAt: optional(p+"in_transit_at", f.InTransitAt), OutForDeliveryAt: optional(p+"out_for_delivery_at", f.OutForDeliveryAt),
			DeliveredAt: optional(p+"delivered_at", f.DeliveredAt), EstimatedDeliveryAt: optional(p+"estimated_delivery_at", f.EstimatedDeliveryAt),
			LineItems: f.LineItems,
		})
	}
	// The first problem in document order is the one reported.
	for _, err := range errs {
		if err != nil {
			return o, nil, err
		}
	}
	return o, customer, nil
}

// ListOrders answers GET /api/v1/orders: the shop's orders, newest first,
// optionally searched by order name, email, customer name or external id (q).
func (a *API) ListOrders(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	a.listOrders(w, r, shopID, commerce.OrderFilter{Search: r.URL.Query().Get("q")})
}

// ListCustomerOrders answers GET /api/v1/customers/{id}/orders. An unknown
// customer is 404 rather than an empty list, so a typo in the id is visible.
func (a *API) ListCustomerOrders(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	c, err := a.customer(r, shopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.listOrders(w, r, shopID, commerce.OrderFilter{CustomerID: c.ID, Search: r.URL.Query().Get("q")})
}

func (a *API) listOrders(w http.ResponseWriter, r *http.Request, shopID int64, f commerce.OrderFilter) {
	p, bad := httpkit.ParsePage(r)
	if bad != nil {
		httpkit.WriteError(w, bad)
		return
	}
	orders, next, err := a.commerce.ListOrders(r.Context(), shopID, f, p)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	viewed, err := a.orders.Published(r.Context(), shopID, orders)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeList(w, viewed, next, toOrderJSON)
}

// GetOrder answers GET /api/v1/orders/{id}.
func (a *API) GetOrder(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	id, ok := pathID(r)
	if !ok {
		a.respond(w, r, httpkit.NotFound("order"))
		return
	}
	o, err := a.commerce.Order(r.Context(), shopID, id)
	if errors.Is(err, commerce.ErrNotFound) {
		err = httpkit.NotFound("order")
	}
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.writeOrder(w, r, shopID, o)
}

// UpsertOrder answers PUT /api/v1/orders: insert or replace an order by
// external_id, with its line items and fulfillments, and the embedded
// customer if any, all in one transaction with the returns that waited
// for a new order (ingest.Orders). Like UpsertCustomer it answers
// 200 with the stored order and sets X-Upsert-Result; a stale order (older
// updated_at) changes nothing and returns what is stored.
func (a *API) UpsertOrder(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	var in orderInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.respond(w, r, err)
		return
	}
	o, customer, err := in.model()
	if err != nil {
		a.respond(w, r, err)
		return
	}
	stored, res, err := a.ingest.Upsert(r.Context(), shopID, o, customer)
	if err != nil {
		a.respond(w, r, customerField(err, customer != nil))
		return
	}
	w.Header().Set(UpsertResultHeader, res.String())
	a.writeOrder(w, r, shopID, stored)
}

// customerField prefixes "customer." to the field of a validation error
// that came from the embedded customer. commerce reports those wrapped
// ("customer: email is not an email address") with the bare field name,
// which would otherwise point the client at the order's own email.
func customerField(err error, embedded bool) error {
	var ve *commerce.ValidationError
	if !embedded || !errors.As(err, &ve) || err == error(ve) {
		return err
	}
	return &commerce.ValidationError{Field: "customer." + ve.Field, Problem: ve.Problem}
}

func (a *API) writeOrder(w http.ResponseWriter, r *http.Request, shopID int64, o *commerce.Order) {
	viewed, err := a.orders.Published(r.Context(), shopID, []*commerce.Order{o})
	if err != nil {
		a.respond(w, r, err)
		return
	}
	httpkit.JSON(w, http.StatusOK, toOrderJSON(viewed[0]))
}
