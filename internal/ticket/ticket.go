// Package ticket holds the helpdesk's conversations with shoppers: tickets
// (one per conversation, linked to the customer and, when it is about one,
// the order) and their messages. The hub's contact form opens tickets now;
// email, the REST API and the agent inbox build on the same store.
package ticket

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// Status is where a ticket stands in the inbox.
type Status string

const (
	StatusOpen    Status = "open"    // waiting for the shop
	StatusPending Status = "pending" // waiting for the shopper
	StatusClosed  Status = "closed"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return s == StatusOpen || s == StatusPending || s == StatusClosed }

// Label is the status's name for staff.
func (s Status) Label() string {
	switch s {
	case StatusOpen:
		return "Open"
	case StatusPending:
		return "Pending"
	case StatusClosed:
		return "Closed"
	}
	return string(s)
}

// Channel is where a ticket started.
type Channel string

const (
	ChannelHub   Channel = "hub"
	ChannelEmail Channel = "email"
	ChannelAPI   Channel = "api"
	// ChannelDesk: an agent opened the ticket in the desk for a shopper.
	ChannelDesk Channel = "desk"
)

// AuthorKind says who wrote a message.
type AuthorKind string

const (
	AuthorCustomer AuthorKind = "customer"
	AuthorAgent    AuthorKind = "agent"
	AuthorSystem   AuthorKind = "system"
)

// MessageKind separates what the shopper sees from staff-only notes.
type MessageKind string

const (
	KindMessage MessageKind = "message"
	KindNote    MessageKind = "note"
)

// Limits on stored text. A subject is one line in the inbox; a message
// body from a web form or an email is rarely longer than a few pages.
const (
	MaxSubjectRunes = 200
	MaxBodyRunes    = 20_000
)

// ErrNotFound means no such ticket in this shop.
var ErrNotFound = database.ErrNotFound

// Ticket is one conversation.
type Ticket struct {
	ID             int64
	ShopID         int64
	CustomerID     int64 // 0 when not matched to a customer
	OrderID        int64 // 0 when not about one order
	RequesterEmail string
	RequesterName  string
	Subject        string
	Status         Status
	Channel        Channel
	AssigneeID     int64 // 0 when unassigned
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastActivityAt time.Time
	ClosedAt       *time.Time
	// FirstResponseAt is the shop's first reply to the shopper; nil until
	// an agent answers.
	FirstResponseAt *time.Time
	// WaitingSince is when the shopper's oldest unanswered message came;
	// nil while the shop has answered everything.
	WaitingSince *time.Time
	// Preview is the start of the latest message the shopper sees.
	Preview      string
	SpamAt       *time.Time // marked as spam: kept, out of every inbox view
	MergedIntoID int64      // the ticket this one was merged into; 0 when not merged
	// CustomerSeenAt is when the shopper last opened the conversation in
	// the hub; nil if never.
	CustomerSeenAt *time.Time
}

// FirstResponseTime is how long the shopper waited for the shop's first
// reply; 0 and false when nobody has replied yet.
func (t *Ticket) FirstResponseTime() (time.Duration, bool) {
	if t.FirstResponseAt == nil {
		return 0, false
	}
	return t.FirstResponseAt.Sub(t.CreatedAt), true
}

// ResolutionTime is from opening to the last close; 0 and false while the
// ticket is not closed (a reopened ticket counts again from its next
// close, still from when it was opened).
func (t *Ticket) ResolutionTime() (time.Duration, bool) {
	if t.ClosedAt == nil {
		return 0, false
	}
	return t.ClosedAt.Sub(t.CreatedAt), true
}

// Message is one entry of a ticket's conversation.
type Message struct {
	ID           int64
	TicketID     int64
	Kind         MessageKind
	AuthorKind   AuthorKind
	AuthorUserID int64 // the desk user, for agent messages
	AuthorName   string
	Body         string
	// BodyHTML is the sanitised HTML of a shopper's mail; "" for every
	// other message. Body is its text all the same.
	BodyHTML string
	// MailMessageID is the Message-ID of the mail the message came in or
	// went out as, without angle brackets; "" when it never crossed mail.
	MailMessageID string
	CreatedAt     time.Time
}

