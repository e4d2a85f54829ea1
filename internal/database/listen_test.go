package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// ListenConn gives PostgreSQL's LISTEN a connection of its own that
// receives what is notified through the pool; SQLite says it has none.
func TestListenConnReceivesNotifications(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		conn, err := db.ListenConn(ctx)
		if db.Engine() == database.SQLite {
			if !errors.Is(err, database.ErrNoListen) {
				t.Fatalf("SQLite: got %v, want ErrNoListen", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `LISTEN inbox`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `SELECT pg_notify('inbox', 'ticket 7')`); err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithTimeout(ctx, 30*time.Second) // a guard against hanging, not a timing assertion
		defer cancel()
		n, err := conn.WaitForNotification(wait)
		if err != nil || n.Channel != "inbox" || n.Payload != "ticket 7" {
			t.Fatalf("notification %+v, %v", n, err)
		}
	})
}
