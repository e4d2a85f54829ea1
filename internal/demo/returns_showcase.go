package demo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// ShowcaseEmail is the customer whose ticket shows every return state and
// every reason Initiate return is offered or not.
const ShowcaseEmail = "riley.chen@example.com"

// ShowcaseSubject is the subject of the showcase customer's ticket.
const ShowcaseSubject = "Returning part of my orders"

// ShowcaseStores are what SeedReturnsShowcase writes through.
type ShowcaseStores struct {
	Orders  *ingest.Orders
	Records *returns.Records
	Tickets *ticket.Store
}

// showcaseOrder is one of the showcase customer's orders: when it arrived
// (negative: not yet), and its returns as Loop reports them.
type showcaseOrder struct {
	deliveredDaysAgo int
	items            int
	returns          []sandbox.ReturnSpec
}

// showcaseOrders cover, on one ticket (five orders: the sidebar shows
// five), a return in every state and each reason Initiate return shows or
// not: the newest delivered order has a closed return holding one of its
// two items and a cancelled one, so Loop decides again and the other item
// can go (eligible); an open and a review return (a return already open);
// an expired return on an order past the window; an order still on its
// way.
var showcaseOrders = []showcaseOrder{
	{deliveredDaysAgo: 2, items: 2, returns: []sandbox.ReturnSpec{
		{State: loop.StateCancelled, Outcome: "refund", Items: []int{1}, Reason: "Ordered by mistake"},
		{State: loop.StateClosed, Outcome: "credit", Carrier: "FedEx", TrackingNumber: "794644791234", LabelStatus: "delivered",
			Items: []int{0}, Reason: "Changed my mind"},
	}},
	{deliveredDaysAgo: 4, items: 1, returns: []sandbox.ReturnSpec{{State: loop.StateOpen, Outcome: "exchange", Carrier: "USPS",
		TrackingNumber: "9400136105440512281234", LabelStatus: "in_transit", Reason: "Too small"}}},
	{deliveredDaysAgo: 6, items: 1, returns: []sandbox.ReturnSpec{{State: loop.StateReview, Outcome: "refund", Carrier: "Royal Mail",
		TrackingNumber: "RM123456785GB", LabelStatus: "pre_transit", Reason: "Damaged"}}},
	{deliveredDaysAgo: 48, items: 1, returns: []sandbox.ReturnSpec{{State: loop.StateExpired, Outcome: "refund", Carrier: "Happy Returns",
		TrackingNumber: "HR-55012", LabelStatus: "pre_transit"}}},
	{deliveredDaysAgo: -1, items: 1},
}

