package shopifyhooks

import (
	"context"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ingest"
	"github.com/hubdesk/hubdesk/internal/intake"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// Prefetch reads what a chunk of the shop's events needs before they are
// handled one by one in the same transaction (intake.Prefetcher): who
// claimed their webhook and event ids, in one statement, and the stored
// customers, orders and shipments they are about (commerce.Known), in
// one statement each; and it records the chunk's claims, in one more.
// Each event is parsed once, here. The customers of the chunk's events
// (and of its orders) and the shipments of orders stored before it are
// written here too, in one statement each (commerce.WriteAhead), up to
// its first event of another topic. An event then costs its own writes
// only — a duplicate nothing, a new order its row — and Finish writes
// the lines and shipments of the chunk's new orders, and attaches the
// returns waiting for them, in one statement each.
func (h *Handler) Prefetch(ctx context.Context, tx *database.Tx, events []*intake.Event) (context.Context, error) {
	if len(events) == 0 {
		return ctx, nil
	}
	shopID := events[0].ShopID
	var keys []string
	for _, ev := range events {
		keys = append(keys, claimKeys(ev)...)
	}
	owners, err := h.Claims.With(tx).Owners(ctx, shopID, keys)
	if err != nil {
		return nil, err
	}
	p := &prefetched{verdicts: make(map[int64]verdict, len(events)), bodies: make(map[int64]any, len(events))}
	var want commerce.Wanted
	// What the chunk's events up to the first of another kind upsert
	// (WriteAhead): a later one may read or erase what they write (a
	// refund reads its order, a redact erases the customer's records).
	var ahead commerce.Upcoming
	other := false
	for _, ev := range events {
		// As Claim would find it, the chunk's events in order: each
		// claims its keys up to one another event holds.
		var v verdict
		for _, k := range claimKeys(ev) {
			by, claimed := owners[k]
			if claimed && by != ev.ID {
				v.duplicate = k
				break
			}
			if !claimed {
				owners[k] = ev.ID
				v.take = append(v.take, k)
			}
		}
		p.verdicts[ev.ID] = v
		if v.duplicate != "" {
			continue
		}
		parsed, err := shopify.ParseWebhook(ev.Topic, ev.Body)
		if err != nil {
			continue // HandleOutcome says why
		}
		p.bodies[ev.ID] = parsed
		switch v := parsed.(type) {
		case *shopify.WebhookOrder:
			o, c, err := translateOrder(v)
			if err != nil {
				continue
			}
			want.Orders = append(want.Orders, o.ExternalID)
			if c != nil {
				want.Customers = append(want.Customers, c.ExternalID)
				want.Emails = append(want.Emails, c.Email)
			}
			if !other {
				ahead.Orders = append(ahead.Orders, o.ExternalID)
				if c != nil {
					ahead.Customers = append(ahead.Customers, commerce.UpcomingCustomer{Customer: *c, Of: &o})
				}
			}
		case *shopify.WebhookFulfillment:
			want.Orders = append(want.Orders, string(v.OrderID))
			want.Shipments = append(want.Shipments, [2]string{string(v.OrderID), string(v.ID)})
			if !other {
				ahead.Shipments = append(ahead.Shipments, commerce.UpcomingShipment{OrderExternalID: string(v.OrderID), Fulfillment: translateFulfillment(v)})
			}
		case *shopify.WebhookCustomer:
			want.Customers = append(want.Customers, string(v.ID))
			want.Emails = append(want.Emails, v.Email)
			if !other {
				ahead.Customers = append(ahead.Customers, commerce.UpcomingCustomer{Customer: translateCustomer(v, "")})
			}
		default:
			other = true
		}
	}
	// The claims of the chunk's events in one insert. Should some have
	// been claimed since they were read (by another transaction, on
	// PostgreSQL), their owners are read, and each event holding one of
	// them is a duplicate from that key on: it gives back its later keys,
	// as Claim would have it.
	var claims []Claim
	for _, ev := range events {
		for _, k := range p.verdicts[ev.ID].take {
			claims = append(claims, Claim{Event: ev.ID, Key: k, At: ev.ReceivedAt})
		}
	}
	refused, err := h.Claims.With(tx).TakeAll(ctx, shopID, claims)
	if err != nil {
		return nil, err
	}
	if len(refused) > 0 {
		owners, err := h.Claims.With(tx).Owners(ctx, shopID, refused)
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			v := p.verdicts[ev.ID]
			for i, k := range v.take {
				if by, ok := owners[k]; !ok || by == ev.ID {
					continue
				}
				if err := h.Claims.With(tx).GiveBack(ctx, shopID, ev.ID, v.take[i+1:]); err != nil {
					return nil, err
				}
				p.verdicts[ev.ID] = verdict{take: v.take[:i], duplicate: k}
				break
			}
		}
	}
	if len(want.Orders) > 0 || len(want.Customers) > 0 {
		if p.known, err = h.Commerce.With(tx).Know(ctx, shopID, want); err != nil {
			return nil, err
		}
		store := h.Commerce.With(tx).WithKnown(p.known)
		p.orders = ingest.New(tx, store, h.Returns.With(tx)).Run(shopID)
		// Only with every claim recorded is each event the writes ahead
		// were gathered for known to be no duplicate.
		if len(refused) == 0 {
			if err := store.WriteAhead(ctx, shopID, ahead); err != nil {
				return nil, err
			}
		}
	}
	return context.WithValue(ctx, prefetchKey{}, p), nil
}

// Finish writes what the chunk's orders left for the end of it (see
// ingest.Run): the lines and shipments of the new ones, the returns
// waiting for them (intake.Finisher).
func (h *Handler) Finish(ctx context.Context, tx *database.Tx) error {
	p, _ := ctx.Value(prefetchKey{}).(*prefetched)
	return p.finish(ctx)
}

func (p *prefetched) finish(ctx context.Context) error {
	if p == nil || p.orders == nil {
		return nil
	}
	return p.orders.Finish(ctx)
}

type prefetchKey struct{}

// prefetched is what Prefetch read for a chunk's events.
type prefetched struct {
	verdicts map[int64]verdict
	bodies   map[int64]any // each event parsed
	known    *commerce.Known
	orders   *ingest.Run // the chunk's orders, when it has any
}

// verdict is what an event's claims come to, as the chunk's Prefetch
// found and recorded them.
type verdict struct {
	take      []string // its keys nobody claimed: it claims them
	duplicate string   // the key another event claimed, if any
}

func (p *prefetched) verdict(id int64) (verdict, bool) {
	if p == nil {
		return verdict{}, false
	}
	v, ok := p.verdicts[id]
	return v, ok
}

func (p *prefetched) parsed(id int64) (any, bool) {
	if p == nil {
		return nil, false
	}
	v, ok := p.bodies[id]
	return v, ok
}

// commerce is store knowing what Prefetch read.
func (p *prefetched) commerce(store *commerce.Store) *commerce.Store {
	if p == nil || p.known == nil {
		return store
	}
	return store.WithKnown(p.known)
}
