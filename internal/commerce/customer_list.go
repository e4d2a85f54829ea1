package commerce

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// CustomerSort is a column the desk's customers list is sorted by.
type CustomerSort string

// The customers list's sorts.
const (
	// CustomersByCreated: when the store first knew the customer (the default).
	CustomersByCreated CustomerSort = "created"
	// CustomersByName: the name the desk shows (the email when there is none).
	CustomersByName CustomerSort = "name"
	// CustomersByLastOrder: the customer's most recent order; customers
	// without one come after all others, newest first.
	CustomersByLastOrder CustomerSort = "last_order"
)

// CustomerQuery asks for one sorted, searched view of the customers.
type CustomerQuery struct {
	Search string // name, email, phone or the platform's id
	Sort   CustomerSort
	// Ascending sorts from the smallest value: the oldest, or A to Z;
	// the zero value sorts newest (or Z) first.
	Ascending bool
}

// CustomerRow is a customer as the customers list shows them.
type CustomerRow struct {
	*Customer
	// LastOrderAt is when the customer's most recent order was placed;
	// nil when they have none.
	LastOrderAt *time.Time
}

// customerSortKeys are the SQL of each sort's value, over the customer's
// columns and last_order_at. A name sorts as the desk shows it:
// "First Last", else the email, without regard to case.
var customerSortKeys = map[CustomerSort]string{
	CustomersByCreated:   "created_at",
	CustomersByName:      "LOWER(CASE WHEN first_name = '' AND last_name = '' THEN email ELSE TRIM(first_name || ' ' || last_name) END)",
	CustomersByLastOrder: "COALESCE(last_order_at, 0)",
}

// ListCustomersSorted returns one page of the shop's customers in the
// query's order, each with their most recent order's time, and the cursor
// of the next page ("" on the last). The cursor holds the sort's value, so
// a page follows on from the last row seen even when rows are added.
func (s *Store) ListCustomersSorted(ctx context.Context, shopID int64, q CustomerQuery, p database.Page) ([]CustomerRow, string, error) {
	key, ok := customerSortKeys[q.Sort]
	if !ok {
		key, q.Sort = customerSortKeys[CustomersByCreated], CustomersByCreated
	}
	where := []string{"c.shop_id = ?"}
	args := []any{shopID}
	if search := strings.TrimSpace(q.Search); search != "" {
		pat := likePattern(search)
		where = append(where, `(LOWER(c.email) LIKE ? ESCAPE '\' OR LOWER(c.first_name || ' ' || c.last_name) LIKE ? ESCAPE '\' OR c.phone LIKE ? ESCAPE '\' OR c.external_id = ?)`)
		args = append(args, pat, pat, pat, search)
	}
	cmp, dir := "<", "DESC"
	if q.Ascending {
		cmp, dir = ">", "ASC"
	}
	after := ""
	if c := p.After; c != nil {
		if c.IsText != (q.Sort == CustomersByName) {
			return nil, "", database.ErrBadCursor
		}
		after = ` WHERE (sort_key, id) ` + cmp + ` (?, ?)`
		if c.IsText {
			args = append(args, c.Text, c.ID)
		} else {
			args = append(args, c.Key, c.ID)
		}
	}
	limit := p.Size()
	rows, err := s.db.Query(ctx, `SELECT `+customerColumns+`, last_order_at, sort_key FROM (
		SELECT x.*, `+key+` AS sort_key FROM (
			SELECT c.*, (SELECT MAX(o.created_at) FROM orders o WHERE o.shop_id = c.shop_id AND o.customer_id = c.id) AS last_order_at
			FROM customers c WHERE `+strings.Join(where, " AND ")+`
		) x
	) y`+after+` ORDER BY sort_key `+dir+`, id `+dir+database.Limit(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list customers by %s: %w", q.Sort, err)
	}
	defer rows.Close()
	var (
		list []CustomerRow
		// The sort value of each row, as the database computed it (its
		// LOWER is not Go's), for the next page's cursor.
		keyInts  []int64
		keyTexts []string
	)
	for rows.Next() {
		var (
			r       CustomerRow
			last    sql.NullInt64
			keyInt  int64
			keyText string
		)
		sortKey := any(&keyInt)
		if q.Sort == CustomersByName {
			sortKey = &keyText
		}
		r.Customer, err = scanCustomer(appendScan{rows, []any{&last, sortKey}})
		if err != nil {
			return nil, "", fmt.Errorf("list customers: %w", err)
		}
		if last.Valid {
			t := time.UnixMilli(last.Int64).UTC()
			r.LastOrderAt = &t
		}
		list, keyInts, keyTexts = append(list, r), append(keyInts, keyInt), append(keyTexts, keyText)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list customers: %w", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := limit - 1
		if q.Sort == CustomersByName {
			next = database.EncodeTextCursor(keyTexts[last], list[last].ID)
		} else {
			next = database.EncodeCursor(keyInts[last], list[last].ID)
		}
	}
	return list, next, nil
}

// appendScan scans a row's leading columns into a scanner's own
// destinations and the trailing ones into more.
type appendScan struct {
	rows *sql.Rows
	more []any
}

func (a appendScan) Scan(dest ...any) error { return a.rows.Scan(append(dest, a.more...)...) }
