package orderview

import (
	"context"

	"github.com/hubdesk/hubdesk/internal/returns"
)

// SyncHealthReader says how the shop's connection to its returns platform
// fares (loopsync.Syncer): it reads what is stored and never asks the
// platform.
type SyncHealthReader interface {
	SyncHealth(ctx context.Context, shopID int64) (returns.SyncHealth, error)
}

// SyncHealth is what the cards of orders viewed with cfg say about the
// returns platform: for a shop on Loop with a key, why the last call
// failed, if it did (Loop down, a 429 storm, the key refused), so the
// cards show the returns as last stored with a notice; nothing otherwise
// (no reader, another provider or no key: those portals are not asked).
func (v *View) SyncHealth(ctx context.Context, shopID int64, cfg returns.Config) (returns.SyncHealth, error) {
	if v.opts.Health == nil || !returns.AsksPlatform(cfg) {
		return returns.SyncHealth{}, nil
	}
	return v.opts.Health.SyncHealth(ctx, shopID)
}
