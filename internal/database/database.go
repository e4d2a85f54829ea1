// Package database opens hubdesk's store — embedded SQLite by default,
// PostgreSQL in production — and hides the few differences between them
// behind one small type so the domain packages write their SQL once.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrNotFound is returned by the domain stores when a row does not exist
// (or exists in another shop, which callers must not be able to tell apart).
var ErrNotFound = errors.New("not found")

// DB is the store handle every domain package uses. Queries are written with
// `?` placeholders and rebound for PostgreSQL. Reads and writes go to
// separate pools: SQLite allows one writer at a time, so writes share a
// single connection (no SQLITE_BUSY storms) while reads run in parallel.
type DB struct {
	Dialect Dialect
	read    *sql.DB
	write   *sql.DB

	rebound sync.Map // query text → PostgreSQL text

	// stmts caches prepared read statements for SQLite, whose driver would
	// otherwise parse and plan every query anew (a quarter of a hub page's
	// time). PostgreSQL's driver keeps its own per-connection cache.
	stmts     sync.Map // query text → *sql.Stmt
	stmtCount atomic.Int32
	// writeStmts is the same for SQLite's write statements, prepared on
	// the one write connection (see Tx.prepared).
	writeStmts     sync.Map // query text → *sql.Stmt
	writeStmtCount atomic.Int32

	pgConfig *pgx.ConnConfig // PostgreSQL: what the pool's connections are made from
	poolSize int             // PostgreSQL: the pool's connections at most

	fault atomic.Pointer[writeFault] // the storage failure the last write met (see WriteHealth)

	checkpoints *checkpointer // SQLite: copies the write-ahead log back (checkpoint.go)

	txStatements atomic.Int64 // statements run in transactions (TxStatements)

	writes atomic.Uint64 // writes this process has finished (Writes)
}

// Writes counts the writes this process has finished — each committed (or
// failed) transaction and each write outside one — counted once the write
// is over: a value read before a read began and unchanged after it says
// no write of this process landed while it ran, which a cache of what the
// read returned can be kept under.
func (db *DB) Writes() uint64 { return db.writes.Load() }

// TxStatements is how many statements transactions on db have run so
// far: what a use case costs the database, which tests and benchmarks
// hold to a bound where a clock on a shared machine cannot.
func (db *DB) TxStatements() int64 { return db.txStatements.Load() }

// maxCachedStatements bounds the statement cache; queries built from
// filters have a bounded number of shapes, but a bug must not leak.
const maxCachedStatements = 512

// Open connects to the database named by databaseURL. An empty URL means the
// embedded SQLite file hubdesk.db in dataDir.
func Open(ctx context.Context, databaseURL, dataDir string) (*DB, error) {
	switch {
	case databaseURL == "":
		if dataDir == "" {
			dataDir = "."
		}
		return OpenSQLite(ctx, filepath.Join(dataDir, "hubdesk.db"))
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return OpenPostgres(ctx, databaseURL)
	case strings.HasPrefix(databaseURL, "sqlite:"), strings.HasPrefix(databaseURL, "file:"):
		path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite:"), "file:")
		return OpenSQLite(ctx, strings.TrimPrefix(path, "//"))
	default:
		return nil, fmt.Errorf("database URL %q: want postgres://… or sqlite:PATH", redactURL(databaseURL))
	}
}

// OpenSQLite opens (creating if needed) the SQLite file at path.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create data directory: %w", err)
		}
	}
	if err := restrictSQLiteFiles(path); err != nil {
		return nil, err
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	// The writer never checkpoints; the checkpointer does (checkpoint.go).
	write, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_txlock=immediate&_pragma=wal_autocheckpoint(0)"+
		fmt.Sprintf("&_pragma=journal_size_limit(%d)", walSizeLimit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	// The writer creates the file and switches it to WAL before readers open.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Each reader keeps a page cache of its own, 2 MiB by default; eight of
	// them were a sixth of SPEC §9's 100 MB for the process, while the
	// operating system's file cache holds the same pages anyway. 1 MiB a
	// reader keeps the hot index pages of a page's reads.
	read, err := sql.Open("sqlite", "file:"+path+"?"+pragmas+"&_pragma=query_only(1)&_pragma=cache_size(-1024)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	read.SetConnMaxLifetime(0)
	checkpoints, err := startCheckpointer("file:" + path + "?" + pragmas + fmt.Sprintf("&_pragma=journal_size_limit(%d)", walSizeLimit))
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &DB{Dialect: SQLite, read: read, write: write, checkpoints: checkpoints}, nil
}

// restrictSQLiteFiles makes the database file readable by its owner only
// (it holds password hashes, sessions and customer data). SQLite creates
// its -wal and -shm files with the database file's permissions, so the
// file is created 0600 before SQLite opens it rather than leaving the mode
// to the umask; files an older version created are tightened.
func restrictSQLiteFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(name, info.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("sqlite: restrict %s to its owner: %w", name, err)
			}
		}
	}
	return nil
}

