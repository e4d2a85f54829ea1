package loopsync

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// ReturnsNeedingOrder lists the shop's Loop returns stored without an
// order because the order name Loop reported is carried by several
// orders, each with the orders it may belong to (returns.Records.Unlinked).
func (s *Syncer) ReturnsNeedingOrder(ctx context.Context, shopID int64) ([]returns.Unlinked, error) {
	return s.records.Unlinked(ctx, shopID)
}

// UnlinkedNaming counts the shop's returns waiting for an order that name
// orderName, for the notice on those orders' pages; all of them when
// orderName is "".
func (s *Syncer) UnlinkedNaming(ctx context.Context, shopID int64, orderName string) (int, error) {
	return s.records.UnlinkedNamed(ctx, shopID, orderName)
}

// LinkReturn is a manager's choice of the order a return waiting for its
// order belongs to: the return is attached to orderID (one of the orders
// carrying the name Loop reported) and the choice audited
// (audit.ActionReturnLinked: who, the return, the order) in one
// transaction; after commit the shop's live pages are told, so a ticket
// showing the order gains the return's card. Errors: returns.ErrNotFound,
// returns.ErrAlreadyLinked, returns.ErrNotCandidate.
func (s *Syncer) LinkReturn(ctx context.Context, shopID int64, actor audit.Actor, returnID, orderID int64) (*returns.Return, error) {
	var r *returns.Return
	err := s.opts.DB.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if r, err = s.records.With(tx).Link(ctx, shopID, returnID, orderID); err != nil {
			return err
		}
		return audit.New(tx).Record(ctx, shopID, audit.Entry{Actor: actor, Action: audit.ActionReturnLinked, Subject: r.OrderName,
			Provider: string(r.Provider), Outcome: audit.OutcomeOK,
			Details: map[string]any{"return": r.ExternalID, "order_id": strconv.FormatInt(orderID, 10)}})
	})
	if err != nil {
		return nil, fmt.Errorf("loopsync: %w", err)
	}
	r.OrderID, r.OrderAmbiguous = orderID, false
	s.publish(ctx, shopID, []int64{orderID})
	return r, nil
}
