package ticket

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// ReopenWindow is how long after a ticket was closed a shopper's answer
// on it reopens it. The conversation is still fresh then ("it arrived
// broken after all"); later the same thread would bury a new question
// under an old one, so the answer starts a new ticket instead.
const ReopenWindow = 7 * 24 * time.Hour

// Reopens reports whether a shopper's answer at now goes on t rather than
// into a new ticket: t is open or pending, or closed within ReopenWindow.
func (t *Ticket) Reopens(now time.Time) bool {
	if t.Status != StatusClosed {
		return true
	}
	return t.ClosedAt != nil && now.Sub(*t.ClosedAt) <= ReopenWindow
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now().UTC() }

// OpenTicketFor returns the shopper's live open or pending ticket about
// orderID (0: about no order), the most recently active one; ErrNotFound
// when there is none. Spam and tickets merged away are not live.
func (s *Store) OpenTicketFor(ctx context.Context, shopID, customerID, orderID int64) (*Ticket, error) {
	order, args := `order_id IS NULL`, []any{shopID, customerID}
	if orderID != 0 {
		order, args = `order_id = ?`, append(args, orderID)
	}
	return scanTicket(s.db.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets
		WHERE shop_id = ? AND customer_id = ? AND `+order+` AND status IN ('open', 'pending')
		AND spam_at IS NULL AND merged_into_id IS NULL
		ORDER BY last_activity_at DESC, id DESC LIMIT 1`, args...))
}

// ShopperTicket is one of a shopper's conversations as the hub lists it.
type ShopperTicket struct {
	*Ticket
	// LastReplyAt is the shop's latest reply; nil before the first.
	LastReplyAt *time.Time
}

// Unread reports whether the shop replied since the shopper last opened
// the conversation.
func (t ShopperTicket) Unread() bool {
	return t.LastReplyAt != nil && (t.CustomerSeenAt == nil || t.LastReplyAt.After(*t.CustomerSeenAt))
}

// ShopperTickets returns the shopper's conversations, the most recent
// activity first, and the next page's cursor ("" on the last). Spam and
// tickets merged into another (whose messages moved there) are left out.
func (s *Store) ShopperTickets(ctx context.Context, shopID, customerID int64, p database.Page) ([]ShopperTicket, string, error) {
	args := []any{shopID, shopID, customerID}
	after := ""
	if c := p.After; c != nil {
		after = ` AND (t.last_activity_at < ? OR (t.last_activity_at = ? AND t.id < ?))`
		args = append(args, c.Key, c.Key, c.ID)
	}
	limit := p.Size()
	cols := prefixedTicketColumns("t.")
	rows, err := s.db.Query(ctx, `SELECT `+cols+`, (SELECT MAX(m.created_at) FROM ticket_messages m
			WHERE m.shop_id = ? AND m.ticket_id = t.id AND m.kind = 'message' AND m.author_kind = 'agent')
		FROM tickets t WHERE t.shop_id = ? AND t.customer_id = ? AND t.spam_at IS NULL AND t.merged_into_id IS NULL`+after+`
		ORDER BY t.last_activity_at DESC, t.id DESC`+database.Limit(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("ticket: a shopper's tickets: %w", err)
	}
	defer rows.Close()
	var out []ShopperTicket
	for rows.Next() {
		var reply sql.NullInt64
		t, err := scanTicket(scanWith{rows, &reply})
		if err != nil {
			return nil, "", err
		}
		st := ShopperTicket{Ticket: t}
		if reply.Valid {
			at := time.UnixMilli(reply.Int64).UTC()
			st.LastReplyAt = &at
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("ticket: a shopper's tickets: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = database.EncodeCursor(last.LastActivityAt.UnixMilli(), last.ID)
	}
	return out, next, nil
}

// ShopperTicket returns one live ticket of the shopper; ErrNotFound for
// another shopper's, a spam one or one merged away.
func (s *Store) ShopperTicket(ctx context.Context, shopID, customerID, id int64) (*Ticket, error) {
	t, err := s.Get(ctx, shopID, id)
	if err != nil {
		return nil, err
	}
	if t.CustomerID != customerID || customerID == 0 || t.SpamAt != nil || t.MergedIntoID != 0 {
		return nil, ErrNotFound
	}
	return t, nil
}

// MarkSeenByCustomer records that the shopper opened the conversation at
// the store's now. Their own ticket only; the ticket's activity and
// updated_at are left alone, since nothing changed for staff.
func (s *Store) MarkSeenByCustomer(ctx context.Context, shopID, customerID, ticketID int64) error {
	_, err := s.db.Exec(ctx, `UPDATE tickets SET customer_seen_at = ? WHERE shop_id = ? AND id = ? AND customer_id = ?`,
		database.Time(s.now().UTC()), shopID, ticketID, customerID)
	if err != nil {
		return fmt.Errorf("ticket: mark %d seen by the shopper: %w", ticketID, err)
	}
	return nil
}

// ShopperMessages returns what the shopper sees of a ticket's
// conversation, oldest first: their messages and the shop's replies,
// never staff notes.
func (s *Store) ShopperMessages(ctx context.Context, shopID, ticketID int64) ([]Message, error) {
	all, err := s.Messages(ctx, shopID, ticketID)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		if m.Kind == KindMessage && m.AuthorKind != AuthorSystem {
			out = append(out, m)
		}
	}
	return out, nil
}

// scanWith scans a ticket's columns followed by extra destinations.
type scanWith struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (s scanWith) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra)...) }

// prefixedTicketColumns is ticketColumns with each column qualified, for
// queries that join.
func prefixedTicketColumns(prefix string) string {
	cols := strings.Split(ticketColumns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
