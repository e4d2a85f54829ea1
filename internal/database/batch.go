package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Batch is a group of reads that see one snapshot of the database. On
// PostgreSQL they travel in one round trip (a pgx pipeline on a connection
// of the same pool), which is what a page of orders with its items,
// shipments and returns needs: the later reads select their rows by a
// subquery on the page's condition instead of waiting for the page's ids.
// SQLite has no round trip to save; its reads run one after another in a
// read transaction.
type Batch struct {
	reads []batchRead
}

type batchRead struct {
	query string
	args  []any
	row   func(RowScanner) error
}

// Limit is a LIMIT clause for n rows, written into the statement rather
// than passed as an argument: PostgreSQL plans a generic statement's
// LIMIT $n as if it returned a tenth of the table, judges that cached plan
// dearer than a fresh one, and so plans the statement anew on every call —
// often more work than running it.
func Limit(n int) string { return " LIMIT " + strconv.Itoa(n) }

// TimesByOrder runs query — a SELECT of (order_id, time) over the shop's
// rows for the orders in the IN list it ends with, written `IN (%s)` —
// into a map by order; orders without a row are absent.
func TimesByOrder(ctx context.Context, q Querier, query string, shopID int64, orderIDs []int64) (map[int64]time.Time, error) {
	out := map[int64]time.Time{}
	if len(orderIDs) == 0 {
		return out, nil
	}
	in, args := InList(orderIDs)
	rows, err := q.Query(ctx, fmt.Sprintf(query, in), append([]any{shopID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var at time.Time
		if err := rows.Scan(&id, (*Time)(&at)); err != nil {
			return nil, err
		}
		out[id] = at
	}
	return out, rows.Err()
}

// RowScanner is the current row of a result, *sql.Rows or pgx.Rows.
type RowScanner interface{ Scan(dest ...any) error }

// Read queues a query. row is called for each of its rows, in order; the
// reads queued before it have all been read by then, so row may look up
// what they filled.
func (b *Batch) Read(query string, args []any, row func(RowScanner) error) {
	b.reads = append(b.reads, batchRead{query: query, args: args, row: row})
}

// snapshotBegin makes every read of a PostgreSQL batch see the same
// snapshot: under the default READ COMMITTED each statement would take its
// own, and an order arriving between the page and its items could push
// one of the page's orders out of the items' subquery.
const snapshotBegin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

// ReadBatch runs the batch's reads.
func (db *DB) ReadBatch(ctx context.Context, b *Batch) error {
	switch {
	case len(b.reads) == 0:
		return nil
	case len(b.reads) == 1: // one statement sees one snapshot by itself
		r := b.reads[0]
		rows, err := db.Query(ctx, r.query, r.args...)
		if err != nil {
			return err
		}
		return eachRow(rows, r.row)
	case db.Dialect == Postgres:
		return db.pipeline(ctx, b)
	}
	// Prepare (or find cached) every statement before the transaction takes
	// a read connection: preparing needs a free connection of its own, and
	// with every read connection held by a batch waiting to prepare, the
	// pool would never free one.
	stmts := make([]*sql.Stmt, len(b.reads))
	for i, r := range b.reads {
		stmts[i] = db.prepared(ctx, r.query)
	}
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback() // read only: nothing to commit
	for i, r := range b.reads {
		query := stmts[i]
		if query != nil {
			query = tx.StmtContext(ctx, query)
		} else if query, err = tx.PrepareContext(ctx, r.query); err != nil {
			return err
		}
		rows, err := query.QueryContext(ctx, r.args...)
		if err != nil {
			return err
		}
		if err := eachRow(rows, r.row); err != nil {
			return err
		}
	}
	return nil
}

// pipeline sends the batch to PostgreSQL in one round trip, through the
// native pgx connection under a database/sql one (so both share one pool
// and one statement cache per connection).
func (db *DB) pipeline(ctx context.Context, b *Batch) error {
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		pg := driverConn.(*stdlib.Conn).Conn()
		var batch pgx.Batch
		batch.Queue(snapshotBegin)
		for _, r := range b.reads {
			batch.Queue(db.rebind(r.query), r.args...)
		}
		batch.Queue("COMMIT")
		results := pg.SendBatch(ctx, &batch)
		// Closing reads what is left, COMMIT included, so the connection
		// goes back to the pool outside any transaction even after an error.
		err := readPipeline(results, b.reads)
		return errors.Join(err, results.Close())
	})
}

func readPipeline(results pgx.BatchResults, reads []batchRead) error {
	if _, err := results.Exec(); err != nil {
		return err
	}
	for _, r := range reads {
		rows, err := results.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := r.row(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	_, err := results.Exec()
	return err
}

// ReadBatch runs the batch's reads one after another inside the
// transaction, which sees its own writes.
func (tx *Tx) ReadBatch(ctx context.Context, b *Batch) error {
	for _, r := range b.reads {
		rows, err := tx.Query(ctx, r.query, r.args...)
		if err != nil {
			return err
		}
		if err := eachRow(rows, r.row); err != nil {
			return err
		}
	}
	return nil
}

func eachRow(rows *sql.Rows, row func(RowScanner) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
