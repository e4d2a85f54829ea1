package server_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// TestServeWorksTheJobQueue: Serve starts the job queue — its periodic
// jobs remove expired sessions and, on SQLite, refresh the planner's
// statistics at start — and stops it when its context
// ends.
func TestServeWorksTheJobQueue(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("acme")
		bg := context.Background()
		if _, err := app.Server.Users.CreateSession(bg, tn.Agent); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(bg, `UPDATE sessions SET expires_at = 0`); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(bg)
		defer cancel()
		served := make(chan error, 1)
		go func() { served <- app.Server.Serve(ctx, ln, nil) }()

		jobstest.Eventually(t, "the periodic job ran", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'sessions_expired_delete' AND state = 'completed'`) == 1
		})
		if n := count(t, db, `SELECT COUNT(*) FROM sessions`); n != 0 {
			t.Errorf("%d expired sessions left", n)
		}
		if db.Dialect == database.SQLite {
			// The planner's statistics are refreshed at start too; on
			// PostgreSQL autovacuum keeps them.
			jobstest.Eventually(t, "the statistics were refreshed", func() bool {
				return count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'database_statistics_refresh' AND state = 'completed'`) == 1
			})
			if n := count(t, db, `SELECT COUNT(*) FROM sqlite_stat1`); n == 0 {
				t.Error("no planner statistics after the refresh")
			}
		}
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("Serve after shutdown: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("Serve did not return after its context ended")
		}
	})
}

func count(t *testing.T, db *database.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
