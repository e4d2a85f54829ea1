package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hubdesk/hubdesk/internal/database"
)

// MessageByMailID returns the shop's message that came in or went out as
// the mail with that Message-ID; ErrNotFound when none did.
func (s *Store) MessageByMailID(ctx context.Context, shopID int64, mailID string) (*Message, error) {
	if mailID == "" {
		return nil, ErrNotFound
	}
	return scanMessage(s.db.QueryRow(ctx, `SELECT `+messageColumns+` FROM ticket_messages
		WHERE shop_id = ? AND mail_message_id = ?`, shopID, mailID))
}

// TicketByMailIDs returns the ticket of the latest message that came in
// or went out as one of the mails named (the Message-IDs a mail answers);
// ErrNotFound when none is the shop's.
func (s *Store) TicketByMailIDs(ctx context.Context, shopID int64, mailIDs []string) (*Ticket, error) {
	if len(mailIDs) == 0 {
		return nil, ErrNotFound
	}
	in, args := database.InList(mailIDs)
	var ticketID int64
	err := s.db.QueryRow(ctx, `SELECT ticket_id FROM ticket_messages WHERE shop_id = ? AND mail_message_id IN (`+in+`)
		ORDER BY created_at DESC, id DESC LIMIT 1`, append([]any{shopID}, args...)...).Scan(&ticketID)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("ticket: find the mail's thread: %w", err)
	}
	return s.Get(ctx, shopID, ticketID)
}
