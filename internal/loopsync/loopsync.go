// Package loopsync keeps the stored Loop returns fresh without ever
// making a page wait on Loop: signed webhooks applied in Loop's own order
// (a report that cannot be ordered is re-read from Loop instead), the
// webhook subscriptions registered and removed with the key, a periodic
// reconciliation per shop from its watermark, and a background refresh
// of an open ticket's orders when their data is older than the freshness
// limit. Every Loop call runs as a job; every change that reaches the
// store is told to the shop's live pages after it commits.
package loopsync

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/live"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// Freshness limits: how old an open ticket's returns may be before they
// are refreshed in the background. While webhooks arrive, stored returns
// follow Loop within seconds and a refresh only guards against a lost
// one; without them, the refresh is all there is.
const (
	FreshWithWebhooks    = 10 * time.Minute
	FreshWithoutWebhooks = time.Minute
	// webhooksArriving is how recent the last verified webhook must be for
	// the shop to count as receiving them.
	webhooksArriving = 24 * time.Hour
)

// DefaultReconcileInterval is how often each shop is reconciled when
// HUBDESK_LOOP_RECONCILE_INTERVAL does not say.
const DefaultReconcileInterval = 15 * time.Minute

// InitialLookback is how far back the first reconciliation of a shop
// reaches: one of Loop's 120-day windows.
const InitialLookback = loop.MaxListWindow

// reconcileOverlap re-reads a little before the watermark: Loop's
// updated_at and our clock are not the same clock.
const reconcileOverlap = 2 * time.Minute

// Queue is the job queue of the refreshes: their own, so an open ticket's
// refreshes never wait behind mail or reconciliation, with RefreshWorkers
// bounding how many run at once per process.
const Queue = orderview.LoopRefreshQueue

// RefreshWorkers bounds the refreshes one process runs at once: a
// customer's 20 orders are read in one wave, well inside Loop's 300 calls
// a minute (and the client's limiter holds that line anyway).
const RefreshWorkers = 20

// Publisher tells live pages what changed (live.Bus).
type Publisher interface {
	Publish(ctx context.Context, e live.Event)
}

// Options build a Syncer.
type Options struct {
	DB          *database.DB
	Loop        *loop.Client // the base client; each shop's key is derived with WithKey
	Connections *connection.Store
	Shops       *shop.Store
	Commerce    *commerce.Store
	Queue       *jobs.Queue
	Box         *secret.Box // seals an old key until its subscriptions are removed
	Live        Publisher   // nil: nobody is told
	// BaseURL is hubdesk's public root, where Loop delivers webhooks.
	BaseURL           string
	ReconcileInterval time.Duration
	Logger            *slog.Logger
	Now               func() time.Time
}

// Syncer is the use case.
type Syncer struct {
	opts    Options
	store   *Store
	records *returns.Records
	log     *slog.Logger
	now     func() time.Time
	// okAt is when this process last recorded a successful call per
	// shop (recordCall).
	okMu sync.Mutex
	okAt map[int64]time.Time
	// health keeps each shop's health briefly for the pages that read it
	// on every ticket view (the notice, the freshness limit); this
	// process's own records drop it.
	health *ttlcache.Cache[int64, Health]
	// webhookAt is the last arrival of a webhook this process knows is
	// recorded per shop (webhookArrived).
	webhookMu sync.Mutex
	webhookAt map[int64]time.Time
	// checks remembers when orders' returns were last read from Loop, as
	// this process learned it (Freshen's reads of loop_order_checks, its
	// own refreshes), so that a view of orders read within the freshness
	// limit asks the database nothing (rememberCheck, checkedAt).
	checksMu sync.Mutex
	checks   map[orderKey]time.Time
	// asks remembers when this process last asked for an order's
	// refresh (under checksMu): while the job is queued or running, views
	// of the order ask nothing (askedRecently).
	asks map[orderKey]time.Time
}

