package returns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// Verdict is what the returns platform last said about an order.
type Verdict string

const (
	// VerdictEligible: at least one line item can be returned.
	VerdictEligible Verdict = "eligible"
	// VerdictIneligible: no line item can be returned; the Reason says why.
	VerdictIneligible Verdict = "ineligible"
	// VerdictUnavailable: the key's plan lacks the endpoint, so the return
	// window from settings decides.
	VerdictUnavailable Verdict = "unavailable"
)

// PlatformAnswer is one order's cached answer from the returns platform.
type PlatformAnswer struct {
	OrderID   int64
	Verdict   Verdict
	Reason    NotEligible // for VerdictIneligible
	Basis     string      // EligibilityBasis when it was asked
	CheckedAt time.Time
}

// Decide applies the platform's answer to e, the shop's own rule's
// result for an order that passed every check but (perhaps) the window:
// where the platform answers, it decides in place of the window.
func (a PlatformAnswer) Decide(e Eligibility) Eligibility {
	switch a.Verdict {
	case VerdictEligible:
		e.Reason = ""
	case VerdictIneligible:
		e.Reason = a.Reason
	}
	return e
}

// EligibilityCache keeps the returns platform's eligibility answers per
// order (return_eligibility), so pages read them and never wait for the
// platform: a job asks and writes.
type EligibilityCache struct{ db database.Querier }

// NewEligibilityCache returns the cache over db.
func NewEligibilityCache(db database.Querier) *EligibilityCache { return &EligibilityCache{db: db} }

// ForOrders returns the cached answers of the given orders, by order id.
func (c *EligibilityCache) ForOrders(ctx context.Context, shopID int64, orderIDs []int64) (map[int64]PlatformAnswer, error) {
	out := map[int64]PlatformAnswer{}
	if len(orderIDs) == 0 {
		return out, nil
	}
	in, args := database.InList(orderIDs)
	rows, err := c.db.Query(ctx, `SELECT order_id, verdict, reason, basis, checked_at FROM return_eligibility
		WHERE shop_id = ? AND order_id IN (`+in+`)`, append([]any{shopID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("returns: eligibility of orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAnswer(rows)
		if err != nil {
			return nil, fmt.Errorf("returns: eligibility of orders: %w", err)
		}
		out[a.OrderID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("returns: eligibility of orders: %w", err)
	}
	return out, nil
}

// ReadAnswers queues into b the read of the cached answers of the orders
// that ids selects (a list of placeholders or a query of order ids, with
// args), filling into by order id: ForOrders as part of a batch.
func ReadAnswers(b *database.Batch, shopID int64, ids string, args []any, into map[int64]PlatformAnswer) {
	b.Read(`SELECT order_id, verdict, reason, basis, checked_at FROM return_eligibility
		WHERE shop_id = ? AND order_id IN (`+ids+`)`, append([]any{shopID}, args...), func(row database.RowScanner) error {
		a, err := scanAnswer(row)
		if err != nil {
			return fmt.Errorf("returns: eligibility of orders: %w", err)
		}
		into[a.OrderID] = a
		return nil
	})
}

func scanAnswer(row database.RowScanner) (PlatformAnswer, error) {
	var a PlatformAnswer
	var verdict, reason string
	if err := row.Scan(&a.OrderID, &verdict, &reason, &a.Basis, (*database.Time)(&a.CheckedAt)); err != nil {
		return a, err
	}
	a.Verdict, a.Reason = Verdict(verdict), NotEligible(reason)
	return a, nil
}

// Put stores an order's answer, replacing the previous one.
func (c *EligibilityCache) Put(ctx context.Context, shopID int64, a PlatformAnswer) error {
	_, err := c.db.Exec(ctx, `INSERT INTO return_eligibility (shop_id, order_id, verdict, reason, basis, checked_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, order_id) DO UPDATE SET verdict = excluded.verdict, reason = excluded.reason,
			basis = excluded.basis, checked_at = excluded.checked_at`,
		shopID, a.OrderID, string(a.Verdict), string(a.Reason), a.Basis, database.Time(a.CheckedAt))
	if err != nil {
		return fmt.Errorf("returns: store eligibility of order %d: %w", a.OrderID, err)
	}
	return nil
}

// EligibilityBasis fingerprints what a platform answer depends on: the
// order (its update time and line items), its shipments, its returns'
// states and versions, and which Loop key asked. A cached answer whose
// basis differs is stale: the order or its returns changed since, or the
// shop changed its key.
func EligibilityBasis(cfg Config, o *commerce.Order, rets []Return) string {
	var b strings.Builder
	b.WriteString(loop.KeyID(cfg.Returns.LoopAPIKey))
	fmt.Fprintf(&b, "|o%d", o.UpdatedAt.UnixMilli())
	for _, it := range o.LineItems {
		fmt.Fprintf(&b, "|i%s:%d", it.ExternalID, it.CurrentQuantity)
	}
	for _, f := range o.Fulfillments {
		fmt.Fprintf(&b, "|f%s:%d:%s", f.ExternalID, f.UpdatedAt.UnixMilli(), f.Status)
	}
	ret := make([]string, len(rets))
	for i, r := range rets {
		ret[i] = r.ExternalID + ":" + string(r.State) + ":" + strconv.FormatInt(r.UpdatedAt.UnixMilli(), 10)
	}
	sort.Strings(ret)
	for _, r := range ret {
		b.WriteString("|r" + r)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:12])
}

// AsksPlatform reports whether cfg has a returns platform that answers
// eligibility itself: Loop with an API key.
func AsksPlatform(cfg Config) bool {
	return cfg.Returns.Provider == ProviderLoop && cfg.Returns.LoopAPIKey != ""
}

// IneligibleReason words Loop's refusal in hubdesk's reasons. Loop gives
// per-item reasons only sometimes (the sandbox sends
// outside_return_window, not_delivered, already_returned); a refusal is
// put down to the reason every item shares, and to the return window —
// Loop's policy being mostly a window — when they say nothing.
func IneligibleReason(items []loop.EligibilityItem) NotEligible {
	counts := map[string]int{}
	for _, it := range items {
		seen := map[string]bool{}
		for _, r := range it.Reasons {
			if !seen[r] {
				seen[r] = true
				counts[r]++
			}
		}
	}
	switch n := len(items); {
	case n > 0 && counts["not_delivered"] == n:
		return NotDelivered
	case n > 0 && counts["already_returned"] == n:
		return AlreadyReturned
	case n > 0 && counts["outside_return_window"] == n, len(counts) == 0:
		return OutsideWindow
	}
	return PlatformRefused
}
