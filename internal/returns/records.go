package returns

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
)

// State is a return's state in the returns platform (Loop's vocabulary).
type ReturnState string

const (
	StateOpen      ReturnState = "open"
	StateReview    ReturnState = "review"
	StateClosed    ReturnState = "closed"
	StateCancelled ReturnState = "cancelled"
	StateExpired   ReturnState = "expired"
)

// Active is true while the return is under way: an order with an active
// return offers no new one.
func (s ReturnState) Active() bool { return s == StateOpen || s == StateReview }

// Return is one return as the platform last reported it.
type Return struct {
	ID         int64
	Provider   Provider
	ExternalID string
	// OrderID is the order the return is attached to (orders.id), 0 while
	// it waits for its order; OrderName and OrderExternalID are what the
	// provider reported, kept to attach it.
	OrderID         int64
	OrderName       string
	OrderExternalID string
	State           ReturnState
	Outcome         string
	Carrier         string
	TrackingNumber  string
	LabelStatus     string
	LabelURL        string
	StatusPageURL   string
	// TrackingURL is where the tracking number leads: the carrier's own
	// tracking page for the carriers TrackingURL knows, else Loop's
	// label or status page.
	TrackingURL string
	// LineItems are the returned items, grouped by title, variant and
	// reason.
	LineItems []ReturnedItem
	// CreatedAt and UpdatedAt are the platform's own times (Loop's
	// created_at and edited_at): UpdatedAt is the version later reports
	// are compared with, never the time a report arrived.
	CreatedAt time.Time
	UpdatedAt time.Time
	// LabelUpdatedAt is the platform's time of the last label change
	// reported on its own (Loop's label webhook); zero when none was.
	LabelUpdatedAt time.Time
	// ProcessingError is the platform's message when processing the
	// return failed (Loop's return.processing.failed): the return is
	// stuck until a report of a newer version than the one that failed
	// clears it.
	ProcessingFailed bool
	ProcessingError  string
	// OrderAmbiguous: only the order's name was reported and more than
	// one order of the shop carries it, so the return waits unattached
	// rather than be guessed onto one of them.
	OrderAmbiguous bool
	SyncedAt       time.Time
}

// ReturnedItem is one kind of item in a return.
type ReturnedItem struct {
	Title    string `json:"title"`
	Variant  string `json:"variant,omitempty"`
	Quantity int    `json:"quantity"`
	Reason   string `json:"reason,omitempty"`
}

// Progress summarises an order's returns for the order status.
func Progress(list []Return) commerce.ReturnProgress {
	p := commerce.NoReturn
	for _, r := range list {
		switch {
		case r.State.Active():
			return commerce.ReturnActive
		case r.State == StateClosed:
			p = commerce.ReturnCompleted
		}
	}
	return p
}

// ActiveReturn returns the order's active return, if any.
func ActiveReturn(list []Return) *Return {
	for i := range list {
		if list[i].State.Active() {
			return &list[i]
		}
	}
	return nil
}

// Records stores returns reported by the platforms (webhooks, sync).
type Records struct{ db database.Querier }

// NewRecords returns the returns record store over db (the database or a
// transaction).
func NewRecords(db database.Querier) *Records { return &Records{db: db} }

// With returns the store running on q, typically a use case's transaction.
func (s *Records) With(q database.Querier) *Records { return &Records{db: q} }

// Upsert stores a return; an update older than the stored one is ignored,
// so webhooks arriving twice or out of order are harmless. The return is
// attached to one order of the shop here, once, by orderFor; reads follow
// that link and never match names.
func (s *Records) Upsert(ctx context.Context, shopID int64, r Return) (commerce.UpsertResult, error) {
	return s.upsert(ctx, shopID, r, false)
}

// Replace stores r as the platform's answer to a read made now (a webhook
// that could not be ordered is re-read): it is taken unless the stored
// return is newer by more than the second the platform's read may round
// its time down to (Loop's details have whole seconds, its webhooks
// milliseconds). The stored version never goes back.
func (s *Records) Replace(ctx context.Context, shopID int64, r Return) (commerce.UpsertResult, error) {
	return s.upsert(ctx, shopID, r, true)
}

// readPrecision is how much a read's version may lag the same state
// reported with finer times.
const readPrecision = time.Second

func (s *Records) upsert(ctx context.Context, shopID int64, r Return, read bool) (commerce.UpsertResult, error) {
	res, _, err := s.write(ctx, shopID, r, read, nil, false)
	return res, err
}

