package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// Changes to the shop, as a merchant or a carrier makes them. Each one
// stores a new copy of the order (never an edit in place) and reports
// what Shopify would send as webhooks through Options.OnChange: the topic
// and the REST-shaped body (contract §3: snake_case, numeric ids,
// admin_graphql_api_id, updated_at).

// ErrUnknown is returned for an order or customer the shop does not have.
var ErrUnknown = errors.New("shopify sandbox: no such order or customer")

// ErrState is returned for a change the order's state does not allow
// (fulfilling a cancelled order, delivering an unfulfilled one).
var ErrState = errors.New("shopify sandbox: not possible in the order's state")

// NewLine is a line of an order to create: a catalogue product by index
// (wrapping) and a quantity.
type NewLine struct {
	Product  int
	Quantity int
}

// change is a webhook the sandbox reports once the lock is released.
type change struct {
	topic   string
	payload []byte
}

func (s *Sandbox) emit(topic string, payload []byte) {
	if s.opts.OnChange != nil {
		s.opts.OnChange(topic, payload)
	}
	s.deliverChange(topic, payload)
}

func (s *Sandbox) emitAll(cs []change) {
	for _, c := range cs {
		s.emit(c.topic, c.payload)
	}
}

// stamp is now, to the second, and strictly after prev, so that every
// change carries a newer updated_at than the one before it.
func (s *Sandbox) stamp(prev time.Time) time.Time {
	t := s.opts.Now().UTC().Truncate(time.Second)
	if !t.After(prev) {
		t = prev.Add(time.Second)
	}
	return t
}

// cloneOrder deep-copies what a change may modify.
func cloneOrder(o *shopify.Order) *shopify.Order {
	cp := *o
	cp.Customer = nil // stored orders name their customer through orderCust / the seed
	cp.LineItems.Nodes = slices.Clone(o.LineItems.Nodes)
	cp.Fulfillments = make([]shopify.Fulfillment, len(o.Fulfillments))
	for i, f := range o.Fulfillments {
		f.TrackingInfo = slices.Clone(f.TrackingInfo)
		f.FulfillmentLineItems.Nodes = slices.Clone(f.FulfillmentLineItems.Nodes)
		cp.Fulfillments[i] = f
	}
	return &cp
}

// CreateOrder places a paid, unfulfilled order for a customer (numeric id)
// and returns its numeric id. No lines: one catalogue item.
func (s *Sandbox) CreateOrder(customerID string, lines ...NewLine) (string, error) {
	cid, err := strconv.ParseInt(customerID, 10, 64)
	if err != nil {
		return "", ErrUnknown
	}
	if len(lines) == 0 {
		lines = []NewLine{{Product: 0, Quantity: 1}}
	}
	s.dmu.Lock()
	d := s.data
	cust := d.customerByID(cid)
	if cust == nil {
		s.dmu.Unlock()
		return "", ErrUnknown
	}
	id := d.nextID
	d.nextID++
	now := s.stamp(time.Time{})
	o := &shopify.Order{
		ID: shopify.GID("Order", strconv.FormatInt(id, 10)), Name: "#" + strconv.FormatInt(firstOrderName+(id-firstOrderID), 10),
		Email: cust.Email(), CreatedAt: now, UpdatedAt: now, CurrencyCode: "USD",
		DisplayFinancialStatus: "PAID", DisplayFulfillmentStatus: "UNFULFILLED", ReturnStatus: "NO_RETURN",
	}
	if cust.DefaultAddress != nil {
		a := *cust.DefaultAddress
		o.ShippingAddress = &a
	}
	var subtotal int64
	for j, l := range lines {
		p := catalogue[((l.Product%len(catalogue))+len(catalogue))%len(catalogue)]
		qty := max(l.Quantity, 1)
		o.LineItems.Nodes = append(o.LineItems.Nodes, d.lineItem(id, j, p, qty))
		subtotal += p.cents * int64(qty)
	}
	setTotals(o, subtotal, 595, subtotal*8/100)
	d.orders[id] = o
	d.orderCust[id] = cid
	d.created = append(d.created, id)
	full := d.orderByID(id)
	cs := []change{{"orders/create", restOrderJSON(full)}, {"orders/paid", restOrderJSON(full)}}
	s.dmu.Unlock()
	s.emitAll(cs)
	return strconv.FormatInt(id, 10), nil
}

