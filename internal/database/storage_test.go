package database_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hubdesk/hubdesk/internal/database"
)

// TestStorageFailuresAreRecognised: a full disk or a read-only file is
// told apart from any other failure on both engines, wrapped or not, so
// handlers answer it as "try again later" rather than as a bug.
func TestStorageFailuresAreRecognised(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"other", errors.New("boom"), false},
		{"sentinel", fmt.Errorf("save: %w", database.ErrStorageUnavailable), true},
		{"postgres disk full", fmt.Errorf("save: %w", &pgconn.PgError{Code: "53100"}), true},
		{"postgres io error", &pgconn.PgError{Code: "58030"}, true},
		{"postgres unique violation", &pgconn.PgError{Code: "23505"}, false},
	} {
		if got := database.IsStorageFailure(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestWriteHealthFollowsAFullSQLiteFile: once a write met a full file,
// WriteHealth reports it until the file can grow again, and recovers by
// itself then; reads never stop.
func TestWriteHealthFollowsAFullSQLiteFile(t *testing.T) {
	ctx := context.Background()
	db, err := database.OpenSQLite(ctx, filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteHealth(ctx); err != nil {
		t.Fatalf("a fresh file: %v", err)
	}
	var pages int
	if err := db.QueryRow(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 64<<10)
	err = db.InTx(ctx, func(tx *database.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO notes (body) VALUES (?)`, string(big))
		return err
	})
	if !database.IsStorageFailure(err) {
		t.Fatalf("a write into a full file: %v, want a storage failure", err)
	}
	if err := db.WriteHealth(ctx); !database.IsStorageFailure(err) {
		t.Errorf("write health of a full file: %v", err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM notes`).Scan(&n); err != nil || n != 0 {
		t.Errorf("a read of a full file: %d, %v", n, err)
	}
	if _, err := db.Exec(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if err := db.WriteHealth(ctx); err != nil {
		t.Errorf("write health once the file can grow: %v", err)
	}
	var tables int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'hubdesk_write_probe'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("the probe left its table behind: %d, %v", tables, err)
	}
}
