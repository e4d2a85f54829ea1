package database

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// SQLite copies what its write-ahead log holds back into the database file
// in checkpoints, and by default the commit that takes the log past 1,000
// pages runs one itself: it copies the pages and waits for the disk
// (fsync), milliseconds to tens of milliseconds, while it holds the one
// write connection — and every write queued behind it waits, among them
// the read markers a ticket open waits for. The writer's automatic
// checkpoints are turned off (wal_autocheckpoint=0) and a checkpointer of
// its own copies the log back every checkpointInterval instead, PASSIVE:
// it takes no lock writers or readers wait on, and copies only what no
// reader still needs (the rest goes at the next turn).
const (
	checkpointInterval = time.Second
	// walSizeLimit is what the log's file is cut back to once a
	// checkpoint has copied it all: a burst of writes leaves no file
	// of hundreds of megabytes behind.
	walSizeLimit = 64 << 20
)

// checkpointer runs the SQLite checkpoints on a connection of its own.
type checkpointer struct {
	db      *sql.DB
	stop    chan struct{}
	done    sync.WaitGroup
	closing sync.Once
	closed  error
}

// startCheckpointer opens the checkpoint connection for the database file
// behind dsn and starts its loop.
func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, stop: make(chan struct{})}
	c.done.Add(1)
	go c.loop()
	return c, nil
}

func (c *checkpointer) loop() {
	defer c.done.Done()
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			c.checkpoint()
		}
	}
}

// checkpoint copies back what the log holds. A failure (the disk full,
// the file gone) is left for the next turn: the log keeps every commit
// meanwhile, and the writes themselves report their own failures.
func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, logged, copied int
	_ = c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logged, &copied)
}

// close stops the loop and closes the connection; closing again does
// nothing more (a DB may be closed twice: a test's cleanup after the
// code under test).
func (c *checkpointer) close() error {
	c.closing.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.closed = c.db.Close()
	})
	return c.closed
}
