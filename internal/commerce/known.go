package commerce

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Known is what a run of upserts in one transaction — a chunk of
// webhooks — read of the stored customers, orders and shipments it is
// about, in one statement each, before writing any: each upsert then
// writes without first asking whether its row exists (and an order or
// customer older than the stored one writes nothing at all). The upserts
// keep it up to date with what they write. It holds for the transaction
// it was read in only: on SQLite, whose one writer the transaction holds,
// it is exact; on PostgreSQL a row another transaction commits meanwhile
// can be missing from it, so whether an order's upsert inserted or
// updated is told by the upsert itself there (an order's lines and
// shipments depend on it), and the rest only labels what was done.
type Known struct {
	// customers and orders by external id (customers also by email key,
	// for the adoption of a customer first met by email); a row asked
	// for and not stored is there with id 0.
	customers map[string]knownRow
	orders    map[string]knownRow
	// shipments asked for, by order and shipment external id: stored or
	// not.
	shipments map[shipmentKey]bool
}

type knownRow struct {
	id        int64
	updatedMs int64 // updated_at as stored (Unix milliseconds)
	email     string
}

type shipmentKey struct{ order, shipment string }

// Wanted names the rows a chunk's upserts are about.
type Wanted struct {
	// Customers by external id, and the email addresses of customers an
	// upsert may create (a customer met first by email is adopted).
	Customers, Emails []string
	// Orders by external id: those upserted, and those whose shipments
	// are.
	Orders []string
	// Shipments as (order external id, shipment external id).
	Shipments [][2]string
}

// Know reads what w names, for the upserts that follow in the same
// transaction (WithKnown).
func (s *Store) Know(ctx context.Context, shopID int64, w Wanted) (*Known, error) {
	k := &Known{customers: map[string]knownRow{}, orders: map[string]knownRow{}, shipments: map[shipmentKey]bool{}}
	customers := make([]string, 0, len(w.Customers)+len(w.Emails))
	for _, id := range w.Customers {
		customers = append(customers, strings.TrimSpace(id))
	}
	for _, e := range w.Emails {
		if e = strings.TrimSpace(e); e != "" {
			customers = append(customers, EmailKey(e))
		}
	}
	if err := k.read(ctx, s.db, `SELECT external_id, id, updated_at, email FROM customers WHERE shop_id = ? AND external_id IN (%s)`,
		shopID, customers, k.customers); err != nil {
		return nil, fmt.Errorf("read customers: %w", err)
	}
	orders := make([]string, 0, len(w.Orders))
	for _, id := range w.Orders {
		orders = append(orders, strings.TrimSpace(id))
	}
	if err := k.read(ctx, s.db, `SELECT external_id, id, updated_at, email FROM orders WHERE shop_id = ? AND external_id IN (%s)`,
		shopID, orders, k.orders); err != nil {
		return nil, fmt.Errorf("read orders: %w", err)
	}
	if len(w.Shipments) > 0 {
		orders := make([]string, 0, len(w.Shipments))
		for _, sh := range w.Shipments {
			key := shipmentKey{strings.TrimSpace(sh[0]), strings.TrimSpace(sh[1])}
			k.shipments[key] = false
			orders = append(orders, key.order)
		}
		// By their orders' index: an order has a few shipments.
		in, args := database.InList(orders)
		rows, err := s.db.Query(ctx, `SELECT o.external_id, f.external_id FROM orders o JOIN fulfillments f ON f.order_id = o.id
			WHERE o.shop_id = ? AND o.external_id IN (`+in+`)`, append([]any{shopID}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("read shipments: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var key shipmentKey
			if err := rows.Scan(&key.order, &key.shipment); err != nil {
				return nil, fmt.Errorf("read shipments: %w", err)
			}
			if _, asked := k.shipments[key]; asked {
				k.shipments[key] = true
			}
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read shipments: %w", err)
		}
	}
	return k, nil
}

// read fills into with the rows query (ending in `IN (%s)`) finds for
// ids, and an empty row for each id it does not.
func (k *Known) read(ctx context.Context, q database.Querier, query string, shopID int64, ids []string, into map[string]knownRow) error {
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		into[id] = knownRow{}
	}
	in, args := database.InList(ids)
	rows, err := q.Query(ctx, fmt.Sprintf(query, in), append([]any{shopID}, args...)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var r knownRow
		if err := rows.Scan(&id, &r.id, &r.updatedMs, &r.email); err != nil {
			return err
		}
		into[id] = r
	}
	return rows.Err()
}

// WithKnown returns the store writing with what k knows: run it on the
// transaction k was read in.
func (s *Store) WithKnown(k *Known) *Store { return &Store{db: s.db, known: k} }

// customer, order and shipment are what k knows of a row: found says
// whether k was asked about it (false on a nil k).
func (k *Known) customer(externalID string) (r knownRow, found bool) {
	if k == nil {
		return knownRow{}, false
	}
	r, found = k.customers[externalID]
	return r, found
}

func (k *Known) order(externalID string) (r knownRow, found bool) {
	if k == nil {
		return knownRow{}, false
	}
	r, found = k.orders[externalID]
	return r, found
}

func (k *Known) shipment(orderExternalID, externalID string) (stored, found bool) {
	if k == nil {
		return false, false
	}
	stored, found = k.shipments[shipmentKey{orderExternalID, externalID}]
	return stored, found
}

// wroteCustomer, wroteOrder and wroteShipment record what an upsert
// wrote, so the next upsert in the transaction knows it.
func (k *Known) wroteCustomer(c *Customer) {
	if k != nil {
		k.customers[c.ExternalID] = knownRow{id: c.ID, updatedMs: c.UpdatedAt.UnixMilli(), email: c.Email}
	}
}

func (k *Known) wroteOrder(externalID string, id int64, o *Order) {
	if k == nil {
		return
	}
	k.orders[externalID] = knownRow{id: id, updatedMs: o.UpdatedAt.UnixMilli(), email: o.Email}
	for key := range k.shipments {
		if key.order == externalID {
			k.shipments[key] = false // those the order lists are set again below
		}
	}
	for i := range o.Fulfillments {
		k.shipments[shipmentKey{externalID, o.Fulfillments[i].ExternalID}] = true
	}
}

func (k *Known) wroteShipment(orderExternalID, externalID string) {
	if k != nil {
		k.shipments[shipmentKey{orderExternalID, externalID}] = true
	}
}

// adopted records that the customer met first by email (key emailKey)
// now carries a platform id.
func (k *Known) adopted(emailKey string) {
	if k != nil {
		k.customers[emailKey] = knownRow{}
	}
}
