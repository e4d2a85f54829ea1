package loopsync

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/riverqueue/river"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// Handler applies Loop's webhook events (intake.Handler), inside the
// transaction that marks the event processed:
//
//   - a return event is stored when it is newer, by Loop's own time, than
//     the stored return; an event older than or equal to it, or without a
//     time to order it by, is a signal only: the return is re-read from
//     Loop's details (a job) and what Loop says now is stored;
//   - a label event changes the stored return's label when its
//     label_updated_at is newer than the last one applied; otherwise, or
//     for a return not stored yet, the return is re-read;
//   - return.processing.failed marks the return stuck with Loop's message
//     (re-read first when it is not stored yet).
//
// Other topics are acknowledged and left alone. Stored changes are told
// to live pages after the transaction commits.
func (s *Syncer) Handler() intake.Handler { return handler{s} }

type handler struct{ s *Syncer }

func (h handler) Handle(ctx context.Context, tx *database.Tx, ev *intake.Event) error {
	s := h.s
	// The event's logger, made only when there is something to say.
	log := func() *slog.Logger { return s.log.With("event", ev.ID, "topic", ev.Topic) }
	// The arrival time says only that webhooks reach us (the freshness
	// limit); it is never a return's version. Written at most once a
	// minute: every event of a busy shop writing the one row would queue
	// the processing jobs behind its lock; and read once per process,
	// which then remembers what it wrote.
	if err := s.webhookArrived(ctx, tx, ev.ShopID, ev.ReceivedAt); err != nil {
		return err
	}
	pre, _ := ctx.Value(prefetchKey{}).(*prefetched)
	parsed, ok := pre.event(ev.ID)
	var err error
	if !ok {
		parsed, err = loop.ParseWebhook(ev.Body)
	}
	if err != nil {
		log().WarnContext(ctx, "loopsync: Loop event cannot be read; not applied", "err", err)
		return nil
	}
	records := s.records.With(tx)
	switch {
	case parsed.Return != nil:
		return h.applyReturn(ctx, tx, records, ev.ShopID, parsed.Return)
	case parsed.Label != nil:
		pre.take(strings.TrimSpace(string(parsed.Label.ID))) // it changes the return: a later event reads it again
		return h.applyLabel(ctx, tx, records, ev.ShopID, parsed.Label)
	case parsed.Processing != nil:
		id := strings.TrimSpace(string(parsed.Processing.ReturnID))
		pre.take(id)
		if id == "" {
			log().WarnContext(ctx, "loopsync: processing failure without a return id; not applied")
			return nil
		}
		err := records.MarkProcessingFailed(ctx, ev.ShopID, returns.ProviderLoop, id, parsed.Processing.Message)
		if errors.Is(err, returns.ErrNotFound) {
			return h.reread(ctx, tx, ev.ShopID, id, parsed.Processing.Message, true)
		}
		if err != nil {
			return err
		}
		return h.told(ctx, tx, records, ev.ShopID, id)
	}
	log().DebugContext(ctx, "loopsync: Loop event of a topic hubdesk does not apply; ignored")
	return nil
}

func (h handler) applyReturn(ctx context.Context, tx *database.Tx, records *returns.Records, shopID int64, in *loop.ReturnEvent) error {
	r, problem := translate(in.Return)
	if problem != "" {
		if r.ExternalID != "" {
			// Loop knows the return: ask it rather than drop the signal.
			return h.reread(ctx, tx, shopID, r.ExternalID, "", false)
		}
		h.s.log.WarnContext(ctx, "loopsync: Loop return event not applied: "+problem)
		return nil
	}
	pre, _ := ctx.Value(prefetchKey{}).(*prefetched)
	stored, read := pre.take(r.ExternalID)
	if !read {
		var err error
		stored, err = records.Get(ctx, shopID, returns.ProviderLoop, r.ExternalID)
		if err != nil && !errors.Is(err, returns.ErrNotFound) {
			return err
		}
	}
	if stored != nil && !r.UpdatedAt.After(stored.UpdatedAt) {
		return h.reread(ctx, tx, shopID, r.ExternalID, "", false)
	}
	res, orderID, err := records.UpsertOver(ctx, shopID, r, stored)
	if err != nil {
		return err
	}
	if res != commerce.Stale && differs(stored, r) && orderID != 0 {
		tx.AfterCommit(func() { h.s.publish(ctx, shopID, []int64{orderID}) })
	}
	return nil
}

