package returns

import (
	"context"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// Webhooks arrive twice and out of order: the newest state wins and a
// replay changes nothing.
func TestRecordsUpsertNewestWins(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		s := NewRecords(db)
		t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
		r := Return{Provider: ProviderLoop, ExternalID: "48210475", OrderName: "#1037", State: StateOpen, UpdatedAt: t0}
		steps := []struct {
			state ReturnState
			at    time.Time
			want  commerce.UpsertResult
		}{
			{StateOpen, t0, commerce.Inserted},
			{StateOpen, t0, commerce.Updated}, // a replay re-applies the same state
			{StateClosed, t0.Add(time.Hour), commerce.Updated},
			{StateOpen, t0.Add(time.Minute), commerce.Stale}, // late, older event
		}
		for i, step := range steps {
			r.State, r.UpdatedAt = step.state, step.at
			got, err := s.Upsert(ctx, shopID, r)
			if err != nil || got != step.want {
				t.Fatalf("step %d: %v %v, want %v", i, got, err, step.want)
			}
		}
		byOrder, err := s.ForOrders(ctx, shopID, []string{"#1037", "#9999"})
		if err != nil || len(byOrder["#1037"]) != 1 || byOrder["#1037"][0].State != StateClosed {
			t.Fatalf("stored: %+v %v", byOrder, err)
		}
		if Progress(byOrder["#1037"]) != commerce.ReturnCompleted || ActiveReturn(byOrder["#1037"]) != nil {
			t.Fatal("a closed return is completed, not active")
		}
		if _, err := s.Upsert(ctx, shopID, Return{Provider: ProviderLoop, OrderName: "#1"}); err == nil {
			t.Fatal("a return without id and state was accepted")
		}
	})
}
