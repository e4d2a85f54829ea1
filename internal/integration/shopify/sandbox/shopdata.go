package sandbox

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// The shop's data as the Admin API serves it. Seeded orders are not kept
// in memory: order i is computed from i whenever it is read, so a sandbox
// seeded with 100,000 orders costs nothing until an order is changed. A
// change (Fulfill, MarkDelivered, …) materialises that order, and every
// change replaces the stored copy rather than editing it, so a bulk
// operation can snapshot the map cheaply.

// Ids of seeded and created objects. Line items, fulfillments and their
// line items derive their ids from the order's, so no counter is needed.
const (
	firstOrderID    = 5_000_000_000
	firstCustomerID = 8_000_000_000
	firstOrderName  = 1001
)

type shopData struct {
	now        func() time.Time
	storefront []Customer
	epoch      time.Time // seeded order 0's creation; the rest follow at spacing
	spacing    time.Duration
	seeded     int64
	customers  []int64 // every customer's numeric id: the storefront's, then generated ones
	custIndex  map[int64]int
	orders     map[int64]*shopify.Order    // materialised orders (changed seeded ones, created ones)
	custEdits  map[int64]*shopify.Customer // changed customers
	orderCust  map[int64]int64             // created order → customer id
	refunded   map[int64]refunded          // what each refunded order gave back so far
	created    []int64                     // ids of created orders, ascending
	nextID     int64
	subs       map[string]*shopify.WebhookSubscription
	nextSub    int
	bulk       *bulkOp
	bulkSeq    int
	imageURL   func(sku, title string) string
}

// product is one item of the sandbox catalogue.
type product struct {
	title, variant, sku string
	cents               int64
	variantID           int64
	available           bool
}

var catalogue = []product{
	{"Ceramic Mug", "Sand / 350 ml", "MUG-SND-350", 2400, 44000000001, true},
	{"Linen Apron", "Olive", "APR-OLV", 3800, 44000000002, true},
	{"Loose Leaf Tea", "Earl Grey / 100 g", "TEA-EG-100", 1200, 44000000003, true},
	{"Walnut Tray", "Large", "TRY-WAL-L", 6500, 44000000004, true},
	{"Cotton Tote", "Natural", "TOT-NAT", 1800, 44000000005, true},
	{"Pour-over Kettle", "Matte Black", "KET-BLK", 8900, 44000000006, false},
	{"Stoneware Bowl", "Set of 2", "BWL-2", 3200, 44000000007, true},
	{"Beeswax Candle", "Small", "CND-S", 1500, 44000000008, true},
}

var firstNames = []string{"Ava", "Noah", "Mia", "Liam", "Zoe", "Leo", "Ivy", "Eli", "Ruby", "Max", "Lena", "Omar", "Nora", "Finn", "Sara", "Jon"}
var lastNames = []string{"Garcia", "Smith", "Müller", "Rossi", "Dubois", "Jansen", "Kowalski", "Silva", "Brown", "Nguyen", "Khan", "Berg"}
var cities = []struct{ city, zip, country, province string }{
	{"Portland", "97205", "US", "OR"}, {"Austin", "78701", "US", "TX"}, {"Berlin", "10115", "DE", ""},
	{"Lyon", "69002", "FR", ""}, {"Utrecht", "3511", "NL", ""}, {"Toronto", "M5V 2T6", "CA", "ON"},
}
var carriers = []struct{ name, url string }{
	{"UPS", "https://www.ups.com/track?tracknum="}, {"USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="},
	{"DHL Express", "https://www.dhl.com/track?tracking-id="}, {"FedEx", "https://www.fedex.com/fedextrack/?trknbr="},
}

