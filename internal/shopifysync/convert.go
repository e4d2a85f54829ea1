package shopifysync

import (
	"strings"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// Shopify's objects in hubdesk's model. Ids are Shopify's numeric ones
// (the gid's tail): what REST webhooks, the App Proxy's
// logged_in_customer_id and cart permalinks use, so every path names an
// order or customer the same way. Statuses take their REST spelling
// (lowercase; shipment_status for a fulfillment's displayStatus).

// toCustomer is the Shopify customer as hubdesk stores it.
func toCustomer(c *shopify.Customer) *commerce.Customer {
	if c == nil || c.ID == "" {
		return nil
	}
	out := &commerce.Customer{
		ExternalID: shopify.LegacyID(c.ID), Email: c.Email(), FirstName: c.FirstName, LastName: c.LastName,
		Phone: c.Phone, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if a := c.DefaultAddress; a != nil {
		out.DefaultAddress = toAddress(a)
	}
	return out
}

func toAddress(a *shopify.MailingAddress) commerce.Address {
	return commerce.Address{Name: a.Name, Address1: a.Address1, Address2: a.Address2, City: a.City,
		Province: a.Province, Zip: a.Zip, CountryCode: a.CountryCodeV2, Phone: a.Phone}
}

// toOrder is the Shopify order as hubdesk stores it, and its customer
// (nil for a guest checkout).
func toOrder(o *shopify.Order) (commerce.Order, *commerce.Customer) {
	money := o.TotalPriceSet.PresentmentMoney
	currency := money.CurrencyCode
	if currency == "" {
		currency = o.CurrencyCode
	}
	out := commerce.Order{
		ExternalID: shopify.LegacyID(o.ID), Name: o.Name, Email: o.Email,
		FinancialStatus:   strings.ToLower(o.DisplayFinancialStatus),
		FulfillmentStatus: fulfillmentStatus(o.DisplayFulfillmentStatus),
		Currency:          currency, TotalMinor: minor(money.Amount, currency),
		SubtotalMinor: minorOf(o.SubtotalPriceSet, currency), ShippingMinor: minorOf(o.TotalShippingPriceSet, currency),
		TaxMinor: minorOf(o.TotalTaxSet, currency), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, CancelledAt: o.CancelledAt,
	}
	if a := o.ShippingAddress; a != nil {
		out.ShippingAddress = toAddress(a)
	}
	for _, li := range o.LineItems.Nodes {
		item := commerce.LineItem{
			ExternalID: shopify.LegacyID(li.ID), SKU: li.SKU, Title: li.Title, VariantTitle: li.VariantTitle,
			Quantity: li.Quantity, CurrentQuantity: li.CurrentQuantity, PriceMinor: minorOf(li.OriginalUnitPriceSet, currency),
		}
		if strings.TrimSpace(item.Title) == "" {
			item.Title = "Item"
		}
		if li.Variant != nil {
			item.VariantID = li.Variant.LegacyResourceID
			if item.VariantID == "" {
				item.VariantID = shopify.LegacyID(li.Variant.ID)
			}
			item.VariantAvailable = li.Variant.AvailableForSale
		}
		if li.Image != nil {
			item.ImageURL = li.Image.URL
		}
		out.LineItems = append(out.LineItems, item)
	}
	for _, f := range o.Fulfillments {
		ff := commerce.Fulfillment{
			ExternalID: shopify.LegacyID(f.ID), Status: strings.ToLower(f.Status), ShipmentStatus: commerce.ShipmentStatusOf(f.DisplayStatus),
			CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt, InTransitAt: f.InTransitAt, DeliveredAt: f.DeliveredAt,
			EstimatedDeliveryAt: f.EstimatedDeliveryAt,
		}
		if len(f.TrackingInfo) > 0 {
			t := f.TrackingInfo[0]
			ff.Carrier, ff.TrackingNumber, ff.TrackingURL = t.Company, t.Number, t.URL
		}
		// GraphQL gives no out-for-delivery time: the step stays undated
		// (fulfillment events date it).
		for _, fli := range f.FulfillmentLineItems.Nodes {
			if id := shopify.LegacyID(fli.LineItem.ID); id != "" {
				ff.LineItems = append(ff.LineItems, commerce.FulfillmentLine{LineItemID: id, Quantity: max(fli.Quantity, 0)})
			}
		}
		out.Fulfillments = append(out.Fulfillments, ff)
	}
	return out, toCustomer(o.Customer)
}

// fulfillmentStatus is REST's order fulfillment_status for GraphQL's
// displayFulfillmentStatus.
func fulfillmentStatus(display string) string {
	switch display {
	case "FULFILLED":
		return "fulfilled"
	case "PARTIALLY_FULFILLED":
		return "partial"
	case "RESTOCKED":
		return "restocked"
	case "", "UNFULFILLED":
		return ""
	}
	return strings.ToLower(display)
}

func minorOf(m *shopify.MoneyBag, currency string) int64 {
	if m == nil {
		return 0
	}
	return minor(m.PresentmentMoney.Amount, currency)
}

func minor(amount, currency string) int64 {
	if amount == "" {
		return 0
	}
	n, err := commerce.ParseAmount(amount, currency)
	if err != nil {
		return 0
	}
	return n
}
