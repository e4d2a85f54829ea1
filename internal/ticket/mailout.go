package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// MailKind says why a mail went to the shopper.
type MailKind string

const (
	MailReply           MailKind = "reply"           // an agent's reply
	MailAcknowledgement MailKind = "acknowledgement" // "we got your message" for a new ticket
)

// MailState is where a mail to the shopper stands.
type MailState string

const (
	MailQueued   MailState = "queued"   // waiting for its first attempt
	MailRetrying MailState = "retrying" // an attempt failed; River tries again
	MailSent     MailState = "sent"     // the relay took it
	MailFailed   MailState = "failed"   // refused for good, or out of attempts
)

// MaxReferences bounds the References header of a reply: the ticket's
// first mail id and the latest ones (RFC 5322 3.6.4 lets a writer trim the
// middle), so a long conversation does not grow an endless header.
const MaxReferences = 20

// Mail is one mail to a ticket's shopper and how its delivery went.
type Mail struct {
	ID        int64
	TicketID  int64
	MessageID int64 // the agent's reply it carries; 0 for an acknowledgement
	Kind      MailKind
	Recipient string
	Lang      string // of an acknowledgement's words
	// MailMessageID, InReplyTo and References thread it (without angle
	// brackets).
	MailMessageID string
	InReplyTo     string
	References    []string
	State         MailState
	Attempts      int
	LastError     string
	Response      string // the relay's answer when it took the mail
	CreatedAt     time.Time
	UpdatedAt     time.Time
	SentAt        *time.Time
}

