package ticket

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// ReportFigures are one row of the helpdesk report: the whole shop, or one
// agent's assigned tickets.
type ReportFigures struct {
	AgentID   int64  // 0: the whole shop, or (in Agents) the unassigned tickets
	AgentName string // name or email; "" for the shop and the unassigned
	Opened    int    // tickets created in the period
	Closed    int    // tickets closed in the period (and closed still)
	// First response: the first agent reply after the ticket was created,
	// over the tickets created in the period that have one. Tickets agents
	// opened themselves (channel desk or api) are left out: their first
	// response is set at creation and would pull the figures towards zero.
	// They still count as Opened.
	Responded                       int
	FirstResponseAvg, FirstResponse time.Duration // average, median
	// Resolution: closed_at − created_at over the tickets closed in the
	// period.
	ResolutionAvg, Resolution time.Duration // average, median
}

// Report is the helpdesk's figures over the days before now.
type Report struct {
	Since, Until time.Time
	Shop         ReportFigures
	Agents       []ReportFigures // by agent name; the unassigned last
}

// reportShop is the agent key of the whole shop's figures in the report
// queries (ids are positive; 0 is the unassigned).
const reportShop = -1

// Report computes the helpdesk figures of the days before now, for the
// shop and per assigned agent, in SQL (averages and medians by window
// functions, which both engines have). Spam and merged tickets are left
// out, as in the inbox.
func (s *Store) Report(ctx context.Context, shopID int64, days int) (*Report, error) {
	until := s.now().UTC()
	since := until.Add(-time.Duration(days) * 24 * time.Hour)
	from, to := database.Time(since), database.Time(until)
	rep := &Report{Since: since, Until: until}
	byAgent := map[int64]*ReportFigures{}
	fig := func(agent int64) *ReportFigures {
		f, ok := byAgent[agent]
		if !ok {
			f = &ReportFigures{AgentID: max(agent, 0)}
			byAgent[agent] = f
		}
		return f
	}
	var b database.Batch
	// Each ticket counts for its agent and for the shop (agent -1).
	b.Read(`WITH counted AS (
			SELECT COALESCE(assignee_id, 0) AS agent, created_at, closed_at, status FROM tickets
			WHERE shop_id = ? AND spam_at IS NULL AND merged_into_id IS NULL
			  AND ((created_at >= ? AND created_at < ?) OR (closed_at >= ? AND closed_at < ?))
		), both_keys AS (
			SELECT agent, created_at, closed_at, status FROM counted
			UNION ALL SELECT -1, created_at, closed_at, status FROM counted
		)
		SELECT agent,
			SUM(CASE WHEN created_at >= ? AND created_at < ? THEN 1 ELSE 0 END),
			SUM(CASE WHEN status = 'closed' AND closed_at >= ? AND closed_at < ? THEN 1 ELSE 0 END)
		FROM both_keys GROUP BY agent`,
		[]any{shopID, from, to, from, to, from, to, from, to}, func(row database.RowScanner) error {
			var agent int64
			var opened, closed int
			if err := row.Scan(&agent, &opened, &closed); err != nil {
				return fmt.Errorf("scan report counts: %w", err)
			}
			f := fig(agent)
			f.Opened, f.Closed = opened, closed
			return nil
		})
	// Durations in milliseconds, ranked within each (agent, measure) so the
	// median is the middle row (or the mean of the two middle rows).
	b.Read(`WITH spans AS (
			SELECT COALESCE(assignee_id, 0) AS agent, 'first_response' AS measure, first_response_at - created_at AS ms FROM tickets
			WHERE shop_id = ? AND spam_at IS NULL AND merged_into_id IS NULL AND first_response_at IS NOT NULL
			  AND channel NOT IN ('desk', 'api')
			  AND created_at >= ? AND created_at < ?
			UNION ALL
			SELECT COALESCE(assignee_id, 0), 'resolution', closed_at - created_at FROM tickets
			WHERE shop_id = ? AND spam_at IS NULL AND merged_into_id IS NULL AND status = 'closed'
			  AND closed_at >= ? AND closed_at < ?
		), both_keys AS (
			SELECT agent, measure, ms FROM spans UNION ALL SELECT -1, measure, ms FROM spans
		), ranked AS (
			SELECT agent, measure, ms,
				ROW_NUMBER() OVER (PARTITION BY agent, measure ORDER BY ms) AS pos,
				COUNT(*) OVER (PARTITION BY agent, measure) AS n
			FROM both_keys
		)
		SELECT agent, measure, COUNT(*), CAST(AVG(ms) AS DOUBLE PRECISION),
			CAST(AVG(CASE WHEN pos = (n + 1) / 2 OR pos = (n + 2) / 2 THEN ms END) AS DOUBLE PRECISION)
		FROM ranked GROUP BY agent, measure`,
		[]any{shopID, from, to, shopID, from, to}, func(row database.RowScanner) error {
			var agent int64
			var measure string
			var n int
			var avg, median float64
			if err := row.Scan(&agent, &measure, &n, &avg, &median); err != nil {
				return fmt.Errorf("scan report times: %w", err)
			}
			f := fig(agent)
			ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
			if measure == "first_response" {
				f.Responded, f.FirstResponseAvg, f.FirstResponse = n, ms(avg), ms(median)
			} else {
				f.ResolutionAvg, f.Resolution = ms(avg), ms(median)
			}
			return nil
		})
	names := map[int64]string{}
	b.Read(`SELECT id, name, email FROM users WHERE shop_id = ?`, []any{shopID}, func(row database.RowScanner) error {
		var id int64
		var name, email string
		if err := row.Scan(&id, &name, &email); err != nil {
			return fmt.Errorf("scan report agent: %w", err)
		}
		if name == "" {
			name = email
		}
		names[id] = name
		return nil
	})
	if err := s.db.ReadBatch(ctx, &b); err != nil {
		return nil, fmt.Errorf("ticket: report: %w", err)
	}
	for agent, f := range byAgent {
		if agent == reportShop {
			rep.Shop = *f
			continue
		}
		f.AgentName = names[agent]
		rep.Agents = append(rep.Agents, *f)
	}
	rep.Shop.AgentID = 0
	sort.Slice(rep.Agents, func(i, j int) bool {
		a, b := rep.Agents[i], rep.Agents[j]
		if (a.AgentID == 0) != (b.AgentID == 0) {
			return b.AgentID == 0
		}
		return a.AgentName < b.AgentName
	})
	return rep, nil
}
