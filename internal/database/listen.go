package database

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrNoListen is ListenConn's answer on SQLite, which has no LISTEN.
var ErrNoListen = errors.New("LISTEN/NOTIFY needs PostgreSQL")

// ListenConn opens a native pgx connection of its own, made from the
// pool's configuration but outside the pool, for LISTEN: a listener holds
// its connection for as long as it listens, which would take one from the
// pool for good and could hand it back still listening. The caller closes
// it.
func (db *DB) ListenConn(ctx context.Context) (*pgx.Conn, error) {
	if db.pgConfig == nil {
		return nil, ErrNoListen
	}
	conn, err := pgx.ConnectConfig(ctx, db.pgConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("postgres: listen connection: %w", err)
	}
	return conn, nil
}