// initData seeds the shop: Options.Orders orders spread over the
// storefront's customers and Options.GeneratedCustomers more.
func (s *Sandbox) initData() {
	d := &shopData{
		now: s.opts.Now, storefront: s.opts.Customers,
		seeded: int64(s.opts.Orders), custIndex: map[int64]int{},
		orders: map[int64]*shopify.Order{}, custEdits: map[int64]*shopify.Customer{},
		orderCust: map[int64]int64{}, refunded: map[int64]refunded{}, imageURL: s.opts.ImageURL,
	}
	for _, c := range d.storefront {
		id, err := strconv.ParseInt(c.ID, 10, 64)
		if err != nil {
			continue // a storefront-only customer without a numeric id
		}
		d.custIndex[id] = len(d.customers)
		d.customers = append(d.customers, id)
	}
	gen := s.opts.GeneratedCustomers
	if gen == 0 {
		gen = max(10, s.opts.Orders/4)
	}
	for k := range gen {
		id := int64(firstCustomerID + k)
		d.custIndex[id] = len(d.customers)
		d.customers = append(d.customers, id)
	}
	// Seeded orders span the last year (at most ten minutes apart), the
	// newest an hour old.
	d.spacing = 10 * time.Minute
	if s.opts.Orders > 0 {
		if sp := 365 * 24 * time.Hour / time.Duration(s.opts.Orders); sp < d.spacing {
			d.spacing = sp
		}
	}
	now := s.opts.Now().UTC().Truncate(time.Second)
	d.epoch = now.Add(-time.Hour - time.Duration(max(s.opts.Orders-1, 0))*d.spacing)
	d.nextID = firstOrderID + d.seeded
	if n := int64(s.opts.NextOrderNumber); n > firstOrderName+d.seeded {
		d.nextID = firstOrderID + n - firstOrderName
	}
	s.data = d
}

func hash(parts ...int64) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		var b [8]byte
		for i := range b {
			b[i] = byte(p >> (8 * i))
		}
		h.Write(b[:])
	}
	return h.Sum64()
}

// customerByID is a customer as stored or generated; nil when unknown.
// The caller holds dmu.
func (d *shopData) customerByID(id int64) *shopify.Customer {
	if c, ok := d.custEdits[id]; ok {
		return c
	}
	k, ok := d.custIndex[id]
	if !ok {
		return nil
	}
	var first, last, email string
	if k < len(d.storefront) {
		sc := d.storefront[k]
		first, last, email = sc.FirstName, sc.LastName, sc.Email
	} else {
		h := hash(id)
		first, last = firstNames[h%uint64(len(firstNames))], lastNames[(h>>8)%uint64(len(lastNames))]
		email = fmt.Sprintf("%s.%s.%d@example.com", lower(first), lower(last), k)
	}
	city := cities[hash(id, 1)%uint64(len(cities))]
	created := d.epoch.Add(-time.Duration(hash(id, 2)%(200*24)) * time.Hour)
	c := &shopify.Customer{
		ID: shopify.GID("Customer", strconv.FormatInt(id, 10)), FirstName: first, LastName: last,
		DefaultAddress: &shopify.MailingAddress{Name: first + " " + last, Address1: fmt.Sprintf("%d Market Street", 1+hash(id, 3)%400),
			City: city.city, Province: city.province, Zip: city.zip, CountryCodeV2: city.country},
		CreatedAt: created, UpdatedAt: created,
	}
	if email != "" {
		c.DefaultEmailAddress = &shopify.EmailAddress{EmailAddress: email}
	}
	if k < len(d.storefront) {
		sc := d.storefront[k]
		c.Phone = sc.Phone
		if sc.Address != nil {
			a := *sc.Address
			c.DefaultAddress = &a
		}
		if !sc.UpdatedAt.IsZero() {
			c.UpdatedAt = sc.UpdatedAt.UTC()
			if c.CreatedAt.After(c.UpdatedAt) {
				c.CreatedAt = c.UpdatedAt
			}
		}
	}
	return c
}

func lower(s string) string {
	b := []rune(s)
	for i, r := range b {
		if r >= 'A' && r <= 'Z' {
			b[i] = r + 'a' - 'A'
		}
	}
	return string(b)
}

// customerOf is the id of the customer who placed order id. The caller
// holds dmu.
func (d *shopData) customerOf(id int64) int64 {
	if c, ok := d.orderCust[id]; ok {
		return c
	}
	i := id - firstOrderID
	if i < 0 || i >= d.seeded || len(d.customers) == 0 {
		return 0
	}
	return d.customers[i%int64(len(d.customers))]
}

// orderByID is an order as stored or seeded, with its customer; nil when
// unknown. The caller holds dmu. The answer must not be modified.
func (d *shopData) orderByID(id int64) *shopify.Order {
	o, ok := d.orders[id]
	if !ok {
		i := id - firstOrderID
		if i < 0 || i >= d.seeded {
			return nil
		}
		o = d.seedOrder(i)
	}
	if cid := d.customerOf(id); cid != 0 {
		cp := *o
		cp.Customer = d.customerByID(cid)
		o = &cp
	}
	return o
}

