package commerce

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Carrier statuses of a shipment (Fulfillment.ShipmentStatus), in the
// order a parcel passes them; failure stands apart.
const (
	ShipmentLabelPrinted      = "label_printed"
	ShipmentLabelPurchased    = "label_purchased"
	ShipmentConfirmed         = "confirmed"
	ShipmentReadyForPickup    = "ready_for_pickup"
	ShipmentInTransit         = "in_transit"
	ShipmentOutForDelivery    = "out_for_delivery"
	ShipmentAttemptedDelivery = "attempted_delivery"
	ShipmentDelivered         = "delivered"
	ShipmentFailure           = "failure"
)

// shipmentRank orders the carrier's statuses: a step reported late (an
// in-transit scan after the delivery) never moves the shipment back.
var shipmentRank = map[string]int{
	ShipmentLabelPrinted: 1, ShipmentLabelPurchased: 1, ShipmentConfirmed: 2, ShipmentReadyForPickup: 3,
	ShipmentInTransit: 4, ShipmentFailure: 5, ShipmentOutForDelivery: 6, ShipmentAttemptedDelivery: 7, ShipmentDelivered: 8,
}

// shipmentRankSQL is shipmentRank of the stored shipment_status, in SQL.
var shipmentRankSQL = func() string {
	var b strings.Builder
	b.WriteString("(CASE shipment_status")
	for _, status := range []string{ShipmentLabelPrinted, ShipmentLabelPurchased, ShipmentConfirmed, ShipmentReadyForPickup,
		ShipmentInTransit, ShipmentFailure, ShipmentOutForDelivery, ShipmentAttemptedDelivery, ShipmentDelivered} {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", status, shipmentRank[status])
	}
	b.WriteString(" ELSE 0 END)")
	return b.String()
}()

// ShipmentStatusOf is the carrier status (Fulfillment.ShipmentStatus)
// for what a platform reports: Shopify's REST shipment_status and
// fulfillment event status are already these words; its GraphQL
// Fulfillment.displayStatus (DELIVERED, OUT_FOR_DELIVERY, IN_TRANSIT,
// ATTEMPTED_DELIVERY, FAILURE, LABEL_PRINTED, CONFIRMED, …) is their upper
// case. A value that is no carrier step (FULFILLED, CANCELED, …) is "".
func ShipmentStatusOf(reported string) string {
	s := strings.ToLower(strings.TrimSpace(reported))
	if _, ok := shipmentRank[s]; ok {
		return s
	}
	return ""
}

// ShipmentEvent is one carrier step reported on its own (Shopify's
// fulfillment_events/create).
type ShipmentEvent struct {
	Status              string    // a carrier status (ShipmentStatusOf)
	HappenedAt          time.Time // when the carrier says it happened; zero: unknown
	EstimatedDeliveryAt *time.Time
}

// ApplyShipmentEvent records a carrier step on a fulfillment of an order:
// its date (in transit, out for delivery, delivered — the earliest one
// reported wins, so replays and late copies change nothing) and the
// shipment's status, which only moves forward (ShipmentStatusOf's order).
// ErrNotFound when the order or the fulfillment is not stored.
func (s *Store) ApplyShipmentEvent(ctx context.Context, shopID int64, orderExternalID, fulfillmentExternalID string, ev ShipmentEvent) (UpsertResult, error) {
	status := ShipmentStatusOf(ev.Status)
	if status == "" {
		return 0, &ValidationError{Field: "status", Problem: "is not a carrier status"}
	}
	var res UpsertResult
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `SELECT f.id FROM fulfillments f JOIN orders o ON o.id = f.order_id AND o.shop_id = f.shop_id
			WHERE f.shop_id = ? AND o.external_id = ? AND f.external_id = ?`, shopID, orderExternalID, fulfillmentExternalID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		res = Stale
		// The rank is compared in the UPDATE itself, so two steps applied at
		// once (PostgreSQL, two transactions) cannot move the status back:
		// the second re-reads the row the first wrote. The step becomes the
		// fulfillment's version as of when it happened, so a retried older
		// copy of the fulfillment, carrying the status before it, is stale.
		at := database.Time(ev.HappenedAt)
		r, err := tx.Exec(ctx, `UPDATE fulfillments SET shipment_status = ?,
			updated_at = CASE WHEN updated_at < ? THEN ? ELSE updated_at END
			WHERE shop_id = ? AND id = ? AND shipment_status <> ? AND `+shipmentRankSQL+` <= ?`,
			status, at, at, shopID, id, status, shipmentRank[status])
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n > 0 {
			res = Updated
		}
		column := map[string]string{ShipmentInTransit: "in_transit_at", ShipmentOutForDelivery: "out_for_delivery_at", ShipmentDelivered: "delivered_at"}[status]
		if column != "" && !ev.HappenedAt.IsZero() {
			r, err := tx.Exec(ctx, `UPDATE fulfillments SET `+column+` = ? WHERE shop_id = ? AND id = ? AND (`+column+` IS NULL OR `+column+` > ?)`,
				database.Time(ev.HappenedAt), shopID, id, database.Time(ev.HappenedAt))
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n > 0 {
				res = Updated
			}
		}
		if ev.EstimatedDeliveryAt != nil && status != ShipmentDelivered {
			if _, err := tx.Exec(ctx, `UPDATE fulfillments SET estimated_delivery_at = ? WHERE shop_id = ? AND id = ?`,
				database.Time(*ev.EstimatedDeliveryAt), shopID, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("shipment event on fulfillment %s of order %s: %w", fulfillmentExternalID, orderExternalID, err)
	}
	return res, err
}

// OutForDeliveryAt is when the first live shipment still on its way was
// said to be out for delivery; nil when none was, or no one said when.
func (o *Order) OutForDeliveryAt() *time.Time {
	var first *time.Time
	for i := range o.Fulfillments {
		f := &o.Fulfillments[i]
		if !f.Active() || f.OutForDeliveryAt == nil {
			continue
		}
		if first == nil || f.OutForDeliveryAt.Before(*first) {
			first = f.OutForDeliveryAt
		}
	}
	return first
}
