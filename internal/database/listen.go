package database

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

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

// Listener is what Listen tells of a channel.
type Listener struct {
	// Listening is told true once LISTEN is in place, false when the
	// connection fails: notifications sent until the next true may be
	// lost.
	Listening func(bool)
	// Heard is given each notification's payload.
	Heard func(payload string)
}

// Listen holds a LISTEN on channel until ctx ends, on a connection of its
// own (ListenConn), telling l what it hears; when the connection fails it
// connects again after a pause growing from 100 ms to 10 s. On SQLite it
// returns ErrNoListen at once.
func (db *DB) Listen(ctx context.Context, channel string, l Listener, logger *slog.Logger) error {
	if db.pgConfig == nil {
		return ErrNoListen
	}
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		if db.listenOnce(ctx, channel, l, logger) {
			pause = 100 * time.Millisecond
			l.Listening(false)
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(pause*2, 10*time.Second)
	}
	return nil
}

// listenOnce holds one LISTEN connection until it fails or ctx ends; it
// reports whether it got as far as listening.
func (db *DB) listenOnce(ctx context.Context, channel string, l Listener, logger *slog.Logger) bool {
	conn, err := db.ListenConn(ctx)
	if err != nil {
		logger.Warn("listen connection", "channel", channel, "err", err)
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		logger.Warn("listen", "channel", channel, "err", err)
		return false
	}
	l.Listening(true)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("listening ended", "channel", channel, "err", err)
			}
			return true
		}
		l.Heard(n.Payload)
	}
}
