package ticket

import (
	"context"
	"fmt"

	"github.com/hubdesk/hubdesk/internal/database"
)

// WithRankWindow returns the store ranking only the newest n matches of a
// search, so tests can pass the window with a handful of tickets.
func (s *Store) WithRankWindow(n int) *Store {
	c := *s
	c.rankWindow = n
	return &c
}

// ExplainSearch returns the engine's plan of Search's query for q, run
// (EXPLAIN ANALYZE) on PostgreSQL.
func (s *Store) ExplainSearch(ctx context.Context, shopID int64, q string) ([]string, error) {
	query, args, _ := s.searchStatement(shopID, q, Filter{}, database.Page{})
	explain := "EXPLAIN QUERY PLAN "
	if s.db.Engine() == database.Postgres {
		explain = "EXPLAIN (ANALYZE, COSTS OFF) "
	}
	rows, err := s.db.Query(ctx, explain+query, database.PlanEachCall(s.db, args)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
	}
	return plan, rows.Err()
}

// InboxSQL is the page read of an inbox view, for the benchmark's query
// plans.
func InboxSQL(engine database.Dialect, shopID, userID int64, v InboxView, sort InboxSort, after *database.Cursor) (string, []any) {
	where, args, order := inboxWhere(shopID, userID, v, sort, after)
	return inboxSelect(engine, where, args, order, userID, database.DefaultPageSize)
}

// NavCountSQL is the navigation's count read.
const NavCountSQL = navCountQuery
