package hub

import "time"

// SignTokenForTest signs a shopper token with any claims, so tests can
// present expired, foreign or renewed tokens.
func SignTokenForTest(shopID, customerID int64, expires, start time.Time, clientSecret string) string {
	return signToken(tokenClaims{ShopID: shopID, CustomerID: customerID, Expires: expires, SessionStart: start}, clientSecret)
}

// CustomerTTLForTest lets tests step past the shopper cache.
const CustomerTTLForTest = customerTTL

// CachedPagesForTest counts the rendered orders tabs h keeps.
func CachedPagesForTest(h *Hub) int {
	h.pages.mu.Lock()
	defer h.pages.mu.Unlock()
	return len(h.pages.pages)
}

// CachedOrderPagesForTest counts the rendered order pages h keeps.
func CachedOrderPagesForTest(h *Hub) int {
	h.orderPages.mu.Lock()
	defer h.orderPages.mu.Unlock()
	return len(h.orderPages.pages)
}

// ForgetPagesForTest drops every rendered page h keeps.
func ForgetPagesForTest(h *Hub) {
	for _, c := range []*pageCache{&h.pages, &h.orderPages} {
		c.mu.Lock()
		c.pages, c.bytes = nil, 0
		c.mu.Unlock()
	}
}