// editOrder applies fn to a fresh copy of an order and stores it.
func (s *Sandbox) editOrder(orderID string, fn func(o *shopify.Order, now time.Time) ([]change, error)) error {
	id, err := strconv.ParseInt(shopify.LegacyID(orderID), 10, 64)
	if err != nil {
		return ErrUnknown
	}
	s.dmu.Lock()
	d := s.data
	cur := d.orderByID(id)
	if cur == nil {
		s.dmu.Unlock()
		return ErrUnknown
	}
	o := cloneOrder(cur)
	now := s.stamp(o.UpdatedAt)
	cs, err := fn(o, now)
	if err != nil {
		s.dmu.Unlock()
		return err
	}
	o.UpdatedAt = now
	d.orders[id] = o
	full := d.orderByID(id)
	for i := range cs {
		if cs[i].payload == nil { // the order itself, as stored now
			cs[i].payload = restOrderJSON(full)
		}
	}
	s.dmu.Unlock()
	s.emitAll(cs)
	return nil
}

// Fulfill ships every line not yet shipped with a carrier and tracking
// number (defaults UPS and a made-up number); the fulfillment starts
// CONFIRMED. It returns the fulfillment's numeric id.
func (s *Sandbox) Fulfill(orderID, carrier, trackingNumber string) (string, error) {
	var fid string
	err := s.editOrder(orderID, func(o *shopify.Order, now time.Time) ([]change, error) {
		if o.CancelledAt != nil {
			return nil, fmt.Errorf("%w: the order is cancelled", ErrState)
		}
		shipped := map[string]int{}
		for _, f := range o.Fulfillments {
			if f.Status == "SUCCESS" {
				for _, fli := range f.FulfillmentLineItems.Nodes {
					shipped[fli.LineItem.ID] += fli.Quantity
				}
			}
		}
		legacyOrder, _ := strconv.ParseInt(shopify.LegacyID(o.ID), 10, 64)
		n := len(o.Fulfillments)
		if carrier == "" {
			carrier = "UPS"
		}
		if trackingNumber == "" {
			trackingNumber = fmt.Sprintf("1Z%010d%d", legacyOrder%10_000_000_000, n)
		}
		url := ""
		for _, c := range carriers {
			if strings.EqualFold(c.name, carrier) {
				url = c.url + trackingNumber
			}
		}
		f := fulfillment(legacyOrder, n, now, carrier, url)
		f.TrackingInfo[0].Number = trackingNumber
		f.DisplayStatus = "CONFIRMED"
		for j, li := range o.LineItems.Nodes {
			left := li.CurrentQuantity - shipped[li.ID]
			if left <= 0 {
				continue
			}
			fli := shopify.FulfillmentLineItem{ID: shopify.GID("FulfillmentLineItem", strconv.FormatInt(legacyOrder*100+int64(n*10+j), 10)), Quantity: left}
			fli.LineItem.ID = li.ID
			f.FulfillmentLineItems.Nodes = append(f.FulfillmentLineItems.Nodes, fli)
		}
		if len(f.FulfillmentLineItems.Nodes) == 0 {
			return nil, fmt.Errorf("%w: nothing left to ship", ErrState)
		}
		o.Fulfillments = append(o.Fulfillments, f)
		o.DisplayFulfillmentStatus = fulfillmentStatusOf(o)
		fid = shopify.LegacyID(f.ID)
		cs := []change{{"fulfillments/create", restFulfillmentJSON(o, &f)}, {"orders/updated", nil}}
		if o.DisplayFulfillmentStatus == "FULFILLED" {
			cs = append(cs, change{"orders/fulfilled", nil})
		}
		return cs, nil
	})
	return fid, err
}

