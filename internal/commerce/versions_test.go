package commerce_test

import (
	"context"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// On PostgreSQL a store that keeps its orders versions reads a version
// once and gives it again without asking while nothing can have moved it;
// a write of its own process, a write of another process (heard through
// NOTIFY) and a listener that lost its connection each make it read
// again. The version is moved behind the trigger's back to tell a kept
// version from one read.
func TestVersionsKeptUntilAWriteAnywhere(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, url := dbtest.OpenPostgresWithURL(t)
	other, err := database.OpenPostgres(ctx, url) // another process's pool
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	shopID, ada, o := adaWithAnOrder(t, db)
	versions := commerce.NewVersions(db, nil)
	store := commerce.NewStore(db).KeepVersions(versions)
	ran := make(chan struct{})
	go func() { defer close(ran); versions.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	jobstest.Eventually(t, "the listener", versions.Listening)

	read := func() int64 {
		t.Helper()
		v, err := store.OrdersVersion(ctx, shopID, o.CustomerID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// silently moves the version without the notification.
	silently := func() {
		t.Helper()
		for _, stmt := range []string{
			`ALTER TABLE customers DISABLE TRIGGER orders_version_notify`,
			`UPDATE customers SET orders_version = orders_version + 100`,
			`ALTER TABLE customers ENABLE TRIGGER orders_version_notify`,
		} {
			if _, err := other.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
	}

	kept := read()
	silently()
	if v := read(); v != kept {
		t.Fatalf("version %d read again, want %d kept", v, kept)
	}
	// A write of this process, whatever it wrote.
	if _, err := db.Exec(ctx, `UPDATE shops SET name = name WHERE id = ?`, shopID); err != nil {
		t.Fatal(err)
	}
	if v := read(); v != kept+100 {
		t.Fatalf("after a write here: version %d, want %d", v, kept+100)
	}
	// Another process's write to the customer's orders.
	if _, _, err := commerce.NewStore(other).UpsertOrder(ctx, shopID, sampleOrder("A", t0.Add(time.Hour)), ada); err != nil {
		t.Fatal(err)
	}
	jobstest.Eventually(t, "the other process's write", func() bool { return read() > kept+100 })
	kept = read()
	silently()
	if v := read(); v != kept {
		t.Fatalf("version %d read again, want %d kept", v, kept)
	}

	// The listener's connection lost: nothing is kept until it is back.
	if _, err := other.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	jobstest.Eventually(t, "the listener's loss", func() bool { return !versions.Listening() })
	silently() // the second time since kept was read
	if v := read(); v != kept+200 {
		t.Fatalf("while not listening: version %d, want %d read", v, kept+200)
	}
	jobstest.Eventually(t, "the listener back", versions.Listening)
	kept = read()
	silently()
	if v := read(); v != kept {
		t.Fatalf("listening again: version %d read again, want %d kept", v, kept)
	}
}

// SQLite keeps nothing: every version is read.
func TestVersionsSQLiteReadsEachTime(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t, database.SQLite)
	shopID, _, o := adaWithAnOrder(t, db)
	versions := commerce.NewVersions(db, nil)
	versions.Run(ctx) // returns at once
	store := commerce.NewStore(db).KeepVersions(versions)
	first, err := store.OrdersVersion(ctx, shopID, o.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `UPDATE customers SET orders_version = orders_version + 100`); err != nil {
		t.Fatal(err)
	}
	if v, err := store.OrdersVersion(ctx, shopID, o.CustomerID); err != nil || v != first+100 {
		t.Fatalf("version %d, %v; want %d", v, err, first+100)
	}
}

// adaWithAnOrder stores a shop with Ada and her order A.
func adaWithAnOrder(t *testing.T, db *database.DB) (int64, *commerce.Customer, *commerce.Order) {
	t.Helper()
	shopID := newShop(t, db, "a.myshopify.com")
	ada := &commerce.Customer{ExternalID: "c1", Email: "ada@example.com", FirstName: "Ada", UpdatedAt: t0}
	o, _, err := commerce.NewStore(db).UpsertOrder(context.Background(), shopID, sampleOrder("A", t0), ada)
	if err != nil {
		t.Fatal(err)
	}
	return shopID, ada, o
}
