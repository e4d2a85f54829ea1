package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// MailboxState is how far a shop's IMAP mailbox has been taken in.
type MailboxState struct {
	Mailbox     string
	UIDValidity uint32
	LastUID     uint32
	// LastError is why the last attempt to reach the mailbox failed; ""
	// once it works again.
	LastError string
	ErrorAt   *time.Time
	PolledAt  *time.Time
}

// Mailboxes keeps the IMAP mailboxes' state.
type Mailboxes struct {
	db database.Querier
}

// NewMailboxes returns the store over db (the database or a transaction).
func NewMailboxes(db database.Querier) *Mailboxes { return &Mailboxes{db: db} }

// With returns the store running on q, typically the transaction that
// stores a message.
func (s *Mailboxes) With(q database.Querier) *Mailboxes { return &Mailboxes{db: q} }

// Get returns the mailbox's state; a mailbox never seen is at zero.
func (s *Mailboxes) Get(ctx context.Context, shopID int64, mailbox string) (MailboxState, error) {
	st := MailboxState{Mailbox: mailbox}
	var validity, last int64
	err := s.db.QueryRow(ctx, `SELECT uid_validity, last_uid, last_error, error_at, polled_at FROM imap_mailboxes
		WHERE shop_id = ? AND mailbox = ?`, shopID, mailbox).
		Scan(&validity, &last, &st.LastError, database.ScanOptionalTime(&st.ErrorAt), database.ScanOptionalTime(&st.PolledAt))
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("inbound: load mailbox %q of shop %d: %w", mailbox, shopID, err)
	}
	st.UIDValidity, st.LastUID = uint32(validity), uint32(last)
	return st, nil
}

// Taken records that every message up to uid of the mailbox numbered
// validity has been stored, and that the mailbox works. Run it in the
// transaction that stored the message, so a message is taken exactly when
// it is stored. A new validity restarts the count.
func (s *Mailboxes) Taken(ctx context.Context, shopID int64, mailbox string, validity, uid uint32, now time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO imap_mailboxes (shop_id, mailbox, uid_validity, last_uid, last_error, polled_at)
		VALUES (?, ?, ?, ?, '', ?)
		ON CONFLICT (shop_id, mailbox) DO UPDATE SET uid_validity = excluded.uid_validity,
			last_uid = CASE WHEN imap_mailboxes.uid_validity = excluded.uid_validity AND imap_mailboxes.last_uid > excluded.last_uid
				THEN imap_mailboxes.last_uid ELSE excluded.last_uid END,
			last_error = '', error_at = NULL, polled_at = excluded.polled_at`,
		shopID, mailbox, int64(validity), int64(uid), database.Time(now))
	if err != nil {
		return fmt.Errorf("inbound: record mailbox %q of shop %d: %w", mailbox, shopID, err)
	}
	return nil
}

// Failed records why reaching the mailbox failed, keeping how far it was
// taken.
func (s *Mailboxes) Failed(ctx context.Context, shopID int64, mailbox, reason string, now time.Time) error {
	if len(reason) > 500 {
		reason = reason[:500]
	}
	reason = strings.ToValidUTF8(strings.ReplaceAll(reason, "\x00", ""), "")
	_, err := s.db.Exec(ctx, `INSERT INTO imap_mailboxes (shop_id, mailbox, last_error, error_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (shop_id, mailbox) DO UPDATE SET last_error = excluded.last_error, error_at = excluded.error_at`,
		shopID, mailbox, reason, database.Time(now))
	if err != nil {
		return fmt.Errorf("inbound: record failure of mailbox %q of shop %d: %w", mailbox, shopID, err)
	}
	return nil
}

// Polled records that the mailbox was reached and read: any earlier
// failure is over.
func (s *Mailboxes) Polled(ctx context.Context, shopID int64, mailbox string, now time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO imap_mailboxes (shop_id, mailbox, polled_at) VALUES (?, ?, ?)
		ON CONFLICT (shop_id, mailbox) DO UPDATE SET last_error = '', error_at = NULL, polled_at = excluded.polled_at`,
		shopID, mailbox, database.Time(now))
	if err != nil {
		return fmt.Errorf("inbound: record poll of mailbox %q of shop %d: %w", mailbox, shopID, err)
	}
	return nil
}
