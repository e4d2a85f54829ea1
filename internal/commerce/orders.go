package commerce

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// UpsertOrder inserts or replaces an order by external id, with its line
// items and fulfillments, in one transaction. When customer is given it is
// upserted first and the order linked to it. An order whose updated_at is
// older than the stored one is ignored (Stale); an equal one is applied
// again, which makes replays harmless.
func (s *Store) UpsertOrder(ctx context.Context, shopID int64, o Order, customer *Customer) (*Order, UpsertResult, error) {
	_, res, err := s.ApplyOrder(ctx, shopID, o, customer)
	if err != nil {
		return nil, 0, err
	}
	stored, err := s.OrderByExternalID(ctx, shopID, strings.TrimSpace(o.ExternalID))
	return stored, res, err
}

// ApplyOrder is UpsertOrder for a caller that needs only the stored
// order's id (0 when Stale), not the order read back with its lines and
// shipments: a webhook's order, say.
func (s *Store) ApplyOrder(ctx context.Context, shopID int64, o Order, customer *Customer) (int64, UpsertResult, error) {
	if err := validateOrder(&o); err != nil {
		return 0, 0, err
	}
	var res UpsertResult
	var stored int64
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		if customer != nil {
			c, _, err := upsertCustomer(ctx, tx, shopID, *customer, s.known)
			if err != nil {
				return fmt.Errorf("customer: %w", err)
			}
			o.CustomerID = c.ID
			if o.Email == "" {
				o.Email = c.Email
			}
		} else if o.CustomerID != 0 {
			var one int
			err := tx.QueryRow(ctx, `SELECT 1 FROM customers WHERE shop_id = ? AND id = ?`, shopID, o.CustomerID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return &ValidationError{Field: "customer_id", Problem: "does not exist"}
			}
			if err != nil {
				return err
			}
		}
		var id int64
		existed := true
		known, found := s.known.order(o.ExternalID)
		switch {
		case found && known.id != 0 && known.updatedMs > o.UpdatedAt.UnixMilli():
			res = Stale
			return nil
		case found:
			existed = known.id != 0
		default:
			err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE shop_id = ? AND external_id = ?`, shopID, o.ExternalID).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				existed = false
			} else if err != nil {
				return err
			}
		}
		// On PostgreSQL an order known not to exist may have been
		// committed by another transaction since it was read: the upsert
		// says itself whether it inserted (xmax is 0 only on a row this
		// statement inserted).
		returning, told := "RETURNING id", found && tx.Engine() == database.Postgres
		if told {
			returning = "RETURNING id, (xmax = 0)"
		}
		dest := []any{&id}
		var inserted bool
		if told {
			dest = append(dest, &inserted)
		}
		a := o.ShippingAddress
		err := tx.QueryRow(ctx, `INSERT INTO orders (shop_id, external_id, customer_id, name, email, financial_status, fulfillment_status,
			currency, subtotal_minor, shipping_minor, tax_minor, total_minor,
			ship_name, ship_address1, ship_address2, ship_city, ship_province, ship_zip, ship_country_code, ship_phone,
			created_at, updated_at, cancelled_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id, external_id) DO UPDATE SET
				customer_id = COALESCE(excluded.customer_id, orders.customer_id), name = excluded.name, email = excluded.email,
				financial_status = excluded.financial_status, fulfillment_status = excluded.fulfillment_status,
				currency = excluded.currency, subtotal_minor = excluded.subtotal_minor, shipping_minor = excluded.shipping_minor,
				tax_minor = excluded.tax_minor, total_minor = excluded.total_minor,
				ship_name = excluded.ship_name, ship_address1 = excluded.ship_address1, ship_address2 = excluded.ship_address2,
				ship_city = excluded.ship_city, ship_province = excluded.ship_province, ship_zip = excluded.ship_zip,
				ship_country_code = excluded.ship_country_code, ship_phone = excluded.ship_phone,
				updated_at = excluded.updated_at, cancelled_at = excluded.cancelled_at
			WHERE orders.updated_at <= excluded.updated_at
			`+returning,
			shopID, o.ExternalID, nullID(o.CustomerID), o.Name, o.Email, o.FinancialStatus, o.FulfillmentStatus,
			o.Currency, o.SubtotalMinor, o.ShippingMinor, o.TaxMinor, o.TotalMinor,
			a.Name, a.Address1, a.Address2, a.City, a.Province, a.Zip, a.CountryCode, a.Phone,
			database.Time(o.CreatedAt), database.Time(o.UpdatedAt), database.OptionalTime(o.CancelledAt)).Scan(dest...)
		if told {
			existed = !inserted
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res = Stale
			return nil
		case err != nil:
			return err
		case existed:
			res = Updated
		default:
			res = Inserted
		}
		stored = id
		switch {
		case !existed && s.known != nil:
			s.known.keep(shopID, id, &o) // written by Flush
		case !existed:
			err = insertChildren(ctx, tx, shopID, id, &o)
		case s.known.keeps(id):
			// Inserted earlier in the run: its kept rows first.
			if err = s.known.flush(ctx, tx); err == nil {
				err = replaceChildren(ctx, tx, shopID, id, &o)
			}
		default:
			err = replaceChildren(ctx, tx, shopID, id, &o)
		}
		if err == nil {
			s.known.wroteOrder(o.ExternalID, id, &o)
		}
		return err
	})
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return 0, 0, err
		}
		return 0, 0, fmt.Errorf("upsert order %s: %w", o.ExternalID, err)
	}
	return stored, res, nil
}

func replaceChildren(ctx context.Context, tx *database.Tx, shopID, orderID int64, o *Order) error {
	if _, err := tx.Exec(ctx, `DELETE FROM line_items WHERE shop_id = ? AND order_id = ?`, shopID, orderID); err != nil {
		return err
	}
	if err := insertLines(ctx, tx, shopID, orderID, o); err != nil {
		return err
	}
	// Fulfillments also arrive on their own (fulfillment webhooks), so an
	// order event — possibly a retry carrying its original payload — must
	// not roll one back: each is upserted with its own newer-wins rule, and
	// only those the order no longer lists are removed.
	// Whether each existed is not asked: nothing here uses the result.
	unasked := false
	ids := make([]string, 0, len(o.Fulfillments))
	for i := range o.Fulfillments {
		f := &o.Fulfillments[i]
		ids = append(ids, f.ExternalID)
		if _, err := upsertFulfillment(ctx, tx, shopID, orderID, f, &unasked); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		_, err := tx.Exec(ctx, `DELETE FROM fulfillments WHERE shop_id = ? AND order_id = ?`, shopID, orderID)
		return err
	}
	in, idArgs := database.InList(ids)
	_, err := tx.Exec(ctx, `DELETE FROM fulfillments WHERE shop_id = ? AND order_id = ? AND external_id NOT IN (`+in+`)`,
		append([]any{shopID, orderID}, idArgs...)...)
	return err
}

// insertChildren writes the lines and shipments of an order just
// inserted: there is nothing to replace.
func insertChildren(ctx context.Context, tx *database.Tx, shopID, orderID int64, o *Order) error {
	if err := insertLines(ctx, tx, shopID, orderID, o); err != nil {
		return err
	}
	stored := false
	for i := range o.Fulfillments {
		if _, err := upsertFulfillment(ctx, tx, shopID, orderID, &o.Fulfillments[i], &stored); err != nil {
			return err
		}
	}
	return nil
}

// insertLines writes the order's lines.
func insertLines(ctx context.Context, tx *database.Tx, shopID, orderID int64, o *Order) error {
	// The lines in one statement (a few at a time for a long order).
	const linesPerInsert = 50
	for first := 0; first < len(o.LineItems); first += linesPerInsert {
		lines := o.LineItems[first:min(len(o.LineItems), first+linesPerInsert)]
		args := make([]any, 0, 13*len(lines))
		for j, li := range lines {
			args = append(args, shopID, orderID, first+j, li.ExternalID, li.VariantID, li.VariantAvailable, li.SKU, li.Title, li.VariantTitle,
				li.Quantity, li.CurrentQuantity, li.PriceMinor, li.ImageURL)
		}
		_, err := tx.Exec(ctx, `INSERT INTO line_items (shop_id, order_id, position, external_id, variant_id, variant_available,
			sku, title, variant_title, quantity, current_quantity, price_minor, image_url)
			VALUES `+strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", len(lines)), ","), args...)
		if err != nil {
			return fmt.Errorf("line items %d–%d: %w", first, first+len(lines)-1, err)
		}
	}
	return nil
}

// upsertFulfillment inserts or updates one fulfillment of an order: an
// older one (by updated_at) changes nothing (Stale). The carrier's
// milestone dates are facts once known: an update that does not carry
// one (Shopify's REST fulfillment has none; they come by fulfillment
// events) keeps the date stored. known, when not nil, says whether the
// fulfillment is stored already, so nobody asks.
func upsertFulfillment(ctx context.Context, tx *database.Tx, shopID, orderID int64, f *Fulfillment, known *bool) (UpsertResult, error) {
	lines, err := json.Marshal(fulfillmentLines(f.LineItems))
	if err != nil {
		return 0, err
	}
	existed := true
	if known != nil {
		existed = *known
	} else {
		var one int
		err = tx.QueryRow(ctx, `SELECT 1 FROM fulfillments WHERE shop_id = ? AND order_id = ? AND external_id = ?`,
			shopID, orderID, f.ExternalID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			existed = false
		} else if err != nil {
			return 0, fmt.Errorf("fulfillment %s: %w", f.ExternalID, err)
		}
	}
	var id int64
	err = tx.QueryRow(ctx, upsertFulfillments(1)+`
		RETURNING id`,
		shopID, orderID, f.ExternalID, f.Status, f.ShipmentStatus, f.Carrier, f.TrackingNumber, f.TrackingURL,
		database.Time(f.CreatedAt), database.Time(f.UpdatedAt), database.OptionalTime(f.InTransitAt),
		database.OptionalTime(f.OutForDeliveryAt), database.OptionalTime(f.DeliveredAt),
		database.OptionalTime(f.EstimatedDeliveryAt), string(lines)).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Stale, nil
	case err != nil:
		return 0, fmt.Errorf("fulfillment %s: %w", f.ExternalID, err)
	case existed:
		return Updated, nil
	}
	return Inserted, nil
}

// fulfillmentLines is never nil, so it is stored as [] rather than null.
func fulfillmentLines(l []FulfillmentLine) []FulfillmentLine {
	if l == nil {
		return []FulfillmentLine{}
	}
	return l
}

// UpsertFulfillment inserts or updates one fulfillment of an order (the
// fulfillment webhooks arrive on their own), with the same newer-wins rule.
func (s *Store) UpsertFulfillment(ctx context.Context, shopID int64, orderExternalID string, f Fulfillment) (UpsertResult, error) {
	if err := validateFulfillment(&f, 0); err != nil {
		return 0, err
	}
	orderExternalID = strings.TrimSpace(orderExternalID)
	if res, ok := s.known.shipmentAhead(orderExternalID, f.ExternalID); ok {
		return res, nil // written by WriteAhead
	}
	var res UpsertResult
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var orderID int64
		order, found := s.known.order(orderExternalID)
		switch {
		case found && order.id == 0:
			return ErrNotFound
		case found:
			orderID = order.id
		default:
			err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE shop_id = ? AND external_id = ?`, shopID, orderExternalID).Scan(&orderID)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
		}
		if s.known.keeps(orderID) {
			// The order was inserted in this run: its kept rows first.
			if err := s.known.flush(ctx, tx); err != nil {
				return err
			}
		}
		var known *bool
		if stored, asked := s.known.shipment(orderExternalID, f.ExternalID); asked {
			known = &stored
		}
		var err error
		if res, err = upsertFulfillment(ctx, tx, shopID, orderID, &f, known); err == nil {
			s.known.wroteShipment(orderExternalID, f.ExternalID)
		}
		return err
	})
	return res, err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func validateOrder(o *Order) error {
	o.ExternalID = strings.TrimSpace(o.ExternalID)
	o.Name = strings.TrimSpace(o.Name)
	o.Email = strings.ToLower(strings.TrimSpace(o.Email))
	o.Currency = strings.ToUpper(strings.TrimSpace(o.Currency))
	switch {
	case o.ExternalID == "":
		return &ValidationError{Field: "external_id", Problem: "is required"}
	case o.Name == "":
		return &ValidationError{Field: "name", Problem: "is required"}
	case len(o.Currency) != 3:
		return &ValidationError{Field: "currency", Problem: "must be a three-letter ISO 4217 code"}
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = time.Now().UTC()
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = o.UpdatedAt
	}
	for i := range o.LineItems {
		li := &o.LineItems[i]
		if strings.TrimSpace(li.Title) == "" {
			return &ValidationError{Field: fmt.Sprintf("line_items[%d].title", i), Problem: "is required"}
		}
		if li.Quantity < 0 || li.CurrentQuantity < 0 {
			return &ValidationError{Field: fmt.Sprintf("line_items[%d].quantity", i), Problem: "must not be negative"}
		}
	}
	seen := map[string]bool{}
	for i := range o.Fulfillments {
		if err := validateFulfillment(&o.Fulfillments[i], i); err != nil {
			return err
		}
		if seen[o.Fulfillments[i].ExternalID] {
			return &ValidationError{Field: fmt.Sprintf("fulfillments[%d].external_id", i), Problem: "appears twice"}
		}
		seen[o.Fulfillments[i].ExternalID] = true
	}
	return nil
}

