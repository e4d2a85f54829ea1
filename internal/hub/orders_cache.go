package hub

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// maxCachedPageBytes bounds the rendered pages each cache keeps in memory;
// past it the cache starts over. A tab of 25 orders is about 20 KB, so
// this is some two hundred shoppers browsing at once; an order page is
// about 4 KB, so a thousand order pages.
const maxCachedPageBytes = 4 << 20

// pageCache keeps rendered pages: the orders tab (Hub.pages) and the
// order page (Hub.orderPages). A page is kept under everything it was
// rendered from — the shop and customer, the customer's orders version
// (commerce.Store.OrdersVersion: moved by database triggers on any write
// to their orders, line items, shipments, returns or the returns
// platform's eligibility answers, by any process), the page asked for,
// the language, the links' prefix and query, every value of the layout,
// and the settings the page shows — so an entry is either exactly what
// rendering now would give, or never asked for again. What the clock
// alone changes (a return window closing) ends an entry at that instant.
// Each request still verifies its signature and reads the version (on
// PostgreSQL from commerce.Versions while nothing moved it); the page's
// reads and the rendering are saved.
type pageCache struct {
	mu    sync.Mutex
	pages map[string]cachedPage
	bytes int
}

type cachedPage struct {
	body        []byte
	contentType string
	// holdsUntil is the last instant the page is right on the clock
	// alone; zero: no passing of time changes it.
	holdsUntil time.Time
}

// get returns the page kept under key that is still right at now.
func (c *pageCache) get(key string, now time.Time) (cachedPage, bool) {
	c.mu.Lock()
	p, ok := c.pages[key]
	c.mu.Unlock()
	if ok && !p.holdsUntil.IsZero() && now.After(p.holdsUntil) {
		return cachedPage{}, false
	}
	return p, ok
}

func (c *pageCache) put(key string, p cachedPage) {
	size := len(key) + len(p.body)
	if size > maxCachedPageBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.pages[key]; ok {
		c.bytes -= len(key) + len(old.body)
	}
	if c.pages == nil || c.bytes+size > maxCachedPageBytes {
		c.pages, c.bytes = map[string]cachedPage{}, 0
	}
	c.pages[key] = p
	c.bytes += size
}

// pageKey writes a cache key field by field, each prefixed with its
// length, so no two different lists of fields write the same key.
type pageKey struct{ b strings.Builder }

func (k *pageKey) field(f string) {
	k.b.WriteString(strconv.Itoa(len(f)))
	k.b.WriteByte(':')
	k.b.WriteString(f)
}

func (k *pageKey) num(n int64) { k.field(strconv.FormatInt(n, 10)) }

func (k *pageKey) flag(b bool) { k.field(strconv.FormatBool(b)) }

// keyFor starts the key of a page of s's customer whose orders are at
// version: the page's name, the session and the layout around the page.
// ok is false for a page that is not kept (the admin preview shows the
// draft configuration, which has no version).
func (h *Hub) keyFor(page string, s *session, version int64) (k *pageKey, ok bool) {
	if s.mode == viaPreview || s.customer == nil || s.shop == nil {
		return nil, false
	}
	v := h.layoutView(s, "", nil)
	k = &pageKey{}
	k.field(page)
	k.num(s.shop.ID)
	k.num(s.customer.ID)
	k.num(version)
	k.field(s.loc.Lang)
	k.flag(s.inTheme())
	k.field(s.base)
	k.field(s.link("", nil)) // the carried query
	k.field(v.ShopName)
	k.field(v.StoreURL)
	k.field(v.MessagesURL)
	k.field(v.HelpURL)
	return k, true
}

// ordersPageKey names the orders tab s would be shown for page p of a
// customer whose orders are at version.
func (h *Hub) ordersPageKey(s *session, p database.Page, version int64) (key string, ok bool) {
	k, ok := h.keyFor("orders", s, version)
	if !ok {
		return "", false
	}
	k.num(int64(p.Limit))
	if p.After != nil {
		k.num(p.After.Key)
		k.num(p.After.ID)
	} else {
		k.field("")
	}
	k.field(s.customer.FirstName)
	return k.b.String(), true
}

// orderPageKey names the page of order id s would be shown (sent: just
// after a message was sent from it) while the customer's orders are at
// version. Besides the layout it names the settings the page shows: the
// Contact support form, and what decides the Returns section — the
// provider and its portals, the return window, and which Loop key answers
// eligibility (by its fingerprint; the key itself is never kept).
func (h *Hub) orderPageKey(s *session, id int64, sent bool, version int64) (key string, ok bool) {
	k, ok := h.keyFor("order", s, version)
	if !ok {
		return "", false
	}
	k.num(id)
	k.flag(sent)
	k.field(s.shop.Domain) // Reorder's store address off the App Proxy
	g, r := s.cfg.General, s.cfg.Returns
	k.flag(g.HelpdeskEnabled)
	k.num(int64(g.ReturnWindowDays))
	k.field(string(r.Provider))
	k.field(r.LoopPortalURL)
	k.field(r.PortalURL)
	if r.LoopAPIKey != "" {
		k.field(loop.KeyID(r.LoopAPIKey))
	} else {
		k.field("")
	}
	return k.b.String(), true
}

// capture passes a response through and keeps a copy of what it wrote.
type capture struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (c *capture) WriteHeader(status int) {
	c.status = status
	c.ResponseWriter.WriteHeader(status)
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body = append(c.body, b...)
	return c.ResponseWriter.Write(b)
}