// webhookArrived records, in tx, that a verified webhook of the shop
// arrived at — when the one recorded is a minute older or more. What is
// recorded is read from the database once per process and remembered
// after each write commits.
func (s *Syncer) webhookArrived(ctx context.Context, tx *database.Tx, shopID int64, at time.Time) error {
	s.webhookMu.Lock()
	last, known := s.webhookAt[shopID]
	s.webhookMu.Unlock()
	if !known {
		h, err := s.store.With(tx).Health(ctx, shopID)
		if err != nil {
			return err
		}
		if h.LastWebhookAt != nil {
			last, known = *h.LastWebhookAt, true
			s.rememberWebhook(shopID, last)
		}
	}
	if known && at.Sub(last) < time.Minute {
		return nil
	}
	if err := s.store.With(tx).WebhookArrived(ctx, shopID, at); err != nil {
		return err
	}
	tx.AfterCommit(func() { s.rememberWebhook(shopID, at) })
	return nil
}

func (s *Syncer) rememberWebhook(shopID int64, at time.Time) {
	s.webhookMu.Lock()
	defer s.webhookMu.Unlock()
	if len(s.webhookAt) >= 10_000 {
		clear(s.webhookAt)
	}
	s.webhookAt[shopID] = at
}

// orderKey names one order of one shop.
type orderKey struct{ shop, order int64 }

// maxRememberedChecks bounds checks: past it the memory starts again
// (Freshen then reads the times once more).
const maxRememberedChecks = 100_000

// rememberCheck records that the order's returns were read from Loop at
// at, unless a later read is known.
func (s *Syncer) rememberCheck(shopID, orderID int64, at time.Time) {
	s.checksMu.Lock()
	defer s.checksMu.Unlock()
	k := orderKey{shopID, orderID}
	if prev, ok := s.checks[k]; ok && !at.After(prev) {
		return
	}
	if len(s.checks) >= maxRememberedChecks {
		clear(s.checks)
	}
	s.checks[k] = at
}

// checkedAt is when this process last knew the order's returns to be
// read from Loop. Times only move forward (a later read replaces an
// earlier one), so an order known fresh here is fresh.
func (s *Syncer) checkedAt(shopID, orderID int64) (time.Time, bool) {
	s.checksMu.Lock()
	defer s.checksMu.Unlock()
	at, ok := s.checks[orderKey{shopID, orderID}]
	return at, ok
}

// ForgetChecks drops what this process remembers of when orders were
// read from Loop: for rows of loop_order_checks removed behind its back
// (tests that make orders stale again).
func (s *Syncer) ForgetChecks() {
	s.checksMu.Lock()
	defer s.checksMu.Unlock()
	clear(s.checks)
	clear(s.asks)
}

// askAgainAfter is how long after asking for an order's refresh this
// process asks again, whatever views come meanwhile. A refresh waits its
// turn in Loop's rate budget (300 calls a minute per key): a customer's
// cards can wait minutes for theirs, and every view of them asking anew
// cost the page an insert that the queue drops as a duplicate — a
// quarter of the server's time on a busy desk. A refresh that failed is
// asked again by the first view after it.
const askAgainAfter = time.Minute

// rememberAsks records that refreshes of the orders were asked at at.
func (s *Syncer) rememberAsks(shopID int64, orderIDs []int64, at time.Time) {
	s.checksMu.Lock()
	defer s.checksMu.Unlock()
	if len(s.asks)+len(orderIDs) > maxRememberedChecks {
		clear(s.asks)
	}
	for _, id := range orderIDs {
		s.asks[orderKey{shopID, id}] = at
	}
}

// askedRecently tells whether this process asked for the order's refresh
// less than askAgainAfter before now.
func (s *Syncer) askedRecently(shopID, orderID int64, now time.Time) bool {
	s.checksMu.Lock()
	defer s.checksMu.Unlock()
	at, ok := s.asks[orderKey{shopID, orderID}]
	return ok && now.Sub(at) < askAgainAfter && !now.Before(at)
}

// healthTTL is how long a page may show a shop's health as read.
const healthTTL = 2 * time.Second

// cachedHealth is the shop's health as pages read it.
func (s *Syncer) cachedHealth(ctx context.Context, shopID int64) (Health, error) {
	return s.health.Get(shopID, func() (Health, error) { return s.store.Health(ctx, shopID) })
}

