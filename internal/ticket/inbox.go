package ticket

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
// The cursor is a row-value comparison, which both planners turn into an
// index range; PostgreSQL only filters by the equivalent OR, reading the
// index from its start on every later page.
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
		// Probed per ticket along the view's index: starting from the
		// tag's tickets instead (an IN list) measured twice as slow, as
		// they must then be sorted.
		conds = append(conds, "EXISTS (SELECT 1 FROM ticket_tags tt WHERE tt.shop_id = t.shop_id AND tt.ticket_id = t.id AND tt.tag_id = ?)")
		args = append(args, v.TagID)
	}
	if sort == SortWaiting {
		if after != nil {
			conds = append(conds, "("+waitingKey+", t.id) > (?, ?)")
			args = append(args, after.Key, after.ID)
		}
		order = waitingKey + ", t.id"
	} else {
		if after != nil {
			conds = append(conds, "(t.last_activity_at, t.id) < (?, ?)")
			args = append(args, after.Key, after.ID)
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
	query, pageArgs := inboxSelect(s.db.Engine(), where, args, order, userID, limit)
	b.Read(query, pageArgs, func(row database.RowScanner) error {
		var r InboxRow
		var customer, order, assignee sql.NullInt64
		var status, channel, name, email string
		var tags sql.NullString
		var unread int64
		err := row.Scan(&r.ID, &r.ShopID, &customer, &order, &r.RequesterEmail, &r.RequesterName, &r.Subject, &status, &channel,
			&assignee, (*database.Time)(&r.CreatedAt), (*database.Time)(&r.UpdatedAt), (*database.Time)(&r.LastActivityAt),
			database.ScanOptionalTime(&r.ClosedAt), &r.Preview, database.ScanOptionalTime(&r.WaitingSince), &name, &email, &unread, &tags)
		if err != nil {
			return fmt.Errorf("scan inbox row: %w", err)
		}
		if tags.String != "" && tags.String != "[]" {
			if err := json.Unmarshal([]byte(tags.String), &r.Tags); err != nil {
				return fmt.Errorf("inbox row %d: tags: %w", r.ID, err)
			}
		}
		r.CustomerID, r.OrderID, r.AssigneeID = customer.Int64, order.Int64, assignee.Int64
		r.Status, r.Channel, r.Unread = Status(status), Channel(channel), unread != 0
		r.AssigneeName = name
		if r.AssigneeName == "" {
			r.AssigneeName = email
		}
		*rows = append(*rows, r)
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

// inboxSelect is the page read of an inbox view. Its page size is part of
// the statement (database.Limit): as an argument, PostgreSQL planned the
// inbox's statements anew on every page, about a millisecond of the
// database's time each. The assignee's name
// comes from users, joined by (shop, id) so no other shop's row can
// answer. Unread: activity after the agent's last read, or never read.
// The row's tags are read with it, by name, as a JSON array: a subquery
// per row of the page probes the ticket's own key, where a second
// statement for the page's tags read the page again and had PostgreSQL
// scan every tag link of the shop (half of the page's database time).
func inboxSelect(engine database.Dialect, where string, args []any, order string, userID int64, limit int) (string, []any) {
	tags := `json_group_array(tg.name ORDER BY tg.name)`
	if engine == database.Postgres {
		tags = `json_agg(tg.name ORDER BY tg.name)`
	}
	query := `SELECT t.id, t.shop_id, t.customer_id, t.order_id, t.requester_email, t.requester_name, t.subject, t.status, t.channel,
		t.assignee_id, t.created_at, t.updated_at, t.last_activity_at, t.closed_at, t.preview, t.waiting_since,
		COALESCE(u.name, ''), COALESCE(u.email, ''),
		CASE WHEN r.read_at IS NULL OR r.read_at < t.last_activity_at THEN 1 ELSE 0 END,
		(SELECT ` + tags + ` FROM ticket_tags tt JOIN tags tg ON tg.shop_id = tt.shop_id AND tg.id = tt.tag_id
			WHERE tt.ticket_id = t.id AND tt.shop_id = t.shop_id)
		FROM tickets t
		LEFT JOIN users u ON u.shop_id = t.shop_id AND u.id = t.assignee_id
		LEFT JOIN ticket_reads r ON r.user_id = ? AND r.ticket_id = t.id
		WHERE ` + where + ` ORDER BY ` + order + database.Limit(limit+1)
	return query, append([]any{userID}, args...)
}

// InboxCounts are the numbers beside the inbox's views: tickets that need
// the shop (open), by view, and pending ones. Closed tickets are not
// counted — a count that only grows tells an agent nothing.
type InboxCounts struct {
	Mine, Unassigned, All int // open tickets
	Open, Pending         int // every assignee
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
// navigation (counts and tags) together. The navigation is the shop's, so
// it is kept for NavCacheTTL in this process: counting the open tickets is
// the dearest read of the page, and a count a second old misleads no one.
// On a miss its reads join the page's batch (one round trip still), as do
// the caller's more reads (what the page shows around the inbox).
func (s *Store) InboxWithNav(ctx context.Context, shopID, userID int64, v InboxView, sort InboxSort, p database.Page, more ...func(*database.Batch)) (*InboxPage, error) {
	var b database.Batch
	rows, next := s.readInbox(&b, shopID, userID, v, sort, p)
	for _, read := range more {
		read(&b)
	}
	shop, cached := s.cachedNav(shopID)
	if !cached {
		readNav(&b, shopID, &shop)
	}
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nil, fmt.Errorf("ticket: inbox: %w", err)
	}
	if !cached {
		s.keepNav(shopID, shop)
	}
	n := next()
	return &InboxPage{Rows: *rows, Next: n, Nav: shop.forUser(userID), At: s.now().UTC()}, nil
}

// Nav reads the inbox's side navigation alone, uncached.
func (s *Store) Nav(ctx context.Context, shopID, userID int64) (InboxNav, error) {
	shop, err := s.readShopNav(ctx, shopID)
	if err != nil {
		return InboxNav{}, err
	}
	return shop.forUser(userID), nil
}

// readShopNav reads a shop's navigation in one batch.
func (s *Store) readShopNav(ctx context.Context, shopID int64) (shopNav, error) {
	var b database.Batch
	var shop shopNav
	readNav(&b, shopID, &shop)
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return shopNav{}, fmt.Errorf("ticket: inbox counts: %w", err)
	}
	return shop, nil
}

// CachedNav is Nav through the process's cache of the shop's navigation
// (NavCacheTTL), for pages that show it beside something else, such as
// search results.
func (s *Store) CachedNav(ctx context.Context, shopID, userID int64) (InboxNav, error) {
	shop, ok := s.cachedNav(shopID)
	if !ok {
		var err error
		if shop, err = s.readShopNav(ctx, shopID); err != nil {
			return InboxNav{}, err
		}
		s.keepNav(shopID, shop)
	}
	return shop.forUser(userID), nil
}

// NavCacheTTL is how long a process keeps a shop's inbox navigation.
const NavCacheTTL = 2 * time.Second

// shopNav is the navigation of a whole shop: the live open and pending
// tickets counted by status and assignee, and the tags.
type shopNav struct {
	counts []statusCount
	tags   []Tag
}

type statusCount struct {
	status   Status
	assignee int64 // 0: unassigned
	n        int
}

// forUser is the navigation as the agent userID sees it.
func (sn shopNav) forUser(userID int64) InboxNav {
	nav := InboxNav{Tags: sn.tags}
	c := &nav.Counts
	for _, sc := range sn.counts {
		if sc.status == StatusPending {
			c.Pending += sc.n
			continue
		}
		c.Open += sc.n
		c.All += sc.n
		switch sc.assignee {
		case 0:
			c.Unassigned += sc.n
		case userID:
			c.Mine += sc.n
		}
	}
	return nav
}

func (s *Store) cachedNav(shopID int64) (shopNav, bool) {
	if s.navCache == nil {
		return shopNav{}, false
	}
	sn, err := s.navCache.Get(shopID, func() (shopNav, error) { return shopNav{}, errNavMissing })
	return sn, err == nil
}

func (s *Store) keepNav(shopID int64, sn shopNav) {
	if s.navCache != nil {
		s.navCache.Get(shopID, func() (shopNav, error) { return sn, nil })
	}
}

// errNavMissing tells cachedNav the cache has no entry (the cache keeps no
// errors, so asking never stores it).
var errNavMissing = errors.New("inbox navigation not cached")

// navCountQuery counts the live open and pending tickets by status and
// assignee.
const navCountQuery = `SELECT t.status, t.assignee_id, COUNT(*) FROM tickets t
	WHERE t.shop_id = ? AND t.status IN ('open', 'pending') AND ` + liveTicket + `
	GROUP BY t.status, t.assignee_id`

// readNav queues the counts and the tag list. The counts are one grouped
// read of the live open and pending tickets, answered from the
// tickets_live_status_assignee index alone (status, assignee), so its cost
// grows with the open tickets, not the shop's history.
func readNav(b *database.Batch, shopID int64, sn *shopNav) {
	b.Read(navCountQuery, []any{shopID}, func(row database.RowScanner) error {
		var status string
		var assignee sql.NullInt64
		var n int
		if err := row.Scan(&status, &assignee, &n); err != nil {
			return fmt.Errorf("scan inbox count: %w", err)
		}
		sn.counts = append(sn.counts, statusCount{Status(status), assignee.Int64, n})
		return nil
	})
	b.Read(`SELECT id, name FROM tags WHERE shop_id = ? ORDER BY name`, []any{shopID}, func(row database.RowScanner) error {
		var tg Tag
		if err := row.Scan(&tg.ID, &tg.Name); err != nil {
			return fmt.Errorf("scan tag: %w", err)
		}
		sn.tags = append(sn.tags, tg)
		return nil
	})
}

// MarkRead records that the agent has read the ticket now, and marks the
// agent's notifications about it read: opening a ticket is reading what
// it was told about. A ticket of another shop changes nothing.
//
// A ticket already read since its last activity, with nothing unread told
// about it, is left alone without a write: most opens are re-reads (an
// agent going back and forth), and a write would take SQLite's one write
// lock on every page view.
func (s *Store) MarkRead(ctx context.Context, shopID, userID, ticketID int64) error {
	var current bool
	err := s.db.QueryRow(ctx, readCurrentQuery, userID, shopID, ticketID, shopID, userID, ticketID).Scan(&current)
	if err != nil {
		return fmt.Errorf("ticket: read state of %d: %w", ticketID, err)
	}
	if current {
		return nil
	}
	return s.RecordRead(ctx, shopID, userID, ticketID, true)
}

// readCurrentQuery (user, shop, ticket, shop, user, ticket) is true when
// the user has read the ticket since its last activity and has no unread
// notification about it: opening it again changes nothing.
const readCurrentQuery = `SELECT EXISTS (SELECT 1 FROM tickets t JOIN ticket_reads r ON r.user_id = ? AND r.ticket_id = t.id
		WHERE t.shop_id = ? AND t.id = ? AND r.read_at >= t.last_activity_at)
	AND NOT EXISTS (SELECT 1 FROM desk_notifications WHERE shop_id = ? AND user_id = ? AND ticket_id = ? AND read_at IS NULL)`

// RecordRead is MarkRead's write, for a caller that has read the ticket's
// read state itself (in the batch of its page). told says whether the user
// has unread notifications about the ticket, which are marked read with
// it. It returns once the marker is committed, so the user's next page
// shows the ticket read; markers recorded at the same moment share one
// commit (readmarks.go).
func (s *Store) RecordRead(ctx context.Context, shopID, userID, ticketID int64, told bool) error {
	mark := readMark{shopID: shopID, userID: userID, ticketID: ticketID, told: told, at: database.Time(s.now().UTC())}
	if s.reads == nil { // bound to a caller's transaction
		return mark.write(ctx, s.db)
	}
	return s.reads.record(ctx, s.db, mark)
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
