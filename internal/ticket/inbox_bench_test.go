package ticket_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/ticket/tickettest"
	"github.com/hubdesk/hubdesk/internal/user"
)

// benchShop is a shop of 10,000 tickets (× 5 messages) and four agents.
func benchShop(b *testing.B, d database.Dialect) (*database.DB, int64, []int64) {
	b.Helper()
	if d == database.Postgres && os.Getenv("HUBDESK_TEST_POSTGRES_URL") == "" {
		b.Skip("HUBDESK_TEST_POSTGRES_URL is not set")
	}
	db := dbtest.Open(b, d)
	ctx := context.Background()
	sh := fixtures.Shop(b, db, "bench")
	fixtures.Shop(b, db, "other")
	var agents []int64
	for i := range 4 {
		u, err := user.NewStore(db).Create(ctx, user.NewUser{ShopID: sh.ID, Email: fmt.Sprintf("agent%d@bench.test", i), Role: user.RoleAgent, Password: "correct horse battery"})
		if err != nil {
			b.Fatal(err)
		}
		agents = append(agents, u.ID)
	}
	tickettest.Seed(b, db, sh.ID, agents, 10_000, time.Now())
	return db, sh.ID, agents
}

var benchViews = []struct {
	name string
	view ticket.InboxView
}{
	{"all", ticket.InboxView{Scope: ticket.ScopeAll}},
	{"mine", ticket.InboxView{Scope: ticket.ScopeMine}},
	{"unassigned", ticket.InboxView{Scope: ticket.ScopeUnassigned}},
	{"open", ticket.InboxView{Scope: ticket.ScopeAll, Status: ticket.StatusOpen}},
	{"mine-open", ticket.InboxView{Scope: ticket.ScopeMine, Status: ticket.StatusOpen}},
	{"tag", ticket.InboxView{Scope: ticket.ScopeAll, TagID: 4}},
	{"spam", ticket.InboxView{Scope: ticket.ScopeSpam}},
}

// BenchmarkInbox reads the first and a middle page (50 rows, tags,
// unread flags) of every view × sort, and the navigation counts, over
// 10,000 tickets on each engine. With -v it logs each query's plan.
//
//	HUBDESK_TEST_POSTGRES_URL=… go test ./internal/ticket -run '^$' -bench Inbox -v
func BenchmarkInbox(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db, shopID, agents := benchShop(b, d)
			store := ticket.NewStore(db, nil)
			ctx := context.Background()
			me := agents[0]
			for _, v := range benchViews {
				for _, sort := range []ticket.InboxSort{ticket.SortWaiting, ticket.SortNewest} {
					// A middle page: the cursor after the first few pages.
					rows, next, err := store.Inbox(ctx, shopID, me, v.view, sort, database.Page{Limit: 200})
					if err != nil || len(rows) == 0 {
						b.Fatalf("%s by %s: %d rows, %v", v.name, sort, len(rows), err)
					}
					var after *database.Cursor
					if next != "" {
						after, _ = database.DecodeCursor(next)
					}
					query, args := ticket.InboxSQL(d, shopID, me, v.view, sort, after)
					logPlan(b, db, v.name+" by "+string(sort), query, args)
					for _, page := range []struct {
						name  string
						after *database.Cursor
					}{{"first", nil}, {"later", after}} {
						b.Run(v.name+"/"+string(sort)+"/"+page.name, func(b *testing.B) {
							for b.Loop() {
								if _, _, err := store.Inbox(ctx, shopID, me, v.view, sort, database.Page{After: page.after}); err != nil {
									b.Fatal(err)
								}
							}
						})
					}
				}
			}
			logPlan(b, db, "navigation counts", ticket.NavCountSQL, []any{shopID})
			b.Run("nav", func(b *testing.B) {
				for b.Loop() {
					if _, err := store.Nav(ctx, shopID, me); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("page-with-nav", func(b *testing.B) {
				for b.Loop() {
					if _, err := store.InboxWithNav(ctx, shopID, me, ticket.InboxView{}, ticket.SortWaiting, database.Page{}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("notification-count", func(b *testing.B) {
				for b.Loop() {
					if _, err := store.UnreadNotifications(ctx, shopID, me); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// logPlan logs the engine's plan of query (with -v).
func logPlan(b *testing.B, db *database.DB, name, query string, args []any) {
	b.Helper()
	explain := "EXPLAIN QUERY PLAN "
	if db.Dialect == database.Postgres {
		explain = "EXPLAIN "
	}
	rows, err := db.Query(context.Background(), explain+query, args...)
	if err != nil {
		b.Fatalf("explain %s: %v", name, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	b.Logf("%s plan of %s:\n  %s", db.Dialect, name, strings.Join(lines, "\n  "))
}
