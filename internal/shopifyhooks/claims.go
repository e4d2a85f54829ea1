package shopifyhooks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
)

// Claims remembers the Shopify deliveries applied, by webhook id and by
// (topic, event id).
type Claims struct{ db database.Querier }

// NewClaims returns the claims over db.
func NewClaims(db database.Querier) *Claims { return &Claims{db: db} }

// With returns the claims running on q.
func (c *Claims) With(q database.Querier) *Claims { return &Claims{db: q} }

// Claim records keys for event; if one was claimed before (by another
// event), it returns that key and the event is a duplicate. In the
// caller's transaction: a rolled-back application leaves no claim.
func (c *Claims) Claim(ctx context.Context, shopID, event int64, at time.Time, keys []string) (duplicate string, err error) {
	if len(keys) == 0 {
		return "", nil
	}
	// All the keys in one statement; those it did not insert were
	// claimed before, by this event (a retry of its own processing) or
	// by another (a duplicate).
	args := make([]any, 0, 4*len(keys))
	for _, k := range keys {
		args = append(args, shopID, k, event, database.Time(at))
	}
	inserted := make(map[string]bool, len(keys))
	err = c.db.InTx(ctx, func(tx *database.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO shopify_webhook_claims (shop_id, claim, event_row, claimed_at) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?),", len(keys)), ",")+`
			ON CONFLICT (shop_id, claim) DO NOTHING RETURNING claim`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			inserted[k] = true
		}
		return rows.Err()
	})
	if err != nil {
		return "", fmt.Errorf("shopifyhooks: claim %s: %w", strings.Join(keys, ", "), err)
	}
	for i, k := range keys {
		if inserted[k] {
			continue
		}
		var by int64
		if err := c.db.QueryRow(ctx, `SELECT event_row FROM shopify_webhook_claims WHERE shop_id = ? AND claim = ?`, shopID, k).Scan(&by); err != nil {
			return "", fmt.Errorf("shopifyhooks: claim %s: %w", k, err)
		}
		if by == event {
			continue
		}
		// A duplicate claims nothing past the key that made it one.
		for _, later := range keys[i+1:] {
			if !inserted[later] {
				continue
			}
			if _, err := c.db.Exec(ctx, `DELETE FROM shopify_webhook_claims WHERE shop_id = ? AND claim = ? AND event_row = ?`, shopID, later, event); err != nil {
				return "", fmt.Errorf("shopifyhooks: claim %s: %w", later, err)
			}
		}
		return k, nil
	}
	return "", nil
}

// Owners returns the event that claimed each of keys, for those claimed:
// what a chunk of deliveries reads in one statement to tell its
// duplicates (see Prefetch).
func (c *Claims) Owners(ctx context.Context, shopID int64, keys []string) (map[string]int64, error) {
	out := make(map[string]int64, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	table, args := database.ValuesList(keys, "TEXT", "k")
	rows, err := c.db.Query(ctx, `SELECT c.claim, c.event_row FROM `+table+`
		JOIN shopify_webhook_claims c ON c.shop_id = ? AND c.claim = k.column1`, append(args, shopID)...)
	if err != nil {
		return nil, fmt.Errorf("shopifyhooks: read claims: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var by int64
		if err := rows.Scan(&k, &by); err != nil {
			return nil, fmt.Errorf("shopifyhooks: read claims: %w", err)
		}
		out[k] = by
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("shopifyhooks: read claims: %w", err)
	}
	return out, nil
}

// Claim is one key an event claims.
type Claim struct {
	Event int64
	Key   string
	At    time.Time
}

// TakeAll records claims, known unclaimed when they were read, in one
// statement — a chunk's (see Prefetch) — and returns the keys it could
// not record: claimed since they were read, by a transaction that
// committed meanwhile (on PostgreSQL the insert waits for it).
func (c *Claims) TakeAll(ctx context.Context, shopID int64, claims []Claim) (refused []string, err error) {
	if len(claims) == 0 {
		return nil, nil
	}
	// The last row repeated up to a power of two, a no-op, so that a
	// handful of statement texts serve every chunk.
	rows := 1
	for rows < len(claims) {
		rows *= 2
	}
	args := make([]any, 0, 4*rows)
	for i := range rows {
		cl := claims[min(i, len(claims)-1)]
		args = append(args, shopID, cl.Key, cl.Event, database.Time(cl.At))
	}
	inserted := make(map[string]bool, len(claims))
	err = c.db.InTx(ctx, func(tx *database.Tx) error {
		rows, err := tx.Query(ctx, `INSERT INTO shopify_webhook_claims (shop_id, claim, event_row, claimed_at) VALUES `+
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?),", rows), ",")+`
			ON CONFLICT (shop_id, claim) DO NOTHING RETURNING claim`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return err
			}
			inserted[k] = true
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("shopifyhooks: claim %d keys: %w", len(claims), err)
	}
	for _, cl := range claims {
		if !inserted[cl.Key] {
			refused = append(refused, cl.Key)
		}
	}
	return refused, nil
}

// GiveBack removes keys the event recorded in this transaction and, a
// duplicate after all, does not claim.
func (c *Claims) GiveBack(ctx context.Context, shopID, event int64, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	in, keyArgs := database.InList(keys)
	if _, err := c.db.Exec(ctx, `DELETE FROM shopify_webhook_claims WHERE shop_id = ? AND event_row = ? AND claim IN (`+in+`)`,
		append([]any{shopID, event}, keyArgs...)...); err != nil {
		return fmt.Errorf("shopifyhooks: give back %d claims: %w", len(keys), err)
	}
	return nil
}

// Purge deletes claims older than cutoff: Shopify retries for 4 hours,
// and the claims are kept as long as processed events are.
func (c *Claims) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := c.db.Exec(ctx, `DELETE FROM shopify_webhook_claims WHERE claimed_at < ?`, database.Time(cutoff))
	if err != nil {
		return 0, fmt.Errorf("shopifyhooks: purge claims: %w", err)
	}
	return res.RowsAffected()
}

// PurgeClaimsArgs ask for old claims to be deleted: upkeep of no shop in
// particular.
type PurgeClaimsArgs struct{}

func (PurgeClaimsArgs) Kind() string { return "shopify_webhook_claims_purge" }
func (PurgeClaimsArgs) Shop() int64  { return 0 }

// PurgeClaimsWorker deletes claims older than Retention.
type PurgeClaimsWorker struct {
	river.WorkerDefaults[PurgeClaimsArgs]
	DB        *database.DB
	Retention time.Duration
	Now       func() time.Time // time.Now when nil
}

func (w *PurgeClaimsWorker) Work(ctx context.Context, _ *river.Job[PurgeClaimsArgs]) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	_, err := NewClaims(w.DB).Purge(ctx, now().Add(-w.Retention))
	return err
}

// PurgeClaimsPeriodically runs the purge hourly and once at start.
func PurgeClaimsPeriodically() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeClaimsArgs{}, jobs.ShopOpts(0) },
		&river.PeriodicJobOpts{RunOnStart: true})
}
