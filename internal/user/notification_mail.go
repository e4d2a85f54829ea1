package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// NotificationMail reports whether the person wants the emails that tell
// them of a ticket assigned to them or a shopper's reply on their ticket:
// on unless they turned it off on their account page.
func (s *Store) NotificationMail(ctx context.Context, shopID, userID int64) (bool, error) {
	var offAt sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT notification_mail_off_at FROM users WHERE shop_id = ? AND id = ?`, shopID, userID).Scan(&offAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrNotFound
	}
	if err != nil {
		return false, fmt.Errorf("user: notification mail of %d: %w", userID, err)
	}
	return !offAt.Valid, nil
}

// SetNotificationMail turns those emails on or off for the person; turning
// off keeps the time it happened, turning on clears it.
func (s *Store) SetNotificationMail(ctx context.Context, shopID, userID int64, on bool, now time.Time) error {
	var offAt any
	if !on {
		offAt = database.Time(now.UTC())
	}
	res, err := s.db.Exec(ctx, `UPDATE users SET notification_mail_off_at = ? WHERE shop_id = ? AND id = ?`, offAt, shopID, userID)
	if err != nil {
		return fmt.Errorf("user: set notification mail of %d: %w", userID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}
