package shopify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Webhook headers (contracts/shopify.md §3).
const (
	HeaderHmac        = "X-Shopify-Hmac-Sha256"
	HeaderTopic       = "X-Shopify-Topic"
	HeaderShopDomain  = "X-Shopify-Shop-Domain"
	HeaderAPIVersion  = "X-Shopify-API-Version"
	HeaderWebhookID   = "X-Shopify-Webhook-Id"
	HeaderEventID     = "X-Shopify-Event-Id"
	HeaderTriggeredAt = "X-Shopify-Triggered-At"
)

// MaxWebhookBody bounds a webhook body. Shopify's REST payloads are a few
// kilobytes; an order with hundreds of lines stays well under this.
const MaxWebhookBody = 1 << 20

// Webhook topics hubdesk applies.
const (
	TopicOrdersCreate            = "orders/create"
	TopicOrdersUpdated           = "orders/updated"
	TopicOrdersCancelled         = "orders/cancelled"
	TopicOrdersFulfilled         = "orders/fulfilled"
	TopicOrdersPaid              = "orders/paid"
	TopicFulfillmentsCreate      = "fulfillments/create"
	TopicFulfillmentsUpdate      = "fulfillments/update"
	TopicFulfillmentEventsCreate = "fulfillment_events/create"
	TopicCustomersCreate         = "customers/create"
	TopicCustomersUpdate         = "customers/update"
	TopicRefundsCreate           = "refunds/create"
	TopicAppUninstalled          = "app/uninstalled"
	TopicShopUpdate              = "shop/update"
	TopicBulkOperationsFinish    = "bulk_operations/finish"
	TopicCustomersDataRequest    = "customers/data_request"
	TopicCustomersRedact         = "customers/redact"
	TopicShopRedact              = "shop/redact"
)

// WebhookTopics are the topics a shop's subscriptions should cover: what
// hubdesk applies. The privacy topics are listed too, although a public
// app declares them in its configuration rather than by subscription.
var WebhookTopics = []string{
	TopicOrdersCreate, TopicOrdersUpdated, TopicOrdersCancelled, TopicOrdersFulfilled, TopicOrdersPaid,
	TopicFulfillmentsCreate, TopicFulfillmentsUpdate, TopicFulfillmentEventsCreate,
	TopicCustomersCreate, TopicCustomersUpdate, TopicRefundsCreate, TopicAppUninstalled, TopicShopUpdate,
	TopicBulkOperationsFinish, TopicCustomersDataRequest, TopicCustomersRedact, TopicShopRedact,
}

// Errors of VerifyWebhook; distinct for logs and tests, answered alike.
var (
	ErrWebhookUnsigned  = errors.New("shopify webhook: no X-Shopify-Hmac-Sha256")
	ErrWebhookSignature = errors.New("shopify webhook: signature does not match")
)

// SignWebhook is the X-Shopify-Hmac-Sha256 Shopify sends with body: the
// standard, padded base64 of HMAC-SHA256(body, client secret).
func SignWebhook(body []byte, clientSecret string) string {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks header, the delivery's X-Shopify-Hmac-Sha256,
// against the exact bytes received, comparing the digests in constant
// time. Shopify sends standard padded base64; the same digest without its
// padding is accepted too (a proxy that trims "=" changes nothing that is
// signed), the URL-safe alphabet is not: Shopify never sends it. An empty
// secret verifies nothing.
func VerifyWebhook(body []byte, header, clientSecret string) error {
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrWebhookUnsigned
	}
	if clientSecret == "" {
		return ErrWebhookSignature
	}
	got, err := base64.StdEncoding.DecodeString(header)
	if err != nil {
		got, err = base64.RawStdEncoding.DecodeString(header)
	}
	if err != nil || len(got) != sha256.Size {
		return ErrWebhookSignature
	}
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrWebhookSignature
	}
	return nil
}

// ID is a Shopify id as REST payloads carry it: a JSON number (often
// beyond float64's exact range, so never decoded through one), a string,
// or a GraphQL gid ("gid://shopify/Order/123"), kept as its numeric tail.
// "" when absent or null.
type ID string

