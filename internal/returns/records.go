package returns

import (
	"context"
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
	ID              int64
	Provider        Provider
	ExternalID      string
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
type Records struct{ db *database.DB }

// NewRecords returns the returns record store.
func NewRecords(db *database.DB) *Records { return &Records{db: db} }

// Upsert stores a return; an update older than the stored one is ignored,
// so webhooks arriving twice or out of order are harmless.
func (s *Records) Upsert(ctx context.Context, shopID int64, r Return) (commerce.UpsertResult, error) {
	if r.ExternalID == "" || r.OrderName == "" || r.State == "" {
		return 0, fmt.Errorf("returns: a return needs an id, an order name and a state")
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
		out, err := tx.Exec(ctx, `INSERT INTO returns (shop_id, provider, external_id, order_name, order_external_id, state, outcome,
			carrier, tracking_number, label_status, label_url, status_page_url, created_at, updated_at, synced_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (shop_id, provider, external_id) DO UPDATE SET order_name = excluded.order_name,
				order_external_id = excluded.order_external_id, state = excluded.state, outcome = excluded.outcome,
				carrier = excluded.carrier, tracking_number = excluded.tracking_number, label_status = excluded.label_status,
				label_url = excluded.label_url, status_page_url = excluded.status_page_url, updated_at = excluded.updated_at,
				synced_at = excluded.synced_at
			WHERE returns.updated_at <= excluded.updated_at`,
			shopID, string(r.Provider), r.ExternalID, r.OrderName, r.OrderExternalID, string(r.State), r.Outcome,
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

// ForOrders returns the returns of the given orders, by order name, newest
// first.
func (s *Records) ForOrders(ctx context.Context, shopID int64, orderNames []string) (map[string][]Return, error) {
	out := map[string][]Return{}
	if len(orderNames) == 0 {
		return out, nil
	}
	in, nameArgs := database.InList(orderNames)
	args := append([]any{shopID}, nameArgs...)
	rows, err := s.db.Query(ctx, `SELECT id, provider, external_id, order_name, order_external_id, state, outcome, carrier,
		tracking_number, label_status, label_url, status_page_url, created_at, updated_at, synced_at
		FROM returns WHERE shop_id = ? AND order_name IN (`+in+`)
		ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("returns: load for orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Return
		var provider, state string
		if err := rows.Scan(&r.ID, &provider, &r.ExternalID, &r.OrderName, &r.OrderExternalID, &state, &r.Outcome, &r.Carrier,
			&r.TrackingNumber, &r.LabelStatus, &r.LabelURL, &r.StatusPageURL,
			(*database.Time)(&r.CreatedAt), (*database.Time)(&r.UpdatedAt), (*database.Time)(&r.SyncedAt)); err != nil {
			return nil, err
		}
		r.Provider, r.State = Provider(provider), ReturnState(state)
		out[r.OrderName] = append(out[r.OrderName], r)
	}
	return out, rows.Err()
}

// Statuses derives the shopper-facing status of each order with its returns
// (commerce.DeriveStatus), keyed by order id, and hands back the returns it
// loaded. The hub, the desk and the API all name statuses through it, so an
// order with an open return reads "Return in progress" everywhere.
func (s *Records) Statuses(ctx context.Context, shopID int64, orders []*commerce.Order) (map[int64]commerce.Status, map[string][]Return, error) {
	names := make([]string, 0, len(orders))
	for _, o := range orders {
		names = append(names, o.Name)
	}
	byName, err := s.ForOrders(ctx, shopID, names)
	if err != nil {
		return nil, nil, err
	}
	out := make(map[int64]commerce.Status, len(orders))
	for _, o := range orders {
		out[o.ID] = commerce.DeriveStatus(o, Progress(byName[o.Name]))
	}
	return out, byName, nil
}
