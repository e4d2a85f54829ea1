package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/database"
)

// ConversationKind is what a message is to the people reading the
// conversation — the API's and the desk's words for it. Storage keeps
// kind (message, note) and author_kind (customer, agent, system); the
// kind here is derived from both, so no table rebuild was needed.
type ConversationKind string

const (
	Inbound ConversationKind = "inbound" // the shopper wrote it
	Reply   ConversationKind = "reply"   // an agent wrote it to the shopper
	Note    ConversationKind = "note"    // staff only (hubdesk's own notes too)
)

// ConversationKind derives the message's kind in the conversation.
func (m Message) ConversationKind() ConversationKind {
	switch {
	case m.Kind == KindNote:
		return Note
	case m.AuthorKind == AuthorCustomer:
		return Inbound
	case m.AuthorKind == AuthorAgent:
		return Reply
	}
	return Note // a system message the shopper never sees
}

// ErrBlockedSender refuses a message from an address the shop blocked.
var ErrBlockedSender = errors.New("ticket: the shop has blocked this sender")

// NormalizeEmail is how sender addresses are compared: trimmed, lower case.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// SetAssignee assigns the ticket to userID (0 unassigns). Whether the
// person may be assigned is the use case's rule.
func (s *Store) SetAssignee(ctx context.Context, shopID, ticketID, userID int64) error {
	return s.update(ctx, shopID, ticketID, `assignee_id = ?`, nullID(userID))
}

// MarkSpam takes the ticket out of every inbox view; it is kept.
func (s *Store) MarkSpam(ctx context.Context, shopID, ticketID int64) error {
	return s.update(ctx, shopID, ticketID, `spam_at = COALESCE(spam_at, ?)`, database.Time(s.now().UTC()))
}

