// Package demo seeds the demo shop that `hubdesk demo` serves: a store with
// customers in five countries and orders in every shopper-facing status,
// dated relative to today so the 30-day return window always has orders
// on both sides of it.
package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/user"
	"github.com/hubdesk/hubdesk/internal/web"
)

// The published demo credentials (README and the demo's banner).
const (
	ShopDomain   = "demo-shop.myshopify.com"
	ShopName     = "Demo Outfitters"
	ClientSecret = "hubdesk-demo-secret"
	OwnerEmail   = "owner@demo.hubdesk.dev"
	AgentEmail   = "agent@demo.hubdesk.dev"
	Password     = "demo"
)

// Stores are what seeding writes to.
type Stores struct {
	Shops    *shop.Store
	Users    *user.Store
	Commerce *commerce.Store
	Orders   *ingest.Orders // the seeded orders arrive as any platform's do
}

// Result describes the seeded shop.
type Result struct {
	Shop      *shop.Shop
	Created   bool // false when the demo shop already existed
	Shopper   *commerce.Customer
	Customers []*commerce.Customer
	Orders    []*commerce.Order
}

type person struct {
	first, last, email, phone string
	addr                      commerce.Address
	currency                  string
}

var people = []person{
	{"Olivia", "Johnson", "olivia.johnson@example.com", "+1 503 555 0142", commerce.Address{Address1: "1120 SW 5th Ave", City: "Portland", Province: "OR", Zip: "97204", CountryCode: "US"}, "USD"},
	{"Lena", "Fischer", "lena.fischer@example.de", "+49 30 5550 1931", commerce.Address{Address1: "Torstraße 118", City: "Berlin", Zip: "10119", CountryCode: "DE"}, "EUR"},
	{"Mateo", "García", "mateo.garcia@example.es", "+34 915 550 187", commerce.Address{Address1: "Calle de Atocha 34", City: "Madrid", Zip: "28012", CountryCode: "ES"}, "EUR"},
	{"Camille", "Dubois", "camille.dubois@example.fr", "+33 1 55 50 12 34", commerce.Address{Address1: "18 Rue Oberkampf", City: "Paris", Zip: "75011", CountryCode: "FR"}, "EUR"},
	{"Sanne", "de Vries", "sanne.devries@example.nl", "+31 20 555 0199", commerce.Address{Address1: "Prinsengracht 263", City: "Amsterdam", Zip: "1016 GV", CountryCode: "NL"}, "EUR"},
	{"Noah", "Williams", "noah.williams@example.com", "+1 512 555 0110", commerce.Address{Address1: "600 Congress Ave", City: "Austin", Province: "TX", Zip: "78701", CountryCode: "US"}, "USD"},
	{"Amelia", "Clarke", "amelia.clarke@example.co.uk", "+44 20 7946 0321", commerce.Address{Address1: "14 Upper Street", City: "London", Zip: "N1 0PQ", CountryCode: "GB"}, "GBP"},
	{"Liam", "Tremblay", "liam.tremblay@example.ca", "+1 514 555 0163", commerce.Address{Address1: "1250 Rue Peel", City: "Montréal", Province: "QC", Zip: "H3B 4W8", CountryCode: "CA"}, "CAD"},
	{"Sofia", "Rossi", "sofia.rossi@example.it", "+39 02 5550 4477", commerce.Address{Address1: "Via Torino 61", City: "Milano", Zip: "20123", CountryCode: "IT"}, "EUR"},
	{"Ethan", "Nguyen", "ethan.nguyen@example.com", "+1 415 555 0187", commerce.Address{Address1: "425 Market St", City: "San Francisco", Province: "CA", Zip: "94105", CountryCode: "US"}, "USD"},
}

type product struct {
	title, variant, sku, image string
	price                      int64 // minor units
	variantID                  string
	available                  bool
}

var products = []product{
	{"Merino Hiking Socks", "Charcoal / M", "SOCK-CH-M", "socks", 1800, "44010001", true},
	{"Stoneware Camp Mug", "Blue", "MUG-BL", "mug", 2400, "44010002", true},
	{"Ribbed Wool Beanie", "Forest", "BEAN-FO", "beanie", 3200, "44010003", true},
	{"Waxed Canvas Tote", "Tan", "TOTE-TN", "tote", 5800, "44010004", true},
	{"Insulated Bottle 750 ml", "Violet", "BTL-VI-750", "bottle", 3600, "44010005", true},
	{"Cedar & Smoke Candle", "", "CNDL-CS", "candle", 2900, "44010006", false}, // sold out: Reorder skips it
	{"Dot Grid Notebook", "A5", "NB-A5", "notebook", 1600, "44010007", true},
	{"Alpaca Blend Scarf", "Mustard", "SCRF-MU", "scarf", 6400, "", false}, // variant deleted
}

type carrier struct{ name, prefix, url string }

