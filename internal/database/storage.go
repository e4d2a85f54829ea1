package database

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrStorageUnavailable marks a write the database refused because it
// cannot store anything right now: the disk is full, the file read-only,
// the disk failing. Nothing of the write was kept; the same write may
// succeed once an operator frees space. Handlers answer it with a 503
// rather than a bare 500, so clients retry instead of giving up.
var ErrStorageUnavailable = errors.New("database: cannot store changes (disk full, read-only or failing)")

// IsStorageFailure reports whether err is such a refusal, from either
// engine: SQLite's FULL, READONLY, IOERR and CANTOPEN codes (extended
// codes included), PostgreSQL's disk_full and I/O errors.
func IsStorageFailure(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrStorageUnavailable) {
		return true
	}
	var coded interface{ Code() int } // modernc.org/sqlite's *Error
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff {
		case sqliteReadOnly, sqliteIOErr, sqliteFull, sqliteCantOpen:
			return true
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "53100" || strings.HasPrefix(pgErr.Code, "58")
	}
	return false
}

// SQLite's primary result codes that mean the storage refused a write.
const (
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

// writeFault is the storage failure the last write met, until a probe
// shows writes go through again.
type writeFault struct {
	err error
	at  time.Time
}

// noteWrite records err when the storage refused a write, so /readyz can
// tell operators before the next write does.
func (db *DB) noteWrite(err error) error {
	if IsStorageFailure(err) {
		db.fault.Store(&writeFault{err: err, at: time.Now()})
	}
	return err
}

// WriteHealth says whether the database can store changes: nil, or the
// storage failure the last write met. Once a write failed it probes —
// a write that needs new space, rolled back — and forgets the failure
// when the probe goes through, so readiness comes back by itself once
// space returns. A read-only or full database keeps answering reads;
// only readiness tells.
func (db *DB) WriteHealth(ctx context.Context) error {
	f := db.fault.Load()
	if f == nil {
		return nil
	}
	if err := db.probeWrite(ctx); err != nil {
		if IsStorageFailure(err) {
			return err
		}
		return nil // not a storage failure (a busy writer, a cancelled probe): no news
	}
	db.fault.CompareAndSwap(f, nil)
	return nil
}

// probeWrite writes what needs new pages (a table and a value larger
// than a page) and rolls it back: it fails as a real write would when the
// file cannot grow or cannot be written, and leaves nothing behind.
func (db *DB) probeWrite(ctx context.Context) error {
	probe := errors.New("probe rolled back")
	err := db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE hubdesk_write_probe (b BYTEA)`); err != nil {
			return err
		}
		blob := `zeroblob(65536)`
		if db.Dialect == Postgres {
			blob = `decode(repeat('00', 65536), 'hex')`
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hubdesk_write_probe (b) VALUES (`+blob+`)`); err != nil {
			return err
		}
		return probe
	})
	if errors.Is(err, probe) {
		return nil
	}
	return err
}
