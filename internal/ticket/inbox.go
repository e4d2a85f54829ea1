package ticket

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// InboxScope is whose tickets an inbox view holds.
type InboxScope string

const (
	ScopeAll        InboxScope = "all"
	ScopeMine       InboxScope = "mine"       // assigned to the agent asking
	ScopeUnassigned InboxScope = "unassigned" // assigned to nobody
	// ScopeSpam lists the tickets marked as spam, which no other view
	// shows; the desk offers it to Managers and above.
	ScopeSpam InboxScope = "spam"
)

// Valid reports whether s is a known scope.
func (s InboxScope) Valid() bool {
	return s == ScopeAll || s == ScopeMine || s == ScopeUnassigned || s == ScopeSpam
}

// InboxSort orders an inbox view.
type InboxSort string

const (
	// SortWaiting puts the shopper who has waited longest first
	// (waiting_since ascending); tickets nobody is waiting on come last.
	SortWaiting InboxSort = "waiting"
	// SortNewest puts the most recent activity first.
	SortNewest InboxSort = "newest"
)

// Valid reports whether s is a known sort.
func (s InboxSort) Valid() bool { return s == SortWaiting || s == SortNewest }

// InboxView is one of the agent inbox's lists: a scope, optionally
// narrowed to one status and one tag. Merged tickets are never listed, and
// spam only in ScopeSpam.
type InboxView struct {
	Scope  InboxScope // empty is ScopeAll
	Status Status     // empty: every status
	TagID  int64      // 0: any tag
}

// InboxRow is one line of the inbox: the ticket with what the list shows
// beside it.
type InboxRow struct {
	Ticket
	Preview      string     // the start of the latest message
	WaitingSince *time.Time // the shopper's oldest unanswered message; nil when nobody waits
	AssigneeName string     // the assignee's name or email; "" when unassigned
	Tags         []string   // tag names, alphabetical
	Unread       bool       // activity since the agent last opened it, or never opened
}

// notWaiting is the waiting-sort key of a ticket nobody is waiting on: the
// largest key, so those tickets come last on both engines (SQLite sorts
// NULL first, PostgreSQL last). The same expression is indexed by
// migration 0014; the literal must stay identical for the index to serve.
const waitingKey = `COALESCE(t.waiting_since, 9223372036854775807)`

const notWaiting = math.MaxInt64

// liveTicket is the condition every view but spam starts from: neither
// spam nor merged away. Written exactly as the partial indexes of 0014
// are, so both planners can use them.
const liveTicket = `t.spam_at IS NULL AND t.merged_into_id IS NULL`

// inboxWhere is the condition of a view for the agent userID, its
// arguments, and the ORDER BY of the sort, with the page's cursor applied.
func inboxWhere(shopID, userID int64, v InboxView, sort InboxSort, after *database.Cursor) (where string, args []any, order string) {
	conds := []string{"t.shop_id = ?"}
	args = []any{shopID}
	switch v.Scope {
	case ScopeSpam:
		conds = append(conds, "t.spam_at IS NOT NULL", "t.merged_into_id IS NULL")
	case ScopeMine:
		conds = append(conds, liveTicket, "t.assignee_id = ?")
		args = append(args, userID)
	case ScopeUnassigned:
		conds = append(conds, liveTicket, "t.assignee_id IS NULL")
	default:
		conds = append(conds, liveTicket)
	}
	if v.Status != "" {
		conds = append(conds, "t.status = ?")
		args = append(args, string(v.Status))
	}
	if v.TagID != 0 {
		conds = append(conds, "EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.shop_id = t.shop_id AND tt.ticket_id = t.id AND tt.tag_id = ?)")
		args = append(args, v.TagID)
	}
	if sort == SortWaiting {
		if after != nil {
			conds = append(conds, "("+waitingKey+" > ? OR ("+waitingKey+" = ? AND t.id > ?))")
			args = append(args, after.Key, after.Key, after.ID)
		}
		order = waitingKey + ", t.id"
	} else {
		if after != nil {
			conds = append(conds, "(t.last_activity_at < ? OR (t.last_activity_at = ? AND t.id < ?))")
			args = append(args, after.Key, after.Key, after.ID)
		}
		order = "t.last_activity_at DESC, t.id DESC"
	}
	return strings.Join(conds, " AND "), args, order
}

// Inbox returns one page of an inbox view for the agent userID, each
// ticket with its tags, assignee and unread flag, and the cursor of the
// next page ("" on the last). The tickets and their tags are read in one
// database.Batch (one round trip on PostgreSQL); the tags select by the
// page's own condition, so both reads see the same page.
func (s *Store) Inbox(ctx context.Context, shopID, userID int64, v InboxView, sort InboxSort, p database.Page) ([]InboxRow, string, error) {
	var b database.Batch
	rows, next := s.readInbox(&b, shopID, userID, v, sort, p)
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nil, "", fmt.Errorf("ticket: inbox: %w", err)
	}
	return *rows, next(), nil
}

