package ticket_test

import (
	"context"
	"sync"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// Read markers recorded at the same moment share commits, and each
// caller is answered after its own marker is in: every ticket an agent
// opened is read when RecordRead returns, its notifications with it, and
// a marker through another shop writes nothing.
func TestReadMarkersRecordedTogether(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newInboxWorld(t, db)
		ctx := context.Background()
		store := w.store
		var ids []int64
		for range 40 {
			s := &seedTicket{name: "burst", activity: 100}
			w.insert(t, w.shop, s)
			ids = append(ids, s.id)
		}
		for _, id := range ids[:20] {
			if err := store.Notify(ctx, w.shop, w.me.ID, id, ticket.NotifyReply); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, len(ids)+1)
		for i, id := range ids {
			wg.Go(func() { errs[i] = store.RecordRead(ctx, w.shop, w.me.ID, id, i < 20) })
		}
		wg.Go(func() { errs[len(ids)] = store.RecordRead(ctx, w.other, w.agent.ID, ids[0], false) })
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("marker %d: %v", i, err)
			}
		}
		var read int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM ticket_reads WHERE user_id = ? AND ticket_id >= ?`, w.me.ID, ids[0]).Scan(&read); err != nil {
			t.Fatal(err)
		}
		if read != len(ids) {
			t.Errorf("%d of %d opened tickets are marked read", read, len(ids))
		}
		if n, err := store.UnreadNotifications(ctx, w.shop, w.me.ID); err != nil || n != 0 {
			t.Errorf("%d notifications left unread (%v)", n, err)
		}
		var foreign int
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM ticket_reads WHERE user_id = ?`, w.agent.ID).Scan(&foreign); err != nil || foreign != 0 {
			t.Errorf("a marker through another shop wrote %d rows (%v)", foreign, err)
		}
	})
}
