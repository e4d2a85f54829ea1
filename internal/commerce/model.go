// Package commerce holds each shop's customers, orders, line items and
// fulfillments, and derives the status a shopper sees. Connectors (Shopify
// webhooks and sync, the REST API) write through the idempotent upserts
// here; an older update never overwrites a newer one.
package commerce

import "time"

// Customer is a shopper known to the store.
type Customer struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Phone      string `json:"phone"`
	// DefaultAddress is the address the customer keeps with the store;
	// zero when none is known.
	DefaultAddress Address   `json:"default_address"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	ShopID         int64     `json:"-"`
}

// Name is the customer's full name, or the email when there is none.
func (c *Customer) Name() string {
	switch {
	case c.FirstName != "" && c.LastName != "":
		return c.FirstName + " " + c.LastName
	case c.FirstName != "" || c.LastName != "":
		return c.FirstName + c.LastName
	}
	return c.Email
}

// FromPlatform reports whether the store's platform reported this
// customer; false for one hubdesk created from a helpdesk sender's email
// (see EmailKey), until the platform reports them.
func (c *Customer) FromPlatform() bool { return !IsEmailKey(c.ExternalID) }

// Address is a postal address.
type Address struct {
	Name        string `json:"name"`
	Address1    string `json:"address1"`
	Address2    string `json:"address2"`
	City        string `json:"city"`
	Province    string `json:"province"`
	Zip         string `json:"zip"`
	CountryCode string `json:"country_code"`
	Phone       string `json:"phone"`
}

// Order is one order with its items and fulfillments. Money is kept in the
// currency's minor unit (cents) to avoid floating point.
type Order struct {
	ID                int64
	ShopID            int64
	ExternalID        string
	CustomerID        int64 // 0 when the order has no customer (guest checkout)
	Name              string
	Email             string
	FinancialStatus   string
	FulfillmentStatus string // Shopify's order-level value: "", "partial", "fulfilled", ...
	Currency          string
	SubtotalMinor     int64
	ShippingMinor     int64
	TaxMinor          int64
	TotalMinor        int64
	ShippingAddress   Address
	CreatedAt         time.Time
	UpdatedAt         time.Time
	CancelledAt       *time.Time
	LineItems         []LineItem
	Fulfillments      []Fulfillment
	// Refunds are what the platform gave back on the order, oldest first
	// (ApplyRefund), and RefundedMinor their sum.
	Refunds       []Refund
	RefundedMinor int64
}

// LineItem is one product line of an order.
type LineItem struct {
	ExternalID string
	VariantID  string // the platform's numeric variant id; empty when the variant was deleted
	// VariantAvailable is false when the variant can no longer be sold, so
	// Reorder leaves it out.
	VariantAvailable bool
	SKU              string
	Title            string
	VariantTitle     string
	Quantity         int
	CurrentQuantity  int // after order edits and removals
	PriceMinor       int64
	ImageURL         string
}

// LineTotalMinor is what the line costs as the order stands now: its unit
// price times the quantity left after edits and removals.
func (li LineItem) LineTotalMinor() int64 { return li.PriceMinor * int64(li.CurrentQuantity) }

// Fulfillment is one shipment of (part of) an order.
type Fulfillment struct {
	ExternalID string
	// Status is Shopify's fulfillment status: pending, open, success,
	// cancelled, error, failure.
	Status string
	// ShipmentStatus is the carrier's view: label_printed, confirmed,
	// in_transit, out_for_delivery, attempted_delivery, delivered, failure.
	ShipmentStatus string
	Carrier        string
	TrackingNumber string
	TrackingURL    string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	InTransitAt    *time.Time
	// OutForDeliveryAt is when the carrier said the parcel was out for
	// delivery; nil when no one said when (then no date is shown).
	OutForDeliveryAt    *time.Time
	DeliveredAt         *time.Time
	EstimatedDeliveryAt *time.Time
	// LineItems are the order's lines this shipment carries, and how many
	// of each; empty when the platform did not say (a whole-order
	// shipment, or data from before it was kept).
	LineItems []FulfillmentLine
}

// FulfillmentLine is one order line in a shipment: the line item's
// platform id and how many of it.
type FulfillmentLine struct {
	LineItemID string `json:"line_item_id"`
	Quantity   int    `json:"quantity"`
}

// Active reports whether the fulfillment still counts (not cancelled or failed
// before it shipped).
func (f *Fulfillment) Active() bool {
	switch f.Status {
	case "cancelled", "error", "failure":
		return false
	}
	return true
}

// Delivered reports whether the carrier delivered this shipment.
func (f *Fulfillment) Delivered() bool {
	return f.ShipmentStatus == "delivered" || f.DeliveredAt != nil
}
