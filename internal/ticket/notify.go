package ticket

import (
	"context"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// NotificationKind is what an agent is told about in the desk.
type NotificationKind string

const (
	// NotifyAssigned: a ticket was assigned to the agent.
	NotifyAssigned NotificationKind = "assigned"
	// NotifyReply: the shopper answered on the agent's ticket.
	NotifyReply NotificationKind = "reply"
)

// Valid reports whether k is a known kind.
func (k NotificationKind) Valid() bool { return k == NotifyAssigned || k == NotifyReply }

// Notification is one line of an agent's desk notifications.
type Notification struct {
	ID        int64
	TicketID  int64
	Subject   string // the ticket's subject
	Kind      NotificationKind
	CreatedAt time.Time
	ReadAt    *time.Time
}

// Notify tells the agent userID about the ticket in the desk: the badge in
// the desk's navigation counts it until the agent opens the ticket or
// marks all read. The helpdesk's use cases call it inside their own
// transaction (bind the store with With(tx)) when they assign a ticket
// (NotifyAssigned) or record a shopper's reply on an assigned ticket
// (NotifyReply); telling an agent about their own action is the caller's
// to avoid. A user or ticket of another shop is refused by the table's
// (shop_id, id) references.
func (s *Store) Notify(ctx context.Context, shopID, userID, ticketID int64, kind NotificationKind) error {
	if !kind.Valid() {
		return &ValidationError{"kind", "must be assigned or reply"}
	}
	_, err := s.db.Exec(ctx, `INSERT INTO desk_notifications (shop_id, user_id, ticket_id, kind, created_at) VALUES (?, ?, ?, ?, ?)`,
		shopID, userID, ticketID, string(kind), database.Time(s.now().UTC()))
	if err != nil {
		return fmt.Errorf("ticket: notify user %d of %d: %w", userID, ticketID, err)
	}
	return nil
}

// UnreadNotifications counts the agent's unread notifications, for the
// badge every desk page shows: one read of the desk_notifications_user
// index (shop, user, read_at IS NULL).
func (s *Store) UnreadNotifications(ctx context.Context, shopID, userID int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM desk_notifications WHERE shop_id = ? AND user_id = ? AND read_at IS NULL`,
		shopID, userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("ticket: count notifications: %w", err)
	}
	return n, nil
}

// Notifications lists the agent's notifications, newest first, each with
// its ticket's subject, and the cursor of the next page.
func (s *Store) Notifications(ctx context.Context, shopID, userID int64, p database.Page) ([]Notification, string, error) {
	args := []any{shopID, userID}
	cond := ""
	if p.After != nil {
		cond = " AND n.id < ?"
		args = append(args, p.After.ID)
	}
	limit := p.Size()
	args = append(args, limit+1)
	rows, err := s.db.Query(ctx, `SELECT n.id, n.ticket_id, t.subject, n.kind, n.created_at, n.read_at
		FROM desk_notifications n JOIN tickets t ON t.shop_id = n.shop_id AND t.id = n.ticket_id
		WHERE n.shop_id = ? AND n.user_id = ?`+cond+` ORDER BY n.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("ticket: notifications: %w", err)
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var kind string
		if err := rows.Scan(&n.ID, &n.TicketID, &n.Subject, &kind, (*database.Time)(&n.CreatedAt), database.ScanOptionalTime(&n.ReadAt)); err != nil {
			return nil, "", fmt.Errorf("ticket: scan notification: %w", err)
		}
		n.Kind = NotificationKind(kind)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("ticket: notifications: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = database.EncodeCursor(0, out[limit-1].ID)
	}
	return out, next, nil
}

// MarkAllNotificationsRead marks every unread notification of the agent
// read.
func (s *Store) MarkAllNotificationsRead(ctx context.Context, shopID, userID int64) error {
	_, err := s.db.Exec(ctx, `UPDATE desk_notifications SET read_at = ? WHERE shop_id = ? AND user_id = ? AND read_at IS NULL`,
		database.Time(s.now().UTC()), shopID, userID)
	if err != nil {
		return fmt.Errorf("ticket: read all notifications: %w", err)
	}
	return nil
}
