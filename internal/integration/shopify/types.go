package shopify

import (
	"strings"
	"time"
)

// Shopify's objects as hubdesk reads them, in Shopify's own names (GraphQL
// camelCase). The same types decode a typed query's answer and a bulk
// operation's JSONL lines; mapping them onto hubdesk's model is the sync
// use case's job, not this package's.

// Customer is a Shopify customer.
type Customer struct {
	ID                  string          `json:"id"` // gid://shopify/Customer/123
	FirstName           string          `json:"firstName"`
	LastName            string          `json:"lastName"`
	Phone               string          `json:"phone"`
	DefaultEmailAddress *EmailAddress   `json:"defaultEmailAddress"`
	DefaultAddress      *MailingAddress `json:"defaultAddress"`
	CreatedAt           time.Time       `json:"createdAt"`
	UpdatedAt           time.Time       `json:"updatedAt"`
}

// Email is the customer's default email address ("" when none).
func (c *Customer) Email() string {
	if c.DefaultEmailAddress == nil {
		return ""
	}
	return c.DefaultEmailAddress.EmailAddress
}

// EmailAddress is Customer.defaultEmailAddress.
type EmailAddress struct {
	EmailAddress string `json:"emailAddress"`
}

// MailingAddress is a postal address.
type MailingAddress struct {
	Name          string `json:"name"`
	Address1      string `json:"address1"`
	Address2      string `json:"address2"`
	City          string `json:"city"`
	Province      string `json:"province"`
	Zip           string `json:"zip"`
	CountryCodeV2 string `json:"countryCodeV2"`
	Phone         string `json:"phone"`
}

// MoneyBag is a *Set price: in the shop's currency and in the one the
// customer paid in.
type MoneyBag struct {
	ShopMoney        Money `json:"shopMoney"`
	PresentmentMoney Money `json:"presentmentMoney"`
}

// Money is a decimal amount (as Shopify sends it, a string) and currency.
type Money struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

// PageInfo is a connection's cursor state.
type PageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

// Order is a Shopify order with what hubdesk shows of it.
type Order struct {
	ID                       string          `json:"id"` // gid://shopify/Order/123
	Name                     string          `json:"name"`
	Email                    string          `json:"email"`
	CreatedAt                time.Time       `json:"createdAt"`
	UpdatedAt                time.Time       `json:"updatedAt"`
	CancelledAt              *time.Time      `json:"cancelledAt"`
	DisplayFinancialStatus   string          `json:"displayFinancialStatus"`
	DisplayFulfillmentStatus string          `json:"displayFulfillmentStatus"`
	ReturnStatus             string          `json:"returnStatus"`
	CurrencyCode             string          `json:"currencyCode"`
	TotalPriceSet            MoneyBag        `json:"totalPriceSet"`
	SubtotalPriceSet         *MoneyBag       `json:"subtotalPriceSet"`
	TotalShippingPriceSet    *MoneyBag       `json:"totalShippingPriceSet"`
	TotalTaxSet              *MoneyBag       `json:"totalTaxSet"`
	ShippingAddress          *MailingAddress `json:"shippingAddress"`
	Customer                 *Customer       `json:"customer"`
	LineItems                struct {
		Nodes    []LineItem `json:"nodes"`
		PageInfo PageInfo   `json:"pageInfo"`
	} `json:"lineItems"`
	Fulfillments []Fulfillment `json:"fulfillments"`
}

// LineItem is one line of an order.
type LineItem struct {
	ID                   string    `json:"id"`
	Title                string    `json:"title"`
	VariantTitle         string    `json:"variantTitle"`
	SKU                  string    `json:"sku"`
	Quantity             int       `json:"quantity"`
	CurrentQuantity      int       `json:"currentQuantity"`
	OriginalUnitPriceSet *MoneyBag `json:"originalUnitPriceSet"`
	Image                *struct {
		URL     string `json:"url"`
		AltText string `json:"altText"`
	} `json:"image"`
	Variant *struct {
		ID               string `json:"id"`
		LegacyResourceID string `json:"legacyResourceId"`
		AvailableForSale bool   `json:"availableForSale"`
	} `json:"variant"` // nil when the variant was deleted
}

// Fulfillment is one shipment. Delivery lives here, not on the order
// (contract §4): DisplayStatus DELIVERED, DeliveredAt.
type Fulfillment struct {
	ID                  string         `json:"id"`
	Status              string         `json:"status"`        // SUCCESS, CANCELLED, ERROR, FAILURE, OPEN, PENDING
	DisplayStatus       string         `json:"displayStatus"` // IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, …
	CreatedAt           time.Time      `json:"createdAt"`
	UpdatedAt           time.Time      `json:"updatedAt"`
	InTransitAt         *time.Time     `json:"inTransitAt"`
	DeliveredAt         *time.Time     `json:"deliveredAt"`
	EstimatedDeliveryAt *time.Time     `json:"estimatedDeliveryAt"`
	TrackingInfo        []TrackingInfo `json:"trackingInfo"`
	// FulfillmentLineItems are which lines (and how many of each) this
	// shipment carries.
	FulfillmentLineItems struct {
		Nodes []FulfillmentLineItem `json:"nodes"`
	} `json:"fulfillmentLineItems"`
}

// TrackingInfo is a carrier and tracking number.
type TrackingInfo struct {
	Company string `json:"company"`
	Number  string `json:"number"`
	URL     string `json:"url"`
}

// FulfillmentLineItem is a quantity of one order line in a shipment.
type FulfillmentLineItem struct {
	ID       string `json:"id"`
	Quantity int    `json:"quantity"`
	LineItem struct {
		ID string `json:"id"`
	} `json:"lineItem"`
}

// LegacyID is the numeric id at the end of a global id
// ("gid://shopify/Order/123" → "123"): the id REST webhooks, the App Proxy
// and cart permalinks use. An id that is not a gid comes back unchanged.
func LegacyID(gid string) string {
	if !strings.HasPrefix(gid, "gid://") {
		return gid
	}
	rest := gid[strings.LastIndexByte(gid, '/')+1:]
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// GID builds a global id from a type and a numeric id.
func GID(typ, legacyID string) string {
	if strings.HasPrefix(legacyID, "gid://") {
		return legacyID
	}
	return "gid://shopify/" + typ + "/" + legacyID
}