// UpsertOver is Upsert for a caller that has read the stored return in
// its transaction (stored; nil when there is none), so its existence is
// not read again; it also returns the order the return is attached to
// afterwards (0 for none, and for Stale). A webhook's return costs one
// statement here.
func (s *Records) UpsertOver(ctx context.Context, shopID int64, r Return, stored *Return) (commerce.UpsertResult, int64, error) {
	return s.write(ctx, shopID, r, false, stored, true)
}

// write stores r (see Upsert and Replace); known says the caller read
// stored, the return as it is now, in its transaction.
func (s *Records) write(ctx context.Context, shopID int64, r Return, read bool, stored *Return, known bool) (commerce.UpsertResult, int64, error) {
	if r.ExternalID == "" || (r.OrderName == "" && r.OrderExternalID == "") || r.State == "" {
		return 0, 0, fmt.Errorf("returns: a return needs an id, its order's name or platform id, and a state")
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now().UTC()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = r.UpdatedAt
	}
	items, err := json.Marshal(nonNilItems(r.LineItems))
	if err != nil {
		return 0, 0, fmt.Errorf("returns: upsert %s: %w", r.ExternalID, err)
	}
	newer := `returns.updated_at <= excluded.updated_at`
	if read {
		newer = fmt.Sprintf(`returns.updated_at < excluded.updated_at + %d`, readPrecision.Milliseconds())
	}
	var res commerce.UpsertResult
	var attached int64
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		existed := stored != nil
		if !known {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM returns WHERE shop_id = ? AND provider = ? AND external_id = ?`,
				shopID, string(r.Provider), r.ExternalID).Scan(&n); err != nil {
				return err
			}
			existed = n > 0
		}
		// The order: by its platform id, looked up in the statement
		// itself (none yet: the return waits unattached); by name alone,
		// only when exactly one order has it (orderFor).
		order, orderArgs := `(SELECT id FROM orders WHERE shop_id = ? AND external_id = ?)`, []any{shopID, r.OrderExternalID}
		ambiguous := false
		if r.OrderExternalID == "" {
			orderID, amb, err := orderFor(ctx, tx, shopID, r)
			if err != nil {
				return err
			}
			order, orderArgs, ambiguous = `?`, []any{orderID}, amb
		}
		// An update that cannot name the order keeps the one already
		// attached: the order may have gained a namesake since.
		if r.TrackingURL == "" {
			r.TrackingURL = TrackingURL(r.Carrier, r.TrackingNumber, r.LabelURL, r.StatusPageURL)
		}
		args := append([]any{shopID, string(r.Provider), r.ExternalID}, orderArgs...)
		args = append(args, r.OrderName, r.OrderExternalID, string(r.State), r.Outcome,
			r.Carrier, r.TrackingNumber, r.LabelStatus, r.LabelURL, r.StatusPageURL,
			database.Time(r.CreatedAt), database.Time(r.UpdatedAt), database.Time(time.Now()),
			string(items), r.TrackingURL, ambiguous, false)
		// A report of the return more than a second newer than a
		// processing failure clears it: the return moved on. (Loop's
		// details carry whole seconds and its webhooks milliseconds, so a
		// re-read in the same second is not news.)
		err := tx.ExecReturning(ctx, `INSERT INTO returns (shop_id, provider, external_id, order_id, order_name, order_external_id, state, outcome,
			carrier, tracking_number, label_status, label_url, status_page_url, created_at, updated_at, synced_at,
			line_items, tracking_url, order_ambiguous)
			VALUES (?, ?, ?, `+order+`, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id, provider, external_id) DO UPDATE SET order_id = COALESCE(excluded.order_id, returns.order_id),
				order_name = excluded.order_name,
				order_external_id = excluded.order_external_id, state = excluded.state, outcome = excluded.outcome,
				carrier = excluded.carrier, tracking_number = excluded.tracking_number, label_status = excluded.label_status,
				label_url = excluded.label_url, status_page_url = excluded.status_page_url,
				updated_at = CASE WHEN excluded.updated_at > returns.updated_at THEN excluded.updated_at ELSE returns.updated_at END,
				synced_at = excluded.synced_at, line_items = excluded.line_items, tracking_url = excluded.tracking_url,
				order_ambiguous = CASE WHEN COALESCE(excluded.order_id, returns.order_id) IS NULL THEN excluded.order_ambiguous ELSE ? END,
				processing_error = CASE WHEN returns.processing_failed_version IS NULL OR returns.processing_failed_version + 1000 < excluded.updated_at
					THEN '' ELSE returns.processing_error END,
				processing_failed_version = CASE WHEN returns.processing_failed_version + 1000 < excluded.updated_at
					THEN NULL ELSE returns.processing_failed_version END
			WHERE `+newer+`
			RETURNING COALESCE(order_id, 0)`, args...).Scan(&attached)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res = commerce.Stale
		case err != nil:
			return err
		case existed:
			res = commerce.Updated
		default:
			res = commerce.Inserted
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("returns: upsert %s: %w", r.ExternalID, err)
	}
	return res, attached, nil
}

// orderFor finds the one order a return belongs to, or nil when it cannot
// be told for sure. The platform's order id decides when the provider
// sends it (Loop's provider_order_id): if that order has not arrived yet,
// the return waits unattached and AttachWaiting attaches it when it
// does (ingest.Orders.Upsert). A name alone decides only when exactly one
// order of the shop carries it; an ambiguous or unknown name leaves the
// return unattached until the provider reports it again with more to go
// on.
// ambiguous is true when the name alone was known and matched several
// orders.
func orderFor(ctx context.Context, tx *database.Tx, shopID int64, r Return) (order sql.NullInt64, ambiguous bool, err error) {
	var none sql.NullInt64
	if r.OrderExternalID != "" {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE shop_id = ? AND external_id = ?`, shopID, r.OrderExternalID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return none, false, nil
		}
		return sql.NullInt64{Int64: id, Valid: err == nil}, false, err
	}
	rows, err := tx.Query(ctx, `SELECT id FROM orders WHERE shop_id = ? AND name = ? LIMIT 2`, shopID, r.OrderName)
	if err != nil {
		return none, false, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return none, false, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) != 1 {
		return none, len(ids) > 1, err
	}
	return sql.NullInt64{Int64: ids[0], Valid: true}, false, nil
}

