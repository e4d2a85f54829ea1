// Package privacy carries out Shopify's mandatory privacy requests: a
// customer's data request becomes an export an admin downloads (audited)
// and hands to the customer; a customer's erasure and a shop's erasure
// really delete — commerce data, tickets with their messages and files,
// returns, webhook events that carried them, exports — and take the
// person out of the audit log. Each runs inside the transaction that
// marks its webhook event processed, so it happens once and whole.
package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// Kinds of request, named after Shopify's topics.
const (
	KindDataRequest     = "customers/data_request"
	KindCustomersRedact = "customers/redact"
	KindShopRedact      = "shop/redact"
)

// Audit actions.
const (
	ActionDataRequested  = "privacy.data_request"
	ActionExportDownload = "privacy.export_downloaded"
	ActionCustomerErased = "privacy.customer_erased"
	ActionShopDataErased = "privacy.shop_erased"
)

// Customer names the customer of a request: the platform's id, the email,
// the orders the platform names (its ids).
type Customer struct {
	ExternalID       string
	Email            string
	Phone            string
	OrderExternalIDs []string
}

// Requests is the privacy use case.
type Requests struct {
	DB       *database.DB
	Commerce *commerce.Store
	Tickets  *ticket.Store
	Returns  *returns.Records
	Audit    *audit.Log
	Events   *intake.Store
	Store    *Store
	Now      func() time.Time // time.Now when nil
}

func (r *Requests) now() time.Time {
	if r.Now == nil {
		return time.Now().UTC()
	}
	return r.Now().UTC()
}

// Document is the export handed to the customer.
type Document struct {
	RequestID   string                   `json:"request_id,omitempty"`
	GeneratedAt time.Time                `json:"generated_at"`
	Customers   []*commerce.Customer     `json:"customers"`
	Orders      []exportedOrder          `json:"orders"`
	Tickets     []ticket.ExportedTicket  `json:"conversations"`
	Returns     []returns.ExportedReturn `json:"returns"`
}

type exportedOrder struct {
	Name            string           `json:"name"`
	Email           string           `json:"email"`
	CreatedAt       time.Time        `json:"created_at"`
	Currency        string           `json:"currency"`
	TotalMinor      int64            `json:"total_minor"`
	ShippingAddress commerce.Address `json:"shipping_address"`
	Items           []exportedItem   `json:"items"`
	Shipments       []exportedShip   `json:"shipments"`
}

type exportedItem struct {
	Title    string `json:"title"`
	Variant  string `json:"variant,omitempty"`
	Quantity int    `json:"quantity"`
}

type exportedShip struct {
	Carrier        string     `json:"carrier,omitempty"`
	TrackingNumber string     `json:"tracking_number,omitempty"`
	DeliveredAt    *time.Time `json:"delivered_at,omitempty"`
}