func validateFulfillment(f *Fulfillment, i int) error {
	f.ExternalID = strings.TrimSpace(f.ExternalID)
	if f.ExternalID == "" {
		return &ValidationError{Field: fmt.Sprintf("fulfillments[%d].external_id", i), Problem: "is required"}
	}
	if f.Status == "" {
		f.Status = "success"
	}
	for j, l := range f.LineItems {
		l.LineItemID = strings.TrimSpace(l.LineItemID)
		f.LineItems[j] = l
		if l.LineItemID == "" {
			return &ValidationError{Field: fmt.Sprintf("fulfillments[%d].line_items[%d].line_item_id", i, j), Problem: "is required"}
		}
		if l.Quantity < 0 {
			return &ValidationError{Field: fmt.Sprintf("fulfillments[%d].line_items[%d].quantity", i, j), Problem: "must not be negative"}
		}
	}
	if f.UpdatedAt.IsZero() {
		f.UpdatedAt = time.Now().UTC()
	}
	if f.CreatedAt.IsZero() {
		f.CreatedAt = f.UpdatedAt
	}
	return nil
}

const orderColumns = `o.id, o.shop_id, o.external_id, COALESCE(o.customer_id, 0), o.name, o.email, o.financial_status,
	o.fulfillment_status, o.currency, o.subtotal_minor, o.shipping_minor, o.tax_minor, o.total_minor,
	o.ship_name, o.ship_address1, o.ship_address2, o.ship_city, o.ship_province, o.ship_zip, o.ship_country_code,
	o.ship_phone, o.created_at, o.updated_at, o.cancelled_at, o.refunded_minor, o.refunds`

