package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/user"
)

// Two stores and the audit log bound to one transaction commit together or
// not at all. user.Store.SetDisabled wraps its own writes in InTx: bound to
// the transaction it joins it instead of committing on its own, and it
// reads the rows the transaction wrote before (which SQLite's read pool
// could not see).
func TestStoresBoundToATransactionCommitOrRollBackTogether(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		box, err := secret.NewBox(1, map[int][]byte{1: make([]byte, 32)})
		if err != nil {
			t.Fatal(err)
		}
		shops, users, log := shop.NewStore(db, box), user.NewStore(db), audit.New(db)
		errLater := errors.New("a later step failed")
		write := func(domain string, fail error) error {
			return db.InTx(ctx, func(tx *database.Tx) error {
				sh, err := shops.With(tx).Create(ctx, shop.NewShop{Name: domain, Domain: domain})
				if err != nil {
					return err
				}
				u, err := users.With(tx).Create(ctx, user.NewUser{ShopID: sh.ID, Email: "ann@" + domain, Role: user.RoleAgent, Password: "long enough"})
				if err != nil {
					return err
				}
				if err := users.With(tx).SetDisabled(ctx, sh.ID, u.ID, true); err != nil {
					return err
				}
				if got, err := users.With(tx).Get(ctx, sh.ID, u.ID); err != nil || got.DisabledAt == nil {
					t.Errorf("the transaction does not read its own writes: %+v %v", got, err)
				}
				if err := log.With(tx).Record(ctx, sh.ID, audit.Entry{Actor: audit.UserActor(u), Action: audit.ActionUserDisabled,
					Subject: u.Email, Outcome: audit.OutcomeOK}); err != nil {
					return err
				}
				return fail
			})
		}
		count := func(table string) int {
			var n int
			if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		if err := write("rolled-back.myshopify.com", errLater); !errors.Is(err, errLater) {
			t.Fatalf("want the failure back, got %v", err)
		}
		for _, table := range []string{"shops", "users", "audit_log"} {
			if n := count(table); n != 0 {
				t.Errorf("%s has %d rows after the rollback, want 0", table, n)
			}
		}

		if err := write("committed.myshopify.com", nil); err != nil {
			t.Fatal(err)
		}
		sh, err := shops.GetByDomain(ctx, "committed.myshopify.com")
		if err != nil {
			t.Fatal(err)
		}
		list, err := users.List(ctx, sh.ID)
		if err != nil || len(list) != 1 || list[0].DisabledAt == nil {
			t.Fatalf("users after the commit: %+v %v", list, err)
		}
		if entries, _, err := log.List(ctx, sh.ID, audit.Filter{}, database.Page{Limit: 10}); err != nil || len(entries) != 1 {
			t.Fatalf("audit after the commit: %+v %v", entries, err)
		}

		// When the last write itself fails, the earlier ones go with it.
		dbtest.BreakTable(t, db, "audit_log")
		if err := write("audit-failed.myshopify.com", nil); err == nil {
			t.Fatal("a write to a missing table succeeded")
		}
		if n := count("shops"); n != 1 {
			t.Errorf("shops = %d after the audit entry failed, want only the committed one", n)
		}
	})
}

// AfterCommit runs once the outermost transaction commits — not when a
// store's own InTx inside it returns, and never on a rollback.
func TestAfterCommitWaitsForTheOutermostTransaction(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		ran := 0
		err := db.InTx(ctx, func(outer *database.Tx) error {
			err := outer.InTx(ctx, func(inner *database.Tx) error {
				inner.AfterCommit(func() { ran++ })
				return nil
			})
			if ran != 0 {
				t.Error("ran before the outer transaction committed")
			}
			return err
		})
		if err != nil || ran != 1 {
			t.Fatalf("after commit: ran %d times, err %v", ran, err)
		}
		db.InTx(ctx, func(tx *database.Tx) error {
			tx.AfterCommit(func() { ran++ })
			return errors.New("roll back")
		})
		if ran != 1 {
			t.Fatal("ran after a rollback")
		}
	})
}
