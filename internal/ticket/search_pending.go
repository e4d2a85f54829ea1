package ticket

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Search returns the shop's tickets matching q, filtered like List and in
// List's order (most recent activity first), with the cursor of the next
// page. This is the simple version the API's ?q= runs on until the
// indexed search (FTS5 / tsvector) replaces this file: a shop-scoped scan
// of subject, requester email and name. An empty q is List.
func (s *Store) Search(ctx context.Context, shopID int64, q string, f Filter, p database.Page) ([]*Ticket, string, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return s.List(ctx, shopID, f, p)
	}
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
	where := []string{"shop_id = ?", "spam_at IS NULL",
		`(LOWER(subject) LIKE ? ESCAPE '\' OR LOWER(requester_email) LIKE ? ESCAPE '\' OR LOWER(requester_name) LIKE ? ESCAPE '\')`}
	args := []any{shopID, pattern, pattern, pattern}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.CustomerID != 0 {
		where = append(where, "customer_id = ?")
		args = append(args, f.CustomerID)
	}
	if f.OrderID != 0 {
		where = append(where, "order_id = ?")
		args = append(args, f.OrderID)
	}
	if c := p.After; c != nil {
		where = append(where, "(last_activity_at < ? OR (last_activity_at = ? AND id < ?))")
		args = append(args, c.Key, c.Key, c.ID)
	}
	limit := p.Size()
	args = append(args, limit+1)
	rows, err := s.db.Query(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE `+strings.Join(where, " AND ")+
		` ORDER BY last_activity_at DESC, id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("ticket: search: %w", err)
	}
	defer rows.Close()
	var out []*Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("ticket: search: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = database.EncodeCursor(last.LastActivityAt.UnixMilli(), last.ID)
	}
	return out, next, nil
}
