package loopsync

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/orderview"
)

// Freshen asks, in the background, for the returns of the viewed orders
// whose stored data is older than the freshness limit to be read from
// Loop again. It never calls Loop itself: the page renders from the store
// at once, and when a refresh stores a change the page is told (a live
// returns event) and swaps its cards. Only orders that can still change
// are refreshed: those with an active return, and those whose return
// window is still open. Each order has at most one refresh in flight
// (a unique job), and the refresh queue bounds how many run at once. It
// says how many refreshes it asked for.
func (s *Syncer) Freshen(ctx context.Context, shopID int64, orders []orderview.Order) (int, error) {
	if len(orders) == 0 {
		return 0, nil
	}
	if _, err := s.opts.Connections.Get(ctx, shopID, connection.ProviderLoop); err != nil {
		if errors.Is(err, connection.ErrNotFound) {
			return 0, nil
		}
		return 0, err
	}
	now := s.now()
	var ids []int64
	for _, o := range orders {
		active := o.ActiveReturn() != nil
		inWindow := o.Return.WindowEnds != nil && now.Before(*o.Return.WindowEnds)
		if active || inWindow {
			ids = append(ids, o.ID)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	h, err := s.cachedHealth(ctx, shopID)
	if err != nil {
		return 0, err
	}
	limit := FreshWithoutWebhooks
	if h.LastWebhookAt != nil && now.Sub(*h.LastWebhookAt) < webhooksArriving {
		limit = FreshWithWebhooks
	}
	// Orders this process knows to be read within the limit are fresh
	// without asking the database: a webhook-fed shop's ticket views
	// then cost Freshen no query (and no read connection, which the
	// pages need under load).
	var unknown []int64
	for _, id := range ids {
		if at, ok := s.checkedAt(shopID, id); (!ok || now.Sub(at) >= limit) && !s.askedRecently(shopID, id, now) {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) == 0 {
		return 0, nil
	}
	checked, err := s.store.CheckedAt(ctx, shopID, unknown)
	if err != nil {
		return 0, err
	}
	var stale []int64
	for _, id := range unknown {
		at, ok := checked[id]
		if ok {
			s.rememberCheck(shopID, id, at)
		}
		if !ok || now.Sub(at) >= limit {
			stale = append(stale, id)
		}
	}
	if len(stale) == 0 {
		return 0, nil
	}
	// One insert for all of them: the page waits for this commit.
	list := make([]jobs.NewJob, len(stale))
	for i, id := range stale {
		list[i] = jobs.NewJob{Args: RefreshOrderArgs{ShopID: shopID, OrderID: id},
			Opts: &river.InsertOpts{Queue: Queue, Priority: 1, MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}}}
	}
	asked := 0
	err = s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		res, err := s.opts.Queue.EnqueueMany(ctx, tx, list)
		asked = 0
		for _, r := range res {
			if !r.UniqueSkippedAsDuplicate {
				asked++
			}
		}
		return err
	})
	if err == nil {
		// Asked, or already queued (a duplicate): either way a refresh
		// is on its way.
		s.rememberAsks(shopID, stale, now)
	}
	return asked, err
}

// FreshnessLimit is the limit in force for the shop now, for pages that
// show the age of the data.
func (s *Syncer) FreshnessLimit(ctx context.Context, shopID int64) (time.Duration, error) {
	h, err := s.cachedHealth(ctx, shopID)
	if err != nil {
		return 0, err
	}
	if h.LastWebhookAt != nil && s.now().Sub(*h.LastWebhookAt) < webhooksArriving {
		return FreshWithWebhooks, nil
	}
	return FreshWithoutWebhooks, nil
}
