package commerce

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/hubdesk/hubdesk/internal/database"
)

// VersionsChannel is the NOTIFY channel PostgreSQL's customers trigger
// (migration 0051) signals on when a transaction moves orders versions.
const VersionsChannel = "hubdesk_orders_version"

// maxKeptVersions bounds the versions kept; past it the record starts
// over.
const maxKeptVersions = 100_000

// Versions keeps the customers' orders versions (OrdersVersion) this
// process read from PostgreSQL, so that a hub page served from the
// rendered-page cache costs no round trip to the database: on a saturated
// machine the version read was a third of such a page's CPU, most of it
// the socket's. A kept version is given only while nothing can have moved
// it: no write of this process finished since it was read
// (database.DB.Writes — a process always sees its own writes), and no
// other process's, which PostgreSQL tells through VersionsChannel: one
// notification per committing transaction that moved a version, heard
// within a millisecond or so of its commit. While the listening
// connection is down nothing is kept. On SQLite, one process reading a
// file in its own memory, the read is cheaper than the bookkeeping and
// nothing is kept.
type Versions struct {
	db     *database.DB
	logger *slog.Logger

	listening atomic.Bool
	heard     atomic.Uint64 // notifications heard, and listener restarts

	mu       sync.Mutex
	at       versionsStamp // what the kept versions were read under
	versions map[[2]int64]int64
}

// versionsStamp is what may have moved a version: this process's
// finished writes and what the listener heard.
type versionsStamp struct{ writes, heard uint64 }

// NewVersions returns the record of versions read from db; it keeps
// nothing until Run is listening.
func NewVersions(db *database.DB, logger *slog.Logger) *Versions {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Versions{db: db, logger: logger}
}

// Run listens for other processes' version moves until ctx ends
// (PostgreSQL; on SQLite it returns at once).
func (v *Versions) Run(ctx context.Context) {
	if v.db.Dialect != database.Postgres {
		return
	}
	_ = v.db.Listen(ctx, VersionsChannel, database.Listener{
		Listening: func(on bool) {
			// Whatever was kept may have moved while nobody listened.
			v.heard.Add(1)
			v.listening.Store(on)
		},
		Heard: func(string) { v.heard.Add(1) },
	}, v.logger.With("in", "commerce versions"))
	v.listening.Store(false)
}

// Listening reports whether other processes' moves are heard, which is
// when versions are kept.
func (v *Versions) Listening() bool { return v.listening.Load() }

func (v *Versions) stamp() versionsStamp {
	return versionsStamp{writes: v.db.Writes(), heard: v.heard.Load()}
}

// get returns the kept version of the customer if it still holds, else
// the stamp to put the version read now under.
func (v *Versions) get(shopID, customerID int64) (version int64, now versionsStamp, ok bool) {
	if !v.listening.Load() {
		return 0, now, false
	}
	now = v.stamp()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.at != now {
		v.at, v.versions = now, nil
		return 0, now, false
	}
	version, ok = v.versions[[2]int64{shopID, customerID}]
	return version, now, ok
}

// put keeps the version read under stamp at, unless something may have
// moved it since.
func (v *Versions) put(at versionsStamp, shopID, customerID, version int64) {
	if !v.listening.Load() || v.stamp() != at {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.at != at {
		return
	}
	if v.versions == nil || len(v.versions) >= maxKeptVersions {
		v.versions = make(map[[2]int64]int64)
	}
	v.versions[[2]int64{shopID, customerID}] = version
}
