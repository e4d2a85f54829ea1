package intake

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubdesk/hubdesk/internal/database"
)

// EraseMatching deletes the shop's events, of any provider, whose body
// holds one of needles (compared in lower case; needles shorter than four
// characters are ignored as too likely to match anything), except the
// event keep — a privacy erasure's own event, which ForgetBody empties
// instead. Unprocessed ones go too: the work they hold is about a person
// who asked to be forgotten. It says how many went.
func (s *Store) EraseMatching(ctx context.Context, shopID, keep int64, needles []string) (int64, error) {
	where, args := bodyMatches(needles)
	if where == "" {
		return 0, nil
	}
	res, err := s.db.Exec(ctx, `DELETE FROM webhook_events WHERE shop_id = ? AND id <> ? AND (`+where+`)`,
		append([]any{shopID, keep}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("intake: erase webhook events of shop %d: %w", shopID, err)
	}
	return res.RowsAffected()
}

// EraseAll deletes every event of the shop but keep (a shop's erasure).
func (s *Store) EraseAll(ctx context.Context, shopID, keep int64) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM webhook_events WHERE shop_id = ? AND id <> ?`, shopID, keep)
	if err != nil {
		return 0, fmt.Errorf("intake: erase webhook events of shop %d: %w", shopID, err)
	}
	return res.RowsAffected()
}

// ForgetBody empties an event's body (and its error, which may quote
// it), keeping the row: the record that the delivery came and was
// handled.
func (s *Store) ForgetBody(ctx context.Context, shopID, id int64) error {
	_, err := s.db.Exec(ctx, `UPDATE webhook_events SET body = '', body_encoding = '', error = '' WHERE shop_id = ? AND id = ?`, shopID, id)
	if err != nil {
		return fmt.Errorf("intake: forget the body of webhook event %d of shop %d: %w", id, shopID, err)
	}
	return nil
}

// bodyMatches is the condition "the body holds one of needles".
func bodyMatches(needles []string) (string, []any) {
	var or []string
	var args []any
	for _, n := range needles {
		if n = strings.ToLower(strings.TrimSpace(n)); len(n) >= 4 {
			or = append(or, `LOWER(body) LIKE ? ESCAPE '\'`)
			args = append(args, database.LikeContains(n))
		}
	}
	return strings.Join(or, " OR "), args
}