// seedOrder computes seeded order i: a realistic spread of statuses —
// delivered, on its way, out for delivery, split shipments, unfulfilled
// recent orders, cancellations and refunds.
func (d *shopData) seedOrder(i int64) *shopify.Order {
	id := firstOrderID + i
	h := hash(id)
	created := d.epoch.Add(time.Duration(i) * d.spacing)
	age := d.now().Sub(created)
	o := &shopify.Order{
		ID: shopify.GID("Order", strconv.FormatInt(id, 10)), Name: "#" + strconv.FormatInt(firstOrderName+i, 10),
		CreatedAt: created, UpdatedAt: created, CurrencyCode: "USD",
		DisplayFinancialStatus: "PAID", DisplayFulfillmentStatus: "UNFULFILLED", ReturnStatus: "NO_RETURN",
	}
	cid := d.customerOf(id)
	if c := d.customerByID(cid); c != nil {
		o.Email = c.Email()
		if c.DefaultAddress != nil {
			a := *c.DefaultAddress
			o.ShippingAddress = &a
		}
	}
	lines := 1 + int(h%3)
	var subtotal int64
	for j := range lines {
		p := catalogue[(h>>(4+4*j))%uint64(len(catalogue))]
		qty := 1 + int((h>>(20+2*j))%2)
		o.LineItems.Nodes = append(o.LineItems.Nodes, d.lineItem(id, j, p, qty))
		subtotal += p.cents * int64(qty)
	}
	shipping, tax := int64(595), subtotal*8/100
	setTotals(o, subtotal, shipping, tax)
	roll := h % 100
	switch {
	case roll < 4: // cancelled before shipping
		at := created.Add(3 * time.Hour)
		o.CancelledAt, o.UpdatedAt = &at, at
		o.DisplayFinancialStatus = "REFUNDED"
		return o
	case age < 36*time.Hour: // too recent to have shipped
		return o
	}
	shipped := created.Add(time.Duration(20+h%30) * time.Hour)
	car := carriers[(h>>32)%uint64(len(carriers))]
	split := roll >= 90 && lines > 1
	nf := 1
	if split {
		nf = 2
	}
	for f := range nf {
		at := shipped.Add(time.Duration(f) * 48 * time.Hour)
		if d.now().Sub(at) < 0 {
			break
		}
		fu := fulfillment(id, f, at, car.name, car.url)
		for j := range lines {
			if split && j%nf != f {
				continue
			}
			li := o.LineItems.Nodes[j]
			fu.FulfillmentLineItems.Nodes = append(fu.FulfillmentLineItems.Nodes, shopify.FulfillmentLineItem{
				ID: shopify.GID("FulfillmentLineItem", strconv.FormatInt(id*100+int64(f*10+j), 10)), Quantity: li.Quantity})
			fu.FulfillmentLineItems.Nodes[len(fu.FulfillmentLineItems.Nodes)-1].LineItem.ID = li.ID
		}
		since := d.now().Sub(at)
		inTransit := at.Add(6 * time.Hour)
		switch {
		case since > 5*24*time.Hour:
			delivered := at.Add(time.Duration(48+h%48) * time.Hour)
			fu.DisplayStatus, fu.InTransitAt, fu.DeliveredAt, fu.UpdatedAt = "DELIVERED", &inTransit, &delivered, delivered
		case since > 3*24*time.Hour && roll%3 == 0:
			ofd := at.Add(72 * time.Hour)
			fu.DisplayStatus, fu.InTransitAt, fu.UpdatedAt = "OUT_FOR_DELIVERY", &inTransit, ofd
		case since > 6*time.Hour:
			fu.DisplayStatus, fu.InTransitAt, fu.UpdatedAt = "IN_TRANSIT", &inTransit, inTransit
		}
		o.Fulfillments = append(o.Fulfillments, fu)
		if fu.UpdatedAt.After(o.UpdatedAt) {
			o.UpdatedAt = fu.UpdatedAt
		}
	}
	o.DisplayFulfillmentStatus = fulfillmentStatusOf(o)
	if roll >= 85 && roll < 88 && len(o.Fulfillments) > 0 && o.Fulfillments[0].DeliveredAt != nil {
		o.DisplayFinancialStatus = "PARTIALLY_REFUNDED"
		o.UpdatedAt = o.Fulfillments[0].DeliveredAt.Add(5 * 24 * time.Hour)
		if o.UpdatedAt.After(d.now()) {
			o.UpdatedAt = d.now().UTC().Truncate(time.Second)
		}
	}
	return o
}

