package commerce

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Upcoming is what the upserts of a run (a chunk of webhooks) will write
// of customers and shipments, in the order they will come, for
// WriteAhead.
type Upcoming struct {
	// Customers are those upserted on their own (UpsertCustomer) and
	// those of orders (ApplyOrder).
	Customers []UpcomingCustomer
	// Shipments are those upserted on their own (UpsertFulfillment).
	Shipments []UpcomingShipment
	// Orders are the external ids of the orders the run upserts: their
	// shipments are left to the run, as an order's upsert replaces them.
	Orders []string
}

// UpcomingCustomer is a customer a run will upsert; Of is the order
// whose upsert does it, nil for a customer upserted on its own.
type UpcomingCustomer struct {
	Customer Customer
	Of       *Order
}

// UpcomingShipment is a shipment a run will upsert on its own.
type UpcomingShipment struct {
	OrderExternalID string
	Fulfillment     Fulfillment
}

// aheadCustomer is what an upsert of a customer written ahead comes to.
type aheadCustomer struct {
	id    int64
	email string // the stored customer's, after the upsert
	res   UpsertResult
}

// WriteAhead writes what u names in one multi-row upsert of customers
// and one of shipments (a few for more than 64 rows), rather than one
// statement per upsert, on a store WithKnown; the upserts that follow,
// in u's order, then take their result from it and write nothing. Rows
// with the same key are written once, as applying them in turn would
// leave the row: the newest wins (of equals, the later), and a shipment
// keeps a milestone date an older one brought. What the run's Known
// cannot vouch for is left to the upserts themselves: a customer met
// first by email (adopted when inserted), a shipment of an order not
// stored before the run or upserted by it, anything invalid.
func (s *Store) WriteAhead(ctx context.Context, shopID int64, u Upcoming) error {
	k := s.known
	if k == nil || (len(u.Customers) == 0 && len(u.Shipments) == 0) {
		return nil
	}
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		if err := k.customersAhead(ctx, tx, shopID, u.Customers); err != nil {
			return fmt.Errorf("customers of the run: %w", err)
		}
		if err := k.shipmentsAhead(ctx, tx, shopID, u.Shipments, u.Orders); err != nil {
			return fmt.Errorf("shipments of the run: %w", err)
		}
		return nil
	})
}

// customerRun is a customer's upserts in a run, applied in turn to what
// Known holds of it.
type customerRun struct {
	exists    bool
	updatedMs int64
	email     string
	row       *Customer // the version written; nil when all are stale
	results   []aheadCustomer
}

