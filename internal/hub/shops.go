package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/shop"
)

// shopTTL is how long a shop and its client secret are remembered. Every
// hub request needs both before it can verify anything, and they rarely
// change; a signature that fails against a remembered secret is checked
// once more against a fresh one, so a rotated secret works at once.
const shopTTL = time.Minute

// maxCachedShops bounds the memory; past it the cache starts over.
const maxCachedShops = 10_000

type shopEntry struct {
	shop   *shop.Shop
	secret string
	at     time.Time
}

type shopCache struct {
	mu       sync.RWMutex
	byDomain map[string]*shopEntry
	byID     map[int64]*shopEntry
}

// shopByDomain returns the shop and its secret; cached says whether they
// came from memory (and may be worth a fresh look when a check fails).
// An unknown domain is a *notFoundError.
func (h *Hub) shopByDomain(ctx context.Context, domain string, fresh bool) (e *shopEntry, cached bool, err error) {
	domain = strings.ToLower(domain)
	if !fresh {
		h.shops.mu.RLock()
		e = h.shops.byDomain[domain]
		h.shops.mu.RUnlock()
		if e != nil && h.opts.Now().Sub(e.at) < shopTTL {
			return e, true, nil
		}
	}
	sh, err := h.opts.Shops.GetByDomain(ctx, domain)
	if errors.Is(err, shop.ErrNotFound) {
		return nil, false, &notFoundError{"shop"}
	}
	if err != nil {
		return nil, false, fmt.Errorf("hub: shop %q: %w", domain, err)
	}
	e, err = h.remember(ctx, sh)
	return e, false, err
}

// shopByID is shopByDomain for shopper tokens, which name the shop by id.
func (h *Hub) shopByID(ctx context.Context, id int64, fresh bool) (e *shopEntry, cached bool, err error) {
	if !fresh {
		h.shops.mu.RLock()
		e = h.shops.byID[id]
		h.shops.mu.RUnlock()
		if e != nil && h.opts.Now().Sub(e.at) < shopTTL {
			return e, true, nil
		}
	}
	sh, err := h.opts.Shops.Get(ctx, id)
	if errors.Is(err, shop.ErrNotFound) {
		return nil, false, &notFoundError{"shop"}
	}
	if err != nil {
		return nil, false, fmt.Errorf("hub: shop %d: %w", id, err)
	}
	e, err = h.remember(ctx, sh)
	return e, false, err
}

func (h *Hub) remember(ctx context.Context, sh *shop.Shop) (*shopEntry, error) {
	secret, err := h.opts.Shops.ClientSecret(ctx, sh.ID)
	if err != nil {
		return nil, unreadable(sh, fmt.Errorf("hub: client secret of shop %d: %w", sh.ID, err))
	}
	e := &shopEntry{shop: sh, secret: secret, at: h.opts.Now()}
	h.shops.mu.Lock()
	if h.shops.byDomain == nil || len(h.shops.byDomain) >= maxCachedShops {
		h.shops.byDomain, h.shops.byID = map[string]*shopEntry{}, map[int64]*shopEntry{}
	}
	h.shops.byDomain[sh.Domain] = e
	h.shops.byID[sh.ID] = e
	h.shops.mu.Unlock()
	return e, nil
}
