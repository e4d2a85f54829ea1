package commerce

import "time"

// Status is the shopper-facing order status. It is always derived from the
// stored facts, never stored itself, so it cannot disagree with them.
type Status string

const (
	StatusCancelled        Status = "cancelled"
	StatusProcessing       Status = "processing"
	StatusPartiallyShipped Status = "partially_shipped"
	StatusInTransit        Status = "in_transit"
	StatusOutForDelivery   Status = "out_for_delivery"
	StatusDelivered        Status = "delivered"
	StatusReturnInProgress Status = "return_in_progress"
	StatusReturned         Status = "returned"
)

// ReturnProgress summarises the order's returns, as the returns domain
// knows them, for DeriveStatus.
type ReturnProgress int

const (
	NoReturn ReturnProgress = iota
	ReturnActive
	ReturnCompleted
)

// DeriveStatus is the one place the shopper-facing status is computed.
//
// Precedence: a cancelled order is Cancelled; returns data outranks
// shipping; with no live shipment the order is Processing; it is Delivered
// once every live shipment is delivered (as the spec defines it, even if
// items remain unshipped); otherwise a shipment out for delivery wins over a
// partial order, which wins over In transit.
func DeriveStatus(o *Order, returns ReturnProgress) Status {
	if o.CancelledAt != nil {
		return StatusCancelled
	}
	switch returns {
	case ReturnActive:
		return StatusReturnInProgress
	case ReturnCompleted:
		return StatusReturned
	}
	live, delivered, outForDelivery := 0, 0, false
	for i := range o.Fulfillments {
		f := &o.Fulfillments[i]
		if !f.Active() {
			continue
		}
		live++
		if f.Delivered() {
			delivered++
		} else if f.ShipmentStatus == "out_for_delivery" {
			outForDelivery = true
		}
	}
	switch {
	case live == 0:
		return StatusProcessing
	case delivered == live:
		return StatusDelivered
	case outForDelivery:
		return StatusOutForDelivery
	case o.FulfillmentStatus == "partial":
		return StatusPartiallyShipped
	}
	return StatusInTransit
}

// DeliveredAt is when the last live shipment was delivered, or nil while
// any live shipment is still on its way.
func (o *Order) DeliveredAt() *time.Time {
	var last *time.Time
	for i := range o.Fulfillments {
		f := &o.Fulfillments[i]
		if !f.Active() {
			continue
		}
		if !f.Delivered() {
			return nil
		}
		at := f.DeliveredAt
		if at == nil {
			at = &f.UpdatedAt
		}
		if last == nil || at.After(*last) {
			last = at
		}
	}
	return last
}
