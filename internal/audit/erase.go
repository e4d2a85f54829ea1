package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubdesk/hubdesk/internal/database"
)

// erasedDetails replaces the details of an entry that named someone
// forgotten: the entry still says what was done and when.
const erasedDetails = `{"erased":true}`

// EraseNaming removes someone to be forgotten from the log: entries they
// made as a shopper (shopperIDs: the platform's customer ids; or their
// address as the label) lose the actor's id and label; entries whose
// subject or details hold one of needles (emails, full names, phone
// numbers, order names — compared in lower case) lose them. The entries
// stay: what was done, when, by which staff member.
func (l *Log) EraseNaming(ctx context.Context, shopID int64, shopperIDs, needles []string) error {
	var lowered []string
	for _, n := range needles {
		if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
			lowered = append(lowered, n)
		}
	}
	var actor []string
	var args []any
	if len(shopperIDs) > 0 {
		in, a := database.InList(shopperIDs)
		actor, args = append(actor, `actor_id IN (`+in+`)`), append(args, a...)
	}
	if len(lowered) > 0 {
		in, a := database.InList(lowered)
		actor, args = append(actor, `LOWER(actor_label) IN (`+in+`)`), append(args, a...)
	}
	if len(actor) > 0 {
		if _, err := l.db.Exec(ctx, `UPDATE audit_log SET actor_id = '', actor_label = '' WHERE shop_id = ? AND actor_kind = ? AND (`+
			strings.Join(actor, " OR ")+`)`, append([]any{shopID, string(ActorShopper)}, args...)...); err != nil {
			return fmt.Errorf("audit: erase shopper: %w", err)
		}
	}
	for _, column := range []string{"subject", "details", "actor_label"} {
		var or []string
		var args []any
		for _, n := range lowered {
			or = append(or, `LOWER(`+column+`) LIKE ? ESCAPE '\'`)
			args = append(args, database.LikeContains(n))
		}
		if len(or) == 0 {
			return nil
		}
		value := ""
		if column == "details" {
			value = erasedDetails
		}
		if _, err := l.db.Exec(ctx, `UPDATE audit_log SET `+column+` = ? WHERE shop_id = ? AND (`+strings.Join(or, " OR ")+`)`,
			append([]any{value, shopID}, args...)...); err != nil {
			return fmt.Errorf("audit: erase %s: %w", column, err)
		}
	}
	return nil
}

// EraseShoppers removes every shopper from the shop's log (a shop's
// erasure): shoppers' entries lose their actor, and entries about orders,
// returns, tickets and senders lose subject and details. Staff and
// settings entries stay whole.
func (l *Log) EraseShoppers(ctx context.Context, shopID int64) error {
	if _, err := l.db.Exec(ctx, `UPDATE audit_log SET actor_id = '', actor_label = '' WHERE shop_id = ? AND actor_kind = ?`,
		shopID, string(ActorShopper)); err != nil {
		return fmt.Errorf("audit: erase shoppers: %w", err)
	}
	if _, err := l.db.Exec(ctx, `UPDATE audit_log SET subject = '', details = ? WHERE shop_id = ?
		AND (action LIKE 'return.%' OR action LIKE 'ticket.%' OR action LIKE 'sender.%' OR action LIKE 'order.%' OR actor_kind = ?)`,
		erasedDetails, shopID, string(ActorShopper)); err != nil {
		return fmt.Errorf("audit: erase shoppers' entries: %w", err)
	}
	return nil
}