// Export compiles what the shop holds about the customer into an export,
// stored for admins to download, and audits the request (by the
// platform's customer id, never the address). tx is the caller's.
func (r *Requests) Export(ctx context.Context, tx *database.Tx, shopID int64, c Customer, requestID string) (int64, error) {
	com := r.Commerce.With(tx)
	p, err := com.FindPerson(ctx, shopID, c.ExternalID, c.Email, c.OrderExternalIDs)
	if err != nil {
		return 0, err
	}
	doc := Document{RequestID: requestID, GeneratedAt: r.now(), Customers: []*commerce.Customer{}, Orders: []exportedOrder{}}
	for _, id := range p.CustomerIDs {
		cu, err := com.Customer(ctx, shopID, id)
		if err != nil && !errors.Is(err, commerce.ErrNotFound) {
			return 0, err
		}
		if cu != nil {
			doc.Customers = append(doc.Customers, cu)
		}
	}
	for _, id := range p.OrderIDs {
		o, err := com.Order(ctx, shopID, id)
		if errors.Is(err, commerce.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		eo := exportedOrder{Name: o.Name, Email: o.Email, CreatedAt: o.CreatedAt, Currency: o.Currency, TotalMinor: o.TotalMinor,
			ShippingAddress: o.ShippingAddress}
		for _, li := range o.LineItems {
			eo.Items = append(eo.Items, exportedItem{Title: li.Title, Variant: li.VariantTitle, Quantity: li.Quantity})
		}
		for _, f := range o.Fulfillments {
			eo.Shipments = append(eo.Shipments, exportedShip{Carrier: f.Carrier, TrackingNumber: f.TrackingNumber, DeliveredAt: f.DeliveredAt})
		}
		doc.Orders = append(doc.Orders, eo)
	}
	if doc.Tickets, err = r.Tickets.With(tx).ExportPerson(ctx, shopID, p.CustomerIDs, p.OrderIDs, p.Emails); err != nil {
		return 0, err
	}
	if doc.Returns, err = r.Returns.With(tx).ExportForOrders(ctx, shopID, p.OrderIDs, p.OrderExternalIDs); err != nil {
		return 0, err
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return 0, err
	}
	id, err := r.Store.With(tx).Insert(ctx, &Request{ShopID: shopID, Kind: KindDataRequest, CustomerExternalID: c.ExternalID,
		CustomerEmail: strings.ToLower(strings.TrimSpace(c.Email)), RequestID: requestID, Document: string(body),
		Summary: fmt.Sprintf("%d orders, %d conversations, %d returns", len(doc.Orders), len(doc.Tickets), len(doc.Returns)), ReceivedAt: r.now()})
	if err != nil {
		return 0, err
	}
	return id, r.Audit.With(tx).Record(ctx, shopID, audit.Entry{At: r.now(), Actor: audit.Actor{Kind: audit.ActorSystem, Label: "Shopify"},
		Action: ActionDataRequested, Subject: customerSubject(c), Outcome: audit.OutcomeOK, Details: map[string]any{"request": id}})
}

// EraseCustomer forgets the customer: their tickets, returns, orders and
// customer records, the webhook events that carried them (the request's
// own, event, keeps its row without its body), their exports, and their
// name in the audit log. It says what went, in counts.
func (r *Requests) EraseCustomer(ctx context.Context, tx *database.Tx, shopID int64, c Customer, event int64) (string, error) {
	com := r.Commerce.With(tx)
	p, err := com.FindPerson(ctx, shopID, c.ExternalID, c.Email, c.OrderExternalIDs)
	if err != nil {
		return "", err
	}
	if c.Phone != "" {
		p.Phones = append(p.Phones, c.Phone)
	}
	tickets, err := r.Tickets.With(tx).ErasePerson(ctx, shopID, p.CustomerIDs, p.OrderIDs, p.Emails)
	if err != nil {
		return "", err
	}
	rets, err := r.Returns.With(tx).EraseForOrders(ctx, shopID, p.OrderIDs, p.OrderExternalIDs)
	if err != nil {
		return "", err
	}
	if err := com.ErasePerson(ctx, shopID, p); err != nil {
		return "", err
	}
	// Webhook events that carried them: their addresses and phone numbers,
	// and the platform's ids of them and their orders as Shopify writes
	// them into every payload.
	needles := append(append([]string{}, p.Emails...), p.Phones...)
	if c.ExternalID != "" {
		needles = append(needles, "gid://shopify/customer/"+c.ExternalID+`"`)
	}
	for _, id := range p.OrderExternalIDs {
		needles = append(needles, "gid://shopify/order/"+id+`"`)
	}
	events, err := r.Events.With(tx).EraseMatching(ctx, shopID, event, needles)
	if err != nil {
		return "", err
	}
	if event != 0 {
		if err := r.Events.With(tx).ForgetBody(ctx, shopID, event); err != nil {
			return "", err
		}
	}
	if err := r.Store.With(tx).EraseCustomer(ctx, shopID, c.ExternalID, p.Emails); err != nil {
		return "", err
	}
	shopperIDs := []string{}
	if c.ExternalID != "" {
		shopperIDs = append(shopperIDs, c.ExternalID)
	}
	words := append(append(append(append([]string{}, p.Emails...), p.Names...), p.Phones...), p.OrderNames...)
	if err := r.Audit.With(tx).EraseNaming(ctx, shopID, shopperIDs, words); err != nil {
		return "", err
	}
	summary := fmt.Sprintf("erased %d customer records, %d orders, %d conversations, %d returns, %d webhook events",
		len(p.CustomerIDs), len(p.OrderIDs), tickets, rets, events)
	if _, err := r.Store.With(tx).Insert(ctx, &Request{ShopID: shopID, Kind: KindCustomersRedact, CustomerExternalID: c.ExternalID,
		Summary: summary, ReceivedAt: r.now()}); err != nil {
		return "", err
	}
	return summary, r.Audit.With(tx).Record(ctx, shopID, audit.Entry{At: r.now(), Actor: audit.Actor{Kind: audit.ActorSystem, Label: "Shopify"},
		Action: ActionCustomerErased, Subject: customerSubject(c), Outcome: audit.OutcomeOK})
}

// EraseShop forgets every shopper of the shop: all commerce data,
// tickets, returns, webhook events (the request's own keeps its row
// without its body), exports, and shoppers in the audit log. The shop,
// its staff, settings and saved replies stay: the merchant may install
// again.
func (r *Requests) EraseShop(ctx context.Context, tx *database.Tx, shopID int64, event int64) (string, error) {
	tickets, err := r.Tickets.With(tx).EraseAll(ctx, shopID)
	if err != nil {
		return "", err
	}
	rets, err := r.Returns.With(tx).EraseAll(ctx, shopID)
	if err != nil {
		return "", err
	}
	if err := r.Commerce.With(tx).EraseAll(ctx, shopID); err != nil {
		return "", err
	}
	events, err := r.Events.With(tx).EraseAll(ctx, shopID, event)
	if err != nil {
		return "", err
	}
	if event != 0 {
		if err := r.Events.With(tx).ForgetBody(ctx, shopID, event); err != nil {
			return "", err
		}
	}
	if err := r.Store.With(tx).EraseAll(ctx, shopID); err != nil {
		return "", err
	}
	if err := r.Audit.With(tx).EraseShoppers(ctx, shopID); err != nil {
		return "", err
	}
	summary := fmt.Sprintf("erased every customer and order, %d conversations, %d returns, %d webhook events", tickets, rets, events)
	if _, err := r.Store.With(tx).Insert(ctx, &Request{ShopID: shopID, Kind: KindShopRedact, Summary: summary, ReceivedAt: r.now()}); err != nil {
		return "", err
	}
	return summary, r.Audit.With(tx).Record(ctx, shopID, audit.Entry{At: r.now(), Actor: audit.Actor{Kind: audit.ActorSystem, Label: "Shopify"},
		Action: ActionShopDataErased, Subject: "shop", Outcome: audit.OutcomeOK})
}

// Download returns a data request's export for an admin, and audits that
// it left hubdesk. ErrNotFound for another shop's id, an erasure, or an
// export erased since.
func (r *Requests) Download(ctx context.Context, shopID, id int64, actor audit.Actor) (*Request, error) {
	var req *Request
	err := r.DB.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if req, err = r.Store.With(tx).Get(ctx, shopID, id); err != nil {
			return err
		}
		if req.Kind != KindDataRequest || req.Document == "" {
			return ErrNotFound
		}
		if err := r.Store.With(tx).MarkDownloaded(ctx, shopID, id, r.now()); err != nil {
			return err
		}
		return r.Audit.With(tx).Record(ctx, shopID, audit.Entry{At: r.now(), Actor: actor, Action: ActionExportDownload,
			Subject: fmt.Sprintf("privacy request %d", id), Outcome: audit.OutcomeOK})
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

// customerSubject names a request's customer in the audit log by the
// platform's id only: the log outlives an erasure.
func customerSubject(c Customer) string {
	if c.ExternalID != "" {
		return "customer " + c.ExternalID
	}
	return "customer"
}
