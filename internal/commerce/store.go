package commerce

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// ErrNotFound means the customer or order does not exist in this shop.
var ErrNotFound = database.ErrNotFound

// Store reads and writes commerce data. Every method takes the shop id and
// every query filters by it.
type Store struct {
	db database.Querier
	// known is what a run of upserts in one transaction read beforehand
	// (WithKnown); nil: each upsert asks.
	known *Known
	// versions keeps the orders versions read (KeepVersions); nil: each
	// OrdersVersion reads.
	versions *Versions
}

// NewStore returns a commerce store over db (the database or a
// transaction).
func NewStore(db database.Querier) *Store { return &Store{db: db} }

// KeepVersions returns the store keeping the orders versions it reads in
// v (see Versions); a store With a transaction keeps none.
func (s *Store) KeepVersions(v *Versions) *Store {
	return &Store{db: s.db, known: s.known, versions: v}
}

// With returns the store running on q, typically a use case's transaction.
func (s *Store) With(q database.Querier) *Store { return &Store{db: q, known: s.known} }

// UpsertResult says what an upsert did.
type UpsertResult int

const (
	Inserted UpsertResult = iota + 1
	Updated
	// Stale means the incoming record was older than the stored one and was
	// ignored (a retried webhook carrying its original payload, say).
	Stale
)

func (r UpsertResult) String() string {
	return [...]string{"", "inserted", "updated", "stale"}[r]
}

// UpsertCustomer inserts or updates a customer by external id.
func (s *Store) UpsertCustomer(ctx context.Context, shopID int64, c Customer) (*Customer, UpsertResult, error) {
	var out *Customer
	var res UpsertResult
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		out, res, err = upsertCustomer(ctx, tx, shopID, c, s.known)
		return err
	})
	return out, res, err
}

// upsertCustomer writes c unless the stored customer is newer. With
// known (k, nil when not), a customer k holds is written without asking
// first, and one k knows to be newer is left alone: it returns what k
// holds of it (id, external id, email) rather than the whole row; so it
// does for one WriteAhead wrote, which is not written again.
func upsertCustomer(ctx context.Context, tx *database.Tx, shopID int64, c Customer, k *Known) (*Customer, UpsertResult, error) {
	if err := validateCustomer(&c); err != nil {
		return nil, 0, err
	}
	if ahead, ok := k.customerAhead(c.ExternalID); ok {
		return &Customer{ID: ahead.id, ShopID: shopID, ExternalID: c.ExternalID, Email: ahead.email}, ahead.res, nil
	}
	var existed bool
	var id int64
	known, found := k.customer(c.ExternalID)
	var err error
	switch {
	case found && known.id != 0 && known.updatedMs > c.UpdatedAt.UnixMilli():
		return &Customer{ID: known.id, ShopID: shopID, ExternalID: c.ExternalID, Email: known.email}, Stale, nil
	case found:
		existed = known.id != 0
		if !existed {
			err = sql.ErrNoRows
		}
	default:
		err = tx.QueryRow(ctx, `SELECT id FROM customers WHERE shop_id = ? AND external_id = ?`, shopID, c.ExternalID).Scan(&id)
	}
	switch {
	case err == nil:
		existed = true
	case !errors.Is(err, sql.ErrNoRows):
		return nil, 0, fmt.Errorf("upsert customer %s: %w", c.ExternalID, err)
	case c.Email != "" && !IsEmailKey(c.ExternalID):
		// The platform reports a customer hubdesk met first (a ticket
		// from an address no order had named): that record becomes the
		// platform's, keeping its id and so its tickets. Its updated_at is
		// reset so the platform's data wins below however old it is.
		if byEmail, asked := k.customer(EmailKey(c.Email)); asked && byEmail.id == 0 {
			break // known: nobody was met by this address
		}
		res, err := tx.Exec(ctx, `UPDATE customers SET external_id = ?, updated_at = 0 WHERE shop_id = ? AND external_id = ?`,
			c.ExternalID, shopID, EmailKey(c.Email))
		if err != nil {
			return nil, 0, fmt.Errorf("upsert customer %s: adopt: %w", c.ExternalID, err)
		}
		n, _ := res.RowsAffected()
		existed = n > 0
		k.adopted(EmailKey(c.Email))
	}
	a := c.DefaultAddress
	stored, err := scanCustomer(tx.QueryRow(ctx, upsertCustomers(1)+`
		RETURNING `+customerColumns,
		shopID, c.ExternalID, c.Email, c.FirstName, c.LastName, c.Phone,
		a.Name, a.Address1, a.Address2, a.City, a.Province, a.Zip, a.CountryCode, a.Phone,
		database.Time(c.CreatedAt), database.Time(c.UpdatedAt)))
	res := Inserted
	switch {
	case errors.Is(err, ErrNotFound):
		// Stale: the stored customer stands.
		stored, err = scanCustomer(tx.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE shop_id = ? AND external_id = ?`, shopID, c.ExternalID))
		if err == nil {
			k.wroteCustomer(stored)
		}
		return stored, Stale, err
	case err != nil:
		return nil, 0, fmt.Errorf("upsert customer %s: %w", c.ExternalID, err)
	case existed:
		res = Updated
	}
	k.wroteCustomer(stored)
	return stored, res, nil
}

func validateCustomer(c *Customer) error {
	c.ExternalID = strings.TrimSpace(c.ExternalID)
	c.Email = strings.ToLower(strings.TrimSpace(c.Email))
	if c.ExternalID == "" {
		return &ValidationError{Field: "external_id", Problem: "is required"}
	}
	if c.Email != "" && !strings.Contains(c.Email, "@") {
		return &ValidationError{Field: "email", Problem: "is not an email address"}
	}
	now := time.Now().UTC()
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = now
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = c.UpdatedAt
	}
	return nil
}

// ValidationError names the field of an input that is wrong.
type ValidationError struct {
	Field   string
	Problem string
}

func (e *ValidationError) Error() string { return e.Field + " " + e.Problem }

const customerColumns = `id, shop_id, external_id, email, first_name, last_name, phone,
	addr_name, addr_address1, addr_address2, addr_city, addr_province, addr_zip, addr_country_code, addr_phone,
	created_at, updated_at`

func scanCustomer(row interface{ Scan(...any) error }) (*Customer, error) {
	var c Customer
	a := &c.DefaultAddress
	err := row.Scan(&c.ID, &c.ShopID, &c.ExternalID, &c.Email, &c.FirstName, &c.LastName, &c.Phone,
		&a.Name, &a.Address1, &a.Address2, &a.City, &a.Province, &a.Zip, &a.CountryCode, &a.Phone,
		(*database.Time)(&c.CreatedAt), (*database.Time)(&c.UpdatedAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &c, err
}

// Customer returns one customer of the shop.
func (s *Store) Customer(ctx context.Context, shopID, id int64) (*Customer, error) {
	return scanCustomer(s.db.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE shop_id = ? AND id = ?`, shopID, id))
}