// New returns the syncer.
func New(opts Options) *Syncer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReconcileInterval <= 0 {
		opts.ReconcileInterval = DefaultReconcileInterval
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	return &Syncer{opts: opts, store: NewStore(opts.DB), records: returns.NewRecords(opts.DB), log: opts.Logger, now: opts.Now,
		okAt: map[int64]time.Time{}, webhookAt: map[int64]time.Time{}, health: ttlcache.New[int64, Health](healthTTL, nil),
		checks: map[orderKey]time.Time{}, asks: map[orderKey]time.Time{}}
}

// SetQueue gives the syncer its job queue, made after the syncer (the
// queue's workers include the syncer's own).
func (s *Syncer) SetQueue(q *jobs.Queue) { s.opts.Queue = q }

// Store is the syncer's store, for pages that show the health.
func (s *Syncer) Store() *Store { return s.store }

// Health is the shop's Loop health, for the notice on order cards.
func (s *Syncer) Health(ctx context.Context, shopID int64) (Health, error) {
	return s.store.Health(ctx, shopID)
}

// SyncHealth is the shop's Loop health as order cards word it
// (orderview's SyncHealthReader): why the last call failed, since when,
// and when one last succeeded.
func (s *Syncer) SyncHealth(ctx context.Context, shopID int64) (returns.SyncHealth, error) {
	h, err := s.cachedHealth(ctx, shopID)
	if err != nil {
		return returns.SyncHealth{}, err
	}
	return h.Sync(), nil
}

// WebhookURL is where Loop delivers the shop's webhooks.
func (s *Syncer) WebhookURL(sh *shop.Shop) string {
	return s.opts.BaseURL + "/webhooks/loop/" + sh.Domain
}

// errNotConnected: the shop has no Loop key; there is nothing to sync.
var errNotConnected = errors.New("loopsync: shop not connected to Loop")

// client is the shop's Loop client, for a job. The connections' cache
// may say the shop has no Loop for a moment after another process
// connected it (connection.CacheTTL), and a job queued since — a
// webhook's re-read, a reconciliation — would then end as if there were
// nothing to do, its work lost: so "not connected" is asked again past
// the cache before it is believed. Only a shop with no Loop pays the read.
func (s *Syncer) client(ctx context.Context, shopID int64) (*loop.Client, error) {
	conn, err := s.opts.Connections.Get(ctx, shopID, connection.ProviderLoop)
	if errors.Is(err, connection.ErrNotFound) {
		conn, err = s.opts.Connections.Fresh(ctx, shopID, connection.ProviderLoop)
	}
	return s.clientFrom(conn, err)
}

// freshClient is client with the connection read past the cache: for
// the jobs queued with the key's save (subscribing its webhooks), which
// may run in another process still caching the shop as not connected,
// and would then end as if there were nothing to do.
func (s *Syncer) freshClient(ctx context.Context, shopID int64) (*loop.Client, error) {
	return s.clientFrom(s.opts.Connections.Fresh(ctx, shopID, connection.ProviderLoop))
}

func (s *Syncer) clientFrom(conn *connection.Connection, err error) (*loop.Client, error) {
	if errors.Is(err, connection.ErrNotFound) {
		return nil, errNotConnected
	}
	if err != nil {
		return nil, err
	}
	return s.opts.Loop.WithKey(conn.Credentials), nil
}

// okRecordEvery is how often one process records that calls to a shop's
// Loop succeed while they keep succeeding: the shop's one health row would
// otherwise be written by every refresh, and a ticket's 20 refreshes
// finishing together would queue on its lock.
const okRecordEvery = 5 * time.Second

// recordCall keeps the outcome of a call for the health notice. A failure
// is always written; a success only when this process has not written one
// in the last okRecordEvery with no failure since (another process's
// failure may then show for those few seconds more). A failure to record
// is logged: the health is advice, the sync is the work.
func (s *Syncer) recordCall(ctx context.Context, shopID int64, err error) {
	now := s.now()
	var rerr error
	if err == nil {
		s.okMu.Lock()
		last, ok := s.okAt[shopID]
		fresh := ok && now.Sub(last) < okRecordEvery && !now.Before(last)
		if !fresh {
			s.okAt[shopID] = now
		}
		s.okMu.Unlock()
		if fresh {
			return
		}
		rerr = s.store.CallSucceeded(ctx, shopID, now)
	} else {
		s.okMu.Lock()
		delete(s.okAt, shopID)
		s.okMu.Unlock()
		rerr = s.store.CallFailed(ctx, shopID, now, string(loop.KindOf(err)))
	}
	s.health.Forget(shopID)
	if rerr != nil {
		s.log.WarnContext(ctx, "loopsync: record call outcome", "shop", shopID, "err", rerr)
	}
}