// SeedReturnsShowcase adds the showcase customer: orders known to the
// Loop sandbox and to hubdesk, their returns (mirrored into hubdesk as
// Loop would report them) and a ticket from the hub about the newest
// order, whose sidebar shows them all. Run once, on a new demo shop.
func SeedReturnsShowcase(ctx context.Context, sb *sandbox.Sandbox, st ShowcaseStores, shopID int64, baseURL string, now time.Time) (int64, error) {
	pp := person{"Riley", "Chen", ShowcaseEmail, "+1 617 555 0148",
		commerce.Address{Address1: "77 Massachusetts Ave", City: "Cambridge", Province: "MA", Zip: "02139", CountryCode: "US"}, "USD"}
	cust := &commerce.Customer{ExternalID: "6000000099", Email: pp.email, FirstName: pp.first, LastName: pp.last, Phone: pp.phone,
		CreatedAt: now.AddDate(0, 0, -90), UpdatedAt: now.AddDate(0, 0, -90)}
	var newest *commerce.Order
	for i, so := range showcaseOrders {
		number := 9001 + i
		p := plan{ageDays: so.deliveredDaysAgo + 4, status: commerce.StatusDelivered, deliveredDaysAgo: so.deliveredDaysAgo}
		if so.deliveredDaysAgo < 0 {
			p = plan{ageDays: 3, status: commerce.StatusInTransit}
		}
		o := showcaseBuild(number, pp, p, so.items, now, baseURL)
		stored, _, err := st.Orders.Upsert(ctx, shopID, o, cust)
		if err != nil {
			return 0, fmt.Errorf("demo: showcase order %s: %w", o.Name, err)
		}
		if newest == nil {
			newest = stored
		}
		storeID, _ := strconv.ParseInt(stored.ExternalID, 10, 64)
		sbo := sandbox.Order{Name: stored.Name, ProviderOrderID: storeID, Email: pp.email, Zip: pp.addr.Zip, Phone: pp.phone,
			FirstName: pp.first, LastName: pp.last, Currency: stored.Currency, CreatedAt: stored.CreatedAt, ReturnWindowDays: 30}
		if at := stored.DeliveredAt(); at != nil {
			sbo.DeliveredAt = *at
		}
		for _, li := range stored.LineItems {
			id, _ := strconv.ParseInt(li.ExternalID, 10, 64)
			sbo.Items = append(sbo.Items, sandbox.Item{ID: id, Title: li.Title, SKU: li.SKU, Price: commerce.FormatAmount(li.PriceMinor, stored.Currency)})
		}
		sb.AddOrder(sbo)
		for k, spec := range so.returns {
			spec.OrderName, spec.ProviderOrderID = stored.Name, storeID
			spec.CreatedAt = sbo.DeliveredAt.Add(time.Duration(6+12*k) * time.Hour)
			spec.UpdatedAt = spec.CreatedAt.Add(6 * time.Hour)
			if spec.UpdatedAt.After(now) {
				spec.UpdatedAt = now
			}
			info, err := sb.SeedReturn(spec)
			if err != nil {
				return 0, fmt.Errorf("demo: showcase return for %s: %w", stored.Name, err)
			}
			id := strconv.FormatInt(info.ID, 10)
			r := returns.Return{Provider: returns.ProviderLoop, ExternalID: id, OrderName: info.OrderName, OrderExternalID: stored.ExternalID,
				State: returns.ReturnState(info.State), Outcome: info.Outcome, Carrier: info.Carrier, TrackingNumber: "N/A", LabelStatus: "N/A",
				StatusPageURL: sb.BaseURL() + "/portal/return/" + id, CreatedAt: spec.CreatedAt, UpdatedAt: spec.UpdatedAt}
			if info.TrackingNumber != "" {
				r.TrackingNumber, r.LabelStatus, r.LabelURL = info.TrackingNumber, info.LabelStatus, sb.BaseURL()+"/portal/return/"+id+"/label.pdf"
			}
			if _, err := st.Records.Upsert(ctx, shopID, r); err != nil {
				return 0, fmt.Errorf("demo: showcase return for %s: %w", stored.Name, err)
			}
		}
	}
	t, _, err := st.Tickets.OpenFromHub(ctx, shopID, ticket.NewTicket{CustomerID: newest.CustomerID, OrderID: newest.ID,
		RequesterEmail: pp.email, RequesterName: pp.first + " " + pp.last, Subject: ShowcaseSubject,
		Body: "Hi! I'd like to return the shirt from " + newest.Name + " — and where are my other returns at? Thanks, Riley"})
	if err != nil {
		return 0, fmt.Errorf("demo: showcase ticket: %w", err)
	}
	return t.ID, nil
}

// showcaseBuild is buildOrder with a fixed number of items and no
// randomness, so the showcase reads the same on every demo.
func showcaseBuild(number int, pp person, p plan, items int, now time.Time, baseURL string) commerce.Order {
	o := buildOrder(number, pp, p, now, baseURL, newShowcaseRand(number))
	if len(o.LineItems) > items {
		o.LineItems = o.LineItems[:items]
	}
	o.SubtotalMinor = 0
	for _, li := range o.LineItems {
		o.SubtotalMinor += li.PriceMinor * int64(li.Quantity)
	}
	o.TaxMinor = o.SubtotalMinor * 8 / 100
	o.TotalMinor = o.SubtotalMinor + o.ShippingMinor + o.TaxMinor
	return o
}

// newShowcaseRand seeds buildOrder's choices per order number.
func newShowcaseRand(number int) *rand.Rand { return rand.New(rand.NewPCG(uint64(number), 13)) }

// ShowcaseTicket finds the showcase customer's ticket on a demo shop
// seeded earlier (a demo started again on its data directory), for the
// banner; 0 when there is none (it was deleted or merged away).
func ShowcaseTicket(ctx context.Context, db database.Querier, shopID int64) (int64, error) {
	var id int64
	err := db.QueryRow(ctx, `SELECT id FROM tickets WHERE shop_id = ? AND requester_email = ? AND subject = ? ORDER BY id LIMIT 1`,
		shopID, ShowcaseEmail, ShowcaseSubject).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("demo: showcase ticket: %w", err)
	}
	return id, nil
}
