package ticket

import (
	"context"
	"database/sql"
	"errors"
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
	_, err := s.AddNotification(ctx, shopID, userID, ticketID, kind)
	return err
}

// AddNotification is Notify returning the new notification's id, for the
// caller that also has the agent emailed about it (helpdesk's
// notification mail job re-reads it by id).
func (s *Store) AddNotification(ctx context.Context, shopID, userID, ticketID int64, kind NotificationKind) (int64, error) {
	if !kind.Valid() {
		return 0, &ValidationError{"kind", "must be assigned or reply"}
	}
	var id int64
	err := s.db.ExecReturning(ctx, `INSERT INTO desk_notifications (shop_id, user_id, ticket_id, kind, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		shopID, userID, ticketID, string(kind), database.Time(s.now().UTC())).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ticket: notify user %d of %d: %w", userID, ticketID, err)
	}
	return id, nil
}

// NotificationMail is what an email about one desk notification says, read
// when the email is about to go: whether the agent has read the
// notification since (opened the ticket, or marked all read), the
// ticket's subject, the shopper, and the shopper's latest message.
type NotificationMail struct {
	ID, UserID, TicketID int64
	Kind                 NotificationKind
	Read                 bool
	Subject              string
	CustomerName         string // the requester's name, or their email when they gave none
	// LatestCustomerMessage is the body of the shopper's newest message
	// (plain text as stored; empty when the shopper has not written).
	LatestCustomerMessage string
}

// NotificationForMail reads the notification id of the shop for its
// email; ErrNotFound when it is gone (its ticket or agent deleted).
func (s *Store) NotificationForMail(ctx context.Context, shopID, id int64) (*NotificationMail, error) {
	var n NotificationMail
	var kind, email string
	var readAt *time.Time
	err := s.db.QueryRow(ctx, `SELECT n.id, n.user_id, n.ticket_id, n.kind, n.read_at, t.subject, t.requester_name, t.requester_email,
		COALESCE((SELECT m.body FROM ticket_messages m WHERE m.shop_id = t.shop_id AND m.ticket_id = t.id
			AND m.kind = 'message' AND m.author_kind = 'customer' ORDER BY m.created_at DESC, m.id DESC LIMIT 1), '')
		FROM desk_notifications n JOIN tickets t ON t.shop_id = n.shop_id AND t.id = n.ticket_id
		WHERE n.shop_id = ? AND n.id = ?`, shopID, id).Scan(&n.ID, &n.UserID, &n.TicketID, &kind, database.ScanOptionalTime(&readAt),
		&n.Subject, &n.CustomerName, &email, &n.LatestCustomerMessage)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: notification %d: %w", id, err)
	}
	n.Kind, n.Read = NotificationKind(kind), readAt != nil
	if n.CustomerName == "" {
		n.CustomerName = email
	}
	return &n, nil
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

// ReadUnreadNotifications queues into b UnreadNotifications' count.
func ReadUnreadNotifications(b *database.Batch, shopID, userID int64, into *int) {
	b.Read(`SELECT COUNT(*) FROM desk_notifications WHERE shop_id = ? AND user_id = ? AND read_at IS NULL`, []any{shopID, userID},
		func(row database.RowScanner) error { return row.Scan(into) })
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
	rows, err := s.db.Query(ctx, `SELECT n.id, n.ticket_id, t.subject, n.kind, n.created_at, n.read_at
		FROM desk_notifications n JOIN tickets t ON t.shop_id = n.shop_id AND t.id = n.ticket_id
		WHERE n.shop_id = ? AND n.user_id = ?`+cond+` ORDER BY n.id DESC`+database.Limit(limit+1), args...)
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