func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = ID(LegacyID(strings.TrimSpace(s)))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("shopify: id %s is neither a number nor a string", b)
	}
	if _, err := strconv.ParseUint(n.String(), 10, 64); err != nil {
		return fmt.Errorf("shopify: id %s is not a whole number", b)
	}
	*id = ID(n.String())
	return nil
}

// Time is a REST timestamp: RFC 3339 with an offset, or null/"" for none.
type Time struct{ time.Time }

func (t *Time) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("shopify: time %s is not a string", b)
	}
	if s == nil || strings.TrimSpace(*s) == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(*s))
	if err != nil {
		return fmt.Errorf("shopify: time %q: %w", *s, err)
	}
	t.Time = v.UTC()
	return nil
}

// Ptr is the time, or nil when there is none.
func (t Time) Ptr() *time.Time {
	if t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}

// Amount is a REST amount: a decimal string ("129.90") or, from some
// senders, a bare number; kept as its decimal text.
type Amount string

func (m *Amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*m = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*m = Amount(strings.TrimSpace(s))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("shopify: amount %s is neither a number nor a string", b)
	}
	*m = Amount(n.String())
	return nil
}

// WebhookAddress is a REST mailing address.
type WebhookAddress struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	Name        string `json:"name"`
	Address1    string `json:"address1"`
	Address2    string `json:"address2"`
	City        string `json:"city"`
	Province    string `json:"province"`
	Zip         string `json:"zip"`
	CountryCode string `json:"country_code"`
	Phone       string `json:"phone"`
}

// FullName is the address's name, or its first and last names.
func (a *WebhookAddress) FullName() string {
	if a.Name != "" {
		return a.Name
	}
	return strings.TrimSpace(a.FirstName + " " + a.LastName)
}

// WebhookCustomer is the REST customer of customers/create|update and of an
// order's "customer".
type WebhookCustomer struct {
	ID             ID              `json:"id"`
	Email          string          `json:"email"`
	FirstName      string          `json:"first_name"`
	LastName       string          `json:"last_name"`
	Phone          string          `json:"phone"`
	CreatedAt      Time            `json:"created_at"`
	UpdatedAt      Time            `json:"updated_at"`
	DefaultAddress *WebhookAddress `json:"default_address"`
}

// WebhookLineItem is one line of a REST order.
type WebhookLineItem struct {
	ID              ID     `json:"id"`
	VariantID       ID     `json:"variant_id"`
	Title           string `json:"title"`
	VariantTitle    string `json:"variant_title"`
	SKU             string `json:"sku"`
	Quantity        int    `json:"quantity"`
	CurrentQuantity *int   `json:"current_quantity"`
	Price           Amount `json:"price"`
}

// WebhookFulfillmentLine is a line item a fulfillment carries, with how many.
type WebhookFulfillmentLine struct {
	ID       ID  `json:"id"`
	Quantity int `json:"quantity"`
}

// WebhookFulfillment is a REST fulfillment: fulfillments/create|update, and each
// of an order's "fulfillments".
type WebhookFulfillment struct {
	ID              ID                       `json:"id"`
	OrderID         ID                       `json:"order_id"`
	Status          string                   `json:"status"`
	ShipmentStatus  string                   `json:"shipment_status"`
	TrackingCompany string                   `json:"tracking_company"`
	TrackingNumber  string                   `json:"tracking_number"`
	TrackingNumbers []string                 `json:"tracking_numbers"`
	TrackingURL     string                   `json:"tracking_url"`
	TrackingURLs    []string                 `json:"tracking_urls"`
	CreatedAt       Time                     `json:"created_at"`
	UpdatedAt       Time                     `json:"updated_at"`
	LineItems       []WebhookFulfillmentLine `json:"line_items"`
}

// Tracking is the first tracking number and URL.
func (f *WebhookFulfillment) Tracking() (number, url string) {
	number, url = f.TrackingNumber, f.TrackingURL
	if number == "" && len(f.TrackingNumbers) > 0 {
		number = f.TrackingNumbers[0]
	}
	if url == "" && len(f.TrackingURLs) > 0 {
		url = f.TrackingURLs[0]
	}
	return number, url
}

