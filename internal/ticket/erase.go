package ticket

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// ErasePerson deletes the tickets of someone to be forgotten — those
// linked to their customer records or orders, or asked by one of their
// addresses — with every message (agents' replies and notes speak of
// them too), file, mail and notification, and unblocks their addresses.
// A ticket merged into an erased one keeps standing alone. It says how
// many tickets went.
func (s *Store) ErasePerson(ctx context.Context, shopID int64, customerIDs, orderIDs []int64, emails []string) (int64, error) {
	var where []string
	var args []any
	if len(customerIDs) > 0 {
		in, a := database.InList(customerIDs)
		where, args = append(where, `customer_id IN (`+in+`)`), append(args, a...)
	}
	if len(orderIDs) > 0 {
		in, a := database.InList(orderIDs)
		where, args = append(where, `order_id IN (`+in+`)`), append(args, a...)
	}
	var lowered []string
	for _, e := range emails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			lowered = append(lowered, e)
		}
	}
	if len(lowered) > 0 {
		in, a := database.InList(lowered)
		where, args = append(where, `LOWER(requester_email) IN (`+in+`)`), append(args, a...)
	}
	if len(where) == 0 {
		return 0, nil
	}
	ids := `SELECT id FROM tickets WHERE shop_id = ? AND (` + strings.Join(where, " OR ") + `)`
	all := append([]any{shopID}, args...)
	if _, err := s.db.Exec(ctx, `UPDATE tickets SET merged_into_id = NULL WHERE shop_id = ? AND merged_into_id IN (`+ids+`)`,
		append([]any{shopID}, all...)...); err != nil {
		return 0, fmt.Errorf("ticket: erase: unmerge: %w", err)
	}
	res, err := s.db.Exec(ctx, `DELETE FROM tickets WHERE shop_id = ? AND id IN (`+ids+`)`, append([]any{shopID}, all...)...)
	if err != nil {
		return 0, fmt.Errorf("ticket: erase: %w", err)
	}
	n, _ := res.RowsAffected()
	if len(lowered) > 0 {
		in, a := database.InList(lowered)
		if _, err := s.db.Exec(ctx, `DELETE FROM blocked_senders WHERE shop_id = ? AND LOWER(email) IN (`+in+`)`, append([]any{shopID}, a...)...); err != nil {
			return 0, fmt.Errorf("ticket: erase blocked sender: %w", err)
		}
	}
	return n, nil
}

// EraseAll deletes every ticket of the shop and its block list: a shop's
// erasure, after which no shopper's words remain.
func (s *Store) EraseAll(ctx context.Context, shopID int64) (int64, error) {
	if _, err := s.db.Exec(ctx, `UPDATE tickets SET merged_into_id = NULL WHERE shop_id = ?`, shopID); err != nil {
		return 0, fmt.Errorf("ticket: erase the shop's tickets: %w", err)
	}
	res, err := s.db.Exec(ctx, `DELETE FROM tickets WHERE shop_id = ?`, shopID)
	if err != nil {
		return 0, fmt.Errorf("ticket: erase the shop's tickets: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.db.Exec(ctx, `DELETE FROM blocked_senders WHERE shop_id = ?`, shopID); err != nil {
		return 0, fmt.Errorf("ticket: erase the shop's blocked senders: %w", err)
	}
	return n, nil
}

// ExportedTicket is a ticket as a data request hands it to the shopper:
// what they and the shop's agents wrote to each other (notes, which are
// staff's own, left out).
type ExportedTicket struct {
	ID        int64             `json:"id"`
	Subject   string            `json:"subject"`
	Status    string            `json:"status"`
	Channel   string            `json:"channel"`
	CreatedAt time.Time         `json:"created_at"`
	Messages  []ExportedMessage `json:"messages"`
}

// ExportedMessage is one message of an ExportedTicket.
type ExportedMessage struct {
	From      string    `json:"from"` // customer | agent | system
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// ExportPerson reads the tickets ErasePerson would delete, for a data
// request, oldest first.
func (s *Store) ExportPerson(ctx context.Context, shopID int64, customerIDs, orderIDs []int64, emails []string) ([]ExportedTicket, error) {
	var where []string
	var args []any
	if len(customerIDs) > 0 {
		in, a := database.InList(customerIDs)
		where, args = append(where, `t.customer_id IN (`+in+`)`), append(args, a...)
	}
	if len(orderIDs) > 0 {
		in, a := database.InList(orderIDs)
		where, args = append(where, `t.order_id IN (`+in+`)`), append(args, a...)
	}
	var lowered []string
	for _, e := range emails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			lowered = append(lowered, e)
		}
	}
	if len(lowered) > 0 {
		in, a := database.InList(lowered)
		where, args = append(where, `LOWER(t.requester_email) IN (`+in+`)`), append(args, a...)
	}
	if len(where) == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `SELECT t.id, t.subject, t.status, t.channel, t.created_at, m.author_kind, m.body, m.created_at
		FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id AND m.shop_id = t.shop_id AND m.kind = 'message'
		WHERE t.shop_id = ? AND (`+strings.Join(where, " OR ")+`) ORDER BY t.id, m.created_at, m.id`, append([]any{shopID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("ticket: export: %w", err)
	}
	defer rows.Close()
	var out []ExportedTicket
	for rows.Next() {
		var t ExportedTicket
		var m ExportedMessage
		if err := rows.Scan(&t.ID, &t.Subject, &t.Status, &t.Channel, (*database.Time)(&t.CreatedAt), &m.From, &m.Body, (*database.Time)(&m.CreatedAt)); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != t.ID {
			out = append(out, t)
		}
		last := &out[len(out)-1]
		last.Messages = append(last.Messages, m)
	}
	return out, rows.Err()
}
