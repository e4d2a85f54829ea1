package database

import (
	"context"
	"fmt"
)

// sqliteAnalysisLimit is how many rows of each index SQLite's ANALYZE
// reads (PRAGMA analysis_limit): estimates from a sample are as good for
// choosing plans, and the write connection is held for milliseconds, not
// for a pass over a large shop's every row.
const sqliteAnalysisLimit = 1000

// RefreshStatistics brings the query planner's statistics up to date
// with the data. On SQLite it runs an approximate ANALYZE (PRAGMA
// analysis_limit), which keeps the per-index row estimates
// (sqlite_stat1) and gathers no per-value samples (sqlite_stat4),
// dropping any a full ANALYZE left: the SQLite built into hubdesk is
// compiled with STAT4, and with samples present every statement
// comparing an indexed column with a bound value has its plan depend on
// that value, so SQLite compiles the statement again each time it runs
// with a new one — parsing and planning on every query, which doubled
// the CPU of the ticket view over a 10,000-ticket shop. The row
// estimates alone choose the same indexes for hubdesk's queries. On
// PostgreSQL it runs ANALYZE (autovacuum does as much on its own; this
// is for a freshly loaded database).
func (db *DB) RefreshStatistics(ctx context.Context) error {
	if db.Dialect != SQLite {
		if _, err := db.write.ExecContext(ctx, "ANALYZE"); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		return nil
	}
	// The limit is the connection's: both statements run on the one
	// write connection.
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("analyze: %w", db.noteWrite(err))
	}
	defer conn.Close()
	for _, stmt := range []string{fmt.Sprintf("PRAGMA analysis_limit = %d", sqliteAnalysisLimit), "ANALYZE"} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("analyze: %s: %w", stmt, db.noteWrite(err))
		}
	}
	return nil
}