// WebhookMoneySet is a REST price set; hubdesk reads the shop's money.
type WebhookMoneySet struct {
	ShopMoney struct {
		Amount       Amount `json:"amount"`
		CurrencyCode string `json:"currency_code"`
	} `json:"shop_money"`
}

// WebhookOrder is the REST order of the orders/* topics.
type WebhookOrder struct {
	ID                    ID                   `json:"id"`
	Name                  string               `json:"name"`
	Email                 string               `json:"email"`
	Currency              string               `json:"currency"`
	FinancialStatus       string               `json:"financial_status"`
	FulfillmentStatus     string               `json:"fulfillment_status"`
	SubtotalPrice         Amount               `json:"subtotal_price"`
	TotalPrice            Amount               `json:"total_price"`
	TotalTax              Amount               `json:"total_tax"`
	TotalShippingPriceSet *WebhookMoneySet     `json:"total_shipping_price_set"`
	ShippingAddress       *WebhookAddress      `json:"shipping_address"`
	Customer              *WebhookCustomer     `json:"customer"`
	LineItems             []WebhookLineItem    `json:"line_items"`
	Fulfillments          []WebhookFulfillment `json:"fulfillments"`
	CreatedAt             Time                 `json:"created_at"`
	UpdatedAt             Time                 `json:"updated_at"`
	CancelledAt           Time                 `json:"cancelled_at"`
}

// FulfillmentEvent is fulfillment_events/create: a carrier's step.
type FulfillmentEvent struct {
	ID                  ID     `json:"id"`
	FulfillmentID       ID     `json:"fulfillment_id"`
	OrderID             ID     `json:"order_id"`
	Status              string `json:"status"`
	HappenedAt          Time   `json:"happened_at"`
	CreatedAt           Time   `json:"created_at"`
	EstimatedDeliveryAt Time   `json:"estimated_delivery_at"`
}

// Refund is refunds/create: what was given back, item by item
// (refund_line_items) and as money (transactions of kind refund).
type Refund struct {
	ID              ID                  `json:"id"`
	OrderID         ID                  `json:"order_id"`
	CreatedAt       Time                `json:"created_at"`
	ProcessedAt     Time                `json:"processed_at"`
	RefundLineItems []RefundLineItem    `json:"refund_line_items"`
	Transactions    []RefundTransaction `json:"transactions"`
}

// RefundLineItem is one line of a refund.
type RefundLineItem struct {
	ID          ID               `json:"id"`
	LineItemID  ID               `json:"line_item_id"`
	Quantity    int              `json:"quantity"`
	RestockType string           `json:"restock_type"`
	Subtotal    Amount           `json:"subtotal"`
	SubtotalSet *WebhookMoneySet `json:"subtotal_set"`
}

// RefundTransaction is money moved by a refund.
type RefundTransaction struct {
	ID       ID     `json:"id"`
	Kind     string `json:"kind"`   // refund (others are not money given back)
	Status   string `json:"status"` // success, pending, failure, error
	Amount   Amount `json:"amount"`
	Currency string `json:"currency"`
}

// Refunded says whether the transaction gave money back.
func (t RefundTransaction) Refunded() bool {
	return t.Kind == "refund" && (t.Status == "success" || t.Status == "")
}

// At is when the refund happened: processed_at, else created_at.
func (r *Refund) At() Time {
	if !r.ProcessedAt.IsZero() {
		return r.ProcessedAt
	}
	return r.CreatedAt
}

// WebhookShop is the REST shop of shop/update and app/uninstalled.
type WebhookShop struct {
	ID              ID     `json:"id"`
	Name            string `json:"name"`
	Domain          string `json:"domain"` // the primary storefront domain
	MyshopifyDomain string `json:"myshopify_domain"`
	UpdatedAt       Time   `json:"updated_at"`
}