func scanOrder(row database.RowScanner) (*Order, error) {
	var o Order
	var refunds string
	a := &o.ShippingAddress
	err := row.Scan(&o.ID, &o.ShopID, &o.ExternalID, &o.CustomerID, &o.Name, &o.Email, &o.FinancialStatus, &o.FulfillmentStatus,
		&o.Currency, &o.SubtotalMinor, &o.ShippingMinor, &o.TaxMinor, &o.TotalMinor,
		&a.Name, &a.Address1, &a.Address2, &a.City, &a.Province, &a.Zip, &a.CountryCode, &a.Phone,
		(*database.Time)(&o.CreatedAt), (*database.Time)(&o.UpdatedAt), database.ScanOptionalTime(&o.CancelledAt),
		&o.RefundedMinor, &refunds)
	if err != nil {
		return nil, err
	}
	// Most orders have no refund: their "[]" is not decoded.
	if refunds != "" && refunds != "[]" {
		if err := json.Unmarshal([]byte(refunds), &o.Refunds); err != nil {
			return nil, fmt.Errorf("refunds of order %d: %w", o.ID, err)
		}
	}
	return &o, nil
}

// Order returns one order of the shop with its items and fulfillments.
func (s *Store) Order(ctx context.Context, shopID, id int64) (*Order, error) {
	return s.OrderOf(ctx, shopID, 0, id, nil)
}