var carriers = []carrier{
	{"UPS", "1Z999AA1", "https://www.ups.com/track?tracknum="},
	{"USPS", "94001118992234", "https://tools.usps.com/go/TrackConfirmAction?tLabels="},
	{"FedEx", "7749", "https://www.fedex.com/fedextrack/?trknbr="},
	{"DHL Express", "JD0146000", "https://www.dhl.com/en/express/tracking.html?AWB="},
	{"PostNL", "3SHUBD", "https://jouw.postnl.nl/track-and-trace/"},
}

// plan is one order's age and status; the demo shopper gets one of each.
type plan struct {
	ageDays int
	status  commerce.Status
	// deliveredDaysAgo is set for delivered orders.
	deliveredDaysAgo int
}

var shopperPlans = []plan{
	{1, commerce.StatusProcessing, 0},
	{4, commerce.StatusInTransit, 0},
	{3, commerce.StatusOutForDelivery, 0},
	{6, commerce.StatusPartiallyShipped, 0},
	{9, commerce.StatusDelivered, 5},   // inside the 30-day window
	{24, commerce.StatusDelivered, 19}, // inside
	{35, commerce.StatusCancelled, 0},
	{62, commerce.StatusDelivered, 55}, // outside
	{120, commerce.StatusDelivered, 113},
}

// Seed creates the demo shop, its staff and commerce data. It is a no-op
// when the demo shop exists, so restarting the demo keeps its state.
func Seed(ctx context.Context, s Stores, baseURL string, now time.Time) (*Result, error) {
	if _, err := s.Shops.IDByDomain(ctx, ShopDomain); err == nil {
		existing, err := s.Shops.GetByDomain(ctx, ShopDomain)
		if err != nil {
			return nil, err
		}
		return load(ctx, s, existing)
	} else if !errors.Is(err, shop.ErrNotFound) {
		return nil, err
	}
	sh, err := s.Shops.Create(ctx, shop.NewShop{Name: ShopName, Domain: ShopDomain, ClientSecret: ClientSecret, Locale: "en", Currency: "USD"})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, u := range []user.NewUser{
		{ShopID: sh.ID, Email: OwnerEmail, Name: "Olga Owner", Role: user.RoleOwner, Password: Password},
		{ShopID: sh.ID, Email: AgentEmail, Name: "Arjun Agent", Role: user.RoleAgent, Password: Password},
	} {
		if _, err := s.Users.Create(ctx, u); err != nil {
			return nil, fmt.Errorf("demo: user %s: %w", u.Email, err)
		}
	}
	rng := rand.New(rand.NewPCG(2026, 11))
	res := &Result{Shop: sh, Created: true}
	var plans [][]plan
	for i := range people {
		if i == 0 {
			plans = append(plans, shopperPlans)
			continue
		}
		// Everyone else: four orders spread over five months.
		var ps []plan
		for j := range 4 {
			age := 2 + rng.IntN(150)
			ps = append(ps, planForAge(age, i+j, rng))
		}
		plans = append(plans, ps)
	}
	// Orders are numbered in the order they were placed.
	type pending struct {
		person int
		plan   plan
	}
	var all []pending
	for i, ps := range plans {
		for _, p := range ps {
			all = append(all, pending{i, p})
		}
	}
	sortByAge(all, func(p pending) int { return p.plan.ageDays })
	customers := make([]*commerce.Customer, len(people))
	for n, p := range all {
		pp := people[p.person]
		cust := &commerce.Customer{
			ExternalID: customerExternalID(p.person), Email: pp.email, FirstName: pp.first, LastName: pp.last,
			Phone: pp.phone, CreatedAt: now.AddDate(0, 0, -200+p.person), UpdatedAt: now.AddDate(0, 0, -200+p.person),
		}
		o := buildOrder(1001+n, pp, p.plan, now, baseURL, rng)
		stored, _, err := s.Orders.Upsert(ctx, sh.ID, o, cust)
		if err != nil {
			return nil, fmt.Errorf("demo: order %s: %w", o.Name, err)
		}
		res.Orders = append(res.Orders, stored)
		if customers[p.person] == nil {
			customers[p.person], _ = s.Commerce.Customer(ctx, sh.ID, stored.CustomerID)
		}
	}
	res.Customers = customers
	res.Shopper = customers[0]
	return res, nil
}

func planForAge(age, salt int, rng *rand.Rand) plan {
	switch {
	case age <= 2:
		return plan{age, commerce.StatusProcessing, 0}
	case age <= 6:
		return plan{age, []commerce.Status{commerce.StatusInTransit, commerce.StatusOutForDelivery, commerce.StatusPartiallyShipped}[salt%3], 0}
	case salt%7 == 3:
		return plan{age, commerce.StatusCancelled, 0}
	}
	return plan{age, commerce.StatusDelivered, age - 3 - rng.IntN(3)}
}