// OrdersVersion is a number that changes whenever anything the customer's
// orders show changes — an order, its line items, shipments, returns or
// the returns platform's eligibility answers — whichever process wrote it
// (database triggers keep it, migrations 0043, 0047 and 0049).
// A page rendered from version v is current while OrdersVersion is v. A
// store that KeepVersions gives the version it read last while nothing
// can have moved it.
func (s *Store) OrdersVersion(ctx context.Context, shopID, customerID int64) (int64, error) {
	if s.versions == nil {
		return s.readOrdersVersion(ctx, shopID, customerID)
	}
	v, at, ok := s.versions.get(shopID, customerID)
	if ok {
		return v, nil
	}
	v, err := s.readOrdersVersion(ctx, shopID, customerID)
	if err == nil {
		s.versions.put(at, shopID, customerID, v)
	}
	return v, err
}

func (s *Store) readOrdersVersion(ctx context.Context, shopID, customerID int64) (int64, error) {
	var v int64
	err := s.db.QueryRow(ctx, `SELECT orders_version FROM customers WHERE shop_id = ? AND id = ?`, shopID, customerID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return v, err
}

// CustomerByExternalID returns a customer by the platform's id.
func (s *Store) CustomerByExternalID(ctx context.Context, shopID int64, externalID string) (*Customer, error) {
	return scanCustomer(s.db.QueryRow(ctx, `SELECT `+customerColumns+` FROM customers WHERE shop_id = ? AND external_id = ?`, shopID, externalID))
}

// CustomersByEmail returns the shop's customers with this email (a ticket's
// sender is matched to commerce data this way).
func (s *Store) CustomersByEmail(ctx context.Context, shopID int64, email string) ([]*Customer, error) {
	rows, err := s.db.Query(ctx, `SELECT `+customerColumns+` FROM customers WHERE shop_id = ? AND email = ? ORDER BY id`,
		shopID, strings.ToLower(strings.TrimSpace(email)))
	if err != nil {
		return nil, err
	}
	return collect(rows, scanCustomer)
}

// emailKeyPrefix marks the external id of a customer hubdesk created
// itself, from an email address, before any platform reported them.
const emailKeyPrefix = "email:"

// EmailKey is the external id of the customer hubdesk creates for an
// address: "email:" and the normalized address. Platform ids (Shopify's
// are numbers) never look like this, and an upsert from the platform with
// the same email takes the record over (see upsertCustomer), so a shopper
// who first wrote to support and later ordered stays one customer.
func EmailKey(email string) string { return emailKeyPrefix + strings.ToLower(strings.TrimSpace(email)) }

// IsEmailKey reports whether an external id is one EmailKey made.
func IsEmailKey(externalID string) bool { return strings.HasPrefix(externalID, emailKeyPrefix) }

// CustomerForEmail returns the shop's customer with this email (compared
// in lower case; the oldest when several share it), creating one keyed by
// EmailKey when there is none; created says which. first and last name a
// new customer only: an existing record is the platform's to change.
func (s *Store) CustomerForEmail(ctx context.Context, shopID int64, email, first, last string) (c *Customer, created bool, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" || !strings.Contains(email, "@") {
		return nil, false, &ValidationError{Field: "email", Problem: "is not an email address"}
	}
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		found, err := s.With(tx).CustomersByEmail(ctx, shopID, email)
		if err != nil {
			return fmt.Errorf("customer for %s: %w", email, err)
		}
		if len(found) > 0 {
			c = found[0]
			return nil
		}
		var res UpsertResult
		c, res, err = upsertCustomer(ctx, tx, shopID, Customer{ExternalID: EmailKey(email), Email: email, FirstName: first, LastName: last}, nil)
		created = res == Inserted
		return err
	})
	return c, created, err
}