// OrderOf returns one order of the shop's customer (of any customer when
// customerID is 0; ErrNotFound for another's), with the caller's own reads
// about it in the same batch (see OrderReads); more may be nil.
func (s *Store) OrderOf(ctx context.Context, shopID, customerID, id int64, more OrderReads) (*Order, error) {
	if customerID != 0 {
		return s.oneOrder(ctx, shopID, `o.shop_id = ? AND o.id = ? AND o.customer_id = ?`, []any{shopID, id, customerID}, []OrderReads{more})
	}
	return s.oneOrder(ctx, shopID, `o.shop_id = ? AND o.id = ?`, []any{shopID, id}, []OrderReads{more})
}

// OrderByExternalID returns an order by the platform's id.
func (s *Store) OrderByExternalID(ctx context.Context, shopID int64, externalID string) (*Order, error) {
	return s.oneOrder(ctx, shopID, `o.shop_id = ? AND o.external_id = ?`, []any{shopID, externalID}, nil)
}

// OrderByName returns an order by its name (e.g. "#1001").
func (s *Store) OrderByName(ctx context.Context, shopID int64, name string) (*Order, error) {
	return s.oneOrder(ctx, shopID, `o.shop_id = ? AND o.name = ?`, []any{shopID, name}, nil)
}

// oneOrder reads the newest order matching where (names are not unique).
func (s *Store) oneOrder(ctx context.Context, shopID int64, where string, args []any, more []OrderReads) (*Order, error) {
	list, err := s.readOrders(ctx, shopID, `FROM orders o WHERE `+where+` ORDER BY o.id DESC LIMIT 1`, args, more)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return list[0], nil
}

