package commerce

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Refund is money (and possibly items) given back on an order, as the
// platform reported it.
type Refund struct {
	ExternalID  string       `json:"id"`
	CreatedAt   time.Time    `json:"created_at"`
	AmountMinor int64        `json:"amount_minor"` // in the order's currency
	Lines       []RefundLine `json:"lines"`
}

// RefundLine is one line item refunded: how many units and for how much.
type RefundLine struct {
	LineItemID    string `json:"line_item_id"` // the line item's platform id
	Quantity      int    `json:"quantity"`
	SubtotalMinor int64  `json:"subtotal_minor"`
	// RestockType is Shopify's: no_restock, cancel, return, legacy_restock.
	RestockType string `json:"restock_type,omitempty"`
}

// Financial statuses a refund leaves an order in.
const (
	FinancialRefunded          = "refunded"
	FinancialPartiallyRefunded = "partially_refunded"
)

// RefundedStatus is the order's financial status once refunded of its
// total has been given back.
func RefundedStatus(total, refunded int64) string {
	if refunded >= total && total > 0 {
		return FinancialRefunded
	}
	return FinancialPartiallyRefunded
}

// RefundOutcome says what applying a refund did.
type RefundOutcome struct {
	// Applied is false when the refund was applied already.
	Applied bool
	// RefundedMinor is the order's refunds' sum afterwards.
	RefundedMinor int64
	// FinancialStatus is the order's status afterwards; StatusChanged says
	// whether the refund set it (not when a newer version of the order,
	// which already tells its status, is stored).
	FinancialStatus string
	StatusChanged   bool
}

// ApplyRefund records a refund on the order with that platform id, once
// per refund id, and adds it to the order's refunded sum. When the refund
// is not older than the stored order, the order's financial status
// becomes refunded or partially refunded and its version the refund's
// time, so an order update older than the refund no longer overwrites it;
// a newer stored order keeps its own status. ErrNotFound: no such order.
func (s *Store) ApplyRefund(ctx context.Context, shopID int64, orderExternalID string, r Refund) (RefundOutcome, error) {
	var out RefundOutcome
	if r.ExternalID == "" {
		return out, &ValidationError{Field: "id", Problem: "is required"}
	}
	if r.AmountMinor < 0 {
		return out, &ValidationError{Field: "amount", Problem: "must not be negative"}
	}
	for i, l := range r.Lines {
		if l.LineItemID == "" || l.Quantity < 0 {
			return out, &ValidationError{Field: fmt.Sprintf("refund_line_items[%d]", i), Problem: "needs a line item and a quantity of 0 or more"}
		}
	}
	if r.Lines == nil {
		r.Lines = []RefundLine{}
	}
	r.CreatedAt = r.CreatedAt.UTC()
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var (
			id              int64
			total, refunded int64
			status, stored  string
			updated         time.Time
		)
		// Two refunds of one order may be applied at once: on PostgreSQL
		// the row is locked (SQLite has one writer).
		lock := ""
		if tx.Engine() == database.Postgres {
			lock = ` FOR UPDATE`
		}
		err := tx.QueryRow(ctx, `SELECT id, total_minor, refunded_minor, financial_status, refunds, updated_at
			FROM orders WHERE shop_id = ? AND external_id = ?`+lock, shopID, orderExternalID).
			Scan(&id, &total, &refunded, &status, &stored, (*database.Time)(&updated))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var list []Refund
		if err := json.Unmarshal([]byte(stored), &list); err != nil {
			return fmt.Errorf("refunds of order %d: %w", id, err)
		}
		out.RefundedMinor, out.FinancialStatus = refunded, status
		if slices.ContainsFunc(list, func(x Refund) bool { return x.ExternalID == r.ExternalID }) {
			return nil
		}
		list = append(list, r)
		slices.SortStableFunc(list, func(a, b Refund) int { return a.CreatedAt.Compare(b.CreatedAt) })
		b, err := json.Marshal(list)
		if err != nil {
			return err
		}
		out.Applied, out.RefundedMinor = true, refunded+r.AmountMinor
		if !r.CreatedAt.Before(updated) && r.AmountMinor > 0 {
			out.FinancialStatus, out.StatusChanged, updated = RefundedStatus(total, out.RefundedMinor), true, r.CreatedAt
		}
		_, err = tx.Exec(ctx, `UPDATE orders SET refunds = ?, refunded_minor = ?, financial_status = ?, updated_at = ?
			WHERE shop_id = ? AND id = ?`, string(b), out.RefundedMinor, out.FinancialStatus, database.Time(updated), shopID, id)
		return err
	})
	if err != nil {
		var ve *ValidationError
		if errors.Is(err, ErrNotFound) || errors.As(err, &ve) {
			return RefundOutcome{}, err
		}
		return RefundOutcome{}, fmt.Errorf("refund %s of order %s: %w", r.ExternalID, orderExternalID, err)
	}
	return out, nil
}

// Refunds are the order's refunds, oldest first, and their sum.
func (s *Store) Refunds(ctx context.Context, shopID, orderID int64) ([]Refund, int64, error) {
	var stored string
	var sum int64
	err := s.db.QueryRow(ctx, `SELECT refunds, refunded_minor FROM orders WHERE shop_id = ? AND id = ?`, shopID, orderID).Scan(&stored, &sum)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrNotFound
	}
	if err != nil {
		return nil, 0, err
	}
	var list []Refund
	if err := json.Unmarshal([]byte(stored), &list); err != nil {
		return nil, 0, fmt.Errorf("refunds of order %d: %w", orderID, err)
	}
	return list, sum, nil
}

// RefundedQuantity is how many units of the line item with that platform
// id the order's refunds gave back.
func (o *Order) RefundedQuantity(lineItemID string) int {
	n := 0
	for _, r := range o.Refunds {
		for _, l := range r.Lines {
			if l.LineItemID == lineItemID && lineItemID != "" {
				n += l.Quantity
			}
		}
	}
	return n
}

// RefundedItem is a refunded line as people read it: the order line's
// title and variant (the platform's line id when the order no longer
// lists it), how many units and for how much.
type RefundedItem struct {
	Title, VariantTitle string
	Quantity            int
	SubtotalMinor       int64
	// Listed: the order lists the line (else Title is the platform's id).
	Listed bool
}

// RefundedItems are r's lines with the order's titles, in r's order;
// lines of no units (a refund of shipping or an adjustment) are left out.
func (o *Order) RefundedItems(r Refund) []RefundedItem {
	var out []RefundedItem
	for _, l := range r.Lines {
		if l.Quantity <= 0 {
			continue
		}
		it := RefundedItem{Title: l.LineItemID, Quantity: l.Quantity, SubtotalMinor: l.SubtotalMinor}
		for _, li := range o.LineItems {
			if li.ExternalID == l.LineItemID && li.ExternalID != "" {
				it.Title, it.VariantTitle, it.Listed = li.Title, li.VariantTitle, true
				break
			}
		}
		out = append(out, it)
	}
	return out
}
