package hub

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/hubdesk/hubdesk/internal/database"
)

// maxCachedPageBytes bounds the rendered orders tabs kept in memory; past
// it the cache starts over. A tab of 25 orders is about 20 KB, so this is
// some two hundred shoppers browsing at once.
const maxCachedPageBytes = 4 << 20

// pageCache keeps rendered orders tabs. A page is kept under everything
// it was rendered from — the shop and customer, the customer's orders
// version (commerce.Store.OrdersVersion: moved by database triggers on
// any write to their orders, line items, shipments or returns, by any
// process), the page asked for, the language, the links' prefix and
// query, and every value of the layout — so an entry is either exactly
// what rendering now would give, or never asked for again. Each request
// still verifies its signature and reads the version; only the orders'
// reads and the rendering are saved.
type pageCache struct {
	mu    sync.Mutex
	pages map[string]cachedPage
	bytes int
}

type cachedPage struct {
	body        []byte
	contentType string
}

func (c *pageCache) get(key string) (cachedPage, bool) {
	c.mu.Lock()
	p, ok := c.pages[key]
	c.mu.Unlock()
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

// ordersPageKey names the orders tab s would be shown for page p of a
// customer whose orders are at version; ok is false for a page that is
// not kept (the admin preview shows the draft configuration, which has
// no version).
func (h *Hub) ordersPageKey(s *session, p database.Page, version int64) (key string, ok bool) {
	if s.mode == viaPreview || s.customer == nil || s.shop == nil {
		return "", false
	}
	v := h.layoutView(s, "", nil)
	var b strings.Builder
	field := func(f string) {
		b.WriteString(strconv.Itoa(len(f)))
		b.WriteByte(':')
		b.WriteString(f)
	}
	num := func(n int64) { field(strconv.FormatInt(n, 10)) }
	num(s.shop.ID)
	num(s.customer.ID)
	num(version)
	num(int64(p.Limit))
	if p.After != nil {
		num(p.After.Key)
		num(p.After.ID)
	} else {
		field("")
	}
	field(s.loc.Lang)
	field(strconv.FormatBool(s.inTheme()))
	field(s.base)
	field(s.link("", nil)) // the carried query
	field(s.customer.FirstName)
	field(v.ShopName)
	field(v.StoreURL)
	field(v.MessagesURL)
	field(v.HelpURL)
	return b.String(), true
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