// readInbox queues the reads of an inbox page on b; the rows and the next
// cursor are ready once the batch has run.
func (s *Store) readInbox(b *database.Batch, shopID, userID int64, v InboxView, sort InboxSort, p database.Page) (*[]InboxRow, func() string) {
	if !sort.Valid() {
		sort = SortNewest
	}
	where, args, order := inboxWhere(shopID, userID, v, sort, p.After)
	limit := p.Size()
	rows := &[]InboxRow{}
	byID := map[int64]int{}
	// The assignee's name comes from users, joined by (shop, id) so no
	// other shop's row can answer. Unread: activity after the agent's last
	// read, or never read.
	query := `SELECT t.id, t.shop_id, t.customer_id, t.order_id, t.requester_email, t.requester_name, t.subject, t.status, t.channel,
		t.assignee_id, t.created_at, t.updated_at, t.last_activity_at, t.closed_at, t.preview, t.waiting_since,
		COALESCE(u.name, ''), COALESCE(u.email, ''),
		CASE WHEN r.read_at IS NULL OR r.read_at < t.last_activity_at THEN 1 ELSE 0 END
		FROM tickets t
		LEFT JOIN users u ON u.shop_id = t.shop_id AND u.id = t.assignee_id
		LEFT JOIN ticket_reads r ON r.user_id = ? AND r.ticket_id = t.id
		WHERE ` + where + ` ORDER BY ` + order + ` LIMIT ?`
	pageArgs := append(append([]any{userID}, args...), limit+1)
	b.Read(query, pageArgs, func(row database.RowScanner) error {
		var r InboxRow
		var customer, order, assignee sql.NullInt64
		var status, channel, name, email string
		var unread int64
		err := row.Scan(&r.ID, &r.ShopID, &customer, &order, &r.RequesterEmail, &r.RequesterName, &r.Subject, &status, &channel,
			&assignee, (*database.Time)(&r.CreatedAt), (*database.Time)(&r.UpdatedAt), (*database.Time)(&r.LastActivityAt),
			database.ScanOptionalTime(&r.ClosedAt), &r.Preview, database.ScanOptionalTime(&r.WaitingSince), &name, &email, &unread)
		if err != nil {
			return fmt.Errorf("scan inbox row: %w", err)
		}
		r.CustomerID, r.OrderID, r.AssigneeID = customer.Int64, order.Int64, assignee.Int64
		r.Status, r.Channel, r.Unread = Status(status), Channel(channel), unread != 0
		r.AssigneeName = name
		if r.AssigneeName == "" {
			r.AssigneeName = email
		}
		byID[r.ID] = len(*rows)
		*rows = append(*rows, r)
		return nil
	})
	// The page's tags: the same condition and order select the same page
	// (limit+1 rows, the extra one is dropped below with its tags).
	tagArgs := append(append([]any{}, args...), limit+1, shopID)
	b.Read(`SELECT tt.ticket_id, tg.name FROM ticket_tags tt JOIN tags tg ON tg.shop_id = tt.shop_id AND tg.id = tt.tag_id
		WHERE tt.ticket_id IN (SELECT t.id FROM tickets t WHERE `+where+` ORDER BY `+order+` LIMIT ?) AND tt.shop_id = ?
		ORDER BY tg.name`, tagArgs, func(row database.RowScanner) error {
		var id int64
		var name string
		if err := row.Scan(&id, &name); err != nil {
			return fmt.Errorf("scan inbox tag: %w", err)
		}
		if i, ok := byID[id]; ok {
			(*rows)[i].Tags = append((*rows)[i].Tags, name)
		}
		return nil
	})
	next := func() string {
		if len(*rows) <= limit {
			return ""
		}
		*rows = (*rows)[:limit]
		last := (*rows)[limit-1]
		if sort == SortWaiting {
			key := int64(notWaiting)
			if last.WaitingSince != nil {
				key = last.WaitingSince.UnixMilli()
			}
			return database.EncodeCursor(key, last.ID)
		}
		return database.EncodeCursor(last.LastActivityAt.UnixMilli(), last.ID)
	}
	return rows, next
}

// InboxCounts are the numbers beside the inbox's views: tickets that need
// the shop (open), by view, and pending ones. Closed tickets are not
// counted — a count that only grows tells an agent nothing.
type InboxCounts struct {
	Mine, Unassigned, All int // open tickets
	Open, Pending         int // every assignee
}

// Tag is a label on tickets.
type Tag struct {
	ID   int64
	Name string
}

// InboxNav is the inbox's side navigation: the counts and the shop's tags.
type InboxNav struct {
	Counts InboxCounts
	Tags   []Tag
}

