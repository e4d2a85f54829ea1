package database_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
)

// TestSQLiteReadersKeepSmallPageCaches: each of the eight readers' page
// caches counts against the process's memory budget (SPEC §9).
func TestSQLiteReadersKeepSmallPageCaches(t *testing.T) {
	ctx := context.Background()
	db, err := database.OpenSQLite(ctx, filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int
	if err := db.QueryRow(ctx, `PRAGMA cache_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	if size != -1024 {
		t.Errorf("a reader's cache_size is %d, want -1024 (1 MiB)", size)
	}
}
