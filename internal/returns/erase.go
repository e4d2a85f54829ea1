package returns

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// EraseForOrders deletes the returns of orders being forgotten: attached
// to one of orderIDs, or waiting for one of orderExternalIDs. It says how
// many went.
func (s *Records) EraseForOrders(ctx context.Context, shopID int64, orderIDs []int64, orderExternalIDs []string) (int64, error) {
	var where []string
	var args []any
	if len(orderIDs) > 0 {
		in, a := database.InList(orderIDs)
		where, args = append(where, `order_id IN (`+in+`)`), append(args, a...)
	}
	if len(orderExternalIDs) > 0 {
		in, a := database.InList(orderExternalIDs)
		where, args = append(where, `(order_external_id IN (`+in+`) AND order_external_id <> '')`), append(args, a...)
	}
	if len(where) == 0 {
		return 0, nil
	}
	res, err := s.db.Exec(ctx, `DELETE FROM returns WHERE shop_id = ? AND (`+strings.Join(where, " OR ")+`)`, append([]any{shopID}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("returns: erase: %w", err)
	}
	return res.RowsAffected()
}

// EraseAll deletes every return of the shop.
func (s *Records) EraseAll(ctx context.Context, shopID int64) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM returns WHERE shop_id = ?`, shopID)
	if err != nil {
		return 0, fmt.Errorf("returns: erase the shop's returns: %w", err)
	}
	return res.RowsAffected()
}

// ExportedReturn is a return as a data request hands it to the shopper.
type ExportedReturn struct {
	OrderName      string    `json:"order_name"`
	State          string    `json:"state"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"tracking_number"`
	CreatedAt      time.Time `json:"created_at"`
}

// ExportForOrders reads the returns EraseForOrders would delete.
func (s *Records) ExportForOrders(ctx context.Context, shopID int64, orderIDs []int64, orderExternalIDs []string) ([]ExportedReturn, error) {
	var where []string
	var args []any
	if len(orderIDs) > 0 {
		in, a := database.InList(orderIDs)
		where, args = append(where, `order_id IN (`+in+`)`), append(args, a...)
	}
	if len(orderExternalIDs) > 0 {
		in, a := database.InList(orderExternalIDs)
		where, args = append(where, `(order_external_id IN (`+in+`) AND order_external_id <> '')`), append(args, a...)
	}
	if len(where) == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT order_name, state, carrier, tracking_number, created_at FROM returns
		WHERE shop_id = ? AND (`+strings.Join(where, " OR ")+`) ORDER BY created_at, id`, append([]any{shopID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("returns: export: %w", err)
	}
	defer rows.Close()
	var out []ExportedReturn
	for rows.Next() {
		var r ExportedReturn
		if err := rows.Scan(&r.OrderName, &r.State, &r.Carrier, &r.TrackingNumber, (*database.Time)(&r.CreatedAt)); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