// update sets columns of one ticket of the shop, stamping updated_at.
func (s *Store) update(ctx context.Context, shopID, ticketID int64, set string, args ...any) error {
	args = append(args, database.Time(s.now().UTC()), shopID, ticketID)
	res, err := s.db.Exec(ctx, `UPDATE tickets SET `+set+`, updated_at = ? WHERE shop_id = ? AND id = ?`, args...)
	if err != nil {
		return fmt.Errorf("ticket: update %d: %w", ticketID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// Tag is a label of the shop's tickets.
type Tag struct {
	ID   int64
	Name string
}

// MaxTagRunes caps a tag name: it is a short label in the inbox.
const MaxTagRunes = 40

// NormalizeTag trims and collapses a tag name and refuses an empty or
// overlong one. Names are compared as written, in lower case, so "VIP"
// and "vip" are one tag.
func NormalizeTag(name string) (string, error) {
	name = strings.ToLower(strings.Join(strings.Fields(name), " "))
	switch {
	case name == "":
		return "", &ValidationError{"tags", "holds an empty name"}
	case utf8.RuneCountInString(name) > MaxTagRunes:
		return "", &ValidationError{"tags", fmt.Sprintf("holds a name longer than %d characters", MaxTagRunes)}
	}
	return name, nil
}

// Tags lists the shop's tags by name.
func (s *Store) Tags(ctx context.Context, shopID int64) ([]Tag, error) {
	return s.tags(ctx, `SELECT id, name FROM tags WHERE shop_id = ? ORDER BY name`, shopID)
}

// TicketTags lists one ticket's tags by name.
func (s *Store) TicketTags(ctx context.Context, shopID, ticketID int64) ([]Tag, error) {
	return s.tags(ctx, `SELECT g.id, g.name FROM ticket_tags tt JOIN tags g ON g.shop_id = tt.shop_id AND g.id = tt.tag_id
		WHERE tt.shop_id = ? AND tt.ticket_id = ? ORDER BY g.name`, shopID, ticketID)
}

func (s *Store) tags(ctx context.Context, query string, args ...any) ([]Tag, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("ticket: tags: %w", err)
	}
	defer rows.Close()
	var out []Tag
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.ID, &t.Name); err != nil {
			return nil, fmt.Errorf("ticket: scan tag: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CreateTag adds a tag to the shop, or returns the one of that name.
func (s *Store) CreateTag(ctx context.Context, shopID int64, name string) (Tag, error) {
	t := Tag{Name: name}
	err := s.db.QueryRow(ctx, `INSERT INTO tags (shop_id, name, created_at) VALUES (?, ?, ?)
		ON CONFLICT (shop_id, name) DO UPDATE SET name = excluded.name RETURNING id`,
		shopID, name, database.Time(s.now().UTC())).Scan(&t.ID)
	if err != nil {
		return t, fmt.Errorf("ticket: create tag %q: %w", name, err)
	}
	s.tagCache.ForgetOnCommit(s.db, shopID)
	return t, nil
}

// SetTicketTags replaces the ticket's tags with tagIDs (tags of the shop)
// and stamps the ticket's updated_at.
func (s *Store) SetTicketTags(ctx context.Context, shopID, ticketID int64, tagIDs []int64) error {
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		if err := s.With(tx).update(ctx, shopID, ticketID, `last_activity_at = last_activity_at`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM ticket_tags WHERE shop_id = ? AND ticket_id = ?`, shopID, ticketID); err != nil {
			return fmt.Errorf("ticket: clear tags of %d: %w", ticketID, err)
		}
		for _, id := range tagIDs {
			if _, err := tx.Exec(ctx, `INSERT INTO ticket_tags (shop_id, ticket_id, tag_id) VALUES (?, ?, ?)`, shopID, ticketID, id); err != nil {
				return fmt.Errorf("ticket: tag %d: %w", ticketID, err)
			}
		}
		return nil
	})
}

// Merge moves every message (and attachment) of source into target, where
// they take their place by time, adds source's tags to target, and closes
// source as merged into target. The target takes the earlier of the two
// waits and first responses and the later activity, so the inbox and the
// response times see one conversation. Both must be tickets of the shop;
// whether they may be merged is the use case's rule.
func (s *Store) Merge(ctx context.Context, shopID, sourceID, targetID int64) error {
	now := database.Time(s.now().UTC())
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		steps := []struct {
			what, query string
			args        []any
		}{
			{"move messages", `UPDATE ticket_messages SET ticket_id = ? WHERE shop_id = ? AND ticket_id = ?`, []any{targetID, shopID, sourceID}},
			{"move attachments", `UPDATE attachments SET ticket_id = ? WHERE shop_id = ? AND ticket_id = ?`, []any{targetID, shopID, sourceID}},
			{"copy tags", `INSERT INTO ticket_tags (shop_id, ticket_id, tag_id) SELECT shop_id, ?, tag_id FROM ticket_tags
				WHERE shop_id = ? AND ticket_id = ? ON CONFLICT DO NOTHING`, []any{targetID, shopID, sourceID}},
			{"join the target", `UPDATE tickets SET
				waiting_since = CASE WHEN s.waiting_since IS NULL THEN tickets.waiting_since WHEN tickets.waiting_since IS NULL THEN s.waiting_since
					WHEN s.waiting_since < tickets.waiting_since THEN s.waiting_since ELSE tickets.waiting_since END,
				first_response_at = CASE WHEN s.first_response_at IS NULL THEN tickets.first_response_at WHEN tickets.first_response_at IS NULL THEN s.first_response_at
					WHEN s.first_response_at < tickets.first_response_at THEN s.first_response_at ELSE tickets.first_response_at END,
				last_activity_at = CASE WHEN s.last_activity_at > tickets.last_activity_at THEN s.last_activity_at ELSE tickets.last_activity_at END,
				updated_at = ?
				FROM (SELECT waiting_since, first_response_at, last_activity_at FROM tickets WHERE shop_id = ? AND id = ?) AS s
				WHERE tickets.shop_id = ? AND tickets.id = ?`, []any{now, shopID, sourceID, shopID, targetID}},
			{"close the source", `UPDATE tickets SET status = 'closed', closed_at = COALESCE(closed_at, ?), merged_into_id = ?,
				waiting_since = NULL, updated_at = ? WHERE shop_id = ? AND id = ?`, []any{now, targetID, now, shopID, sourceID}},
		}
		for _, st := range steps {
			if _, err := tx.Exec(ctx, st.query, st.args...); err != nil {
				return fmt.Errorf("ticket: merge %d into %d: %s: %w", sourceID, targetID, st.what, err)
			}
		}
		return nil
	})
}

// BlockSender refuses the address's later messages in this shop; blocking
// it again changes nothing.
func (s *Store) BlockSender(ctx context.Context, shopID int64, email string) error {
	email = NormalizeEmail(email)
	if email == "" {
		return &ValidationError{"email", "is required"}
	}
	_, err := s.db.Exec(ctx, `INSERT INTO blocked_senders (shop_id, email, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
		shopID, email, database.Time(s.now().UTC()))
	if err != nil {
		return fmt.Errorf("ticket: block sender: %w", err)
	}
	return nil
}

// SenderBlocked reports whether the shop blocked the address.
func (s *Store) SenderBlocked(ctx context.Context, shopID int64, email string) (bool, error) {
	email = NormalizeEmail(email)
	if email == "" {
		return false, nil
	}
	var one int
	err := s.db.QueryRow(ctx, `SELECT 1 FROM blocked_senders WHERE shop_id = ? AND email = ?`, shopID, email).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("ticket: blocked sender: %w", err)
	}
	return true, nil
}

// UniqueTagNames normalizes tag names and drops repeats, keeping the order.
func UniqueTagNames(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		n, err := NormalizeTag(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// GetForUpdate is Get inside a use case's transaction, holding the
// ticket's row until it commits on PostgreSQL (SQLite's write transaction
// holds the whole database already), so two agents changing one ticket at
// once act one after the other on what the first wrote.
func (s *Store) GetForUpdate(ctx context.Context, shopID, id int64) (*Ticket, error) {
	lock := ""
	if s.db.Engine() == database.Postgres {
		lock = ` FOR UPDATE`
	}
	return scanTicket(s.db.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE shop_id = ? AND id = ?`+lock, shopID, id))
}

// TagsOf returns the tag names of several tickets of the shop (a page of
// the API's list) in one query, by ticket id.
func (s *Store) TagsOf(ctx context.Context, shopID int64, ticketIDs []int64) (map[int64][]string, error) {
	out := map[int64][]string{}
	if len(ticketIDs) == 0 {
		return out, nil
	}
	in, args := database.InList(ticketIDs)
	rows, err := s.db.Query(ctx, `SELECT tt.ticket_id, g.name FROM ticket_tags tt JOIN tags g ON g.shop_id = tt.shop_id AND g.id = tt.tag_id
		WHERE tt.shop_id = ? AND tt.ticket_id IN (`+in+`) ORDER BY g.name`, append([]any{shopID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("ticket: tags of tickets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("ticket: scan tags of tickets: %w", err)
		}
		out[id] = append(out[id], name)
	}
	return out, rows.Err()
}

// MessagesPage returns a page of the conversation, oldest first, and the
// cursor of the next page ("" on the last).
func (s *Store) MessagesPage(ctx context.Context, shopID, ticketID int64, p database.Page) ([]Message, string, error) {
	where, args := `shop_id = ? AND ticket_id = ?`, []any{shopID, ticketID}
	if c := p.After; c != nil {
		where += ` AND (created_at > ? OR (created_at = ? AND id > ?))`
		args = append(args, c.Key, c.Key, c.ID)
	}
	limit := p.Size()
	rows, err := s.db.Query(ctx, `SELECT `+messageColumns+`
		FROM ticket_messages WHERE `+where+` ORDER BY created_at, id`+database.Limit(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("ticket: messages of %d: %w", ticketID, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = database.EncodeCursor(last.CreatedAt.UnixMilli(), last.ID)
	}
	return out, next, nil
}