func (d *shopData) lineItem(orderID int64, j int, p product, qty int) shopify.LineItem {
	li := shopify.LineItem{
		ID: shopify.GID("LineItem", strconv.FormatInt(orderID*10+int64(j), 10)), Title: p.title, VariantTitle: p.variant,
		SKU: p.sku, Quantity: qty, CurrentQuantity: qty, OriginalUnitPriceSet: money(p.cents),
	}
	li.Image = &struct {
		URL     string `json:"url"`
		AltText string `json:"altText"`
	}{URL: "https://cdn.shopify.example/" + p.sku + ".jpg", AltText: p.title}
	if d.imageURL != nil {
		li.Image.URL = d.imageURL(p.sku, p.title)
	}
	li.Variant = &struct {
		ID               string `json:"id"`
		LegacyResourceID string `json:"legacyResourceId"`
		AvailableForSale bool   `json:"availableForSale"`
	}{ID: shopify.GID("ProductVariant", strconv.FormatInt(p.variantID, 10)), LegacyResourceID: strconv.FormatInt(p.variantID, 10), AvailableForSale: p.available}
	return li
}

func fulfillment(orderID int64, f int, at time.Time, carrier, trackURL string) shopify.Fulfillment {
	number := fmt.Sprintf("1Z%010d%d", orderID%10_000_000_000, f)
	return shopify.Fulfillment{
		ID: shopify.GID("Fulfillment", strconv.FormatInt(orderID*10+int64(f), 10)), Status: "SUCCESS", DisplayStatus: "FULFILLED",
		CreatedAt: at, UpdatedAt: at,
		TrackingInfo: []shopify.TrackingInfo{{Company: carrier, Number: number, URL: trackURL + number}},
	}
}

func money(cents int64) *shopify.MoneyBag {
	m := shopify.Money{Amount: fmt.Sprintf("%d.%02d", cents/100, cents%100), CurrencyCode: "USD"}
	return &shopify.MoneyBag{ShopMoney: m, PresentmentMoney: m}
}

func setTotals(o *shopify.Order, subtotal, shipping, tax int64) {
	o.SubtotalPriceSet, o.TotalShippingPriceSet, o.TotalTaxSet = money(subtotal), money(shipping), money(tax)
	o.TotalPriceSet = *money(subtotal + shipping + tax)
}

// fulfillmentStatusOf is the order's displayFulfillmentStatus from what its
// live fulfillments carry.
func fulfillmentStatusOf(o *shopify.Order) string {
	ordered, shipped := 0, 0
	for _, li := range o.LineItems.Nodes {
		ordered += li.CurrentQuantity
	}
	for _, f := range o.Fulfillments {
		if f.Status != "SUCCESS" {
			continue
		}
		for _, fli := range f.FulfillmentLineItems.Nodes {
			shipped += fli.Quantity
		}
	}
	switch {
	case shipped == 0:
		return "UNFULFILLED"
	case shipped < ordered:
		return "PARTIALLY_FULFILLED"
	}
	return "FULFILLED"
}

// customerOrderIDs are a customer's orders, newest first. The caller holds
// dmu.
func (d *shopData) customerOrderIDs(cid int64) []int64 {
	var ids []int64
	for _, id := range slices.Backward(d.created) {
		if d.orderCust[id] == cid {
			ids = append(ids, id)
		}
	}
	k, ok := d.custIndex[cid]
	if !ok || len(d.customers) == 0 {
		return ids
	}
	n := int64(len(d.customers))
	if int64(k) >= d.seeded {
		return ids
	}
	last := int64(k) + (d.seeded-1-int64(k))/n*n
	for i := last; i >= int64(k); i -= n {
		ids = append(ids, firstOrderID+i)
	}
	return ids
}

// allOrderIDs yields every order id ascending (seeded, then created). The
// caller holds dmu for the created list it was given.
func allOrderIDs(seeded int64, created []int64, yield func(int64) bool) {
	for i := range seeded {
		if !yield(firstOrderID + i) {
			return
		}
	}
	for _, id := range created {
		if !yield(id) {
			return
		}
	}
}

// snapshot is a copy of the data as it is now, for a bulk operation to
// read without the lock: materialised objects are never edited in place,
// so copying the maps is enough, and its clock stands still.
func (d *shopData) snapshot() *shopData {
	cp := *d
	at := d.now()
	cp.now = func() time.Time { return at }
	cp.orders = maps.Clone(d.orders)
	cp.custEdits = maps.Clone(d.custEdits)
	cp.orderCust = maps.Clone(d.orderCust)
	cp.refunded = maps.Clone(d.refunded)
	cp.created = slices.Clone(d.created)
	cp.bulk = nil
	return &cp
}
