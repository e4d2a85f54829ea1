package loopsync_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/loopsync"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// priorityAsker asks Loop through the real client and remembers the
// priority each call was made with.
type priorityAsker struct {
	returns.LoopLinker
	asked []loop.Priority
}

func (a *priorityAsker) Eligibility(ctx context.Context, apiKey, orderName string) (loop.Eligibility, error) {
	a.asked = append(a.asked, loop.PriorityOf(ctx))
	return a.LoopLinker.Eligibility(ctx, apiKey, orderName)
}

// A page's eligibility asks are background reads: they run on the Loop
// refreshes' queue, not the default one that webhook processing and mail
// share, and leave the key's window to an agent's clicks — a burst of
// opened tickets once queued hundreds of them ahead of every webhook.
func TestEligibilityAsksAreBackgroundRefreshes(t *testing.T) {
	if q := (orderview.EligibilityArgs{}).InsertOpts().Queue; q != loopsync.Queue {
		t.Errorf("eligibility jobs go to queue %q, want the refreshes' %q", q, loopsync.Queue)
	}
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{})
		e.connect(sandbox.KeyReturns)
		if err := e.app.Server.Settings.SetLive(context.Background(), e.tn.Shop.ID, true, audit.Actor{Kind: audit.ActorSystem, Label: "test"}); err != nil {
			t.Fatal(err)
		}
		o := e.order(7501, "#7501", time.Now().Add(-48*time.Hour))
		asker := &priorityAsker{LoopLinker: returns.LoopLinker{Client: e.app.Server.Loop}}
		w := &orderview.EligibilityWorker{Commerce: e.app.Server.Commerce, Settings: e.app.Server.Settings,
			Cache: returns.NewEligibilityCache(db), Loop: asker}
		job := &river.Job[orderview.EligibilityArgs]{JobRow: &rivertype.JobRow{}, Args: orderview.EligibilityArgs{ShopID: e.tn.Shop.ID, OrderID: o.ID}}
		if err := w.Work(context.Background(), job); err != nil {
			t.Fatal(err)
		}
		if len(asker.asked) != 1 || asker.asked[0] != loop.PriorityRefresh {
			t.Errorf("Loop asked with priorities %v, want one background refresh (%v)", asker.asked, loop.PriorityRefresh)
		}
	})
}
