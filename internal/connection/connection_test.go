package connection_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
)

// A connection is sealed at rest, replaced by the next save, readable only
// by its own shop, and gone once deleted.
func TestConnectionsArePerShopAndSealed(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		store := connection.NewStore(db, fixtures.Box(t))
		a, b := fixtures.Shop(t, db, "a").ID, fixtures.Shop(t, db, "b").ID
		at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		first := &connection.Connection{Provider: connection.ProviderLoop, Credentials: "loop_key_first", Status: connection.StatusUnverified}
		if err := store.Save(ctx, a, first, at); err != nil {
			t.Fatal(err)
		}
		second := &connection.Connection{Provider: connection.ProviderLoop, Credentials: "loop_key_second", Status: connection.StatusConnected,
			Scopes: map[string]string{"orders": "granted"}, CheckedAt: &at}
		if err := store.Save(ctx, a, second, at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := store.Get(ctx, a, connection.ProviderLoop)
		if err != nil || got.Credentials != "loop_key_second" || got.Status != connection.StatusConnected || got.Scopes["orders"] != "granted" ||
			got.CheckedAt == nil || !got.CheckedAt.Equal(at) || !got.UpdatedAt.Equal(at.Add(time.Minute)) {
			t.Fatalf("after the second save: %+v %v", got, err)
		}
		var sealed string
		db.QueryRow(ctx, `SELECT credentials FROM connections WHERE shop_id = ?`, a).Scan(&sealed)
		if !strings.HasPrefix(sealed, "hdsec:") || strings.Contains(sealed, "second") {
			t.Fatalf("stored credentials are not sealed: %q", sealed)
		}
		if _, err := store.Get(ctx, b, connection.ProviderLoop); !errors.Is(err, connection.ErrNotFound) {
			t.Fatalf("another shop read the connection: %v", err)
		}
		if err := store.Delete(ctx, b, connection.ProviderLoop); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Get(ctx, a, connection.ProviderLoop); err != nil {
			t.Fatalf("deleting another shop's connection removed this one: %v", err)
		}
		if err := store.Delete(ctx, a, connection.ProviderLoop); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Get(ctx, a, connection.ProviderLoop); !errors.Is(err, connection.ErrNotFound) {
			t.Fatalf("deleted connection still read: %v", err)
		}
	})
}

// The process that saves a connection uses it at once, also when the save
// runs in a transaction (the cache is dropped on commit, not before); a
// rolled-back save leaves the cached connection in force.
func TestSavedConnectionIsUsedAtOnce(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		store := connection.NewStore(db, fixtures.Box(t))
		shopID := fixtures.Shop(t, db, "a").ID
		at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
		save := func(q database.Querier, key string) error {
			return store.With(q).Save(ctx, shopID, &connection.Connection{Provider: connection.ProviderLoop, Credentials: key,
				Status: connection.StatusUnverified}, at)
		}
		if _, err := store.Get(ctx, shopID, connection.ProviderLoop); !errors.Is(err, connection.ErrNotFound) {
			t.Fatalf("before any save: %v", err)
		}
		if err := save(db, "key_one"); err != nil {
			t.Fatal(err)
		}
		if c, err := store.Get(ctx, shopID, connection.ProviderLoop); err != nil || c.Credentials != "key_one" {
			t.Fatalf("a cached 'not connected' outlived the save: %+v %v", c, err)
		}
		db.InTx(ctx, func(tx *database.Tx) error {
			if err := save(tx, "key_rolled_back"); err != nil {
				t.Fatal(err)
			}
			return errors.New("roll back")
		})
		if c, _ := store.Get(ctx, shopID, connection.ProviderLoop); c.Credentials != "key_one" {
			t.Fatalf("after a rollback: %q", c.Credentials)
		}
		if err := db.InTx(ctx, func(tx *database.Tx) error { return save(tx, "key_two") }); err != nil {
			t.Fatal(err)
		}
		if c, _ := store.Get(ctx, shopID, connection.ProviderLoop); c.Credentials != "key_two" {
			t.Fatalf("after a committed save: %q", c.Credentials)
		}
	})
}

// Another process connected the shop a moment ago: this process's cache
// still says there is no connection, Fresh reads the stored one, and the
// cache then holds it for this process's next reads.
func TestFreshReplacesWhatTheCacheHeld(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		box := fixtures.Box(t)
		here, there := connection.NewStore(db, box), connection.NewStore(db, box)
		shopID := fixtures.Shop(t, db, "a").ID
		if _, err := here.Get(ctx, shopID, connection.ProviderLoop); !errors.Is(err, connection.ErrNotFound) {
			t.Fatalf("before the connect: %v", err)
		}
		if err := there.Save(ctx, shopID, &connection.Connection{Provider: connection.ProviderLoop, Credentials: "loop_key_new",
			Status: connection.StatusConnected}, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := here.Get(ctx, shopID, connection.ProviderLoop); !errors.Is(err, connection.ErrNotFound) {
			t.Fatalf("within %v this process's cache should still say no connection: %v", connection.CacheTTL, err)
		}
		if c, err := here.Fresh(ctx, shopID, connection.ProviderLoop); err != nil || c.Credentials != "loop_key_new" {
			t.Fatalf("fresh: %+v %v", c, err)
		}
		if c, err := here.Get(ctx, shopID, connection.ProviderLoop); err != nil || c.Credentials != "loop_key_new" {
			t.Fatalf("after Fresh the cache should hold the stored connection: %+v %v", c, err)
		}
	})
}
