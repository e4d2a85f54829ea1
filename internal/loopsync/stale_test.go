package loopsync_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
	"github.com/hubdesk/hubdesk/internal/loopsync"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/settings"
)

// TestRefreshInAProcessThatStillThinksTheShopUnconnected: a process read,
// a moment before another process saved the shop's Loop key, that the
// shop has no Loop (a page's Freshen), and keeps that answer for the
// connections' cache TTL. A Loop webhook then reports that processing a
// return not stored yet failed — Loop is connected, or it would not
// send one — and the refresh it queued runs in that process within the
// TTL: the return is read from Loop and stored stuck, not dropped as if
// the shop had no Loop. (Three processes through a 429 storm lost
// returns so: every job done, the returns never stored.)
func TestRefreshInAProcessThatStillThinksTheShopUnconnected(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		e := newEnv(t, db, sandbox.Options{})
		ctx := context.Background()
		shopID := e.tn.Shop.ID
		e.order(7301, "#7301", time.Now().Add(-48*time.Hour))
		info, err := e.sb.SeedReturn(sandbox.ReturnSpec{ProviderOrderID: 7301})
		if err != nil {
			t.Fatal(err)
		}
		sync := e.app.Server.LoopSync

		// This process views an order: the shop has no Loop yet.
		if _, err := sync.Freshen(ctx, shopID, []orderview.Order{{}}); err != nil {
			t.Fatal(err)
		}
		// Another process (its own connection store) saves the key.
		other := settings.New(db, returns.NewStore(db), connection.NewStore(db, e.app.Box), audit.New(db),
			settings.LoopKeyChecker{Client: e.app.Server.Loop})
		rc := returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopAPIKey: sandbox.KeyReturns, LoopWebhookSecret: e.sb.WebhookSecret(),
			LoopPortalURL: e.sbURL + "/portal/", LookupField: returns.LookupZip}
		if _, err := other.SaveReturns(ctx, shopID, rc, settings.SaveOptions{}, audit.Actor{Kind: audit.ActorSystem, Label: "test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := sync.Connections().Get(ctx, shopID, connection.ProviderLoop); !errors.Is(err, connection.ErrNotFound) {
			t.Fatalf("this process should still hold the shop as unconnected (within %v): %v", connection.CacheTTL, err)
		}

		if err := sync.RunRefreshReturn(ctx, loopsync.RefreshReturnArgs{ShopID: shopID, ReturnID: strconv.FormatInt(info.ID, 10),
			ProcessingFailed: true, ProcessingError: "Shopify refund failed"}); err != nil {
			t.Fatal(err)
		}
		r := e.stored(info.ID)
		if r == nil {
			t.Fatal("the return was not stored: the refresh took the cached answer for the shop having no Loop")
		}
		if string(r.State) != string(info.State) || r.ProcessingError != "Shopify refund failed" {
			t.Errorf("stored %q stuck with %q, want %q stuck with Loop's message", r.State, r.ProcessingError, info.State)
		}
	})
}