// BulkOperationFinish is bulk_operations/finish.
type BulkOperationFinish struct {
	AdminGraphqlAPIID string `json:"admin_graphql_api_id"`
	Status            string `json:"status"`
	ErrorCode         string `json:"error_code"`
	Type              string `json:"type"`
	CompletedAt       Time   `json:"completed_at"`
}

// PrivacyCustomer names the customer of a privacy request.
type PrivacyCustomer struct {
	ID    ID     `json:"id"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// CustomersDataRequest is customers/data_request: a customer asks the
// merchant for the data kept about them.
type CustomersDataRequest struct {
	ShopID          ID              `json:"shop_id"`
	ShopDomain      string          `json:"shop_domain"`
	Customer        PrivacyCustomer `json:"customer"`
	OrdersRequested []ID            `json:"orders_requested"`
	DataRequest     struct {
		ID ID `json:"id"`
	} `json:"data_request"`
}

// CustomersRedact is customers/redact: erase a customer's data.
type CustomersRedact struct {
	ShopID         ID              `json:"shop_id"`
	ShopDomain     string          `json:"shop_domain"`
	Customer       PrivacyCustomer `json:"customer"`
	OrdersToRedact []ID            `json:"orders_to_redact"`
}

// ShopRedact is shop/redact: erase the shop's customer data, 48 hours
// after the app was uninstalled.
type ShopRedact struct {
	ShopID     ID     `json:"shop_id"`
	ShopDomain string `json:"shop_domain"`
}

// ErrWebhookPayload wraps every reason a verified body cannot be read.
var ErrWebhookPayload = errors.New("shopify webhook: payload cannot be read")

// ParseWebhook reads the body of a topic hubdesk applies into its type
// (*WebhookOrder, *WebhookFulfillment, …); a topic hubdesk does not apply is (nil, nil).
// A body that is not the topic's JSON object, or lacks the id the topic
// is about, is an error wrapping ErrWebhookPayload: no retry mends it.
func ParseWebhook(topic string, body []byte) (any, error) {
	var v any
	var id func() ID
	switch topic {
	case TopicOrdersCreate, TopicOrdersUpdated, TopicOrdersCancelled, TopicOrdersFulfilled, TopicOrdersPaid:
		o := &WebhookOrder{}
		v, id = o, func() ID { return o.ID }
	case TopicFulfillmentsCreate, TopicFulfillmentsUpdate:
		f := &WebhookFulfillment{}
		v, id = f, func() ID {
			if f.OrderID == "" {
				return ""
			}
			return f.ID
		}
	case TopicFulfillmentEventsCreate:
		e := &FulfillmentEvent{}
		v, id = e, func() ID {
			if e.OrderID == "" {
				return ""
			}
			return e.FulfillmentID
		}
	case TopicCustomersCreate, TopicCustomersUpdate:
		c := &WebhookCustomer{}
		v, id = c, func() ID { return c.ID }
	case TopicRefundsCreate:
		r := &Refund{}
		v, id = r, func() ID { return r.OrderID }
	case TopicAppUninstalled, TopicShopUpdate:
		s := &WebhookShop{}
		v, id = s, func() ID { return "-" }
	case TopicBulkOperationsFinish:
		b := &BulkOperationFinish{}
		v, id = b, func() ID { return ID(b.AdminGraphqlAPIID) }
	case TopicCustomersDataRequest:
		d := &CustomersDataRequest{}
		v, id = d, func() ID { return customerKey(d.Customer) }
	case TopicCustomersRedact:
		d := &CustomersRedact{}
		v, id = d, func() ID { return customerKey(d.Customer) }
	case TopicShopRedact:
		s := &ShopRedact{}
		v, id = s, func() ID { return "-" }
	default:
		return nil, nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: %s is not a JSON object", ErrWebhookPayload, topic)
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrWebhookPayload, topic, err)
	}
	if id() == "" {
		return nil, fmt.Errorf("%w: %s without the id it is about", ErrWebhookPayload, topic)
	}
	return v, nil
}

// customerKey is what names a privacy request's customer: the id, else
// the email.
func customerKey(c PrivacyCustomer) ID {
	if c.ID != "" {
		return c.ID
	}
	return ID(strings.TrimSpace(c.Email))
}
