package database_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

func TestMigrateIsIdempotentAndCurrent(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		applied, err := db.Migrate(ctx)
		if err != nil || applied != 0 {
			t.Fatalf("second migrate: applied=%d err=%v", applied, err)
		}
		v, err := db.CurrentVersion(ctx)
		if err != nil || v != db.LatestVersion() || v == 0 {
			t.Fatalf("version = %d (latest %d), err %v", v, db.LatestVersion(), err)
		}
	})
}

func TestTransactionRollsBackOnError(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		err := db.InTx(ctx, func(tx *database.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO shops (name, domain, created_at) VALUES (?, ?, ?)`, "A", "a.myshopify.com", database.Time(time.Now())); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO shops (name, domain, created_at) VALUES (?, ?, ?)`, "A again", "a.myshopify.com", database.Time(time.Now()))
			return err
		})
		if !database.IsUniqueViolation(err) {
			t.Fatalf("want unique violation, got %v", err)
		}
		var n int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM shops`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("shops after rollback = %d (%v), want 0", n, err)
		}
	})
}

func TestTimeRoundTrip(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		want := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
		if _, err := db.Exec(ctx, `INSERT INTO shops (name, domain, created_at) VALUES (?, ?, ?)`, "A", "a.myshopify.com", database.Time(want)); err != nil {
			t.Fatal(err)
		}
		var got time.Time
		if err := db.QueryRow(ctx, `SELECT created_at FROM shops WHERE domain = ?`, "a.myshopify.com").Scan((*database.Time)(&got)); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Fatalf("got %v want %v", got, want)
		}
	})
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	_, err := database.Open(context.Background(), "mysql://user:pw@host/db", "")
	if err == nil {
		t.Fatal("want error")
	}
	if got := err.Error(); strings.Contains(got, "pw") {
		t.Fatalf("error leaks the password: %s", got)
	}
}