func (h handler) applyLabel(ctx context.Context, tx *database.Tx, records *returns.Records, shopID int64, in *loop.LabelEvent) error {
	id := strings.TrimSpace(string(in.ID))
	if id == "" {
		h.s.log.WarnContext(ctx, "loopsync: Loop label event without a return id; not applied")
		return nil
	}
	if in.LabelUpdatedAt.IsZero() {
		return h.reread(ctx, tx, shopID, id, "", false) // "N/A": no time to order it by
	}
	res, err := records.ApplyLabel(ctx, shopID, returns.ProviderLoop, id, returns.Label{
		Carrier: notNA(in.Carrier), TrackingNumber: in.Tracking(), LabelStatus: notNA(in.LabelStatus), UpdatedAt: in.LabelUpdatedAt.Time,
	})
	switch {
	case errors.Is(err, returns.ErrNotFound), err == nil && res == commerce.Stale:
		return h.reread(ctx, tx, shopID, id, "", false)
	case err != nil:
		return err
	}
	return h.told(ctx, tx, records, shopID, id)
}

// reread enqueues the read of the return from Loop's details, in tx.
func (h handler) reread(ctx context.Context, tx *database.Tx, shopID int64, returnID, processingError string, failed bool) error {
	_, err := h.s.opts.Queue.Enqueue(ctx, tx, RefreshReturnArgs{ShopID: shopID, ReturnID: returnID, ProcessingFailed: failed, ProcessingError: processingError},
		refreshReturnOpts())
	return err
}

// told publishes, after tx commits, the order of the stored return.
func (h handler) told(ctx context.Context, tx *database.Tx, records *returns.Records, shopID int64, returnID string) error {
	r, err := records.Get(ctx, shopID, returns.ProviderLoop, returnID)
	if err != nil || r.OrderID == 0 {
		return err
	}
	tx.AfterCommit(func() { h.s.publish(ctx, shopID, []int64{r.OrderID}) })
	return nil
}

// refreshReturnOpts: one pending re-read per return; the refresh queue,
// ahead of reconciliation.
func refreshReturnOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: Queue, Priority: 1, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: inFlight}}
}

// Prefetch reads, for a chunk of the shop's events, the stored returns
// their return events name, in one statement, and keeps each event
// parsed (intake.Prefetcher).
func (h handler) Prefetch(ctx context.Context, tx *database.Tx, events []*intake.Event) (context.Context, error) {
	if len(events) == 0 {
		return ctx, nil
	}
	p := &prefetched{parsed: make(map[int64]loop.Event, len(events)), stored: map[string]*returns.Return{}}
	var ids []string
	for _, ev := range events {
		parsed, err := loop.ParseWebhook(ev.Body)
		if err != nil {
			continue // Handle says why
		}
		p.parsed[ev.ID] = parsed
		if parsed.Return != nil {
			if r, problem := translate(parsed.Return.Return); problem == "" {
				ids = append(ids, r.ExternalID)
			}
		}
	}
	if len(ids) > 0 {
		found, err := h.s.records.With(tx).GetMany(ctx, events[0].ShopID, returns.ProviderLoop, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			p.stored[id] = found[id] // nil: not stored
		}
	}
	return context.WithValue(ctx, prefetchKey{}, p), nil
}

type prefetchKey struct{}

// prefetched is what Prefetch read for a chunk's events.
type prefetched struct {
	parsed map[int64]loop.Event
	// stored holds each return read (nil when not stored) until the
	// first event of the chunk about it takes it: it writes the return,
	// so a later one reads it again.
	stored map[string]*returns.Return
}

func (p *prefetched) event(id int64) (loop.Event, bool) {
	if p == nil {
		return loop.Event{}, false
	}
	ev, ok := p.parsed[id]
	return ev, ok
}

func (p *prefetched) take(externalID string) (*returns.Return, bool) {
	if p == nil {
		return nil, false
	}
	r, ok := p.stored[externalID]
	delete(p.stored, externalID)
	return r, ok
}
