package returns

import (
	"context"
	"database/sql"
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
	CreatedAt       time.Time
	UpdatedAt       time.Time
	SyncedAt        time.Time
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
	if r.ExternalID == "" || (r.OrderName == "" && r.OrderExternalID == "") || r.State == "" {
		return 0, fmt.Errorf("returns: a return needs an id, its order's name or platform id, and a state")
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now().UTC()
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = r.UpdatedAt
	}
	var res commerce.UpsertResult
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var existed int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM returns WHERE shop_id = ? AND provider = ? AND external_id = ?`,
			shopID, string(r.Provider), r.ExternalID).Scan(&existed); err != nil {
			return err
		}
		orderID, err := orderFor(ctx, tx, shopID, r)
		if err != nil {
			return err
		}
		// An update that cannot name the order keeps the one already
		// attached: the order may have gained a namesake since.
		out, err := tx.Exec(ctx, `INSERT INTO returns (shop_id, provider, external_id, order_id, order_name, order_external_id, state, outcome,
			carrier, tracking_number, label_status, label_url, status_page_url, created_at, updated_at, synced_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id, provider, external_id) DO UPDATE SET order_id = COALESCE(excluded.order_id, returns.order_id),
				order_name = excluded.order_name,
				order_external_id = excluded.order_external_id, state = excluded.state, outcome = excluded.outcome,
				carrier = excluded.carrier, tracking_number = excluded.tracking_number, label_status = excluded.label_status,
				label_url = excluded.label_url, status_page_url = excluded.status_page_url, updated_at = excluded.updated_at,
				synced_at = excluded.synced_at
			WHERE returns.updated_at <= excluded.updated_at`,
			shopID, string(r.Provider), r.ExternalID, orderID, r.OrderName, r.OrderExternalID, string(r.State), r.Outcome,
			r.Carrier, r.TrackingNumber, r.LabelStatus, r.LabelURL, r.StatusPageURL,
			database.Time(r.CreatedAt), database.Time(r.UpdatedAt), database.Time(time.Now()))
		if err != nil {
			return err
		}
		switch n, _ := out.RowsAffected(); {
		case n == 0:
			res = commerce.Stale
		case existed > 0:
			res = commerce.Updated
		default:
			res = commerce.Inserted
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("returns: upsert %s: %w", r.ExternalID, err)
	}
	return res, nil
}

// orderFor finds the one order a return belongs to, or nil when it cannot
// be told for sure. The platform's order id decides when the provider
// sends it (Loop's provider_order_id): if that order has not arrived yet,
// the return waits unattached and AttachWaiting attaches it when it
// does (ingest.Orders.Upsert). A name alone decides only when exactly one
// order of the shop carries it; an ambiguous or unknown name leaves the
// return unattached until the provider reports it again with more to go
// on.
func orderFor(ctx context.Context, tx *database.Tx, shopID int64, r Return) (sql.NullInt64, error) {
	var none sql.NullInt64
	if r.OrderExternalID != "" {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM orders WHERE shop_id = ? AND external_id = ?`, shopID, r.OrderExternalID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return none, nil
		}
		return sql.NullInt64{Int64: id, Valid: err == nil}, err
	}
	rows, err := tx.Query(ctx, `SELECT id FROM orders WHERE shop_id = ? AND name = ? LIMIT 2`, shopID, r.OrderName)
	if err != nil {
		return none, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return none, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) != 1 {
		return none, err
	}
	return sql.NullInt64{Int64: ids[0], Valid: true}, nil
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
	b.Read(`SELECT id, provider, external_id, order_id, order_name, order_external_id, state, outcome, carrier,
		tracking_number, label_status, label_url, status_page_url, created_at, updated_at, synced_at
		FROM returns WHERE shop_id = ? AND order_id IN (`+ids+`)
		ORDER BY created_at DESC, id DESC`, append([]any{shopID}, args...), func(row database.RowScanner) error {
		var r Return
		var provider, state string
		if err := row.Scan(&r.ID, &provider, &r.ExternalID, &r.OrderID, &r.OrderName, &r.OrderExternalID, &state, &r.Outcome, &r.Carrier,
			&r.TrackingNumber, &r.LabelStatus, &r.LabelURL, &r.StatusPageURL,
			(*database.Time)(&r.CreatedAt), (*database.Time)(&r.UpdatedAt), (*database.Time)(&r.SyncedAt)); err != nil {
			return fmt.Errorf("returns: load for orders: %w", err)
		}
		r.Provider, r.State = Provider(provider), ReturnState(state)
		into[r.OrderID] = append(into[r.OrderID], r)
		return nil
	})
}

// OrderIDs lists the orders' ids, for ForOrders.
func OrderIDs(orders []*commerce.Order) []int64 {
	ids := make([]int64, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	return ids
}