// Lines splits the body at line breaks, for pages that show it as text.
func (m Message) Lines() []string {
	return strings.Split(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n")
}

// NewTicket is what Create needs: the ticket and its first message.
type NewTicket struct {
	CustomerID     int64
	OrderID        int64
	RequesterEmail string
	RequesterName  string
	Subject        string
	Channel        Channel
	Author         AuthorKind // of the first message
	AuthorUserID   int64
	AuthorName     string // of the first message when staff wrote it (a shopper's is RequesterName)
	AssigneeID     int64  // 0: unassigned
	Body           string
	BodyHTML       string // of a shopper's mail, sanitised
	MailMessageID  string // of the mail the first message came in
}

// ValidationError names the input that was refused.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string { return "ticket: " + e.Field + " " + e.Problem }

// Store reads and writes tickets. Every query is scoped by shop.
type Store struct {
	db  database.Querier
	now func() time.Time
	// navCache keeps each shop's inbox navigation for NavCacheTTL (real
	// time, not the store's clock, which tests may stop).
	navCache *ttlcache.Cache[int64, shopNav]
	// tagCache keeps each shop's tags as the ticket view reads them, for
	// TagCacheTTL; a tag made through this process drops the shop's entry
	// once it commits.
	tagCache   *ttlcache.Cache[int64, []Tag]
	rankWindow int // SearchRankWindow; smaller in tests
	// reads commits concurrent read markers together; nil for a store
	// bound to a caller's transaction.
	reads *readMarks
}

// NewStore returns the ticket store over db (the database or a
// transaction). now is its clock (time.Now when nil): it stamps tickets
// and places the contact limits' windows.
func NewStore(db database.Querier, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, now: now, navCache: ttlcache.New[int64, shopNav](NavCacheTTL, nil),
		tagCache: ttlcache.NewBounded[int64, []Tag](TagCacheTTL, CachedShops, nil), rankWindow: SearchRankWindow}
	if _, ok := db.(*database.DB); ok {
		s.reads = &readMarks{}
	}
	return s
}

// With returns the store running on q, typically a use case's transaction.
func (s *Store) With(q database.Querier) *Store {
	return &Store{db: q, now: s.now, navCache: s.navCache, tagCache: s.tagCache, rankWindow: s.rankWindow}
}

// Create opens a ticket with its first message in one transaction, so a
// ticket never exists without the text that opened it.
func (s *Store) Create(ctx context.Context, shopID int64, in NewTicket) (*Ticket, error) {
	t, _, err := s.CreateWithMessage(ctx, shopID, in)
	return t, err
}

// CreateWithMessage is Create, returning the first message too (the one
// a mail's files hang on).
func (s *Store) CreateWithMessage(ctx context.Context, shopID int64, in NewTicket) (*Ticket, *Message, error) {
	if err := in.normalize(); err != nil {
		return nil, nil, err
	}
	var t *Ticket
	var m *Message
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		t, m, err = s.insert(ctx, tx, shopID, in)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return t, m, nil
}

// normalize trims what Create stores and refuses what it cannot.
func (in *NewTicket) normalize() error {
	in.Subject = oneLine(in.Subject, MaxSubjectRunes)
	in.Body = strings.TrimSpace(in.Body)
	switch {
	case in.Subject == "":
		return &ValidationError{"subject", "is required"}
	case in.Body == "":
		return &ValidationError{"body", "is required"}
	case utf8.RuneCountInString(in.Body) > MaxBodyRunes:
		return &ValidationError{"body", fmt.Sprintf("is longer than %d characters", MaxBodyRunes)}
	case in.Channel == "":
		return &ValidationError{"channel", "is required"}
	}
	if in.Author == "" {
		in.Author = AuthorCustomer
	}
	return nil
}

