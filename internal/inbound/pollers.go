package inbound

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Pollers runs one Poller per shop with an IMAP connection: started when
// the connection appears, restarted when it changes, stopped when it is
// removed. Across processes on PostgreSQL each shop's poller holds an
// advisory lock (on one connection of this process's own), so however many
// processes run, one imports a mailbox; a process that dies releases its
// locks with its connection and another takes over on its next look.
// SQLite runs one process.
type Pollers struct {
	Poller *Poller
	// Every is how often the connections are looked at; 10 s when 0.
	Every time.Duration

	mu      sync.Mutex
	running map[int64]*running
	lock    *pgx.Conn // PostgreSQL: holds the shops' advisory locks
}

type running struct {
	updatedAt time.Time
	cancel    context.CancelFunc
	done      chan struct{}
}

// lockClass is the first key of the pollers' advisory locks (the shop id
// is the second), apart from the migrations' single-key lock.
const lockClass = 0x696d6170 // "imap"

// Run supervises the pollers until ctx ends, then stops them and waits.
func (ps *Pollers) Run(ctx context.Context) {
	every := ps.Every
	if every == 0 {
		every = 10 * time.Second
	}
	ps.running = map[int64]*running{}
	defer ps.stopAll()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ps.look(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (ps *Pollers) logger() *slog.Logger { return ps.Poller.logger() }

// look starts, restarts and stops pollers to match the connections.
func (ps *Pollers) look(ctx context.Context) {
	p := ps.Poller
	connected, err := p.Connections.Connected(ctx, ProviderIMAP)
	if err != nil {
		if ctx.Err() == nil {
			ps.logger().Error("inbound imap: list connections", "err", err)
		}
		return
	}
	if !ps.lockAlive(ctx) {
		// The locks went with their connection: another process may hold
		// them now, so every poller of this one stops.
		ps.stopAll()
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for shopID, r := range ps.running {
		select {
		case <-r.done: // ended by itself (connection removed)
			ps.unlock(ctx, shopID)
			delete(ps.running, shopID)
			continue
		default:
		}
		if at, ok := connected[shopID]; !ok || !at.Equal(r.updatedAt) {
			r.cancel()
			<-r.done
			ps.unlock(ctx, shopID)
			delete(ps.running, shopID)
		}
	}
	for shopID, at := range connected {
		if _, ok := ps.running[shopID]; ok {
			continue
		}
		if !ps.tryLock(ctx, shopID) {
			continue
		}
		pctx, cancel := context.WithCancel(ctx)
		r := &running{updatedAt: at, cancel: cancel, done: make(chan struct{})}
		ps.running[shopID] = r
		go func() {
			defer close(r.done)
			p.Run(pctx, shopID)
		}()
	}
}

func (ps *Pollers) stopAll() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for shopID, r := range ps.running {
		r.cancel()
		<-r.done
		delete(ps.running, shopID)
	}
	if ps.lock != nil {
		ps.lock.Close(context.Background()) // releases every lock it held
		ps.lock = nil
	}
}

// lockAlive says whether the lock connection (if any) still answers.
func (ps *Pollers) lockAlive(ctx context.Context) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.lock == nil {
		return true
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ps.lock.Ping(pctx); err != nil {
		ps.logger().Warn("inbound imap: lock connection lost; pollers stop", "err", err)
		ps.lock.Close(context.Background())
		ps.lock = nil
		return len(ps.running) == 0
	}
	return true
}

// tryLock takes the shop's poller lock; always true on SQLite.
func (ps *Pollers) tryLock(ctx context.Context, shopID int64) bool {
	db := ps.Poller.DB
	if db.Dialect != database.Postgres {
		return true
	}
	if ps.lock == nil {
		conn, err := db.ListenConn(ctx)
		if err != nil {
			ps.logger().Error("inbound imap: lock connection", "err", err)
			return false
		}
		ps.lock = conn
	}
	var got bool
	if err := ps.lock.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(lockClass), int32(shopID)).Scan(&got); err != nil {
		ps.logger().Error("inbound imap: take lock", "shop", shopID, "err", err)
		return false
	}
	return got
}

func (ps *Pollers) unlock(ctx context.Context, shopID int64) {
	if ps.lock == nil {
		return
	}
	if _, err := ps.lock.Exec(ctx, `SELECT pg_advisory_unlock($1, $2)`, int32(lockClass), int32(shopID)); err != nil {
		ps.logger().Warn("inbound imap: release lock", "shop", shopID, "err", err)
	}
}
