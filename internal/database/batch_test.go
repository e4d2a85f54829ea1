package database_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// A batch's reads see one snapshot: a shop created while the first read
// is still being read is not seen by the second. The first read is large
// (20 MB), so that PostgreSQL is still sending it — and has not run the
// second read yet — when the shop is written; it reads a table, as SQLite
// takes a transaction's snapshot at its first read of one.
func TestReadBatchSeesOneSnapshot(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		large := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
			SELECT i, '` + strings.Repeat("x", 1000) + `' FROM n CROSS JOIN (SELECT COUNT(*) AS shops FROM shops) s`
		var b database.Batch
		read, wrote := 0, false
		b.Read(large, nil, func(row database.RowScanner) error {
			read++
			if !wrote {
				wrote = true
				if _, err := db.Exec(ctx, `INSERT INTO shops (name, domain, created_at) VALUES ('New', 'new.myshopify.com', 0)`); err != nil {
					t.Fatal(err)
				}
			}
			return nil
		})
		shops := -1
		b.Read(`SELECT COUNT(*) FROM shops WHERE domain = ?`, []any{"new.myshopify.com"}, func(row database.RowScanner) error {
			return row.Scan(&shops)
		})
		if err := db.ReadBatch(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if read != 20000 || shops != 0 {
			t.Errorf("read %d rows, then %d shops; want 20000 rows and the shop written meanwhile unseen", read, shops)
		}
	})
}

// A read that fails ends the batch with its error, and the connection goes
// back to the pool usable: not stuck in the batch's aborted transaction.
func TestReadBatchFailureLeavesThePoolUsable(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		for range 30 { // more than the pool's connections
			var b database.Batch
			b.Read(`SELECT 1`, nil, func(database.RowScanner) error { return nil })
			b.Read(`SELECT no_such_column FROM shops`, nil, func(database.RowScanner) error { return nil })
			if err := db.ReadBatch(ctx, &b); err == nil || !strings.Contains(err.Error(), "no_such_column") {
				t.Fatalf("want the failing read's error, got %v", err)
			}
			var one, two int
			b = database.Batch{}
			b.Read(`SELECT 1`, nil, func(row database.RowScanner) error { return row.Scan(&one) })
			b.Read(`SELECT 2`, nil, func(row database.RowScanner) error { return row.Scan(&two) })
			if err := db.ReadBatch(ctx, &b); err != nil || one != 1 || two != 2 {
				t.Fatalf("next batch: %d %d %v", one, two, err)
			}
		}
	})
}

// In a transaction a batch reads the transaction's own writes.
func TestReadBatchInATransactionSeesItsWrites(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		err := db.InTx(ctx, func(tx *database.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO shops (name, domain, created_at) VALUES ('Tx', 'tx.myshopify.com', 0)`); err != nil {
				return err
			}
			var names []string
			var b database.Batch
			for range 2 {
				b.Read(`SELECT name FROM shops WHERE domain = ?`, []any{"tx.myshopify.com"}, func(row database.RowScanner) error {
					var name string
					err := row.Scan(&name)
					names = append(names, name)
					return err
				})
			}
			if err := tx.ReadBatch(ctx, &b); err != nil {
				return err
			}
			if strings.Join(names, ",") != "Tx,Tx" {
				t.Errorf("read %q inside the transaction, want its own shop twice", names)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Many batches at once, more than the read pool holds, all with statements
// not prepared yet: none may wait for a connection another batch holds
// (each used to hold a read transaction while preparing on the pool).
func TestManyBatchesAtOnceDoNotStarveThePool(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range 50 {
			wg.Go(func() {
				var b database.Batch
				for j := range 3 {
					b.Read(fmt.Sprintf("SELECT %d + %d + COUNT(*) FROM shops", i, j), nil, func(database.RowScanner) error { return nil })
				}
				errs <- db.ReadBatch(ctx, &b)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a batch failed (a starved pool times out): %v", err)
			}
		}
	})
}