// insert writes a normalized ticket and its first message inside tx. A
// shopper's first message leaves the ticket waiting for the shop; a ticket
// an agent opens (the shop spoke first) has its first response at once, so
// nothing is counted as waiting.
func (s *Store) insert(ctx context.Context, tx *database.Tx, shopID int64, in NewTicket) (*Ticket, *Message, error) {
	now := s.now().UTC()
	t := &Ticket{
		ShopID: shopID, CustomerID: in.CustomerID, OrderID: in.OrderID, RequesterEmail: in.RequesterEmail,
		RequesterName: in.RequesterName, Subject: in.Subject, Status: StatusOpen, Channel: in.Channel,
		CreatedAt: now, UpdatedAt: now, LastActivityAt: now, Preview: PreviewOf(in.Body), AssigneeID: in.AssigneeID,
	}
	if in.Author == AuthorCustomer {
		t.WaitingSince = &now
	} else {
		t.FirstResponseAt = &now
	}
	err := tx.QueryRow(ctx, `INSERT INTO tickets (shop_id, customer_id, order_id, requester_email, requester_name, subject,
		status, channel, assignee_id, created_at, updated_at, last_activity_at, first_response_at, waiting_since, preview)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		shopID, nullID(in.CustomerID), nullID(in.OrderID), in.RequesterEmail, in.RequesterName, in.Subject,
		string(StatusOpen), string(in.Channel), nullID(in.AssigneeID), database.Time(now), database.Time(now), database.Time(now),
		database.OptionalTime(t.FirstResponseAt), database.OptionalTime(t.WaitingSince), t.Preview).Scan(&t.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("ticket: create: %w", err)
	}
	m := &Message{TicketID: t.ID, Kind: KindMessage, AuthorKind: in.Author, AuthorUserID: in.AuthorUserID, AuthorName: in.RequesterName,
		Body: in.Body, BodyHTML: in.BodyHTML, MailMessageID: in.MailMessageID, CreatedAt: now}
	if in.Author != AuthorCustomer {
		m.AuthorName = in.AuthorName
	}
	if err := insertMessage(ctx, tx, shopID, m); err != nil {
		return nil, nil, fmt.Errorf("ticket: first message of %d: %w", t.ID, err)
	}
	return t, m, nil
}

// insertMessage writes m (its ticket, kind, author, body, time set) and
// stores its new id in it.
// The mail columns are written only when the message has them: their
// defaults stand for "none", and tests that seed tickets at an older
// migration write through this same code.
func insertMessage(ctx context.Context, tx *database.Tx, shopID int64, m *Message) error {
	cols := `shop_id, ticket_id, kind, author_kind, author_user_id, author_name, body, created_at`
	args := []any{shopID, m.TicketID, string(m.Kind), string(m.AuthorKind), nullID(m.AuthorUserID), m.AuthorName, m.Body, database.Time(m.CreatedAt)}
	if m.BodyHTML != "" {
		cols += `, body_html`
		args = append(args, m.BodyHTML)
	}
	if m.MailMessageID != "" {
		cols += `, mail_message_id`
		args = append(args, m.MailMessageID)
	}
	return tx.QueryRow(ctx, `INSERT INTO ticket_messages (`+cols+`) VALUES (?`+strings.Repeat(`, ?`, len(args)-1)+`) RETURNING id`,
		args...).Scan(&m.ID)
}

// PreviewLength is how much of the latest message the inbox shows.
const PreviewLength = 200

// PreviewOf is the start of a message body on one line, for the inbox.
func PreviewOf(body string) string {
	s := strings.Join(strings.Fields(body), " ")
	if utf8.RuneCountInString(s) <= PreviewLength {
		return s
	}
	return string([]rune(s)[:PreviewLength])
}

// AddMessage appends a message and keeps the ticket's bookkeeping with it:
// every message moves the ticket up the inbox; a message the shopper sees
// becomes the preview; a shopper's message reopens a pending or closed
// ticket and starts its wait (unless it is already waiting); an agent's
// reply ends the wait and, the first time, stamps the first response.
// Staff notes leave the status and the wait alone.
func (s *Store) AddMessage(ctx context.Context, shopID, ticketID int64, m Message) (*Message, error) {
	m.Body = strings.TrimSpace(m.Body)
	if m.Body == "" {
		return nil, &ValidationError{"body", "is required"}
	}
	if utf8.RuneCountInString(m.Body) > MaxBodyRunes {
		return nil, &ValidationError{"body", fmt.Sprintf("is longer than %d characters", MaxBodyRunes)}
	}
	if m.Kind == "" {
		m.Kind = KindMessage
	}
	if m.AuthorKind == "" {
		return nil, &ValidationError{"author_kind", "is required"}
	}
	now := s.now().UTC()
	m.TicketID, m.CreatedAt = ticketID, now
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		set := `updated_at = ?, last_activity_at = ?`
		args := []any{database.Time(now), database.Time(now)}
		if m.Kind == KindMessage {
			set += `, preview = ?`
			args = append(args, PreviewOf(m.Body))
			switch m.AuthorKind {
			case AuthorCustomer:
				set += `, status = 'open', closed_at = NULL, waiting_since = COALESCE(waiting_since, ?)`
				args = append(args, database.Time(now))
			case AuthorAgent:
				set += `, waiting_since = NULL, first_response_at = COALESCE(first_response_at, ?)`
				args = append(args, database.Time(now))
			}
		}
		res, err := tx.Exec(ctx, `UPDATE tickets SET `+set+` WHERE shop_id = ? AND id = ?`, append(args, shopID, ticketID)...)
		if err != nil {
			return fmt.Errorf("ticket: touch %d: %w", ticketID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if err := insertMessage(ctx, tx, shopID, &m); err != nil {
			return fmt.Errorf("ticket: add message to %d: %w", ticketID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// SetStatus changes a ticket's status.
func (s *Store) SetStatus(ctx context.Context, shopID, ticketID int64, status Status) error {
	if !status.Valid() {
		return &ValidationError{"status", "must be open, pending or closed"}
	}
	now := s.now().UTC()
	var closedAt any
	if status == StatusClosed {
		closedAt = database.Time(now)
	}
	res, err := s.db.Exec(ctx, `UPDATE tickets SET status = ?, closed_at = ?, updated_at = ? WHERE shop_id = ? AND id = ?`,
		string(status), closedAt, database.Time(now), shopID, ticketID)
	if err != nil {
		return fmt.Errorf("ticket: set status of %d: %w", ticketID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

const ticketColumns = `id, shop_id, customer_id, order_id, requester_email, requester_name, subject, status, channel,
	assignee_id, created_at, updated_at, last_activity_at, closed_at, first_response_at, waiting_since, preview, spam_at, merged_into_id,
	customer_seen_at`

func scanTicket(row interface{ Scan(...any) error }) (*Ticket, error) {
	var t Ticket
	var customer, order, assignee, merged sql.NullInt64
	var status, channel string
	err := row.Scan(&t.ID, &t.ShopID, &customer, &order, &t.RequesterEmail, &t.RequesterName, &t.Subject, &status, &channel,
		&assignee, (*database.Time)(&t.CreatedAt), (*database.Time)(&t.UpdatedAt), (*database.Time)(&t.LastActivityAt),
		database.ScanOptionalTime(&t.ClosedAt), database.ScanOptionalTime(&t.FirstResponseAt), database.ScanOptionalTime(&t.WaitingSince),
		&t.Preview, database.ScanOptionalTime(&t.SpamAt), &merged, database.ScanOptionalTime(&t.CustomerSeenAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: scan: %w", err)
	}
	t.CustomerID, t.OrderID, t.AssigneeID, t.MergedIntoID = customer.Int64, order.Int64, assignee.Int64, merged.Int64
	t.Status, t.Channel = Status(status), Channel(channel)
	return &t, nil
}

// Get returns one ticket of the shop.
func (s *Store) Get(ctx context.Context, shopID, id int64) (*Ticket, error) {
	return scanTicket(s.db.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE shop_id = ? AND id = ?`, shopID, id))
}