// AttachWaiting gives a newly arrived order the returns reported for its
// platform id before it existed here (Upsert leaves them unattached rather
// than guess by name). The ingest use case runs it in the order's own
// transaction, so no read sees the order without them.
func (s *Records) AttachWaiting(ctx context.Context, shopID, orderID int64, orderExternalID string) error {
	_, err := s.db.Exec(ctx, `UPDATE returns SET order_id = ? WHERE shop_id = ? AND order_id IS NULL AND order_external_id = ?`,
		orderID, shopID, orderExternalID)
	if err != nil {
		return fmt.Errorf("returns: attach waiting for order %s: %w", orderExternalID, err)
	}
	return nil
}

// AttachWaitingMany is AttachWaiting for several newly arrived orders of
// the shop at once, named by their platform ids, in one statement: the
// orders of a chunk of webhooks, in the transaction that inserted them.
func (s *Records) AttachWaitingMany(ctx context.Context, shopID int64, orderExternalIDs []string) error {
	if len(orderExternalIDs) == 0 {
		return nil
	}
	query, args := attachWaitingMany(s.db.Engine(), shopID, orderExternalIDs)
	if _, err := s.db.Exec(ctx, query, args...); err != nil {
		return fmt.Errorf("returns: attach waiting for %d orders: %w", len(orderExternalIDs), err)
	}
	return nil
}

// attachWaitingMany is AttachWaitingMany's statement. The waiting
// returns must be found by the waiting index's shop and platform id, one
// look-up per order, never by the shop alone: statistics are taken before
// a burst of returns waiting for their orders (they are refreshed daily),
// when the planners count none waiting, and both then walked every waiting
// return of the shop for each chunk of orders — after a burst of Loop
// webhooks for orders not stored here, tens of thousands of them, 40 % of
// the CPU of the Shopify webhooks that followed on SQLite and 60 % of
// PostgreSQL's. SQLite is told the index. PostgreSQL, which takes no such
// hint, looks each order's waiting returns up in a LATERAL subquery that
// OFFSET 0 keeps from being flattened into a join (which it could plan as
// that walk), and the update finds them by their primary key.
func attachWaitingMany(engine database.Dialect, shopID int64, orderExternalIDs []string) (string, []any) {
	const orderOf = `order_id = (SELECT o.id FROM orders o WHERE o.shop_id = returns.shop_id AND o.external_id = returns.order_external_id)`
	if engine == database.Postgres {
		table, args := database.ValuesList(orderExternalIDs, "TEXT", "k")
		return `UPDATE returns SET ` + orderOf + `
			WHERE shop_id = ? AND id = ANY(ARRAY(SELECT r.id FROM ` + table + ` CROSS JOIN LATERAL
				(SELECT id FROM returns WHERE shop_id = ? AND order_id IS NULL AND order_external_id = k.column1 OFFSET 0) r))`,
			append([]any{shopID}, append(args, shopID)...)
	}
	in, args := database.InList(orderExternalIDs)
	return `UPDATE returns INDEXED BY returns_waiting SET ` + orderOf + `
		WHERE shop_id = ? AND order_id IS NULL AND order_external_id IN (` + in + `)`, append([]any{shopID}, args...)
}

