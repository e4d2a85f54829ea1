package database

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// WritePool is the pool write transactions run on: on SQLite its single
// connection, so a library that writes (the job queue) shares it with the
// stores instead of fighting them for SQLite's one write lock.
func (db *DB) WritePool() *sql.DB { return db.write }

// SQLTx is the transaction underneath, for a library that joins it (the
// job queue inserts jobs in the caller's transaction).
func (tx *Tx) SQLTx() *sql.Tx { return tx.tx }

// NativePool opens a pgx pool from the database pool's own configuration,
// for a library that needs pgx's native interface (the job queue's
// worker); the caller closes it. PostgreSQL only.
func (db *DB) NativePool(ctx context.Context, maxConns int32) (*pgxpool.Pool, error) {
	if db.pgConfig == nil {
		return nil, fmt.Errorf("a native pool needs PostgreSQL")
	}
	config, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	config.ConnConfig = db.pgConfig.Copy()
	config.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("postgres: native pool: %w", err)
	}
	return pool, nil
}

// WithMigrationLock runs fn holding the lock migrations take: on
// PostgreSQL an advisory lock, so several processes starting at once
// apply each migration — hubdesk's or a library's — exactly once; on
// SQLite writes are serial already.
func (db *DB) WithMigrationLock(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.Dialect != Postgres {
		return fn(ctx)
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	const lockID = 0x6875626465736b // "hubdesk"
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockID)
	return fn(ctx)
}

// PlanEachCall returns a read's arguments so that PostgreSQL plans it for
// these values every time. pgx prepares and caches each statement, and
// after five runs PostgreSQL may settle on one generic plan that ignores
// the values — ruinous for a query whose best plan depends on them (a
// full-text search for a word in every row wants a different plan from one
// for a word in five). pgx's unnamed, uncached statement mode is always
// planned with its values. On SQLite the arguments are returned as given.
func PlanEachCall(q Querier, args []any) []any {
	if q.Engine() != Postgres {
		return args
	}
	return append([]any{pgx.QueryExecModeExec}, args...)
}

// PoolSize is how many connections PostgreSQL's pool opens at most; 0 on
// SQLite.
func (db *DB) PoolSize() int { return db.poolSize }