// OpenPostgres connects to PostgreSQL; one pool serves reads and writes.
func OpenPostgres(ctx context.Context, databaseURL string) (*DB, error) {
	databaseURL, size, err := poolSize(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", redactURL(databaseURL), err)
	}
	config, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", redactURL(databaseURL), err)
	}
	pool := stdlib.OpenDB(*config)
	pool.SetMaxOpenConns(size)
	pool.SetMaxIdleConns(size)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot reach %s: %w", redactURL(databaseURL), err)
	}
	return &DB{Dialect: Postgres, read: pool, write: pool, pgConfig: config, poolSize: size}, nil
}

// WarmPool opens PostgreSQL's pool of connections before the first
// requests need them — a server does as it starts: a connection is a new
// backend process that authenticates and loads its caches, tens of
// milliseconds the first requests after a start (or the first burst,
// which opens several at once) would wait. The connections stay idle in
// the pool; one that cannot be opened now is opened when needed, as
// without warming. Nothing to do on SQLite, whose connections are files.
func (db *DB) WarmPool(ctx context.Context) {
	if db.Dialect != Postgres {
		return
	}
	conns := make([]*sql.Conn, db.poolSize)
	pool := db.read
	var wg sync.WaitGroup
	for i := range conns {
		wg.Go(func() {
			c, err := pool.Conn(ctx)
			if err == nil && c.PingContext(ctx) == nil {
				conns[i] = c
			} else if c != nil {
				c.Close()
			}
		})
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Close() // back to the pool, open
		}
	}
}

// poolSize is how many connections the PostgreSQL pool opens, and the URL
// without the parameter that may set it. By default a few per core: with
// more, every request reaches the database at once and, on a small
// machine, the backends fight for the cores — the desk's p99 under load
// fell by a third going from 20 connections to 6 on 2 cores, and its
// throughput rose. `pool_max_conns` in the URL (pgxpool's name for it)
// sets another size.
func poolSize(databaseURL string) (string, int, error) {
	size := max(4, 3*runtime.GOMAXPROCS(0))
	u, err := url.Parse(databaseURL)
	if err != nil {
		return databaseURL, 0, err
	}
	q := u.Query()
	v := q.Get("pool_max_conns")
	if v == "" {
		return databaseURL, size, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return databaseURL, 0, fmt.Errorf("pool_max_conns=%q: want a number of connections", v)
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	for _, stmts := range []*sync.Map{&db.stmts, &db.writeStmts} {
		stmts.Range(func(_, s any) bool {
			s.(*sql.Stmt).Close()
			return true
		})
	}
	var err error
	if db.checkpoints != nil {
		err = db.checkpoints.close()
	}
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.read.PingContext(ctx) }

// Query runs a read query.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if stmt := db.prepared(ctx, query); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return db.read.QueryContext(ctx, db.rebind(query), args...)
}

// QueryRow runs a read query expected to return at most one row.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if stmt := db.prepared(ctx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, db.rebind(query), args...)
}

// prepared returns the cached read statement for query on SQLite, or nil
// to run it unprepared.
func (db *DB) prepared(ctx context.Context, query string) *sql.Stmt {
	if db.Dialect != SQLite {
		return nil
	}
	if s, ok := db.stmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	if db.stmtCount.Load() >= maxCachedStatements {
		return nil
	}
	stmt, err := db.read.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil // the unprepared call reports the error
	}
	if prev, loaded := db.stmts.LoadOrStore(query, stmt); loaded {
		stmt.Close()
		return prev.(*sql.Stmt)
	}
	db.stmtCount.Add(1)
	return stmt
}

