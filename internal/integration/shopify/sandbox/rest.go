package sandbox

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// Webhook bodies in Shopify's REST shape (contract §3): snake_case,
// numeric ids beside admin_graphql_api_id, lowercase statuses, prices as
// decimal strings.

func num(gid string) int64 {
	n, _ := strconv.ParseInt(shopify.LegacyID(gid), 10, 64)
	return n
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

func amount(m *shopify.MoneyBag) string {
	if m == nil {
		return "0.00"
	}
	return m.PresentmentMoney.Amount
}

func restAddress(a *shopify.MailingAddress) any {
	if a == nil {
		return nil
	}
	first, last, _ := strings.Cut(a.Name, " ")
	return map[string]any{
		"name": a.Name, "first_name": first, "last_name": last, "address1": a.Address1, "address2": a.Address2,
		"city": a.City, "province": a.Province, "province_code": a.Province, "zip": a.Zip,
		"country_code": a.CountryCodeV2, "phone": a.Phone,
	}
}

func restCustomer(c *shopify.Customer) map[string]any {
	m := map[string]any{
		"id": num(c.ID), "admin_graphql_api_id": c.ID, "email": c.Email(), "first_name": c.FirstName, "last_name": c.LastName,
		"phone": nilIfEmpty(c.Phone), "created_at": c.CreatedAt.UTC(), "updated_at": c.UpdatedAt.UTC(),
		"default_address": nil,
	}
	if c.DefaultAddress != nil {
		a := restAddress(c.DefaultAddress).(map[string]any)
		a["default"] = true
		a["customer_id"] = num(c.ID)
		m["default_address"] = a
	}
	return m
}

func restCustomerJSON(c *shopify.Customer) []byte {
	b, _ := json.Marshal(restCustomer(c))
	return b
}

// shipmentStatus is REST's fulfillment shipment_status for a displayStatus.
func shipmentStatus(display string) any {
	switch display {
	case "", "FULFILLED":
		return nil
	}
	return strings.ToLower(display)
}

func restFulfillment(o *shopify.Order, f *shopify.Fulfillment) map[string]any {
	lines := make([]map[string]any, 0, len(f.FulfillmentLineItems.Nodes))
	for _, fli := range f.FulfillmentLineItems.Nodes {
		lines = append(lines, map[string]any{"id": num(fli.LineItem.ID), "admin_graphql_api_id": fli.LineItem.ID,
			"quantity": fli.Quantity, "fulfillment_line_item_id": num(fli.ID)})
	}
	m := map[string]any{
		"id": num(f.ID), "admin_graphql_api_id": f.ID, "order_id": num(o.ID), "name": o.Name + ".1",
		"status": strings.ToLower(f.Status), "shipment_status": shipmentStatus(f.DisplayStatus),
		"created_at": f.CreatedAt.UTC(), "updated_at": f.UpdatedAt.UTC(),
		"tracking_company": nil, "tracking_number": nil, "tracking_url": nil,
		"tracking_numbers": []string{}, "tracking_urls": []string{}, "line_items": lines,
		"estimated_delivery_at": optTime(f.EstimatedDeliveryAt),
	}
	if len(f.TrackingInfo) > 0 {
		t := f.TrackingInfo[0]
		m["tracking_company"], m["tracking_number"], m["tracking_url"] = t.Company, t.Number, t.URL
		nums, urls := []string{}, []string{}
		for _, t := range f.TrackingInfo {
			nums, urls = append(nums, t.Number), append(urls, t.URL)
		}
		m["tracking_numbers"], m["tracking_urls"] = nums, urls
	}
	return m
}

func restFulfillmentJSON(o *shopify.Order, f *shopify.Fulfillment) []byte {
	b, _ := json.Marshal(restFulfillment(o, f))
	return b
}

func restFulfillmentEventJSON(o *shopify.Order, f *shopify.Fulfillment, status string, at time.Time) []byte {
	id := at.UnixNano() / 1000
	b, _ := json.Marshal(map[string]any{
		"id": id, "admin_graphql_api_id": shopify.GID("FulfillmentEvent", strconv.FormatInt(id, 10)),
		"fulfillment_id": num(f.ID), "order_id": num(o.ID), "status": status, "message": nil,
		"happened_at": at.UTC(), "created_at": at.UTC(), "updated_at": at.UTC(),
		"estimated_delivery_at": optTime(f.EstimatedDeliveryAt), "shop_id": 1,
	})
	return b
}

// restFulfillmentStatus is the order's REST fulfillment_status.
func restFulfillmentStatus(display string) any {
	switch display {
	case "FULFILLED":
		return "fulfilled"
	case "PARTIALLY_FULFILLED":
		return "partial"
	case "RESTOCKED":
		return "restocked"
	}
	return nil
}

func restOrder(o *shopify.Order) map[string]any {
	lines := make([]map[string]any, 0, len(o.LineItems.Nodes))
	for _, li := range o.LineItems.Nodes {
		l := map[string]any{
			"id": num(li.ID), "admin_graphql_api_id": li.ID, "title": li.Title, "variant_title": li.VariantTitle,
			"sku": li.SKU, "quantity": li.Quantity, "current_quantity": li.CurrentQuantity, "fulfillable_quantity": li.CurrentQuantity,
			"price": amount(li.OriginalUnitPriceSet), "variant_id": nil, "product_exists": li.Variant != nil,
		}
		if li.Variant != nil {
			l["variant_id"] = num(li.Variant.ID)
		}
		lines = append(lines, l)
	}
	fuls := make([]map[string]any, 0, len(o.Fulfillments))
	for i := range o.Fulfillments {
		fuls = append(fuls, restFulfillment(o, &o.Fulfillments[i]))
	}
	m := map[string]any{
		"id": num(o.ID), "admin_graphql_api_id": o.ID, "name": o.Name, "order_number": num(o.ID) - firstOrderID + firstOrderName,
		"email": o.Email, "contact_email": o.Email, "created_at": o.CreatedAt.UTC(), "updated_at": o.UpdatedAt.UTC(),
		"processed_at": o.CreatedAt.UTC(), "cancelled_at": optTime(o.CancelledAt), "currency": o.CurrencyCode,
		"presentment_currency": o.CurrencyCode,
		"financial_status":     strings.ToLower(o.DisplayFinancialStatus), "fulfillment_status": restFulfillmentStatus(o.DisplayFulfillmentStatus),
		"total_price": o.TotalPriceSet.PresentmentMoney.Amount, "subtotal_price": amount(o.SubtotalPriceSet),
		"total_tax": amount(o.TotalTaxSet), "total_shipping_price_set": map[string]any{"presentment_money": map[string]any{"amount": amount(o.TotalShippingPriceSet), "currency_code": o.CurrencyCode}},
		"shipping_address": restAddress(o.ShippingAddress), "line_items": lines, "fulfillments": fuls,
		"customer": nil,
	}
	if o.CancelledAt != nil {
		m["cancel_reason"] = "customer"
	}
	if o.Customer != nil {
		m["customer"] = restCustomer(o.Customer)
	}
	return m
}

func restOrderJSON(o *shopify.Order) []byte {
	b, _ := json.Marshal(restOrder(o))
	return b
}

// restCancelRefundJSON is the refunds/create body of a cancellation's
// full refund at now: every line at its unit price times its quantity,
// and the order's total given back in one successful transaction.
func restCancelRefundJSON(o *shopify.Order, now time.Time) []byte {
	oid := num(o.ID)
	lines := make([]map[string]any, 0, len(o.LineItems.Nodes))
	for j, li := range o.LineItems.Nodes {
		unit, _ := strconv.ParseFloat(amount(li.OriginalUnitPriceSet), 64)
		sub := strconv.FormatFloat(unit*float64(li.CurrentQuantity), 'f', 2, 64)
		lines = append(lines, map[string]any{
			"id": oid*10 + int64(j), "line_item_id": num(li.ID), "quantity": li.CurrentQuantity, "restock_type": "cancel",
			"subtotal": sub, "subtotal_set": map[string]any{"shop_money": map[string]any{"amount": sub, "currency_code": o.CurrencyCode}},
		})
	}
	b, _ := json.Marshal(map[string]any{
		"id": oid, "admin_graphql_api_id": shopify.GID("Refund", strconv.FormatInt(oid, 10)), "order_id": oid,
		"created_at": now.UTC(), "processed_at": now.UTC(), "restock": true, "refund_line_items": lines,
		"transactions": []map[string]any{{"id": oid, "order_id": oid, "kind": "refund", "status": "success",
			"amount": o.TotalPriceSet.ShopMoney.Amount, "currency": o.CurrencyCode}},
		"order_adjustments": []any{},
	})
	return b
}
