package commerce

import (
	"context"
	"encoding/json"
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
//
// A store WithKnown also keeps the lines and shipments of the orders it
// inserts until Flush, which writes those of the whole run in one insert
// each (see ingest.Run).
type Known struct {
	// customers and orders by external id (customers also by email key,
	// for the adoption of a customer first met by email); a row asked
	// for and not stored is there with id 0.
	customers map[string]knownRow
	orders    map[string]knownRow
	// shipments asked for, by order and shipment external id: stored or
	// not; shipmentsUpdatedMs holds the updated_at (Unix milliseconds)
	// of those stored when Know read them.
	shipments          map[shipmentKey]bool
	shipmentsUpdatedMs map[shipmentKey]int64
	// aheadCustomers and aheadShipments are the results of the upserts
	// WriteAhead wrote, by key, in the order the upserts come.
	aheadCustomers map[string][]aheadCustomer
	aheadShipments map[shipmentKey][]UpsertResult
	// keptOrders are the orders inserted whose lines and shipments wait
	// for Flush; kept indexes them by order id.
	keptOrders []keptOrder
	kept       map[int64]int
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
	k := &Known{customers: map[string]knownRow{}, orders: map[string]knownRow{}, shipments: map[shipmentKey]bool{},
		shipmentsUpdatedMs: map[shipmentKey]int64{}}
	customers := make([]string, 0, len(w.Customers)+len(w.Emails))
	for _, id := range w.Customers {
		customers = append(customers, strings.TrimSpace(id))
	}
	for _, e := range w.Emails {
		if e = strings.TrimSpace(e); e != "" {
			customers = append(customers, EmailKey(e))
		}
	}
	if err := k.read(ctx, s.db, `SELECT r.external_id, r.id, r.updated_at, r.email FROM %s JOIN customers r ON r.shop_id = ? AND r.external_id = k.column1`,
		shopID, customers, k.customers); err != nil {
		return nil, fmt.Errorf("read customers: %w", err)
	}
	orders := make([]string, 0, len(w.Orders))
	for _, id := range w.Orders {
		orders = append(orders, strings.TrimSpace(id))
	}
	if err := k.read(ctx, s.db, `SELECT r.external_id, r.id, r.updated_at, r.email FROM %s JOIN orders r ON r.shop_id = ? AND r.external_id = k.column1`,
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
		table, args := database.ValuesList(orders, "TEXT", "k")
		rows, err := s.db.Query(ctx, `SELECT o.external_id, f.external_id, f.updated_at FROM `+table+`
			JOIN orders o ON o.shop_id = ? AND o.external_id = k.column1 JOIN fulfillments f ON f.order_id = o.id`, append(args, shopID)...)
		if err != nil {
			return nil, fmt.Errorf("read shipments: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var key shipmentKey
			var updatedMs int64
			if err := rows.Scan(&key.order, &key.shipment, &updatedMs); err != nil {
				return nil, fmt.Errorf("read shipments: %w", err)
			}
			if _, asked := k.shipments[key]; asked {
				k.shipments[key] = true
				k.shipmentsUpdatedMs[key] = updatedMs
			}
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read shipments: %w", err)
		}
	}
	return k, nil
}

// read fills into with the rows query (its table of ids `%s`, see
// database.ValuesList, joined to the shop's rows) finds for ids, and an
// empty row for each id it does not.
func (k *Known) read(ctx context.Context, q database.Querier, query string, shopID int64, ids []string, into map[string]knownRow) error {
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		into[id] = knownRow{}
	}
	table, args := database.ValuesList(ids, "TEXT", "k")
	rows, err := q.Query(ctx, fmt.Sprintf(query, table), append(args, shopID)...)
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

// keptOrder is an order the run inserted whose lines and shipments are
// kept for Flush.
type keptOrder struct {
	shopID, orderID int64
	lines           []LineItem
	shipments       []Fulfillment
}

// keep holds the lines and shipments of the order just inserted (id) for
// Flush. Shipments the order lists twice come to one, as upserting them
// in turn would leave it (the newer wins, a milestone date once known is
// kept).
func (k *Known) keep(shopID, id int64, o *Order) {
	kept := keptOrder{shopID: shopID, orderID: id, lines: o.LineItems}
	at := make(map[string]int, len(o.Fulfillments))
	for _, f := range o.Fulfillments {
		i, twice := at[f.ExternalID]
		if !twice {
			at[f.ExternalID] = len(kept.shipments)
			kept.shipments = append(kept.shipments, f)
			continue
		}
		earlier := kept.shipments[i]
		if f.UpdatedAt.UnixMilli() < earlier.UpdatedAt.UnixMilli() {
			continue
		}
		f.InTransitAt = cmpOr(f.InTransitAt, earlier.InTransitAt)
		f.OutForDeliveryAt = cmpOr(f.OutForDeliveryAt, earlier.OutForDeliveryAt)
		f.DeliveredAt = cmpOr(f.DeliveredAt, earlier.DeliveredAt)
		kept.shipments[i] = f
	}
	if k.kept == nil {
		k.kept = map[int64]int{}
	}
	k.kept[id] = len(k.keptOrders)
	k.keptOrders = append(k.keptOrders, kept)
}

func cmpOr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

// keeps says whether rows of order id wait for Flush.
func (k *Known) keeps(orderID int64) bool {
	if k == nil {
		return false
	}
	_, ok := k.kept[orderID]
	return ok
}

// Flush writes the lines and shipments of the orders the store's upserts
// inserted since it last ran (WithKnown keeps them, so that a chunk's new
// orders cost one insert of lines and one of shipments together rather
// than two each); nothing without Known. The upserts flush by themselves
// before writing rows of an order whose rows are kept; a caller that
// reads lines or shipments, or writes them otherwise, flushes first.
func (s *Store) Flush(ctx context.Context) error {
	k := s.known
	if k == nil || len(k.keptOrders) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(tx *database.Tx) error { return k.flush(ctx, tx) })
}

// multiRow are the row counts of the multi-row inserts Flush makes: a
// run of rows is written in statements of these sizes, largest first, so
// that a handful of statement texts serve every chunk.
var multiRow = []int{64, 32, 16, 8, 4, 2, 1}

// inRows calls write for rows [first, first+n) of total rows, n one of
// multiRow.
func inRows(total int, write func(first, n int) error) error {
	for first := 0; first < total; {
		for _, n := range multiRow {
			if n <= total-first {
				if err := write(first, n); err != nil {
					return err
				}
				first += n
				break
			}
		}
	}
	return nil
}

func (k *Known) flush(ctx context.Context, tx *database.Tx) error {
	type line struct {
		shopID, orderID int64
		position        int
		li              *LineItem
	}
	type shipment struct {
		shopID, orderID int64
		f               *Fulfillment
	}
	var lines []line
	var shipments []shipment
	for i := range k.keptOrders {
		o := &k.keptOrders[i]
		for j := range o.lines {
			lines = append(lines, line{o.shopID, o.orderID, j, &o.lines[j]})
		}
		for j := range o.shipments {
			shipments = append(shipments, shipment{o.shopID, o.orderID, &o.shipments[j]})
		}
	}
	err := inRows(len(lines), func(first, n int) error {
		args := make([]any, 0, 13*n)
		for _, l := range lines[first : first+n] {
			li := l.li
			args = append(args, l.shopID, l.orderID, l.position, li.ExternalID, li.VariantID, li.VariantAvailable, li.SKU, li.Title, li.VariantTitle,
				li.Quantity, li.CurrentQuantity, li.PriceMinor, li.ImageURL)
		}
		_, err := tx.Exec(ctx, `INSERT INTO line_items (shop_id, order_id, position, external_id, variant_id, variant_available,
			sku, title, variant_title, quantity, current_quantity, price_minor, image_url)
			VALUES `+strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ","), args...)
		if err != nil {
			return fmt.Errorf("line items of new orders: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = inRows(len(shipments), func(first, n int) error {
		args := make([]any, 0, 15*n)
		for _, sh := range shipments[first : first+n] {
			f := sh.f
			lines, err := json.Marshal(fulfillmentLines(f.LineItems))
			if err != nil {
				return err
			}
			args = append(args, sh.shopID, sh.orderID, f.ExternalID, f.Status, f.ShipmentStatus, f.Carrier, f.TrackingNumber, f.TrackingURL,
				database.Time(f.CreatedAt), database.Time(f.UpdatedAt), database.OptionalTime(f.InTransitAt),
				database.OptionalTime(f.OutForDeliveryAt), database.OptionalTime(f.DeliveredAt),
				database.OptionalTime(f.EstimatedDeliveryAt), string(lines))
		}
		// The orders are this transaction's own: nobody else can have
		// written their shipments.
		_, err := tx.Exec(ctx, `INSERT INTO fulfillments (shop_id, order_id, external_id, status, shipment_status, carrier,
			tracking_number, tracking_url, created_at, updated_at, in_transit_at, out_for_delivery_at, delivered_at,
			estimated_delivery_at, line_items)
			VALUES `+strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ","), args...)
		if err != nil {
			return fmt.Errorf("shipments of new orders: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	k.keptOrders, k.kept = k.keptOrders[:0], nil
	return nil
}