// InList returns n placeholders for an IN (…) list and args padded with
// repeats of the last value up to a few fixed sizes, so lists of any length
// share a handful of statement texts (and prepared statements). values
// must not be empty.
func InList[T any](values []T) (placeholders string, args []any) {
	size := len(values)
	for _, bucket := range []int{1, 4, 10, 25, 50, 100, 250} {
		if size <= bucket {
			size = bucket
			break
		}
	}
	args = make([]any, size)
	for i := range args {
		args[i] = values[min(i, len(values)-1)]
	}
	return strings.TrimSuffix(strings.Repeat("?,", size), ","), args
}

// ValuesList is InList as a table to join: `(VALUES (CAST(? AS sqlType)), …)
// AS alias`, whose one column, alias.column1, holds values padded as
// InList pads them (so a value may come more than once). Joined on an
// indexed column, its rows are looked up by the index, where PostgreSQL
// given an IN list of parameters may scan the whole table — when the
// table's statistics are older than a burst of rows into it — and test
// every row against every parameter (it hashes only a list of constants).
// values must not be empty.
func ValuesList[T any](values []T, sqlType, alias string) (table string, args []any) {
	_, args = InList(values)
	row := "(CAST(? AS " + sqlType + ")),"
	return "(VALUES " + strings.TrimSuffix(strings.Repeat(row, len(args)), ",") + ") AS " + alias, args
}

// Exec runs one write statement outside a transaction.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	defer db.writes.Add(1)
	if stmt := db.writeStmt(query); stmt != nil {
		res, err := stmt.ExecContext(ctx, args...)
		return res, db.noteWrite(err)
	}
	res, err := db.write.ExecContext(ctx, db.rebind(query), args...)
	return res, db.noteWrite(err)
}

// ExecReturning runs a write statement with a RETURNING clause.
func (db *DB) ExecReturning(ctx context.Context, query string, args ...any) *sql.Row {
	defer db.writes.Add(1)
	if stmt := db.writeStmt(query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return db.write.QueryRowContext(ctx, db.rebind(query), args...)
}

// writeStmt is the prepared write statement of query on SQLite, or nil
// when it has not been prepared (yet): a write statement is prepared
// once it has run, when the write connection is free (prepareWrites).
func (db *DB) writeStmt(query string) *sql.Stmt {
	if db.Dialect != SQLite {
		return nil
	}
	if s, ok := db.writeStmts.Load(query); ok {
		return s.(*sql.Stmt)
	}
	return nil
}

// prepareWrites prepares the write statements a transaction ran
// unprepared, once it has given the write connection back: SQLite
// compiles a statement's text anew on every run otherwise — the
// largest cost of a small write. The write pool's one connection keeps
// them; a statement that cannot be prepared is left to run unprepared.
func (db *DB) prepareWrites(queries []string) {
	for _, q := range queries {
		if db.writeStmtCount.Load() >= maxCachedStatements {
			return
		}
		if _, ok := db.writeStmts.Load(q); ok {
			continue
		}
		stmt, err := db.write.PrepareContext(context.Background(), q)
		if err != nil {
			continue
		}
		if _, loaded := db.writeStmts.LoadOrStore(q, stmt); loaded {
			stmt.Close()
			continue
		}
		db.writeStmtCount.Add(1)
	}
}

// Querier is what a store runs its SQL on: the database itself, or a
// transaction a use case opened so that several stores' writes (and the
// audit entry that goes with them) commit or roll back together. Both *DB
// and *Tx are one; a store written against Querier works on either.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	ExecReturning(ctx context.Context, query string, args ...any) *sql.Row
	// InTx runs fn in a write transaction: a new one on *DB, the same one
	// on *Tx, so a store method that wraps its writes in InTx joins its
	// caller's transaction instead of committing on its own.
	InTx(ctx context.Context, fn func(tx *Tx) error) error
	// ReadBatch runs several reads that see one snapshot, in one round
	// trip on PostgreSQL (see Batch).
	ReadBatch(ctx context.Context, b *Batch) error
	// Engine names the SQL engine, for the few statements (row locks,
	// advisory locks) that differ between them.
	Engine() Dialect
}

var (
	_ Querier = (*DB)(nil)
	_ Querier = (*Tx)(nil)
)

// Engine names the SQL engine behind the DB.
func (db *DB) Engine() Dialect { return db.Dialect }

