package intake

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Provider names the platform a webhook came from.
type Provider string

const (
	// ProviderLoop is Loop Returns.
	ProviderLoop Provider = "loop"
	// ProviderEmail is mail to a shop's support address: the raw MIME
	// message, whichever way it came (topic "smtp", "imap" or "webhook"),
	// its delivery id the Message-ID ("" when it has none: the digest).
	ProviderEmail Provider = "email"
	// ProviderShopify is Shopify's webhooks (POST /webhooks/shopify); the
	// delivery id carries X-Shopify-Webhook-Id and X-Shopify-Event-Id.
	ProviderShopify Provider = "shopify"
)

// Event is one webhook delivery as it arrived.
type Event struct {
	ID       int64
	ShopID   int64
	Provider Provider
	Topic    string
	// DeliveryID tells a redelivery from a new event: the provider's own
	// delivery id where it sends one, else a digest of the body.
	DeliveryID  string
	Body        []byte
	ReceivedAt  time.Time
	ProcessedAt *time.Time
	// Outcome is what processing made of the event, where its handler
	// said: why a mail made no ticket, say.
	Outcome string
	// Error is why the last processing attempt failed; "" when none did.
	Error string
}

// ErrNotFound: no such event in the shop.
var ErrNotFound = errors.New("intake: webhook event not found")

// Store keeps the webhook events.
type Store struct {
	db database.Querier
}

// NewStore returns the store over db (the database or a transaction).
func NewStore(db database.Querier) *Store { return &Store{db: db} }

// With returns the store running on q, typically a use case's transaction.
func (s *Store) With(q database.Querier) *Store { return &Store{db: q} }

// Insert stores ev and returns its id; inserted is false, and id 0, when
// the shop already has this provider's delivery.
func (s *Store) Insert(ctx context.Context, ev *Event) (id int64, inserted bool, err error) {
	body, encoding := encodeBody(ev.Body)
	err = s.db.ExecReturning(ctx, `INSERT INTO webhook_events (shop_id, provider, topic, delivery_id, body, body_encoding, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (shop_id, provider, delivery_id) DO NOTHING
		RETURNING id`,
		ev.ShopID, string(ev.Provider), ev.Topic, ev.DeliveryID, body, encoding, database.Time(ev.ReceivedAt)).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("intake: store %s webhook for shop %d: %w", ev.Provider, ev.ShopID, err)
	}
	return id, true, nil
}

// insertColumns are the columns an insert writes, in its VALUES order.
const insertColumns = 7

