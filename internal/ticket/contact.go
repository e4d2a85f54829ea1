package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Limits on what shoppers open from the hub's contact form. They are
// counted from the tickets themselves, inside the transaction that writes
// the new one, so every hubdesk process sharing the database enforces the
// same numbers and a restart forgets nothing; an in-memory counter would
// give each process its own allowance.
const (
	// A shopper with a question writes once, maybe twice with "and one
	// more thing"; five in ten minutes leaves room for that and stops a
	// script replaying the form.
	ShopperContactLimit  = 5
	ShopperContactWindow = 10 * time.Minute
	// Three hundred an hour is far above what a store's shoppers send even
	// on a bad delivery day (a store with 5,000 orders a day hears from a
	// few per cent of them over the whole day); it caps a flood sent from
	// many accounts at a number staff can still clear.
	ShopContactLimit  = 300
	ShopContactWindow = time.Hour
	// RepeatWindow: the same shopper sending the same text about the same
	// order while that ticket is still open adds nothing — a double click,
	// a reload, a replayed request. Once staff close the ticket the same
	// words are a new question.
	RepeatWindow = 24 * time.Hour
)

// LimitError refuses a message over a contact limit. Nothing was written.
type LimitError struct {
	PerShop    bool          // the shop's limit, not the shopper's own
	RetryAfter time.Duration // until the oldest counted ticket leaves the window
}

func (e *LimitError) Error() string {
	if e.PerShop {
		return "ticket: the shop's hub contact limit is reached"
	}
	return "ticket: the shopper's hub contact limit is reached"
}

// contactLockSpace keeps the advisory lock of one shop's hub contact
// apart from other advisory locks (the migrations' among them).
const contactLockSpace = 0x68756263 << 32 // "hubc"

// OpenFromHub opens a ticket from the hub's contact form, for a known
// customer. A repeat of a message already sent (same customer, order and
// text, ticket not closed, within RepeatWindow) returns that ticket with
// repeated set and writes nothing; over a limit it returns *LimitError;
// from a sender the shop blocked, ErrBlockedSender.
//
// The checks and the insert run in one write transaction that takes the
// shop's lock first — SQLite's write transactions run one at a time
// already, PostgreSQL takes a transaction-scoped advisory lock — so
// concurrent posts, from one process or several, cannot all pass the
// checks before any of them is written.
func (s *Store) OpenFromHub(ctx context.Context, shopID int64, in NewTicket) (t *Ticket, repeated bool, err error) {
	if in.CustomerID == 0 {
		return nil, false, &ValidationError{"customer_id", "is required"}
	}
	in.Channel, in.Author = ChannelHub, AuthorCustomer
	if err := in.normalize(); err != nil {
		return nil, false, err
	}
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		if tx.Engine() == database.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, contactLockSpace^shopID); err != nil {
				return fmt.Errorf("ticket: lock hub contact of shop %d: %w", shopID, err)
			}
		}
		if blocked, err := s.With(tx).SenderBlocked(ctx, shopID, in.RequesterEmail); err != nil || blocked {
			if blocked {
				err = ErrBlockedSender
			}
			return err
		}
		now := s.now().UTC()
		var err error
		if t, err = s.repeatOf(ctx, tx, shopID, in, now); t != nil || err != nil {
			repeated = t != nil
			return err
		}
		if err := s.checkLimit(ctx, tx, now, ShopperContactLimit, ShopperContactWindow, false,
			`shop_id = ? AND customer_id = ? AND channel = 'hub'`, shopID, in.CustomerID); err != nil {
			return err
		}
		if err := s.checkLimit(ctx, tx, now, ShopContactLimit, ShopContactWindow, true,
			`shop_id = ? AND channel = 'hub'`, shopID); err != nil {
			return err
		}
		t, err = s.insert(ctx, tx, shopID, in)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return t, repeated, nil
}

// repeatOf finds the not-closed hub ticket in which this customer wrote
// this very text about this order within RepeatWindow, or nil.
func (s *Store) repeatOf(ctx context.Context, tx *database.Tx, shopID int64, in NewTicket, now time.Time) (*Ticket, error) {
	order, orderArgs := `t.order_id IS NULL`, []any{}
	if in.OrderID != 0 {
		order, orderArgs = `t.order_id = ?`, []any{in.OrderID}
	}
	args := append([]any{shopID, shopID, in.CustomerID}, orderArgs...)
	args = append(args, database.Time(now.Add(-RepeatWindow)), in.Body)
	t, err := scanTicket(tx.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE shop_id = ? AND id = (
		SELECT t.id FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id AND m.shop_id = t.shop_id
		WHERE t.shop_id = ? AND t.customer_id = ? AND `+order+` AND t.channel = 'hub' AND t.status <> 'closed'
		AND m.kind = 'message' AND m.author_kind = 'customer' AND m.created_at >= ? AND m.body = ?
		ORDER BY m.created_at DESC, m.id DESC LIMIT 1)`, args...))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: look for a repeat in shop %d: %w", shopID, err)
	}
	return t, nil
}

// checkLimit counts the hub tickets matching where (with args) opened
// within window and refuses when there are already limit of them.
func (s *Store) checkLimit(ctx context.Context, tx *database.Tx, now time.Time, limit int, window time.Duration, perShop bool,
	where string, args ...any) error {
	var n int
	var oldest sql.NullInt64
	args = append(args, database.Time(now.Add(-window)))
	if err := tx.QueryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM tickets WHERE `+where+` AND created_at > ?`, args...).
		Scan(&n, &oldest); err != nil {
		return fmt.Errorf("ticket: count recent hub tickets: %w", err)
	}
	if n < limit {
		return nil
	}
	retry := time.UnixMilli(oldest.Int64).Add(window).Sub(now)
	return &LimitError{PerShop: perShop, RetryAfter: max(retry, time.Second)}
}