// Messages returns a ticket's conversation, oldest first.
func (s *Store) Messages(ctx context.Context, shopID, ticketID int64) ([]Message, error) {
	rows, err := s.db.Query(ctx, messagesQuery, shopID, ticketID)
	if err != nil {
		return nil, fmt.Errorf("ticket: messages of %d: %w", ticketID, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

const messageColumns = `id, ticket_id, kind, author_kind, author_user_id, author_name, body, body_html, mail_message_id, created_at`

// messagesQuery reads a ticket's conversation (shop, ticket), oldest first.
const messagesQuery = `SELECT ` + messageColumns + `
	FROM ticket_messages WHERE shop_id = ? AND ticket_id = ? ORDER BY created_at, id`

func scanMessage(row interface{ Scan(...any) error }) (*Message, error) {
	var m Message
	var kind, author string
	var user sql.NullInt64
	var mailID sql.NullString
	err := row.Scan(&m.ID, &m.TicketID, &kind, &author, &user, &m.AuthorName, &m.Body, &m.BodyHTML, &mailID, (*database.Time)(&m.CreatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ticket: scan message: %w", err)
	}
	m.Kind, m.AuthorKind, m.AuthorUserID, m.MailMessageID = MessageKind(kind), AuthorKind(author), user.Int64, mailID.String
	return &m, nil
}

// Filter narrows List.
type Filter struct {
	Status     Status // empty: every status
	CustomerID int64
	OrderID    int64
}

// where is the filter as SQL conditions on the tickets (of the table
// alias prefix, "" or "t."), with their arguments: the shop's tickets,
// spam left out — every list leaves it out —, narrowed as f asks.
func (f Filter) where(prefix string, shopID int64) ([]string, []any) {
	where := []string{prefix + "shop_id = ?", prefix + "spam_at IS NULL"}
	args := []any{shopID}
	if f.Status != "" {
		where = append(where, prefix+"status = ?")
		args = append(args, string(f.Status))
	}
	if f.CustomerID != 0 {
		where = append(where, prefix+"customer_id = ?")
		args = append(args, f.CustomerID)
	}
	if f.OrderID != 0 {
		where = append(where, prefix+"order_id = ?")
		args = append(args, f.OrderID)
	}
	return where, args
}

// List returns tickets with the most recent activity first, and the cursor
// of the next page ("" on the last).
func (s *Store) List(ctx context.Context, shopID int64, f Filter, p database.Page) ([]*Ticket, string, error) {
	where, args := f.where("", shopID)
	if c := p.After; c != nil {
		where = append(where, "(last_activity_at < ? OR (last_activity_at = ? AND id < ?))")
		args = append(args, c.Key, c.Key, c.ID)
	}
	limit := p.Size()
	rows, err := s.db.Query(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE `+strings.Join(where, " AND ")+
		` ORDER BY last_activity_at DESC, id DESC`+database.Limit(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("ticket: list: %w", err)
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
		return nil, "", fmt.Errorf("ticket: list: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = database.EncodeCursor(last.LastActivityAt.UnixMilli(), last.ID)
	}
	return out, next, nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// oneLine collapses whitespace (a subject is shown on one line) and cuts
// it to max runes.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}