// InsertMany stores events in one statement and returns the id of each
// in the same order, 0 for a delivery already stored — before, or
// earlier in events. The statement carries a row count from a few fixed
// sizes (the last row repeated, a no-op), so PostgreSQL's statement
// cache holds a handful of texts, not one per count.
func (s *Store) InsertMany(ctx context.Context, events []*Event) ([]int64, error) {
	ids := make([]int64, len(events))
	if len(events) == 0 {
		return ids, nil
	}
	type key struct {
		shopID             int64
		provider, delivery string
	}
	first := make(map[key]int, len(events)) // each delivery's first index
	rows := paddedRows(len(events))
	args := make([]any, 0, rows*insertColumns)
	for i := range rows {
		ev := events[min(i, len(events)-1)]
		if i < len(events) {
			if _, seen := first[key{ev.ShopID, string(ev.Provider), ev.DeliveryID}]; !seen {
				first[key{ev.ShopID, string(ev.Provider), ev.DeliveryID}] = i
			}
		}
		body, encoding := encodeBody(ev.Body)
		args = append(args, ev.ShopID, string(ev.Provider), ev.Topic, ev.DeliveryID, body, encoding, database.Time(ev.ReceivedAt))
	}
	query := `INSERT INTO webhook_events (shop_id, provider, topic, delivery_id, body, body_encoding, received_at) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?),", rows), ",") +
		` ON CONFLICT (shop_id, provider, delivery_id) DO NOTHING RETURNING id, shop_id, provider, delivery_id`
	// In a transaction, which InTx joins when s runs on one: on the
	// database itself Query would read from the read-only pool.
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		result, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer result.Close()
		for result.Next() {
			var id int64
			var k key
			if err := result.Scan(&id, &k.shopID, &k.provider, &k.delivery); err != nil {
				return err
			}
			if i, ok := first[k]; ok {
				ids[i] = id
			}
		}
		return result.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("intake: store %d webhooks: %w", len(events), err)
	}
	return ids, nil
}

// paddedRows is the row count of an insert of n rows: the next power of
// two.
func paddedRows(n int) int {
	rows := 1
	for rows < n {
		rows *= 2
	}
	return rows
}

// Get returns the shop's event id.
func (s *Store) Get(ctx context.Context, shopID, id int64) (*Event, error) {
	ev := &Event{ID: id, ShopID: shopID}
	var body, encoding string
	err := s.db.QueryRow(ctx, `SELECT provider, topic, delivery_id, body, body_encoding, received_at, processed_at, outcome, error
		FROM webhook_events WHERE shop_id = ? AND id = ?`, shopID, id).
		Scan(&ev.Provider, &ev.Topic, &ev.DeliveryID, &body, &encoding, (*database.Time)(&ev.ReceivedAt), database.ScanOptionalTime(&ev.ProcessedAt), &ev.Outcome, &ev.Error)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("intake: load webhook event %d of shop %d: %w", id, shopID, err)
	}
	if ev.Body, err = decodeBody(body, encoding); err != nil {
		return nil, fmt.Errorf("intake: webhook event %d of shop %d: %w", id, shopID, err)
	}
	return ev, nil
}

// claim marks the shop's unprocessed event id processed at, clearing
// the error of an earlier attempt (Error is "" in what it returns), and
// returns the event: the
// processing transaction's first statement. A rollback leaves it
// unprocessed. ErrNotFound when there is no such event or it is
// processed already; on PostgreSQL a second claim of the event waits for
// the first transaction and then finds it processed.
func (s *Store) claim(ctx context.Context, shopID, id int64, at time.Time) (*Event, error) {
	ev := &Event{ID: id, ShopID: shopID}
	var body, encoding string
	err := s.db.ExecReturning(ctx, `UPDATE webhook_events SET processed_at = ?, error = ''
		WHERE shop_id = ? AND id = ? AND processed_at IS NULL
		RETURNING provider, topic, delivery_id, body, body_encoding, received_at, outcome`, database.Time(at), shopID, id).
		Scan(&ev.Provider, &ev.Topic, &ev.DeliveryID, &body, &encoding, (*database.Time)(&ev.ReceivedAt), &ev.Outcome)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNotFound
	case err != nil:
		return nil, fmt.Errorf("intake: claim webhook event %d of shop %d: %w", id, shopID, err)
	}
	if ev.Body, err = decodeBody(body, encoding); err != nil {
		return nil, fmt.Errorf("intake: webhook event %d of shop %d: %w", id, shopID, err)
	}
	return ev, nil
}

// claimMany is claim for several of the shop's events at once, in one
// statement, without writing them: those unprocessed are returned by id,
// held for this transaction (on PostgreSQL each row is locked, so a
// second claim waits for this transaction and then finds the event
// processed; on SQLite the transaction holds the one writer), and
// markMany marks those handled processed when the chunk ends. Those gone
// or processed already are absent. An event claimed but left unhandled
// is left as it was: nothing to undo. Writing each row once, at the end,
// rather than marking it here and recording its outcome there, halves
// the new versions of the event's row (its body with it).
func (s *Store) claimMany(ctx context.Context, shopID int64, ids []int64) (map[int64]*Event, error) {
	out := make(map[int64]*Event, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	table, idArgs := database.ValuesList(ids, "BIGINT", "k")
	lock := ""
	if s.db.Engine() == database.Postgres {
		lock = " FOR UPDATE OF webhook_events"
	}
	rows, err := s.db.Query(ctx, `SELECT webhook_events.id, provider, topic, delivery_id, body, body_encoding, received_at, outcome
		FROM `+table+` JOIN webhook_events ON webhook_events.id = k.column1
		WHERE webhook_events.shop_id = ? AND webhook_events.processed_at IS NULL`+lock,
		append(idArgs, shopID)...)
	if err != nil {
		return nil, fmt.Errorf("intake: claim %d webhook events of shop %d: %w", len(ids), shopID, err)
	}
	defer rows.Close()
	for rows.Next() {
		ev := &Event{ShopID: shopID}
		var body, encoding string
		if err := rows.Scan(&ev.ID, &ev.Provider, &ev.Topic, &ev.DeliveryID, &body, &encoding, (*database.Time)(&ev.ReceivedAt), &ev.Outcome); err != nil {
			return nil, fmt.Errorf("intake: claim webhook events of shop %d: %w", shopID, err)
		}
		if _, seen := out[ev.ID]; seen {
			continue // a padded repeat
		}
		if ev.Body, err = decodeBody(body, encoding); err != nil {
			return nil, fmt.Errorf("intake: webhook event %d of shop %d: %w", ev.ID, shopID, err)
		}
		out[ev.ID] = ev
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("intake: claim webhook events of shop %d: %w", shopID, err)
	}
	return out, nil
}

// outcome is what processing made of one event.
type outcome struct {
	id   int64
	text string
}

// markMany marks the shop's events, claimed and handled in this
// transaction (claimMany), processed at, clearing the error of an earlier
// attempt and recording what came of each where its handler said ("" keeps
// the outcome it had), in one statement.
func (s *Store) markMany(ctx context.Context, shopID int64, at time.Time, outcomes []outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	rows := paddedRows(len(outcomes))
	args := make([]any, 0, 2*rows+2)
	args = append(args, database.Time(at))
	for i := range rows {
		o := outcomes[min(i, len(outcomes)-1)] // the last repeated: a no-op
		var text any
		if o.text != "" {
			text = o.text
		}
		args = append(args, o.id, text)
	}
	args = append(args, shopID)
	_, err := s.db.Exec(ctx, `UPDATE webhook_events SET processed_at = ?, error = '', outcome = COALESCE(v.column2, webhook_events.outcome)
		FROM (VALUES `+strings.TrimSuffix(strings.Repeat("(CAST(? AS BIGINT), CAST(? AS TEXT)),", rows), ",")+`) AS v
		WHERE webhook_events.id = v.column1 AND webhook_events.shop_id = ?`, args...)
	if err != nil {
		return fmt.Errorf("intake: mark %d webhook events of shop %d processed: %w", len(outcomes), shopID, err)
	}
	return nil
}

// encodingBase64 marks a body stored in base64: bytes that are not text.
const encodingBase64 = "base64"

// encodeBody is the body as the text column stores it: as it came when it
// is UTF-8 without NUL (every JSON webhook, most mail), else base64 — raw
// mail may be 8-bit ISO-8859-1, which PostgreSQL's TEXT refuses, and the
// raw bytes are what a later fix of the parser needs.
func encodeBody(b []byte) (body, encoding string) {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b), ""
	}
	return base64.StdEncoding.EncodeToString(b), encodingBase64
}

func decodeBody(body, encoding string) ([]byte, error) {
	switch encoding {
	case "":
		return []byte(body), nil
	case encodingBase64:
		return base64.StdEncoding.DecodeString(body)
	}
	return nil, fmt.Errorf("body stored in unknown encoding %q", encoding)
}

// MarkProcessed records that the event was processed at, and what came
// of it where a handler said (Outcome; "" for none).
func (s *Store) MarkProcessed(ctx context.Context, shopID, id int64, at time.Time, outcome string) error {
	_, err := s.db.Exec(ctx, `UPDATE webhook_events SET processed_at = ?, error = '', outcome = ? WHERE shop_id = ? AND id = ?`,
		database.Time(at), outcome, shopID, id)
	if err != nil {
		return fmt.Errorf("intake: mark webhook event %d of shop %d processed: %w", id, shopID, err)
	}
	return nil
}

// MarkFailed records why processing the event failed; it stays
// unprocessed, for the job's next attempt.
func (s *Store) MarkFailed(ctx context.Context, shopID, id int64, reason string) error {
	_, err := s.db.Exec(ctx, `UPDATE webhook_events SET error = ? WHERE shop_id = ? AND id = ?`, reason, shopID, id)
	if err != nil {
		return fmt.Errorf("intake: record failure of webhook event %d of shop %d: %w", id, shopID, err)
	}
	return nil
}

// PurgeProcessed deletes every shop's events processed before cutoff —
// raw mail (provider email) before mailCutoff — and says how many.
// Unprocessed events are kept whatever their age: they are work not yet
// done. It is upkeep of no shop in particular, like removing expired
// sessions.
func (s *Store) PurgeProcessed(ctx context.Context, cutoff, mailCutoff time.Time) (int64, error) {
	var purged int64
	for _, q := range []struct {
		query  string
		cutoff time.Time
	}{
		{`DELETE FROM webhook_events WHERE processed_at IS NOT NULL AND processed_at < ? AND provider <> 'email'`, cutoff},
		{`DELETE FROM webhook_events WHERE processed_at IS NOT NULL AND processed_at < ? AND provider = 'email'`, mailCutoff},
	} {
		res, err := s.db.Exec(ctx, q.query, database.Time(q.cutoff))
		if err != nil {
			return purged, fmt.Errorf("intake: purge processed webhook events: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return purged, fmt.Errorf("intake: purge processed webhook events: %w", err)
		}
		purged += n
	}
	return purged, nil
}
