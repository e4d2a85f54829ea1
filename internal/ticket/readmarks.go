package ticket

import (
	"context"
	"fmt"
	"sync"

	"github.com/hubdesk/hubdesk/internal/database"
)

// readMarks is the group commit of read markers. Opening a ticket with
// something new in it writes its marker, so the desk's busiest page is
// also its commonest write: on SQLite every commit takes the one writer
// and makes every reader's page cache start over, on PostgreSQL every
// commit waits for the disk. Markers recorded while a commit runs wait
// and are written together in the next one — at a few hundred ticket
// opens a second, one commit carries several — and each caller is still
// answered only after its own marker is committed.
type readMarks struct {
	mu      sync.Mutex
	queue   []*pendingMark
	running bool
}

type pendingMark struct {
	mark readMark
	err  error
	done chan struct{}
}

// readMark is one user's read of one ticket.
type readMark struct {
	shopID, userID, ticketID int64
	// told: the user has unread notifications about the ticket, read
	// with it.
	told bool
	at   database.Time
}

// maxMarksPerCommit bounds one transaction, so no marker waits behind an
// unbounded one.
const maxMarksPerCommit = 128

// record queues m for the next commit on db and waits for it.
func (g *readMarks) record(ctx context.Context, db database.Querier, m readMark) error {
	p := &pendingMark{mark: m, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if !g.running {
		g.running = true
		go g.drain(db)
	}
	g.mu.Unlock()
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		// The marker is still written; only this caller stops waiting.
		return ctx.Err()
	}
}

// drain commits the waiting markers, a group at a time, until none is
// left.
func (g *readMarks) drain(db database.Querier) {
	for {
		g.mu.Lock()
		batch := g.queue[:min(len(g.queue), maxMarksPerCommit)]
		g.queue = g.queue[len(batch):]
		if len(batch) == 0 {
			g.running, g.queue = false, nil
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		commitMarks(db, batch)
	}
}

// commitMarks writes the batch in one transaction; if that fails, each
// marker is tried alone, so one bad marker fails only its own caller.
func commitMarks(db database.Querier, batch []*pendingMark) {
	defer func() {
		for _, p := range batch {
			close(p.done)
		}
	}()
	// One caller giving up must not fail the others' markers.
	ctx := context.Background()
	write := func(marks []*pendingMark) error {
		return db.InTx(ctx, func(tx *database.Tx) error {
			if tx.Engine() == database.Postgres {
				// A read marker is worth no wait for the disk: the commit
				// is seen by every other session at once all the same,
				// and a crash of the database server in the moment after
				// it can only show a ticket unread again.
				if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit TO OFF`); err != nil {
					return fmt.Errorf("ticket: read markers: %w", err)
				}
			}
			for _, p := range marks {
				if err := p.mark.write(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := write(batch)
	if err == nil || len(batch) == 1 {
		for _, p := range batch {
			p.err = err
		}
		return
	}
	for _, p := range batch {
		p.err = write([]*pendingMark{p})
	}
}

// write records the marker on q, and reads the user's notifications about
// the ticket when told, in q's transaction (its own when q is the
// database).
func (m readMark) write(ctx context.Context, q database.Querier) error {
	return q.InTx(ctx, func(tx *database.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO ticket_reads (shop_id, user_id, ticket_id, read_at)
			SELECT t.shop_id, ?, t.id, ? FROM tickets t WHERE t.shop_id = ? AND t.id = ?
			ON CONFLICT (user_id, ticket_id) DO UPDATE SET read_at = excluded.read_at`, m.userID, m.at, m.shopID, m.ticketID)
		if err != nil {
			return fmt.Errorf("ticket: mark %d read: %w", m.ticketID, err)
		}
		if !m.told {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE desk_notifications SET read_at = ?
			WHERE shop_id = ? AND user_id = ? AND ticket_id = ? AND read_at IS NULL`, m.at, m.shopID, m.userID, m.ticketID)
		if err != nil {
			return fmt.Errorf("ticket: read notifications of %d: %w", m.ticketID, err)
		}
		return nil
	})
}