// likePattern turns a search text into a LIKE pattern matching it anywhere.
func likePattern(q string) string {
	q = strings.ToLower(strings.TrimSpace(q))
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// ListCustomers returns customers newest first, optionally filtered by a
// search over name, email and phone.
func (s *Store) ListCustomers(ctx context.Context, shopID int64, search string, p database.Page) ([]*Customer, string, error) {
	where := []string{"shop_id = ?"}
	args := []any{shopID}
	if search = strings.TrimSpace(search); search != "" {
		pat := likePattern(search)
		where = append(where, `(LOWER(email) LIKE ? ESCAPE '\' OR LOWER(first_name || ' ' || last_name) LIKE ? ESCAPE '\' OR phone LIKE ? ESCAPE '\' OR external_id = ?)`)
		args = append(args, pat, pat, pat, search)
	}
	if p.After != nil {
		where = append(where, "id < ?")
		args = append(args, p.After.ID)
	}
	limit := p.Size()
	rows, err := s.db.Query(ctx, `SELECT `+customerColumns+` FROM customers WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC`+database.Limit(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list customers: %w", err)
	}
	list, err := collect(rows, scanCustomer)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = database.EncodeCursor(0, list[limit-1].ID)
	}
	return list, next, nil
}

func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (*T, error)) ([]*T, error) {
	defer rows.Close()
	var out []*T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CountOrders is how many orders the customer placed in the shop.
func (s *Store) CountOrders(ctx context.Context, shopID, customerID int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE shop_id = ? AND customer_id = ?`, shopID, customerID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count orders of customer %d: %w", customerID, err)
	}
	return n, nil
}

// ReadCustomer queues into b the read of the shop's customer whose id
// idQuery selects (a scalar subquery, with args), for a page that knows
// the customer only through another record it reads in the same batch
// (a ticket's customer). *into stays nil when there is none.
func ReadCustomer(b *database.Batch, shopID int64, idQuery string, args []any, into **Customer) {
	b.Read(`SELECT `+customerColumns+` FROM customers WHERE shop_id = ? AND id = (`+idQuery+`)`, append([]any{shopID}, args...),
		func(row database.RowScanner) error {
			c, err := scanCustomer(row)
			*into = c
			return err
		})
}

// ReadOrderCount queues into b the count of the orders of the customer
// whose id idQuery selects (see ReadCustomer).
func ReadOrderCount(b *database.Batch, shopID int64, idQuery string, args []any, into *int) {
	b.Read(`SELECT COUNT(*) FROM orders WHERE shop_id = ? AND customer_id = (`+idQuery+`)`, append([]any{shopID}, args...),
		func(row database.RowScanner) error { return row.Scan(into) })
}

// upsertCustomers is the upsert of n customers, newer wins (an equal
// updated_at is applied again): one event's, or a chunk's (WriteAhead).
func upsertCustomers(n int) string {
	return `INSERT INTO customers (shop_id, external_id, email, first_name, last_name, phone,
			addr_name, addr_address1, addr_address2, addr_city, addr_province, addr_zip, addr_country_code, addr_phone,
			created_at, updated_at)
		VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",") + `
		ON CONFLICT (shop_id, external_id) DO UPDATE SET
			email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name,
			phone = excluded.phone, addr_name = excluded.addr_name, addr_address1 = excluded.addr_address1,
			addr_address2 = excluded.addr_address2, addr_city = excluded.addr_city, addr_province = excluded.addr_province,
			addr_zip = excluded.addr_zip, addr_country_code = excluded.addr_country_code, addr_phone = excluded.addr_phone,
			updated_at = excluded.updated_at
		WHERE customers.updated_at <= excluded.updated_at`
}