func (k *Known) customersAhead(ctx context.Context, tx *database.Tx, shopID int64, upcoming []UpcomingCustomer) error {
	runs := map[string]*customerRun{}
	var keys []string
	skip := map[string]bool{}
	for _, uc := range upcoming {
		c := uc.Customer
		if uc.Of != nil {
			o := *uc.Of
			o.Fulfillments = slices.Clone(o.Fulfillments)
			if validateOrder(&o) != nil {
				skip[strings.TrimSpace(c.ExternalID)] = true // its customer is not upserted
				continue
			}
		}
		if validateCustomer(&c) != nil || skip[c.ExternalID] {
			skip[c.ExternalID] = true
			continue
		}
		r := runs[c.ExternalID]
		if r == nil {
			stored, asked := k.customer(c.ExternalID)
			if !asked || IsEmailKey(c.ExternalID) {
				skip[c.ExternalID] = true
				continue
			}
			r = &customerRun{exists: stored.id != 0, updatedMs: stored.updatedMs, email: stored.email}
			runs[c.ExternalID] = r
			keys = append(keys, c.ExternalID)
		}
		if r.exists && r.updatedMs > c.UpdatedAt.UnixMilli() {
			r.results = append(r.results, aheadCustomer{email: r.email, res: Stale})
			continue
		}
		res := Updated
		if !r.exists {
			res = Inserted
			// A customer met first by this address would be adopted
			// (upsertCustomer): only Known's word that there is none
			// will do.
			if byEmail, asked := k.customer(EmailKey(c.Email)); c.Email != "" && (!asked || byEmail.id != 0) {
				skip[c.ExternalID] = true
				continue
			}
		}
		r.exists, r.updatedMs, r.email, r.row = true, c.UpdatedAt.UnixMilli(), c.Email, &c
		r.results = append(r.results, aheadCustomer{email: c.Email, res: res})
	}
	var rows []*Customer
	for _, key := range keys {
		if r := runs[key]; !skip[key] && r.row != nil {
			rows = append(rows, r.row)
		}
	}
	// In key order: two chunks writing some of the same rows at once
	// (PostgreSQL) lock them in the same order rather than deadlock.
	slices.SortFunc(rows, func(a, b *Customer) int { return strings.Compare(a.ExternalID, b.ExternalID) })
	ids := make(map[string]int64, len(rows))
	err := inRows(len(rows), func(first, n int) error {
		args := make([]any, 0, 16*n)
		for _, c := range rows[first : first+n] {
			a := c.DefaultAddress
			args = append(args, shopID, c.ExternalID, c.Email, c.FirstName, c.LastName, c.Phone,
				a.Name, a.Address1, a.Address2, a.City, a.Province, a.Zip, a.CountryCode, a.Phone,
				database.Time(c.CreatedAt), database.Time(c.UpdatedAt))
		}
		written, err := tx.Query(ctx, upsertCustomers(n)+`
			RETURNING external_id, id`, args...)
		if err != nil {
			return err
		}
		defer written.Close()
		for written.Next() {
			var key string
			var id int64
			if err := written.Scan(&key, &id); err != nil {
				return err
			}
			ids[key] = id
		}
		return written.Err()
	})
	if err != nil {
		return err
	}
	// A row not written was made newer by another transaction since
	// Known was read (PostgreSQL): the run's upserts are stale, and the
	// stored row stands.
	var missed []string
	for _, c := range rows {
		if _, ok := ids[c.ExternalID]; !ok {
			missed = append(missed, c.ExternalID)
		}
	}
	if len(missed) > 0 {
		newer := map[string]knownRow{}
		if err := k.read(ctx, tx, `SELECT r.external_id, r.id, r.updated_at, r.email FROM %s JOIN customers r ON r.shop_id = ? AND r.external_id = k.column1`,
			shopID, missed, newer); err != nil {
			return err
		}
		for key, stored := range newer {
			r := runs[key]
			r.exists, r.updatedMs, r.email, r.row = true, stored.updatedMs, stored.email, nil
			for i := range r.results {
				r.results[i] = aheadCustomer{email: stored.email, res: Stale}
			}
			ids[key] = stored.id
		}
	}
	if k.aheadCustomers == nil {
		k.aheadCustomers = map[string][]aheadCustomer{}
	}
	for _, key := range keys {
		if skip[key] {
			continue
		}
		r := runs[key]
		id, written := ids[key]
		if !written {
			id = k.customers[key].id // all stale: the stored row stands
		}
		for i := range r.results {
			r.results[i].id = id
		}
		k.customers[key] = knownRow{id: id, updatedMs: r.updatedMs, email: r.email}
		k.aheadCustomers[key] = r.results
	}
	return nil
}

// customerAhead takes the result of the next upsert of the customer
// that WriteAhead wrote, if it did.
func (k *Known) customerAhead(externalID string) (aheadCustomer, bool) {
	if k == nil || len(k.aheadCustomers[externalID]) == 0 {
		return aheadCustomer{}, false
	}
	next := k.aheadCustomers[externalID][0]
	k.aheadCustomers[externalID] = k.aheadCustomers[externalID][1:]
	return next, true
}

// shipmentRun is a shipment's upserts in a run, applied in turn to what
// Known holds of it.
type shipmentRun struct {
	orderID   int64
	exists    bool
	updatedMs int64
	row       *Fulfillment // the version written; nil when all are stale
	results   []UpsertResult
}