// ForOrders returns the returns attached to the given orders, keyed by
// order id, newest first.
func (s *Records) ForOrders(ctx context.Context, shopID int64, orderIDs []int64) (map[int64][]Return, error) {
	out := map[int64][]Return{}
	if len(orderIDs) == 0 {
		return out, nil
	}
	in, idArgs := database.InList(orderIDs)
	var b database.Batch
	ReadForOrders(&b, shopID, in, idArgs, out)
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadForOrders queues into b the read of the returns attached to the
// orders that ids selects (a list of placeholders or a query of order
// ids, with args), filling into keyed by order id, newest first.
func ReadForOrders(b *database.Batch, shopID int64, ids string, args []any, into map[int64][]Return) {
	b.Read(`SELECT `+returnColumns+`
		FROM returns WHERE shop_id = ? AND order_id IN (`+ids+`)
		ORDER BY created_at DESC, id DESC`, append([]any{shopID}, args...), func(row database.RowScanner) error {
		r, err := scanReturn(row)
		if err != nil {
			return fmt.Errorf("returns: load for orders: %w", err)
		}
		into[r.OrderID] = append(into[r.OrderID], r)
		return nil
	})
}

const returnColumns = `id, provider, external_id, COALESCE(order_id, 0), order_name, order_external_id, state, outcome, carrier,
		tracking_number, label_status, label_url, status_page_url, created_at, updated_at, synced_at,
		line_items, tracking_url, label_updated_at, processing_error, processing_failed_version, order_ambiguous`

func scanReturn(row database.RowScanner) (Return, error) {
	var r Return
	var provider, state, items string
	var labelAt, failedAt *time.Time
	if err := row.Scan(&r.ID, &provider, &r.ExternalID, &r.OrderID, &r.OrderName, &r.OrderExternalID, &state, &r.Outcome, &r.Carrier,
		&r.TrackingNumber, &r.LabelStatus, &r.LabelURL, &r.StatusPageURL,
		(*database.Time)(&r.CreatedAt), (*database.Time)(&r.UpdatedAt), (*database.Time)(&r.SyncedAt),
		&items, &r.TrackingURL, database.ScanOptionalTime(&labelAt), &r.ProcessingError, database.ScanOptionalTime(&failedAt),
		&r.OrderAmbiguous); err != nil {
		return r, err
	}
	r.Provider, r.State = Provider(provider), ReturnState(state)
	if labelAt != nil {
		r.LabelUpdatedAt = *labelAt
	}
	r.ProcessingFailed = failedAt != nil
	if err := json.Unmarshal([]byte(items), &r.LineItems); err != nil {
		return r, fmt.Errorf("line items of return %s: %w", r.ExternalID, err)
	}
	return r, nil
}

func nonNilItems(items []ReturnedItem) []ReturnedItem {
	if items == nil {
		return []ReturnedItem{}
	}
	return items
}

// ErrNotFound: the shop has no such return.
var ErrNotFound = errors.New("returns: return not found")

// Get returns the shop's return the provider knows by externalID.
func (s *Records) Get(ctx context.Context, shopID int64, provider Provider, externalID string) (*Return, error) {
	r, err := scanReturn(s.db.QueryRow(ctx, `SELECT `+returnColumns+` FROM returns
		WHERE shop_id = ? AND provider = ? AND external_id = ?`, shopID, string(provider), externalID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("returns: load %s: %w", externalID, err)
	}
	return &r, nil
}

// GetMany returns those of the shop's returns the provider knows by
// externalIDs that are stored, by external id, in one statement.
func (s *Records) GetMany(ctx context.Context, shopID int64, provider Provider, externalIDs []string) (map[string]*Return, error) {
	out := make(map[string]*Return, len(externalIDs))
	if len(externalIDs) == 0 {
		return out, nil
	}
	in, idArgs := database.InList(externalIDs)
	rows, err := s.db.Query(ctx, `SELECT `+returnColumns+` FROM returns
		WHERE shop_id = ? AND provider = ? AND external_id IN (`+in+`)`, append([]any{shopID, string(provider)}, idArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("returns: load %d returns: %w", len(externalIDs), err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanReturn(rows)
		if err != nil {
			return nil, fmt.Errorf("returns: load %d returns: %w", len(externalIDs), err)
		}
		out[r.ExternalID] = &r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("returns: load %d returns: %w", len(externalIDs), err)
	}
	return out, nil
}

// Label is a label change reported on its own (Loop's label webhook).
type Label struct {
	Carrier        string
	TrackingNumber string
	LabelStatus    string
	// UpdatedAt is the platform's time of the change; the label change is
	// applied only when it is newer than the label's last one.
	UpdatedAt time.Time
}

// ApplyLabel stores a label change of a stored return when it is newer
// than the last one applied. It reports Stale for an older or equal one,
// and ErrNotFound when the return is not stored yet (the caller reads it
// from the platform instead).
func (s *Records) ApplyLabel(ctx context.Context, shopID int64, provider Provider, externalID string, l Label) (commerce.UpsertResult, error) {
	var res commerce.UpsertResult
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		r, err := s.With(tx).Get(ctx, shopID, provider, externalID)
		if err != nil {
			return err
		}
		if !r.LabelUpdatedAt.IsZero() && !l.UpdatedAt.After(r.LabelUpdatedAt) {
			res = commerce.Stale
			return nil
		}
		url := TrackingURL(l.Carrier, l.TrackingNumber, r.LabelURL, r.StatusPageURL)
		_, err = tx.Exec(ctx, `UPDATE returns SET carrier = ?, tracking_number = ?, label_status = ?, tracking_url = ?,
			label_updated_at = ?, synced_at = ? WHERE shop_id = ? AND id = ?`,
			l.Carrier, l.TrackingNumber, l.LabelStatus, url, database.Time(l.UpdatedAt), database.Time(time.Now()), shopID, r.ID)
		res = commerce.Updated
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return 0, err
		}
		return 0, fmt.Errorf("returns: label of %s: %w", externalID, err)
	}
	return res, nil
}

// MarkProcessingFailed records the platform's message that processing the
// stored version of the return failed; ErrNotFound when the return is not
// stored yet. The message may be empty (Loop's is optional): the failure
// still shows, by ProcessingFailed.
func (s *Records) MarkProcessingFailed(ctx context.Context, shopID int64, provider Provider, externalID, message string) error {
	res, err := s.db.Exec(ctx, `UPDATE returns SET processing_error = ?, processing_failed_version = updated_at
		WHERE shop_id = ? AND provider = ? AND external_id = ?`,
		message, shopID, string(provider), externalID)
	if err != nil {
		return fmt.Errorf("returns: processing failure of %s: %w", externalID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Get(ctx, shopID, provider, externalID); err != nil {
			return err
		}
	}
	return nil
}

// OrdersWithActiveReturn are the given orders that have an active return, for
// the refresh on ticket open (orders inside the return window are told by
// the caller, which knows the window).
func (s *Records) OrdersWithActiveReturn(ctx context.Context, shopID int64, orderIDs []int64) (map[int64]bool, error) {
	out := map[int64]bool{}
	if len(orderIDs) == 0 {
		return out, nil
	}
	in, args := database.InList(orderIDs)
	rows, err := s.db.Query(ctx, `SELECT DISTINCT order_id FROM returns WHERE shop_id = ? AND state IN ('open', 'review') AND order_id IN (`+in+`)`,
		append([]any{shopID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("returns: active returns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// SyncedAt is, per order, when its returns were last synced (the oldest
// of them); orders without returns are absent.
func (s *Records) SyncedAt(ctx context.Context, shopID int64, orderIDs []int64) (map[int64]time.Time, error) {
	out, err := database.TimesByOrder(ctx, s.db, `SELECT order_id, MIN(synced_at) FROM returns WHERE shop_id = ? AND order_id IN (%s) GROUP BY order_id`, shopID, orderIDs)
	if err != nil {
		return nil, fmt.Errorf("returns: synced at: %w", err)
	}
	return out, nil
}

// Touch records that the orders' returns were read from the platform at,
// unchanged: their age starts again.
func (s *Records) Touch(ctx context.Context, shopID int64, orderIDs []int64, at time.Time) error {
	if len(orderIDs) == 0 {
		return nil
	}
	in, args := database.InList(orderIDs)
	_, err := s.db.Exec(ctx, `UPDATE returns SET synced_at = ? WHERE shop_id = ? AND order_id IN (`+in+`)`,
		append([]any{database.Time(at), shopID}, args...)...)
	if err != nil {
		return fmt.Errorf("returns: touch: %w", err)
	}
	return nil
}

// OrderIDs lists the orders' ids, for ForOrders.
func OrderIDs(orders []*commerce.Order) []int64 {
	ids := make([]int64, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	return ids
}
