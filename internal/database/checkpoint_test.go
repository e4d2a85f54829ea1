package database_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// TestSQLiteCommitsLeaveCheckpointsToTheCheckpointer: a commit that takes
// the write-ahead log past SQLite's 1,000 pages does not copy it back into
// the database file itself (waiting for the disk while every queued write
// waits for it); the checkpointer does, within a few seconds.
func TestSQLiteCommitsLeaveCheckpointsToTheCheckpointer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkpoint.db")
	db, err := database.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var auto int
	if err := db.ExecReturning(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != 0 {
		t.Errorf("the writer's wal_autocheckpoint is %d pages, want 0 (off)", auto)
	}
	if _, err := db.Exec(ctx, `CREATE TABLE filler (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *database.Tx) error {
		for range 2_000 {
			if _, err := tx.Exec(ctx, `INSERT INTO filler (b) VALUES (randomblob(4000))`); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if n := size(); n > 1<<20 {
		t.Errorf("the database file is %d bytes right after the commit: the commit copied the log back itself", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() < 7<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file is still %d bytes 10 s after 8 MB were committed: nothing checkpointed the log", size())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A SQLite database closed twice (the code under test, then a test's
// cleanup) does not panic.
func TestSQLiteClosesTwice(t *testing.T) {
	db, err := database.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "twice.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db.Close()
}
