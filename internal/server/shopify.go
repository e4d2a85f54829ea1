package server

import (
	"context"
	"errors"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/shopifysync"
)

// connectedClients gives the sync each shop's Admin client from its
// Shopify connection (shopifysync.Clients); a shop without a token is not
// connected.
type connectedClients struct{ c *shopifyconnect.Connector }

func (cc connectedClients) AdminClient(ctx context.Context, shopID int64) (*shopify.Client, error) {
	client, err := cc.c.AdminClient(ctx, shopID)
	if errors.Is(err, shopifyconnect.ErrNotConnected) {
		return nil, shopifysync.ErrNotConnected
	}
	return client, err
}

// uninstaller tells the connection that the app was uninstalled
// (shopifyhooks.Uninstaller).
type uninstaller struct {
	c   *shopifyconnect.Connector
	now func() time.Time
}

func (u uninstaller) AppUninstalled(ctx context.Context, tx *database.Tx, shopID int64) error {
	now := time.Now
	if u.now != nil {
		now = u.now
	}
	return u.c.Uninstalled(ctx, tx, shopID, now())
}

// bulkNudger wakes the backfill waiting on a bulk operation
// (shopifyhooks.BulkOperations), once the event's transaction commits.
type bulkNudger struct{ s *shopifysync.Syncer }

func (b bulkNudger) BulkOperationFinished(ctx context.Context, tx *database.Tx, shopID int64, _, _, _ string) error {
	tx.AfterCommit(func() { b.s.Nudge(shopID) })
	return nil
}