// carrierUpdate moves an order's latest live fulfillment (or the one
// named) to a carrier status.
func (s *Sandbox) carrierUpdate(orderID, fulfillmentID, displayStatus string) error {
	return s.editOrder(orderID, func(o *shopify.Order, now time.Time) ([]change, error) {
		idx := -1
		for i, f := range o.Fulfillments {
			if f.Status == "SUCCESS" && (fulfillmentID == "" || shopify.LegacyID(f.ID) == shopify.LegacyID(fulfillmentID)) {
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("%w: no shipment to update", ErrState)
		}
		f := &o.Fulfillments[idx]
		f.DisplayStatus, f.UpdatedAt = displayStatus, now
		switch displayStatus {
		case "IN_TRANSIT":
			f.InTransitAt = &now
		case "OUT_FOR_DELIVERY":
			if f.InTransitAt == nil {
				f.InTransitAt = &now
			}
		case "DELIVERED":
			if f.InTransitAt == nil {
				f.InTransitAt = &now
			}
			f.DeliveredAt = &now
		}
		cs := []change{{"fulfillments/update", restFulfillmentJSON(o, f)}}
		if ev := eventStatus(displayStatus); ev != "" {
			cs = append(cs, change{"fulfillment_events/create", restFulfillmentEventJSON(o, f, ev, now)})
		}
		return append(cs, change{"orders/updated", nil}), nil
	})
}

// MarkInTransit, MarkOutForDelivery and MarkDelivered are the carrier's
// scans of the order's latest shipment (fulfillmentID "" for it).
func (s *Sandbox) MarkInTransit(orderID, fulfillmentID string) error {
	return s.carrierUpdate(orderID, fulfillmentID, "IN_TRANSIT")
}

func (s *Sandbox) MarkOutForDelivery(orderID, fulfillmentID string) error {
	return s.carrierUpdate(orderID, fulfillmentID, "OUT_FOR_DELIVERY")
}

func (s *Sandbox) MarkDelivered(orderID, fulfillmentID string) error {
	return s.carrierUpdate(orderID, fulfillmentID, "DELIVERED")
}

// Cancel cancels an order that has not shipped, refunding it in full:
// orders/cancelled, refunds/create (every line, restock type cancel, and
// one refund transaction of the total) and orders/updated.
func (s *Sandbox) Cancel(orderID string) error {
	return s.editOrder(orderID, func(o *shopify.Order, now time.Time) ([]change, error) {
		if o.CancelledAt != nil {
			return nil, fmt.Errorf("%w: already cancelled", ErrState)
		}
		for _, f := range o.Fulfillments {
			if f.Status == "SUCCESS" {
				return nil, fmt.Errorf("%w: already shipped", ErrState)
			}
		}
		o.CancelledAt = &now
		o.DisplayFinancialStatus = "REFUNDED"
		s.data.refunded[num(o.ID)] = refunded{cents: cents(&o.TotalPriceSet), count: s.data.refunded[num(o.ID)].count + 1}
		return []change{{"orders/cancelled", nil}, {"refunds/create", restCancelRefundJSON(o, now)}, {"orders/updated", nil}}, nil
	})
}

// refunded is what an order's refunds gave back so far: the money, in
// cents, and how many refunds there were (the next refund's id follows).
type refunded struct {
	cents int64
	count int
}

// RefundLine asks for units of one of the order's lines to be refunded:
// the line item's id (numeric or gid) and how many.
type RefundLine struct {
	LineItemID string
	Quantity   int
}

// RefundRequest is a merchant's refund: lines given back (their units
// leave the order's current quantity, and the stock when Restock), and an
// amount in cents — 0 gives back what the lines are worth. An amount alone
// refunds money without items.
type RefundRequest struct {
	Lines       []RefundLine
	AmountCents int64
	Restock     bool
}

// Refund refunds part or all of an order as the merchant would in
// Shopify's admin: refunds/create (its refund_line_items and one
// successful refund transaction of the amount), then orders/updated with
// the financial status partially refunded or, once the total is back,
// refunded. It returns the refund's numeric id. Refunding more units than
// a line still has, or more money than is left, is ErrState.
func (s *Sandbox) Refund(orderID string, req RefundRequest) (string, error) {
	var rid string
	err := s.editOrder(orderID, func(o *shopify.Order, now time.Time) ([]change, error) {
		oid := num(o.ID)
		prev := s.data.refunded[oid]
		left := cents(&o.TotalPriceSet) - prev.cents
		if left <= 0 {
			return nil, fmt.Errorf("%w: nothing left to refund", ErrState)
		}
		restock := "no_restock"
		if req.Restock {
			restock = "return"
		}
		var worth int64
		lines := []map[string]any{}
		for k, rl := range req.Lines {
			if rl.Quantity <= 0 {
				continue
			}
			j := slices.IndexFunc(o.LineItems.Nodes, func(li shopify.LineItem) bool {
				return shopify.LegacyID(li.ID) == shopify.LegacyID(rl.LineItemID)
			})
			if j < 0 {
				return nil, fmt.Errorf("%w: the order has no line %s", ErrState, rl.LineItemID)
			}
			li := &o.LineItems.Nodes[j]
			if rl.Quantity > li.CurrentQuantity {
				return nil, fmt.Errorf("%w: line %s has %d left to refund", ErrState, rl.LineItemID, li.CurrentQuantity)
			}
			li.CurrentQuantity -= rl.Quantity
			sub := cents(li.OriginalUnitPriceSet) * int64(rl.Quantity)
			worth += sub
			m := money(sub)
			lines = append(lines, map[string]any{
				"id": oid*1000 + int64(prev.count*100+k), "line_item_id": num(li.ID), "quantity": rl.Quantity, "restock_type": restock,
				"subtotal": m.ShopMoney.Amount, "subtotal_set": map[string]any{"shop_money": map[string]any{"amount": m.ShopMoney.Amount, "currency_code": o.CurrencyCode}},
			})
		}
		amount := req.AmountCents
		if amount == 0 {
			amount = min(worth, left)
		}
		if amount <= 0 && len(lines) == 0 {
			return nil, fmt.Errorf("%w: choose lines or an amount to refund", ErrState)
		}
		if amount < 0 || amount > left {
			return nil, fmt.Errorf("%w: %s left to refund", ErrState, money(left).ShopMoney.Amount)
		}
		id := oid*100 + int64(prev.count) + 1
		rid = strconv.FormatInt(id, 10)
		s.data.refunded[oid] = refunded{cents: prev.cents + amount, count: prev.count + 1}
		o.DisplayFinancialStatus = "PARTIALLY_REFUNDED"
		if prev.cents+amount >= cents(&o.TotalPriceSet) {
			o.DisplayFinancialStatus = "REFUNDED"
		}
		transactions := []map[string]any{}
		if amount > 0 {
			transactions = append(transactions, map[string]any{"id": id, "order_id": oid, "kind": "refund", "status": "success",
				"amount": money(amount).ShopMoney.Amount, "currency": o.CurrencyCode})
		}
		b, _ := json.Marshal(map[string]any{
			"id": id, "admin_graphql_api_id": shopify.GID("Refund", rid), "order_id": oid,
			"created_at": now.UTC(), "processed_at": now.UTC(), "restock": req.Restock, "note": nil,
			"refund_line_items": lines, "transactions": transactions, "order_adjustments": []any{},
		})
		return []change{{"refunds/create", b}, {"orders/updated", nil}}, nil
	})
	return rid, err
}

// cents is a money bag's shop amount in cents.
func cents(m *shopify.MoneyBag) int64 {
	if m == nil {
		return 0
	}
	whole, frac, _ := strings.Cut(m.ShopMoney.Amount, ".")
	frac = (frac + "00")[:2]
	n, _ := strconv.ParseInt(whole+frac, 10, 64)
	return n
}

// CustomerUpdate changes a customer's name or email ("" keeps a value).
type CustomerUpdate struct {
	FirstName, LastName, Email, Phone string
}

// UpdateCustomer changes a customer (numeric id).
func (s *Sandbox) UpdateCustomer(customerID string, u CustomerUpdate) error {
	cid, err := strconv.ParseInt(shopify.LegacyID(customerID), 10, 64)
	if err != nil {
		return ErrUnknown
	}
	s.dmu.Lock()
	d := s.data
	cur := d.customerByID(cid)
	if cur == nil {
		s.dmu.Unlock()
		return ErrUnknown
	}
	c := *cur
	if c.DefaultAddress != nil {
		a := *c.DefaultAddress
		c.DefaultAddress = &a
	}
	if u.FirstName != "" {
		c.FirstName = u.FirstName
	}
	if u.LastName != "" {
		c.LastName = u.LastName
	}
	if u.Email != "" {
		c.DefaultEmailAddress = &shopify.EmailAddress{EmailAddress: u.Email}
	}
	if u.Phone != "" {
		c.Phone = u.Phone
	}
	c.UpdatedAt = s.stamp(cur.UpdatedAt)
	d.custEdits[cid] = &c
	payload := restCustomerJSON(&c)
	s.dmu.Unlock()
	s.emit("customers/update", payload)
	return nil
}

// Order is an order as the Admin API would answer it (tests, the admin
// page); nil when unknown.
func (s *Sandbox) Order(orderID string) *shopify.Order {
	id, err := strconv.ParseInt(shopify.LegacyID(orderID), 10, 64)
	if err != nil {
		return nil
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	return s.data.orderByID(id)
}

// CustomerOrderIDs are a customer's order ids, newest first.
func (s *Sandbox) CustomerOrderIDs(customerID string) []string {
	cid, err := strconv.ParseInt(shopify.LegacyID(customerID), 10, 64)
	if err != nil {
		return nil
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	var out []string
	for _, id := range s.data.customerOrderIDs(cid) {
		out = append(out, strconv.FormatInt(id, 10))
	}
	return out
}

// OrderCount is how many orders the shop has.
func (s *Sandbox) OrderCount() int {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	return int(s.data.seeded) + len(s.data.created)
}

func eventStatus(displayStatus string) string {
	switch displayStatus {
	case "IN_TRANSIT":
		return "in_transit"
	case "OUT_FOR_DELIVERY":
		return "out_for_delivery"
	case "DELIVERED":
		return "delivered"
	case "ATTEMPTED_DELIVERY":
		return "attempted_delivery"
	case "FAILURE":
		return "failure"
	}
	return ""
}

// mergeJSON copies v's JSON fields into m.
func mergeJSON(m map[string]any, v any) {
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &m)
}
