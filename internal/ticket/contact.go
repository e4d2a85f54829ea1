package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Limits on what shoppers send through the hub (the contact form and
// answers in Messages). They count the shoppers' messages — a message
// that joins an open ticket counts like one that opens a ticket — from
// the stored messages themselves, inside the transaction that writes the
// new one, so every hubdesk process sharing the database enforces the
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
// customer, always a new one (helpdesk.Tickets.ContactFromHub joins the
// shopper's open ticket instead). A repeat of a message already sent
// returns that ticket with repeated set and writes nothing; over a limit it
// returns *LimitError; from a sender the shop blocked, ErrBlockedSender.
func (s *Store) OpenFromHub(ctx context.Context, shopID int64, in NewTicket) (t *Ticket, repeated bool, err error) {
	if in.CustomerID == 0 {
		return nil, false, &ValidationError{"customer_id", "is required"}
	}
	in.Channel, in.Author = ChannelHub, AuthorCustomer
	if err := in.normalize(); err != nil {
		return nil, false, err
	}
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if t, err = s.With(tx).GateHubMessage(ctx, shopID, HubMessage{CustomerID: in.CustomerID, OrderID: in.OrderID,
			Emails: []string{in.RequesterEmail}, Body: in.Body}); t != nil || err != nil {
			repeated = t != nil
			return err
		}
		t, _, err = s.insert(ctx, tx, shopID, in)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return t, repeated, nil
}

// HubMessage is a shopper's message arriving through the hub, as
// GateHubMessage judges it.
type HubMessage struct {
	CustomerID int64
	OrderID    int64 // the order it is about; 0: none (ignored when TicketID is set)
	// TicketID is the conversation the shopper answers on; 0 for the
	// contact form, whose repeats are looked for by order.
	TicketID int64
	Emails   []string // the addresses checked against the blocked senders
	Body     string   // trimmed
}

// GateHubMessage runs the hub's checks on a shopper's message before it is
// written, inside the caller's transaction (the store bound to it with
// With, or its own when called alone): it takes the shop's hub lock, then
// refuses a blocked sender (ErrBlockedSender), returns the ticket of a
// repeat — the same shopper sending the same text about the same order
// (or on the same ticket) while that ticket is not closed, within
// RepeatWindow — and refuses a message over a limit (*LimitError). A nil
// ticket and nil error let the message through. The limits count the
// shopper's messages, not tickets, so joining an open ticket does not
// escape them.
//
// The lock makes the checks and the caller's write one step: SQLite's
// write transactions run one at a time already, PostgreSQL takes a
// transaction-scoped advisory lock, so concurrent posts, from one process
// or several, cannot all pass the checks before any of them is written.
func (s *Store) GateHubMessage(ctx context.Context, shopID int64, in HubMessage) (repeat *Ticket, err error) {
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		if tx.Engine() == database.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, contactLockSpace^shopID); err != nil {
				return fmt.Errorf("ticket: lock hub contact of shop %d: %w", shopID, err)
			}
		}
		for _, email := range in.Emails {
			if blocked, err := s.With(tx).SenderBlocked(ctx, shopID, email); err != nil || blocked {
				if blocked {
					err = ErrBlockedSender
				}
				return err
			}
		}
		now := s.now().UTC()
		var err error
		if repeat, err = s.repeatOf(ctx, tx, shopID, in, now); repeat != nil || err != nil {
			return err
		}
		// The shopper's own messages: through their tickets (tickets_customer),
		// then each ticket's messages (ticket_messages_ticket).
		if err := s.checkLimit(ctx, tx, now, ShopperContactLimit, ShopperContactWindow, false,
			`t.shop_id = ? AND t.customer_id = ?`, shopID, in.CustomerID); err != nil {
			return err
		}
		// Every shopper's messages: only tickets with activity in the window
		// can hold one (tickets_inbox), so the count stays bounded.
		return s.checkLimit(ctx, tx, now, ShopContactLimit, ShopContactWindow, true,
			`t.shop_id = ? AND t.last_activity_at > ?`, shopID, database.Time(now.Add(-ShopContactWindow)))
	})
	return repeat, err
}

// repeatOf finds the not-closed ticket in which this customer wrote this
// very text about this order (or on this ticket) within RepeatWindow, or
// nil.
func (s *Store) repeatOf(ctx context.Context, tx *database.Tx, shopID int64, in HubMessage, now time.Time) (*Ticket, error) {
	scope, scopeArgs := `t.order_id IS NULL`, []any{}
	switch {
	case in.TicketID != 0:
		scope, scopeArgs = `t.id = ?`, []any{in.TicketID}
	case in.OrderID != 0:
		scope, scopeArgs = `t.order_id = ?`, []any{in.OrderID}
	}
	args := append([]any{shopID, shopID, in.CustomerID}, scopeArgs...)
	args = append(args, database.Time(now.Add(-RepeatWindow)), in.Body)
	t, err := scanTicket(tx.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE shop_id = ? AND id = (
		SELECT t.id FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id AND m.shop_id = t.shop_id
		WHERE t.shop_id = ? AND t.customer_id = ? AND `+scope+` AND t.status <> 'closed' AND t.merged_into_id IS NULL
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

// checkLimit counts the shoppers' messages on the tickets matching where
// (with args, on tickets t) written within window and refuses when there
// are already limit of them. Mail has its own volume and will bring its
// own limits, so tickets that came by email are not counted.
func (s *Store) checkLimit(ctx context.Context, tx *database.Tx, now time.Time, limit int, window time.Duration, perShop bool,
	where string, args ...any) error {
	var n int
	var oldest sql.NullInt64
	// The window ends now: a message stamped later (a store whose clock
	// was set back, the demo seeding a past it walks through) is not in it.
	args = append(args, database.Time(now.Add(-window)), database.Time(now))
	if err := tx.QueryRow(ctx, `SELECT COUNT(*), MIN(m.created_at) FROM tickets t
		JOIN ticket_messages m ON m.ticket_id = t.id AND m.shop_id = t.shop_id
		WHERE `+where+` AND t.channel <> 'email' AND m.author_kind = 'customer' AND m.kind = 'message'
		AND m.created_at > ? AND m.created_at <= ?`, args...).
		Scan(&n, &oldest); err != nil {
		return fmt.Errorf("ticket: count recent shopper messages: %w", err)
	}
	if n < limit {
		return nil
	}
	retry := time.UnixMilli(oldest.Int64).Add(window).Sub(now)
	return &LimitError{PerShop: perShop, RetryAfter: max(retry, time.Second)}
}