// OrderFilter narrows ListOrders.
type OrderFilter struct {
	CustomerID int64  // only this customer's orders
	Search     string // order name, email or customer name
	// Sort is the column the list is sorted by; "" is OrdersByCreated.
	Sort OrderSort
	// Ascending sorts from the smallest value (the oldest, the cheapest);
	// the zero value sorts from the largest.
	Ascending bool
}

// OrderSort is a column a list of orders is sorted by.
type OrderSort string

// The orders lists' sorts.
const (
	OrdersByCreated OrderSort = "created" // when the order was placed (the default)
	OrdersByTotal   OrderSort = "total"   // the order's total, in its minor unit
)

// ListOrders returns orders newest first, with items and fulfillments.
func (s *Store) ListOrders(ctx context.Context, shopID int64, f OrderFilter, p database.Page, more ...OrderReads) ([]*Order, string, error) {
	where := []string{"o.shop_id = ?"}
	args := []any{shopID}
	from := "orders o"
	if f.CustomerID != 0 {
		where = append(where, "o.customer_id = ?")
		args = append(args, f.CustomerID)
	}
	if q := strings.TrimSpace(f.Search); q != "" {
		from = "orders o LEFT JOIN customers c ON c.id = o.customer_id AND c.shop_id = o.shop_id"
		pat := likePattern(q)
		name := q
		if !strings.HasPrefix(name, "#") {
			name = "#" + name
		}
		where = append(where, `(o.name = ? OR o.name = ? OR LOWER(o.email) LIKE ? ESCAPE '\' OR LOWER(COALESCE(c.first_name, '') || ' ' || COALESCE(c.last_name, '')) LIKE ? ESCAPE '\' OR o.external_id = ?)`)
		args = append(args, q, name, pat, pat, q)
	}
	key, cmp, dir := "o.created_at", "<", "DESC"
	if f.Sort == OrdersByTotal {
		key = "o.total_minor"
	}
	if f.Ascending {
		cmp, dir = ">", "ASC"
	}
	if c := p.After; c != nil {
		if c.IsText {
			return nil, "", database.ErrBadCursor
		}
		where = append(where, "("+key+" "+cmp+" ? OR ("+key+" = ? AND o.id "+cmp+" ?))")
		args = append(args, c.Key, c.Key, c.ID)
	}
	limit := p.Size()
	list, err := s.readOrders(ctx, shopID, `FROM `+from+` WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+key+` `+dir+`, o.id `+dir+database.Limit(limit+1), args, more)
	if err != nil {
		return nil, "", fmt.Errorf("list orders: %w", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		sortKey := last.CreatedAt.UnixMilli()
		if f.Sort == OrdersByTotal {
			sortKey = last.TotalMinor
		}
		next = database.EncodeCursor(sortKey, last.ID)
	}
	return list, next, nil
}

// OrderReads queues a caller's own reads about a page of orders into the
// batch that reads the page, so that they share its round trip and its
// snapshot. ids is a query selecting the page's order ids (at most one
// more than the page shows), args its arguments.
type OrderReads func(b *database.Batch, ids string, args []any)

// readOrders reads, in one batch, the orders selected by page (a FROM …
// WHERE … ORDER BY … LIMIT clause over orders o) with their line items and
// fulfillments, and whatever more queues about the same orders.
func (s *Store) readOrders(ctx context.Context, shopID int64, page string, args []any, more []OrderReads) ([]*Order, error) {
	var b database.Batch
	list := ReadOrders(&b, shopID, page, args, more...)
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nil, err
	}
	return *list, nil
}

// ReadOrders queues into b the reads of the orders selected by page (a
// FROM … WHERE … ORDER BY … LIMIT clause over orders o, whose arguments
// are args) with their line items and fulfillments, and whatever more
// queues about the same orders; the list is filled when b has run. The
// child reads select by the page's condition rather than by the page's
// ids, so they need not wait for the first read to come back — and a
// caller can put the whole page in a batch of its own reads.
func ReadOrders(b *database.Batch, shopID int64, page string, args []any, more ...OrderReads) *[]*Order {
	list := new([]*Order)
	byID := map[int64]*Order{}
	ids := `SELECT o.id ` + page
	childArgs := append([]any{shopID}, args...)
	b.Read(`SELECT `+orderColumns+` `+page, args, func(row database.RowScanner) error {
		o, err := scanOrder(row)
		if err != nil {
			return err
		}
		*list = append(*list, o)
		byID[o.ID] = o
		return nil
	})
	b.Read(`SELECT order_id, external_id, variant_id, variant_available, sku, title, variant_title,
		quantity, current_quantity, price_minor, image_url
		FROM line_items WHERE shop_id = ? AND order_id IN (`+ids+`) ORDER BY order_id, position`, childArgs,
		func(row database.RowScanner) error {
			var orderID int64
			var li LineItem
			if err := row.Scan(&orderID, &li.ExternalID, &li.VariantID, &li.VariantAvailable, &li.SKU, &li.Title, &li.VariantTitle,
				&li.Quantity, &li.CurrentQuantity, &li.PriceMinor, &li.ImageURL); err != nil {
				return fmt.Errorf("load line items: %w", err)
			}
			if o := byID[orderID]; o != nil {
				o.LineItems = append(o.LineItems, li)
			}
			return nil
		})
	b.Read(`SELECT order_id, external_id, status, shipment_status, carrier, tracking_number, tracking_url,
		created_at, updated_at, in_transit_at, out_for_delivery_at, delivered_at, estimated_delivery_at, line_items
		FROM fulfillments WHERE shop_id = ? AND order_id IN (`+ids+`) ORDER BY order_id, created_at, id`, childArgs,
		func(row database.RowScanner) error {
			var orderID int64
			var f Fulfillment
			var lines string
			if err := row.Scan(&orderID, &f.ExternalID, &f.Status, &f.ShipmentStatus, &f.Carrier, &f.TrackingNumber, &f.TrackingURL,
				(*database.Time)(&f.CreatedAt), (*database.Time)(&f.UpdatedAt), database.ScanOptionalTime(&f.InTransitAt),
				database.ScanOptionalTime(&f.OutForDeliveryAt), database.ScanOptionalTime(&f.DeliveredAt),
				database.ScanOptionalTime(&f.EstimatedDeliveryAt), &lines); err != nil {
				return fmt.Errorf("load fulfillments: %w", err)
			}
			if lines != "" && lines != "[]" {
				if err := json.Unmarshal([]byte(lines), &f.LineItems); err != nil {
					return fmt.Errorf("load fulfillment %s: line items: %w", f.ExternalID, err)
				}
			}
			if o := byID[orderID]; o != nil {
				o.Fulfillments = append(o.Fulfillments, f)
			}
			return nil
		})
	for _, m := range more {
		if m != nil {
			m(b, ids, args)
		}
	}
	return list
}

// upsertFulfillments is the upsert of n shipments, newer wins (an equal
// updated_at is applied again), a carrier step's date never cleared: one
// event's, or a chunk's (WriteAhead).
func upsertFulfillments(n int) string {
	return `INSERT INTO fulfillments (shop_id, order_id, external_id, status, shipment_status, carrier,
		tracking_number, tracking_url, created_at, updated_at, in_transit_at, out_for_delivery_at, delivered_at,
		estimated_delivery_at, line_items)
		VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",") + `
		ON CONFLICT (order_id, external_id) DO UPDATE SET status = excluded.status, shipment_status = excluded.shipment_status,
			carrier = excluded.carrier, tracking_number = excluded.tracking_number, tracking_url = excluded.tracking_url,
			updated_at = excluded.updated_at,
			in_transit_at = COALESCE(excluded.in_transit_at, fulfillments.in_transit_at),
			out_for_delivery_at = COALESCE(excluded.out_for_delivery_at, fulfillments.out_for_delivery_at),
			delivered_at = COALESCE(excluded.delivered_at, fulfillments.delivered_at),
			estimated_delivery_at = excluded.estimated_delivery_at, line_items = excluded.line_items
		WHERE fulfillments.updated_at <= excluded.updated_at`
}