// InboxPage is one page of an inbox view with its navigation, read in one
// batch (one round trip on PostgreSQL).
type InboxPage struct {
	Rows []InboxRow
	Next string
	Nav  InboxNav
	At   time.Time // when it was read, by the store's clock: "waiting 3 h" counts from here
}

// InboxWithNav reads a page of an inbox view (as Inbox) and the side
// navigation (counts and tags) together.
func (s *Store) InboxWithNav(ctx context.Context, shopID, userID int64, v InboxView, sort InboxSort, p database.Page) (*InboxPage, error) {
	var b database.Batch
	rows, next := s.readInbox(&b, shopID, userID, v, sort, p)
	var nav InboxNav
	readNav(&b, shopID, userID, &nav)
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nil, fmt.Errorf("ticket: inbox: %w", err)
	}
	n := next()
	return &InboxPage{Rows: *rows, Next: n, Nav: nav, At: s.now().UTC()}, nil
}

// Nav reads the inbox's side navigation alone.
func (s *Store) Nav(ctx context.Context, shopID, userID int64) (InboxNav, error) {
	var b database.Batch
	var nav InboxNav
	readNav(&b, shopID, userID, &nav)
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nav, fmt.Errorf("ticket: inbox counts: %w", err)
	}
	return nav, nil
}

// readNav queues the counts and the tag list. The counts are one grouped
// read of the live open and pending tickets, answered from the
// tickets_live_status_assignee index alone (status, assignee), so its cost
// grows with the open tickets, not the shop's history.
func readNav(b *database.Batch, shopID, userID int64, nav *InboxNav) {
	b.Read(`SELECT t.status, t.assignee_id, COUNT(*) FROM tickets t
		WHERE t.shop_id = ? AND t.status IN ('open', 'pending') AND `+liveTicket+`
		GROUP BY t.status, t.assignee_id`, []any{shopID}, func(row database.RowScanner) error {
		var status string
		var assignee sql.NullInt64
		var n int
		if err := row.Scan(&status, &assignee, &n); err != nil {
			return fmt.Errorf("scan inbox count: %w", err)
		}
		c := &nav.Counts
		if Status(status) == StatusPending {
			c.Pending += n
			return nil
		}
		c.Open += n
		c.All += n
		switch {
		case !assignee.Valid:
			c.Unassigned += n
		case assignee.Int64 == userID:
			c.Mine += n
		}
		return nil
	})
	b.Read(`SELECT id, name FROM tags WHERE shop_id = ? ORDER BY name`, []any{shopID}, func(row database.RowScanner) error {
		var tg Tag
		if err := row.Scan(&tg.ID, &tg.Name); err != nil {
			return fmt.Errorf("scan tag: %w", err)
		}
		nav.Tags = append(nav.Tags, tg)
		return nil
	})
}

// MarkRead records that the agent has read the ticket now, and marks the
// agent's notifications about it read: opening a ticket is reading what
// it was told about. A ticket of another shop changes nothing.
func (s *Store) MarkRead(ctx context.Context, shopID, userID, ticketID int64) error {
	now := database.Time(s.now().UTC())
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO ticket_reads (shop_id, user_id, ticket_id, read_at)
			SELECT t.shop_id, ?, t.id, ? FROM tickets t WHERE t.shop_id = ? AND t.id = ?
			ON CONFLICT (user_id, ticket_id) DO UPDATE SET read_at = excluded.read_at`, userID, now, shopID, ticketID)
		if err != nil {
			return fmt.Errorf("ticket: mark %d read: %w", ticketID, err)
		}
		_, err = tx.Exec(ctx, `UPDATE desk_notifications SET read_at = ?
			WHERE shop_id = ? AND user_id = ? AND ticket_id = ? AND read_at IS NULL`, now, shopID, userID, ticketID)
		if err != nil {
			return fmt.Errorf("ticket: read notifications of %d: %w", ticketID, err)
		}
		return nil
	})
}

// MarkUnread forgets the agent's read of the ticket, so it shows unread
// again. ErrNotFound when the shop has no such ticket.
func (s *Store) MarkUnread(ctx context.Context, shopID, userID, ticketID int64) error {
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM tickets WHERE shop_id = ? AND id = ?`, shopID, ticketID).Scan(&id); err != nil {
			if err == sql.ErrNoRows {
				return ErrNotFound
			}
			return fmt.Errorf("ticket: mark %d unread: %w", ticketID, err)
		}
		_, err := tx.Exec(ctx, `DELETE FROM ticket_reads WHERE shop_id = ? AND user_id = ? AND ticket_id = ?`, shopID, userID, ticketID)
		if err != nil {
			return fmt.Errorf("ticket: mark %d unread: %w", ticketID, err)
		}
		return nil
	})
}
