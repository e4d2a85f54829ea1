package loopsync

import (
	"context"
	"errors"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// LoopKeyChanged is told, inside the transaction that saves the shop's
// Loop settings, that its key changed (settings.LoopKeyWatcher): the
// subscriptions made with the old key are removed with it (the old key is
// kept sealed until that job has run), and a key with the Developer Tools
// scope subscribes the shop's webhook URL to the topics hubdesk applies.
// Both are jobs, so the save never waits on Loop.
func (s *Syncer) LoopKeyChanged(ctx context.Context, tx *database.Tx, shopID int64, oldKey, newKey string, developerTools bool) error {
	sh, err := s.opts.Shops.With(tx).Get(ctx, shopID)
	if err != nil {
		return err
	}
	url := s.WebhookURL(sh)
	if oldKey != "" && oldKey != newKey {
		sealed, err := s.opts.Box.Seal(oldKey)
		if err != nil {
			return err
		}
		id, err := s.store.With(tx).AddCleanup(ctx, shopID, sealed, url, s.now())
		if err != nil {
			return err
		}
		if _, err := s.opts.Queue.Enqueue(ctx, tx, UnsubscribeArgs{ShopID: shopID, CleanupID: id}, nil); err != nil {
			return err
		}
	}
	if newKey != "" && developerTools {
		_, err := s.opts.Queue.Enqueue(ctx, tx, SubscribeArgs{ShopID: shopID},
			&river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}})
		return err
	}
	return nil
}

// Topics are the subscriptions a merchant registers by hand in Loop Admin
// → Developer Tools when the key lacks that scope.
func Topics() []loop.WebhookInput { return loop.Subscriptions }

// SubscribeArgs register the shop's webhook subscriptions with its key.
type SubscribeArgs struct {
	ShopID int64 `json:"shop_id"`
}

func (SubscribeArgs) Kind() string  { return "loop_subscribe" }
func (a SubscribeArgs) Shop() int64 { return a.ShopID }

type subscribeWorker struct {
	river.WorkerDefaults[SubscribeArgs]
	s *Syncer
}

func (w *subscribeWorker) Work(ctx context.Context, job *river.Job[SubscribeArgs]) error {
	_, err := w.s.Subscribe(ctx, job.Args.ShopID)
	if errors.Is(err, loop.ErrMissingScope) || errors.Is(err, loop.ErrUnauthorized) {
		// Nothing to retry: the settings page shows the topics to
		// register by hand.
		w.s.log.InfoContext(ctx, "loopsync: key cannot manage webhooks; subscriptions left to the merchant", "shop", job.Args.ShopID)
		return nil
	}
	return retryWhenLoopSays(err)
}

// Subscribe makes the shop's key subscribe its webhook URL to every topic
// hubdesk applies, reactivating an inactive one, and says how many it
// created. Subscriptions already there are kept, so running it twice
// changes nothing.
func (s *Syncer) Subscribe(ctx context.Context, shopID int64) (int, error) {
	c, err := s.freshClient(ctx, shopID)
	if errors.Is(err, errNotConnected) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	sh, err := s.opts.Shops.Get(ctx, shopID)
	if err != nil {
		return 0, err
	}
	url := s.WebhookURL(sh)
	have, err := c.ListWebhooks(ctx)
	if err != nil {
		s.recordCall(ctx, shopID, err)
		return 0, err
	}
	created := 0
	for _, want := range loop.Subscriptions {
		var found *loop.Webhook
		for i := range have {
			if have[i].URL == url && have[i].Topic == want.Topic && have[i].Trigger == want.Trigger {
				found = &have[i]
				break
			}
		}
		switch {
		case found == nil:
			in := want
			in.URL = url
			if _, err := c.CreateWebhook(ctx, in); err != nil {
				s.recordCall(ctx, shopID, err)
				return created, err
			}
			created++
		case found.Status != loop.WebhookActive:
			in := want
			in.URL = url
			if err := c.UpdateWebhook(ctx, found.ID, in); err != nil {
				s.recordCall(ctx, shopID, err)
				return created, err
			}
		}
	}
	s.recordCall(ctx, shopID, nil)
	return created, nil
}

// UnsubscribeArgs remove the subscriptions made with a key no longer in
// use (the key waits sealed in the cleanup row, never in the job).
type UnsubscribeArgs struct {
	ShopID    int64 `json:"shop_id"`
	CleanupID int64 `json:"cleanup_id"`
}

func (UnsubscribeArgs) Kind() string  { return "loop_unsubscribe" }
func (a UnsubscribeArgs) Shop() int64 { return a.ShopID }

type unsubscribeWorker struct {
	river.WorkerDefaults[UnsubscribeArgs]
	s *Syncer
}

func (w *unsubscribeWorker) Work(ctx context.Context, job *river.Job[UnsubscribeArgs]) error {
	_, err := w.s.Unsubscribe(ctx, job.Args.ShopID, job.Args.CleanupID)
	return retryWhenLoopSays(err)
}

// Unsubscribe deletes, with the old key, the subscriptions pointing at
// the shop's webhook URL, then forgets the old key; it says how many it
// deleted. A key Loop no longer accepts (revoked, or without the scope)
// can delete nothing: the key is forgotten all the same, and the
// subscriptions, delivering to a URL that now refuses their signature,
// are Loop's to retire.
func (s *Syncer) Unsubscribe(ctx context.Context, shopID, cleanupID int64) (int, error) {
	cl, err := s.store.Cleanup(ctx, shopID, cleanupID)
	if err != nil || cl == nil {
		return 0, err
	}
	key, err := s.opts.Box.Open(cl.Credentials)
	if err != nil {
		return 0, err
	}
	c := s.opts.Loop.WithKey(key)
	deleted := 0
	have, err := c.ListWebhooks(ctx)
	if err == nil {
		for _, h := range have {
			if h.URL != cl.URL {
				continue
			}
			if err = c.DeleteWebhook(ctx, h.ID); err != nil && !errors.Is(err, loop.ErrNotFound) {
				break
			}
			err = nil
			deleted++
		}
	}
	if err != nil && !errors.Is(err, loop.ErrUnauthorized) && !errors.Is(err, loop.ErrMissingScope) {
		return deleted, err
	}
	return deleted, s.store.DeleteCleanup(ctx, shopID, cleanupID)
}
