package ticket

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// ViewReads are the ticket's side of the ticket view, filled by ReadView
// when its batch has run.
type ViewReads struct {
	Ticket   *Ticket // nil: the shop has no such ticket
	Messages []Message
	// Deliveries are the mails that carried the replies, by message id.
	Deliveries map[int64]*Mail
	Tags       []Tag // the ticket's, by name
	AllTags    []Tag // the shop's, by name
	// Blocked: the ticket's sender is on the shop's block list.
	Blocked bool
	// Related are the customer's other tickets that this one may be
	// merged into (not merged themselves), most recent activity first.
	Related []*Ticket
	// ReadCurrent: the user has read the ticket since its last activity
	// and has no unread notification about it, so opening it writes
	// nothing.
	ReadCurrent bool
	// Notifications counts the user's unread notifications,
	// TicketNotifications those of them about this ticket (which opening
	// it reads).
	Notifications, TicketNotifications int
}

// relatedLimit bounds the customer's other tickets the view offers.
const relatedLimit = 50

// CustomerOf is a scalar subquery selecting the ticket's customer id,
// with its arguments, for reads of the customer batched with the ticket
// (commerce.ReadCustomer).
func CustomerOf(shopID, ticketID int64) (string, []any) {
	return `SELECT customer_id FROM tickets WHERE shop_id = ? AND id = ?`, []any{shopID, ticketID}
}

// OrdersOf is a FROM … WHERE … ORDER BY clause over orders o selecting
// the ticket's own order and the latest `latest` orders of its customer,
// newest first, with its arguments (commerce.ReadOrders).
func OrdersOf(shopID, ticketID int64, latest int) (string, []any) {
	return `FROM orders o WHERE o.shop_id = ? AND o.id IN (
			SELECT order_id FROM tickets WHERE shop_id = ? AND id = ?
			UNION ALL
			SELECT id FROM (SELECT id FROM orders WHERE shop_id = ? AND customer_id = (SELECT customer_id FROM tickets WHERE shop_id = ? AND id = ?)
				ORDER BY created_at DESC, id DESC LIMIT ?) latest)
		ORDER BY o.created_at DESC, o.id DESC`,
		[]any{shopID, shopID, ticketID, shopID, shopID, ticketID, latest}
}

// TagCacheTTL bounds how long a process's ticket views list a shop's tags
// as they were before another process added one; a tag added through this
// process shows at once.
const TagCacheTTL = 2 * time.Second

// CachedShops is how many shops' tags a process keeps for the ticket view.
const CachedShops = 1024

// ReadView queues into b the reads of the ticket view that belong to
// tickets, for the user opening it; v is filled when b has run, and done
// must then be called with b's error. Every read selects by the ticket's
// id (its customer by a subquery), so none waits for another. The shop's
// tags come from the process's cache (TagCacheTTL) when it holds them,
// and are then shared: read them, don't change them.
func (s *Store) ReadView(b *database.Batch, shopID, userID, ticketID int64, v *ViewReads) (done func(error)) {
	// The ticket's own tags come with its row, by name, as a JSON array:
	// one statement fewer per view.
	tags := `json_group_array(json_object('id', g.id, 'name', g.name) ORDER BY g.name)`
	if s.db.Engine() == database.Postgres {
		tags = `json_agg(json_build_object('id', g.id, 'name', g.name) ORDER BY g.name)`
	}
	b.Read(`SELECT `+ticketColumns+`, (SELECT `+tags+` FROM ticket_tags tt JOIN tags g ON g.shop_id = tt.shop_id AND g.id = tt.tag_id
			WHERE tt.shop_id = t.shop_id AND tt.ticket_id = t.id)
		FROM tickets t WHERE t.shop_id = ? AND t.id = ?`, []any{shopID, ticketID},
		func(row database.RowScanner) error {
			var tagsJSON sql.NullString
			t, err := scanTicket(withMore{row, []any{&tagsJSON}})
			if err != nil {
				return err
			}
			v.Ticket = t
			if tagsJSON.String != "" && tagsJSON.String != "[]" {
				if err := json.Unmarshal([]byte(tagsJSON.String), &v.Tags); err != nil {
					return fmt.Errorf("ticket %d: tags: %w", t.ID, err)
				}
			}
			return nil
		})
	b.Read(messagesQuery, []any{shopID, ticketID}, func(row database.RowScanner) error {
		m, err := scanMessage(row)
		if err != nil {
			return err
		}
		v.Messages = append(v.Messages, *m)
		return nil
	})
	v.Deliveries = map[int64]*Mail{}
	readDeliveries(b, shopID, ticketID, v.Deliveries)
	done = s.tagCache.ReadInto(shopID, &v.AllTags, func() {
		b.Read(`SELECT id, name FROM tags WHERE shop_id = ? ORDER BY name`, []any{shopID}, tagInto(&v.AllTags))
	})
	customer, args := CustomerOf(shopID, ticketID)
	b.Read(`SELECT `+ticketColumns+` FROM tickets WHERE shop_id = ? AND spam_at IS NULL AND customer_id = (`+customer+`)
		AND id <> ? AND merged_into_id IS NULL ORDER BY last_activity_at DESC, id DESC LIMIT ?`,
		append(append([]any{shopID}, args...), ticketID, relatedLimit),
		func(row database.RowScanner) error {
			t, err := scanTicket(row)
			v.Related = append(v.Related, t)
			return err
		})
	// The view's flags and counts in one statement (each a statement of
	// its own cost PostgreSQL as much again as the reading): whether the
	// sender is blocked — addresses are stored normalized
	// (NormalizeEmail: trimmed, lower case), as blocked_senders keeps
	// them —, whether the user has read the ticket as it is, and the
	// user's unread notifications, all and about this ticket.
	b.Read(`SELECT blocked.yes, (`+readCurrentQuery+`), unread.total, unread.here
		FROM (SELECT EXISTS (SELECT 1 FROM blocked_senders s JOIN tickets t ON t.shop_id = s.shop_id AND LOWER(TRIM(t.requester_email)) = s.email
			WHERE t.shop_id = ? AND t.id = ? AND t.requester_email <> '') AS yes) blocked,
		(SELECT COUNT(*) AS total, COUNT(CASE WHEN ticket_id = ? THEN 1 END) AS here FROM desk_notifications
			WHERE shop_id = ? AND user_id = ? AND read_at IS NULL) unread`,
		[]any{userID, shopID, ticketID, shopID, userID, ticketID, shopID, ticketID, ticketID, shopID, userID},
		func(row database.RowScanner) error {
			return row.Scan(&v.Blocked, &v.ReadCurrent, &v.Notifications, &v.TicketNotifications)
		})
	return done
}

// withMore scans a row into the columns its reader expects, then into
// more, the columns a query selects after them.
type withMore struct {
	row  database.RowScanner
	more []any
}

func (w withMore) Scan(dest ...any) error { return w.row.Scan(append(dest, w.more...)...) }

func tagInto(list *[]Tag) func(database.RowScanner) error {
	return func(row database.RowScanner) error {
		var t Tag
		err := row.Scan(&t.ID, &t.Name)
		*list = append(*list, t)
		return err
	}
}
