package returns

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Candidate is an order a return waiting for its order may belong to: one
// of the shop's orders carrying the name the platform reported.
type Candidate struct {
	OrderID    int64
	Name       string
	Email      string
	CreatedAt  time.Time
	TotalMinor int64
	Currency   string
}

// Unlinked is a return stored without an order because the name the
// platform reported matched several of the shop's orders
// (Return.OrderAmbiguous), with the orders carrying that name.
type Unlinked struct {
	Return     Return
	Candidates []Candidate
}

// MaxUnlinked bounds the list of returns needing an order.
const MaxUnlinked = 200

// Unlinked lists the shop's returns waiting unattached because their
// order's name is ambiguous, newest first, each with its candidate
// orders (newest first).
func (s *Records) Unlinked(ctx context.Context, shopID int64) ([]Unlinked, error) {
	var out []Unlinked
	index := map[string][]int{} // order name → positions in out
	var b database.Batch
	b.Read(`SELECT `+returnColumns+` FROM returns WHERE shop_id = ? AND order_id IS NULL AND order_ambiguous
		ORDER BY created_at DESC, id DESC LIMIT `+fmt.Sprint(MaxUnlinked), []any{shopID}, func(row database.RowScanner) error {
		r, err := scanReturn(row)
		if err != nil {
			return fmt.Errorf("returns: unlinked: %w", err)
		}
		index[r.OrderName] = append(index[r.OrderName], len(out))
		out = append(out, Unlinked{Return: r})
		return nil
	})
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(index))
	for n := range index {
		names = append(names, n)
	}
	in, args := database.InList(names)
	rows, err := s.db.Query(ctx, `SELECT id, name, email, created_at, total_minor, currency FROM orders
		WHERE shop_id = ? AND name IN (`+in+`) ORDER BY created_at DESC, id DESC`, append([]any{shopID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("returns: candidates of unlinked returns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Candidate
		if err := rows.Scan(&c.OrderID, &c.Name, &c.Email, (*database.Time)(&c.CreatedAt), &c.TotalMinor, &c.Currency); err != nil {
			return nil, fmt.Errorf("returns: candidates of unlinked returns: %w", err)
		}
		for _, i := range index[c.Name] {
			out[i].Candidates = append(out[i].Candidates, c)
		}
	}
	return out, rows.Err()
}

// UnlinkedNamed counts the shop's returns waiting for an order because
// they name orderName and several orders carry it (the order page of each
// of those orders says so); all of them when orderName is "".
func (s *Records) UnlinkedNamed(ctx context.Context, shopID int64, orderName string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM returns WHERE shop_id = ? AND order_id IS NULL AND order_ambiguous
		AND (? = '' OR order_name = ?)`, shopID, orderName, orderName).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("returns: unlinked returns naming %s: %w", orderName, err)
	}
	return n, nil
}

// Errors of Link.
var (
	// ErrAlreadyLinked: the return is attached to an order already.
	ErrAlreadyLinked = errors.New("returns: the return is attached to an order already")
	// ErrNotCandidate: the order does not carry the name the platform
	// reported for the return.
	ErrNotCandidate = errors.New("returns: the order does not carry the return's order name")
)

// Link attaches a return waiting for its order to orderID, one of the
// shop's orders carrying the name the platform reported (a Candidate),
// and returns it as stored before the link. A return the shop does not
// have is ErrNotFound; one already attached ErrAlreadyLinked; an order of
// another name (or another shop's, or none) ErrNotCandidate. Later reports
// naming only the ambiguous name keep the link (Upsert keeps an attached
// order).
func (s *Records) Link(ctx context.Context, shopID, returnID, orderID int64) (*Return, error) {
	var r Return
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		r, err = scanReturn(tx.QueryRow(ctx, `SELECT `+returnColumns+` FROM returns WHERE shop_id = ? AND id = ?`, shopID, returnID))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if r.OrderID != 0 {
			return ErrAlreadyLinked
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM orders WHERE shop_id = ? AND id = ? AND name = ?`, shopID, orderID, r.OrderName).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotCandidate
		}
		res, err := tx.Exec(ctx, `UPDATE returns SET order_id = ?, order_ambiguous = ? WHERE shop_id = ? AND id = ? AND order_id IS NULL`,
			orderID, false, shopID, returnID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrAlreadyLinked
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrAlreadyLinked), errors.Is(err, ErrNotCandidate):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("returns: link return %d to order %d: %w", returnID, orderID, err)
	}
	return &r, nil
}