// QueueMail records a mail to be sent (the caller enqueues its job in the
// same transaction). A reply's Message-ID goes on its message too, where
// the shopper's answer is matched against it.
func (s *Store) QueueMail(ctx context.Context, shopID int64, m Mail) (*Mail, error) {
	if m.MailMessageID == "" || m.Recipient == "" {
		return nil, errors.New("ticket: a mail needs a recipient and a Message-ID")
	}
	now := s.now().UTC()
	m.State, m.CreatedAt, m.UpdatedAt = MailQueued, now, now
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO ticket_mails (shop_id, ticket_id, message_id, kind, recipient, lang, mail_message_id,
			in_reply_to, refs, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			shopID, m.TicketID, nullID(m.MessageID), string(m.Kind), NormalizeEmail(m.Recipient), m.Lang, m.MailMessageID, m.InReplyTo,
			strings.Join(m.References, " "), string(m.State), database.Time(now), database.Time(now)).Scan(&m.ID)
		if err != nil {
			return fmt.Errorf("ticket: queue mail on %d: %w", m.TicketID, err)
		}
		if m.MessageID == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE ticket_messages SET mail_message_id = ? WHERE shop_id = ? AND id = ?`,
			m.MailMessageID, shopID, m.MessageID)
		if err != nil {
			return fmt.Errorf("ticket: Message-ID of message %d: %w", m.MessageID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

const mailColumns = `id, ticket_id, message_id, kind, recipient, lang, mail_message_id, in_reply_to, refs, state, attempts,
	last_error, response, created_at, updated_at, sent_at`

func scanMail(row interface{ Scan(...any) error }) (*Mail, error) {
	var m Mail
	var msg sql.NullInt64
	var kind, state, refs string
	err := row.Scan(&m.ID, &m.TicketID, &msg, &kind, &m.Recipient, &m.Lang, &m.MailMessageID, &m.InReplyTo, &refs, &state,
		&m.Attempts, &m.LastError, &m.Response, (*database.Time)(&m.CreatedAt), (*database.Time)(&m.UpdatedAt),
		database.ScanOptionalTime(&m.SentAt))
	if err != nil {
		return nil, err
	}
	m.MessageID, m.Kind, m.State, m.References = msg.Int64, MailKind(kind), MailState(state), strings.Fields(refs)
	return &m, nil
}

// Mail returns one mail of the shop; ErrNotFound when there is none (its
// ticket was deleted).
func (s *Store) Mail(ctx context.Context, shopID, id int64) (*Mail, error) {
	m, err := scanMail(s.db.QueryRow(ctx, `SELECT `+mailColumns+` FROM ticket_mails WHERE shop_id = ? AND id = ?`, shopID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: mail %d: %w", id, err)
	}
	return m, nil
}

// Deliveries are the mails that carried the ticket's replies, by message
// id, for the conversation's delivery states.
func (s *Store) Deliveries(ctx context.Context, shopID, ticketID int64) (map[int64]*Mail, error) {
	out := map[int64]*Mail{}
	var b database.Batch
	readDeliveries(&b, shopID, ticketID, out)
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nil, fmt.Errorf("ticket: deliveries of %d: %w", ticketID, err)
	}
	return out, nil
}

// readDeliveries queues Deliveries' read into b, filling into.
func readDeliveries(b *database.Batch, shopID, ticketID int64, into map[int64]*Mail) {
	b.Read(`SELECT `+mailColumns+` FROM ticket_mails WHERE shop_id = ? AND ticket_id = ? AND message_id IS NOT NULL
		ORDER BY id`, []any{shopID, ticketID}, func(row database.RowScanner) error {
		m, err := scanMail(row)
		if err != nil {
			return fmt.Errorf("ticket: scan mail: %w", err)
		}
		into[m.MessageID] = m
		return nil
	})
}

// MailAttemptFailed records a failed attempt: retrying, or failed when
// final (refused for good, or the last attempt).
func (s *Store) MailAttemptFailed(ctx context.Context, shopID, id int64, attempts int, problem string, final bool) error {
	state := MailRetrying
	if final {
		state = MailFailed
	}
	_, err := s.db.Exec(ctx, `UPDATE ticket_mails SET state = ?, attempts = ?, last_error = ?, updated_at = ?
		WHERE shop_id = ? AND id = ? AND state <> 'sent'`,
		string(state), attempts, problem, database.Time(s.now().UTC()), shopID, id)
	if err != nil {
		return fmt.Errorf("ticket: mail %d failed: %w", id, err)
	}
	return nil
}

// MailSent records that the relay took the mail, with its answer.
func (s *Store) MailSent(ctx context.Context, shopID, id int64, attempts int, response string) error {
	now := database.Time(s.now().UTC())
	_, err := s.db.Exec(ctx, `UPDATE ticket_mails SET state = 'sent', attempts = ?, last_error = '', response = ?, sent_at = ?,
		updated_at = ? WHERE shop_id = ? AND id = ?`, attempts, response, now, now, shopID, id)
	if err != nil {
		return fmt.Errorf("ticket: mail %d sent: %w", id, err)
	}
	return nil
}

// MailThread is what a new mail on the ticket threads with: the
// Message-ID of the shopper's latest mail (In-Reply-To; "" when they
// never wrote by mail) and the ticket's mail ids, oldest first, the first
// and the latest MaxReferences-1 of them (References).
func (s *Store) MailThread(ctx context.Context, shopID, ticketID int64) (inReplyTo string, refs []string, err error) {
	rows, err := s.db.Query(ctx, `SELECT mail_message_id, author_kind FROM ticket_messages
		WHERE shop_id = ? AND ticket_id = ? AND mail_message_id IS NOT NULL ORDER BY created_at, id`, shopID, ticketID)
	if err != nil {
		return "", nil, fmt.Errorf("ticket: mail thread of %d: %w", ticketID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, author string
		if err := rows.Scan(&id, &author); err != nil {
			return "", nil, err
		}
		refs = append(refs, id)
		if AuthorKind(author) == AuthorCustomer {
			inReplyTo = id
		}
	}
	if err := rows.Err(); err != nil {
		return "", nil, err
	}
	if len(refs) > MaxReferences {
		refs = append(refs[:1], refs[len(refs)-(MaxReferences-1):]...)
	}
	return inReplyTo, refs, nil
}

// LastAcknowledgement is when the shop last acknowledged a message from
// the address (any case), and false when it never did.
func (s *Store) LastAcknowledgement(ctx context.Context, shopID int64, email string) (time.Time, bool, error) {
	var at *time.Time
	err := s.db.QueryRow(ctx, `SELECT MAX(created_at) FROM ticket_mails WHERE shop_id = ? AND recipient = ? AND kind = 'acknowledgement'`,
		shopID, NormalizeEmail(email)).Scan(database.ScanOptionalTime(&at))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("ticket: last acknowledgement: %w", err)
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return *at, true, nil
}