func (k *Known) shipmentsAhead(ctx context.Context, tx *database.Tx, shopID int64, upcoming []UpcomingShipment, orders []string) error {
	upserted := make(map[string]bool, len(orders))
	for _, id := range orders {
		upserted[strings.TrimSpace(id)] = true
	}
	runs := map[shipmentKey]*shipmentRun{}
	var keys []shipmentKey
	skip := map[shipmentKey]bool{}
	for _, us := range upcoming {
		f := us.Fulfillment
		f.LineItems = slices.Clone(f.LineItems)
		invalid := validateFulfillment(&f, 0) != nil
		key := shipmentKey{strings.TrimSpace(us.OrderExternalID), f.ExternalID}
		if invalid || skip[key] {
			skip[key] = true
			continue
		}
		r := runs[key]
		if r == nil {
			order, _ := k.order(key.order)
			stored, asked := k.shipment(key.order, key.shipment)
			if order.id == 0 || upserted[key.order] || k.keeps(order.id) || !asked {
				skip[key] = true
				continue
			}
			r = &shipmentRun{orderID: order.id, exists: stored, updatedMs: k.shipmentsUpdatedMs[key]}
			runs[key] = r
			keys = append(keys, key)
		}
		if r.exists && r.updatedMs > f.UpdatedAt.UnixMilli() {
			r.results = append(r.results, Stale)
			continue
		}
		res := Updated
		if !r.exists {
			res = Inserted
		}
		if r.row != nil {
			// As the upsert keeps a milestone date the newer one lacks.
			f.InTransitAt = cmpOr(f.InTransitAt, r.row.InTransitAt)
			f.OutForDeliveryAt = cmpOr(f.OutForDeliveryAt, r.row.OutForDeliveryAt)
			f.DeliveredAt = cmpOr(f.DeliveredAt, r.row.DeliveredAt)
		}
		r.exists, r.updatedMs, r.row = true, f.UpdatedAt.UnixMilli(), &f
		r.results = append(r.results, res)
	}
	var written []shipmentKey
	for _, key := range keys {
		if r := runs[key]; !skip[key] && r.row != nil {
			written = append(written, key)
		}
	}
	slices.SortFunc(written, func(a, b shipmentKey) int {
		return cmp.Or(cmp.Compare(runs[a].orderID, runs[b].orderID), strings.Compare(a.shipment, b.shipment))
	})
	err := inRows(len(written), func(first, n int) error {
		args := make([]any, 0, 15*n)
		for _, key := range written[first : first+n] {
			r := runs[key]
			f := r.row
			lines, err := json.Marshal(fulfillmentLines(f.LineItems))
			if err != nil {
				return err
			}
			args = append(args, shopID, r.orderID, f.ExternalID, f.Status, f.ShipmentStatus, f.Carrier, f.TrackingNumber, f.TrackingURL,
				database.Time(f.CreatedAt), database.Time(f.UpdatedAt), database.OptionalTime(f.InTransitAt),
				database.OptionalTime(f.OutForDeliveryAt), database.OptionalTime(f.DeliveredAt),
				database.OptionalTime(f.EstimatedDeliveryAt), string(lines))
		}
		_, err := tx.Exec(ctx, upsertFulfillments(n), args...)
		return err
	})
	if err != nil {
		return err
	}
	if k.aheadShipments == nil {
		k.aheadShipments = map[shipmentKey][]UpsertResult{}
	}
	for _, key := range keys {
		if skip[key] {
			continue
		}
		k.aheadShipments[key] = runs[key].results
		if runs[key].row != nil {
			k.shipments[key] = true
		}
	}
	return nil
}

// shipmentAhead takes the result of the next upsert of the shipment
// that WriteAhead wrote, if it did.
func (k *Known) shipmentAhead(orderExternalID, externalID string) (UpsertResult, bool) {
	key := shipmentKey{orderExternalID, externalID}
	if k == nil || len(k.aheadShipments[key]) == 0 {
		return 0, false
	}
	next := k.aheadShipments[key][0]
	k.aheadShipments[key] = k.aheadShipments[key][1:]
	return next, true
}
