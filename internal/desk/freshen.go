package desk

import (
	"context"
	"time"

	"github.com/hubdesk/hubdesk/internal/orderview"
)

// freshenAtOnce bounds the refresh requests one process makes at once
// after ticket views; freshenTimeout bounds each.
const (
	freshenAtOnce  = 16
	freshenTimeout = 10 * time.Second
)

// freshenLater asks, once the page is on its way, for the background
// refresh of the viewed orders' returns (Freshener) and, when customerID
// is not 0, of the customer's orders (CustomerFreshener). The page never waits
// for it: asking writes the refresh jobs, and on SQLite that waits for
// the one writer, busy with webhooks at times. A refresh that stores a
// change tells the page, which swaps its cards. When freshenAtOnce
// requests are already under way the request is dropped: the cards show
// their age, and the next view asks again.
func (p *TicketPages) freshenLater(ctx context.Context, shopID, ticketID int64, orders []orderview.Order, customerID int64) {
	select {
	case p.freshening <- struct{}{}:
	default:
		p.Logger.InfoContext(ctx, "desk: returns refresh not asked: too many under way", "ticket", ticketID)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), freshenTimeout)
	go func() {
		defer func() { <-p.freshening }()
		defer cancel()
		if p.Freshness != nil && len(orders) > 0 {
			if _, err := p.Freshness.Freshen(ctx, shopID, orders); err != nil {
				p.Logger.WarnContext(ctx, "desk: ask for a returns refresh", "ticket", ticketID, "err", err)
			}
		}
		if customerID != 0 {
			if _, err := p.CustomerFreshness.Freshen(ctx, shopID, customerID); err != nil {
				p.Logger.WarnContext(ctx, "desk: ask for a customer's orders refresh", "ticket", ticketID, "err", err)
			}
		}
	}()
}