// Tx is a write transaction with the same placeholder rebinding as DB.
// Everything run on it — reads included — goes through the transaction,
// so a use case reads its own uncommitted writes (on SQLite the read pool
// would not see them, and would wait behind the writer).
type Tx struct {
	tx          *sql.Tx
	db          *DB
	afterCommit []func()
	// unprepared are the write statements (SQLite) run unprepared, to
	// prepare once the transaction is over.
	unprepared []string
}

// prepared is the SQLite write statement of query prepared on the write
// connection, bound to the transaction; nil on PostgreSQL (pgx keeps its
// own statement cache) and for a statement not prepared yet, which is
// then noted for prepareWrites. Only for statements whose rows are read
// at once (Exec, QueryRow, ExecReturning): SQLite runs a prepared
// statement one execution at a time, and a transaction's Query may be
// iterated while the same text runs again.
func (tx *Tx) prepared(ctx context.Context, query string) *sql.Stmt {
	if tx.db.Dialect != SQLite {
		return nil
	}
	if s := tx.db.writeStmt(query); s != nil {
		return tx.tx.StmtContext(ctx, s)
	}
	if len(tx.unprepared) < 64 && !slices.Contains(tx.unprepared, query) {
		tx.unprepared = append(tx.unprepared, query)
	}
	return nil
}

// InTx runs fn in a write transaction, committing when fn returns nil and
// rolling back otherwise, so a failure half-way writes nothing. On SQLite
// the transaction begins IMMEDIATE on the single write connection, so
// write transactions run one at a time.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", db.noteWrite(err))
	}
	tx := &Tx{tx: sqlTx, db: db}
	defer func() {
		if len(tx.unprepared) > 0 {
			db.prepareWrites(tx.unprepared)
		}
	}()
	if err := fn(tx); err != nil {
		_ = sqlTx.Rollback()
		return db.noteWrite(err)
	}
	defer db.writes.Add(1)
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", db.noteWrite(err))
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// InTx runs fn inside this transaction: no nested BEGIN, no savepoint. An
// error from fn is returned to the caller, whose own InTx then rolls back
// everything — an error must therefore never be swallowed half-way
// through a transaction's writes.
func (tx *Tx) InTx(_ context.Context, fn func(tx *Tx) error) error { return fn(tx) }

// AfterCommit runs f once the outermost transaction has committed, and
// never if it rolls back: caches of what the transaction changed are
// dropped then, not before other processes can read the change.
func (tx *Tx) AfterCommit(f func()) { tx.afterCommit = append(tx.afterCommit, f) }

// Engine names the SQL engine behind the transaction.
func (tx *Tx) Engine() Dialect { return tx.db.Dialect }

// Exec runs a statement inside the transaction.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.db.txStatements.Add(1)
	if stmt := tx.prepared(ctx, query); stmt != nil {
		return stmt.ExecContext(ctx, args...)
	}
	return tx.tx.ExecContext(ctx, tx.db.rebind(query), args...)
}

// ExecReturning runs a write statement with a RETURNING clause inside the
// transaction.
func (tx *Tx) ExecReturning(ctx context.Context, query string, args ...any) *sql.Row {
	tx.db.txStatements.Add(1)
	if stmt := tx.prepared(ctx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, tx.db.rebind(query), args...)
}

// Query runs a query inside the transaction.
func (tx *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.db.txStatements.Add(1)
	if stmt := tx.prepared(ctx, query); stmt != nil {
		return stmt.QueryContext(ctx, args...)
	}
	return tx.tx.QueryContext(ctx, tx.db.rebind(query), args...)
}

// QueryRow runs a single-row query inside the transaction.
func (tx *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	tx.db.txStatements.Add(1)
	if stmt := tx.prepared(ctx, query); stmt != nil {
		return stmt.QueryRowContext(ctx, args...)
	}
	return tx.tx.QueryRowContext(ctx, tx.db.rebind(query), args...)
}

// rebind turns `?` placeholders into PostgreSQL's `$1, $2, …`. Question
// marks inside single-quoted literals are left alone.
func (db *DB) rebind(query string) string {
	if db.Dialect != Postgres {
		return query
	}
	if q, ok := db.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n, inQuote := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inQuote = !inQuote
			b.WriteByte(c)
		case c == '?' && !inQuote:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	db.rebound.Store(query, out)
	return out
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// either engine, so callers can turn it into a "already exists" answer.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// redactURL hides the password of a database URL so it can be logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