// publish tells the shop's live pages that the orders' returns changed.
func (s *Syncer) publish(ctx context.Context, shopID int64, orderIDs []int64) {
	if s.opts.Live == nil || len(orderIDs) == 0 {
		return
	}
	s.opts.Live.Publish(context.WithoutCancel(ctx), live.ReturnsEvent(shopID, orderIDs))
}

// translate makes Loop's return the stored one, or says why it cannot be
// stored. The order is named by provider_order_id, the platform's own id
// of the order (orders.external_id), never by Loop's internal order_id;
// returns.Records attaches by it, and by the name only when that is
// unambiguous. The version is Loop's own time of the return's last
// change — edited_at (the webhook's), updated_at (the list's), whichever
// is later, else created_at — never the time a report arrived.
func translate(in loop.Return) (returns.Return, string) {
	r := returns.Return{
		Provider: returns.ProviderLoop, ExternalID: strings.TrimSpace(string(in.ID)),
		OrderName: strings.TrimSpace(in.OrderName), OrderExternalID: strings.TrimSpace(string(in.ProviderOrderID)),
		State: returns.ReturnState(in.State), Outcome: in.Outcome, Carrier: in.CarrierName(), TrackingNumber: in.Tracking(),
		LabelStatus: in.Label(), LabelURL: notNA(in.LabelURL), StatusPageURL: in.StatusPageURL, CreatedAt: in.CreatedAt.Time,
		LineItems: items(in.LineItems),
	}
	r.UpdatedAt = version(in)
	switch {
	case r.ExternalID == "":
		return r, "no return id"
	case !in.State.Valid():
		return r, "no known state"
	case r.OrderName == "" && r.OrderExternalID == "":
		return r, "no order"
	case r.UpdatedAt.IsZero():
		return r, "no time of change to order it by"
	}
	return r, ""
}

// version is Loop's time of the return's last change; zero when Loop sent
// none.
func version(in loop.Return) time.Time {
	v := in.EditedAt.Time
	if in.UpdatedAt.After(v) {
		v = in.UpdatedAt.Time
	}
	if v.IsZero() {
		v = in.CreatedAt.Time
	}
	return v
}

// items groups Loop's line items (one per unit) by title, variant and
// reason.
func items(in []loop.LineItem) []returns.ReturnedItem {
	out := []returns.ReturnedItem{}
	index := map[[3]string]int{}
	for _, li := range in {
		variant := strings.TrimSpace(li.VariantTitle)
		if variant == "" {
			variant = strings.TrimSpace(li.SKU)
		}
		reason := strings.TrimSpace(li.ReturnReason)
		key := [3]string{li.Title, variant, reason}
		qty := 1
		if n, err := li.Quantity.Int64(); err == nil && n > 1 && n < 1<<20 {
			qty = int(n)
		}
		if i, ok := index[key]; ok {
			out[i].Quantity += qty
			continue
		}
		index[key] = len(out)
		out = append(out, returns.ReturnedItem{Title: li.Title, Variant: variant, Quantity: qty, Reason: reason})
	}
	return out
}

// notNA is s, or "" for Loop's "N/A" placeholder.
func notNA(s string) string {
	if strings.EqualFold(strings.TrimSpace(s), "N/A") {
		return ""
	}
	return s
}

// differs reports whether storing next over stored changes what agents
// see, so that only real changes reach live pages.
func differs(stored *returns.Return, next returns.Return) bool {
	if stored == nil {
		return true
	}
	return stored.State != next.State || stored.Carrier != next.Carrier || stored.TrackingNumber != next.TrackingNumber ||
		stored.LabelStatus != next.LabelStatus || stored.LabelURL != next.LabelURL || stored.Outcome != next.Outcome ||
		stored.StatusPageURL != next.StatusPageURL || len(stored.LineItems) != len(next.LineItems) ||
		(stored.OrderID == 0 && next.OrderExternalID != "")
}
