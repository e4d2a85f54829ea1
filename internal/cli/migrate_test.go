package cli

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// TestMigrateCreatesTheJobQueue: `hubdesk migrate` sets up the job
// queue's tables along with hubdesk's, on each engine; on PostgreSQL
// three processes migrating at once all succeed (the migration lock).
func TestMigrateCreatesTheJobQueue(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite", func(t *testing.T) {
		dir := isolate(t)
		if code, out, errOut := run(t, "migrate"); code != 0 {
			t.Fatalf("migrate: %d %q %q", code, out, errOut)
		}
		db, err := database.OpenSQLite(ctx, filepath.Join(dir, "hubdesk.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		requireJobTable(t, db)
	})
	t.Run("postgres", func(t *testing.T) {
		isolate(t)
		dbURL := dbtest.CreatePostgres(t)
		t.Setenv("HUBDESK_DATABASE_URL", dbURL)
		t.Setenv("HUBDESK_SECRET_KEY", sharedKey) // every process on one database shares it
		var wg sync.WaitGroup
		errs := make([]string, 3)
		for i := range errs {
			wg.Go(func() {
				if code, _, errOut := run(t, "migrate"); code != 0 {
					errs[i] = errOut
				}
			})
		}
		wg.Wait()
		for _, e := range errs {
			if e != "" {
				t.Errorf("a concurrent migrate failed: %s", e)
			}
		}
		db, err := database.OpenPostgres(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		requireJobTable(t, db)
	})
}

func requireJobTable(t *testing.T, db *database.DB) {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT COUNT(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatalf("the job queue's table: %v", err)
	}
}
