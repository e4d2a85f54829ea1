package hub

import (
	"context"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
)

// customerTTL is how long a shopper's record is remembered: every hub page
// starts by looking the signed-in shopper up, and a shopper opens several
// pages in a row. A change to their name shows within seconds; a shopper
// not found is never remembered, so one synced a moment ago appears at once.
const customerTTL = 5 * time.Second

// maxCachedCustomers bounds the memory; past it the cache starts over.
const maxCachedCustomers = 50_000

type customerKey struct {
	shopID     int64
	externalID string
}

type customerEntry struct {
	customer *commerce.Customer
	at       time.Time
}

type customerCache struct {
	mu sync.Mutex
	m  map[customerKey]customerEntry
}

// customer returns the shop's customer with the platform id externalID.
func (h *Hub) customer(ctx context.Context, shopID int64, externalID string) (*commerce.Customer, error) {
	key := customerKey{shopID, externalID}
	now := h.opts.Now()
	h.customers.mu.Lock()
	e, ok := h.customers.m[key]
	h.customers.mu.Unlock()
	if ok && now.Sub(e.at) < customerTTL {
		return e.customer, nil
	}
	c, err := h.opts.Commerce.CustomerByExternalID(ctx, shopID, externalID)
	if err != nil {
		return nil, err
	}
	if f := h.opts.Freshness; f != nil {
		// Off the request's path: the page renders from the store now.
		go func(ctx context.Context, id int64) {
			if _, err := f.Freshen(ctx, shopID, id); err != nil {
				h.log.WarnContext(ctx, "hub: ask for a customer's orders refresh", "shop", shopID, "err", err)
			}
		}(context.WithoutCancel(ctx), c.ID)
	}
	h.customers.mu.Lock()
	if h.customers.m == nil || len(h.customers.m) >= maxCachedCustomers {
		h.customers.m = map[customerKey]customerEntry{}
	}
	h.customers.m[key] = customerEntry{customer: c, at: now}
	h.customers.mu.Unlock()
	return c, nil
}