func sortByAge[T any](list []T, age func(T) int) {
	for i := 1; i < len(list); i++ { // oldest first; insertion sort keeps ties stable
		for j := i; j > 0 && age(list[j]) > age(list[j-1]); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

func buildOrder(number int, pp person, p plan, now time.Time, baseURL string, rng *rand.Rand) commerce.Order {
	created := now.Add(-time.Duration(p.ageDays)*24*time.Hour - time.Duration(rng.IntN(600))*time.Minute).Truncate(time.Second)
	o := commerce.Order{
		ExternalID: fmt.Sprintf("5%09d", number), Name: fmt.Sprintf("#%d", number), Email: pp.email,
		FinancialStatus: "paid", Currency: pp.currency, CreatedAt: created, UpdatedAt: created,
		ShippingAddress: pp.addr,
	}
	o.ShippingAddress.Name = pp.first + " " + pp.last
	o.ShippingAddress.Phone = pp.phone
	// Two or three distinct products.
	n := 2 + rng.IntN(2)
	start := rng.IntN(len(products))
	for k := range n {
		pr := products[(start+k*3)%len(products)]
		qty := 1 + rng.IntN(2)
		o.LineItems = append(o.LineItems, commerce.LineItem{
			ExternalID: fmt.Sprintf("%d%02d", number, k), VariantID: pr.variantID, VariantAvailable: pr.available,
			SKU: pr.sku, Title: pr.title, VariantTitle: pr.variant, Quantity: qty, CurrentQuantity: qty,
			PriceMinor: pr.price, ImageURL: baseURL + web.DefaultAssets.URL("demo/"+pr.image+".svg"),
		})
		o.SubtotalMinor += pr.price * int64(qty)
	}
	o.ShippingMinor = 695
	o.TaxMinor = o.SubtotalMinor * 8 / 100
	o.TotalMinor = o.SubtotalMinor + o.ShippingMinor + o.TaxMinor

	c := carriers[number%len(carriers)]
	ship := func(k int, status string) commerce.Fulfillment {
		shipped := created.Add(time.Duration(20+rng.IntN(20)) * time.Hour)
		num := fmt.Sprintf("%s%06d", c.prefix, number*10+k)
		f := commerce.Fulfillment{
			ExternalID: fmt.Sprintf("4%09d", number*10+k), Status: "success", ShipmentStatus: status,
			Carrier: c.name, TrackingNumber: num, TrackingURL: c.url + num,
			CreatedAt: shipped, UpdatedAt: shipped, InTransitAt: &shipped,
		}
		eta := shipped.Add(4 * 24 * time.Hour)
		f.EstimatedDeliveryAt = &eta
		return f
	}
	switch p.status {
	case commerce.StatusCancelled:
		at := created.Add(3 * time.Hour)
		o.CancelledAt = &at
		o.FinancialStatus = "refunded"
		o.UpdatedAt = at
	case commerce.StatusProcessing:
		o.FulfillmentStatus = ""
	case commerce.StatusInTransit:
		o.FulfillmentStatus = "fulfilled"
		o.Fulfillments = []commerce.Fulfillment{ship(0, "in_transit")}
	case commerce.StatusOutForDelivery:
		o.FulfillmentStatus = "fulfilled"
		o.Fulfillments = []commerce.Fulfillment{ship(0, "out_for_delivery")}
	case commerce.StatusPartiallyShipped:
		o.FulfillmentStatus = "partial"
		o.Fulfillments = []commerce.Fulfillment{ship(0, "in_transit")}
	case commerce.StatusDelivered:
		o.FulfillmentStatus = "fulfilled"
		f := ship(0, "delivered")
		delivered := now.Add(-time.Duration(p.deliveredDaysAgo)*24*time.Hour - 5*time.Hour).Truncate(time.Second)
		if !delivered.After(*f.InTransitAt) {
			delivered = f.InTransitAt.Add(48 * time.Hour)
		}
		f.DeliveredAt, f.UpdatedAt = &delivered, delivered
		f.EstimatedDeliveryAt = nil
		o.Fulfillments = []commerce.Fulfillment{f}
		o.UpdatedAt = delivered
	}
	for _, f := range o.Fulfillments {
		if f.UpdatedAt.After(o.UpdatedAt) {
			o.UpdatedAt = f.UpdatedAt
		}
	}
	return o
}

// load describes an already seeded demo shop.
func load(ctx context.Context, s Stores, sh *shop.Shop) (*Result, error) {
	res := &Result{Shop: sh}
	p := database.Page{Limit: database.MaxPageSize}
	for {
		page, next, err := s.Commerce.ListOrders(ctx, sh.ID, commerce.OrderFilter{}, p)
		if err != nil {
			return nil, err
		}
		res.Orders = append(res.Orders, page...)
		if next == "" {
			break
		}
		if p.After, err = database.DecodeCursor(next); err != nil {
			return nil, err
		}
	}
	custs, _, err := s.Commerce.ListCustomers(ctx, sh.ID, "", database.Page{Limit: database.MaxPageSize})
	if err != nil {
		return nil, err
	}
	res.Customers = custs
	for _, c := range custs {
		if c.Email == people[0].email {
			res.Shopper = c
		}
	}
	return res, nil
}
