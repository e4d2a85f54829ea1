package sandbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/httpkit/statusrec"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// routes lists every path the sandbox serves, top to bottom.
func (s *Sandbox) routes() {
	m := http.NewServeMux()

	// Loop's API, as documented (scopes per contracts/loop.md).
	m.HandleFunc("POST /api/v1/order/link", s.api(loop.ScopeOrders, s.handleDeepLink))
	m.HandleFunc("POST /api/v1/order/qr", s.api(loop.ScopeOrders, s.handleQR))
	m.HandleFunc("POST /api/v1/orders/return-eligibility", s.api(loop.ScopeOrders, s.handleEligibility))
	m.HandleFunc("GET /api/v1/warehouse/return/list", s.api(loop.ScopeReturns, s.handleList))
	m.HandleFunc("GET /api/v1/warehouse/return/details", s.api(loop.ScopeReturns, s.handleDetails))
	m.HandleFunc("POST /api/v1/warehouse/return/{id}/{action}", s.api(loop.ScopeReturns, s.handleReturnAction))
	m.HandleFunc("GET /api/v1/webhooks", s.api(loop.ScopeDeveloperTools, s.handleListWebhooks))
	m.HandleFunc("POST /api/v1/webhooks", s.api(loop.ScopeDeveloperTools, s.handleCreateWebhook))
	m.HandleFunc("PUT /api/v1/webhooks/{id}", s.api(loop.ScopeDeveloperTools, s.handleUpdateWebhook))
	m.HandleFunc("DELETE /api/v1/webhooks/{id}", s.api(loop.ScopeDeveloperTools, s.handleDeleteWebhook))
	m.HandleFunc("/api/v1/", s.handleAPINotFound)
	// QR images are public URLs, like Loop's.
	m.HandleFunc("GET /api/v1/qr/i/{id}", s.handleQRImage)

	// The returns portal the deep links open.
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.HandleFunc("GET /portal/{$}", s.handlePortal)
	m.HandleFunc("GET /portal/link/{uuid}", s.handlePortalLink)
	m.HandleFunc("GET /portal/return/{uuid}", s.handlePortalReturn)
	m.HandleFunc("GET /portal/return/{uuid}/label.pdf", s.handlePortalReturn) // label_url: the status page stands in for the PDF

	// Admin: drive the sandbox (no auth; loopback only).
	m.HandleFunc("GET /_sandbox/state", s.handleAdminState)
	m.HandleFunc("POST /_sandbox/orders", s.handleAdminAddOrder)
	m.HandleFunc("POST /_sandbox/returns", s.handleAdminCreateReturn)
	m.HandleFunc("POST /_sandbox/returns/{id}/advance", s.handleAdminAdvance)
	m.HandleFunc("POST /_sandbox/returns/{id}/state", s.handleAdminSetState)
	m.HandleFunc("POST /_sandbox/returns/{id}/label", s.handleAdminSetLabel)
	m.HandleFunc("POST /_sandbox/returns/{id}/fail-processing", s.handleAdminFailProcessing)
	m.HandleFunc("GET /_sandbox/faults", s.handleAdminGetFaults)
	m.HandleFunc("PUT /_sandbox/faults", s.handleAdminSetFaults)
	m.HandleFunc("GET /_sandbox/deliveries", s.handleAdminDeliveries)
	s.mux = m
}

// api wraps an endpoint with what every Loop API request goes through, in
// Loop's order as far as it can be observed: faults (they stand for the
// infrastructure in front of Loop), the key, the rate limit, the scope.
func (s *Sandbox) api(scope loop.Scope, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := statusrec.Wrap(w)
		key := r.Header.Get("X-Authorization")
		defer func() {
			s.recordRequest(RequestRecord{
				Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
				KeyID: loop.KeyID(key), Status: rec.Status(), At: s.now(),
			})
		}()
		if !s.applyFaults(rec, r) {
			return
		}
		s.mu.Lock()
		scopes, known := s.keys[key]
		s.mu.Unlock()
		if !known {
			unauthorized(rec)
			return
		}
		if !s.allowRate(rec, key) {
			return
		}
		if !scopes[scope] {
			// Loop does not say which scope is missing: same 401 as a bad key.
			unauthorized(rec)
			return
		}
		h(rec, r)
	}
}

// applyFaults injects latency, outage and random errors. It reports whether
// the request should be served.
func (s *Sandbox) applyFaults(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.faults
	fail := f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate
	s.mu.Unlock()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	if f.Outage {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>\n")
		return false
	}
	if f.RateLimited {
		// A 429 storm: every request refused as Loop refuses one over its
		// limit, with the minute to wait (or the storm's own wait).
		retryAfter := 60
		if f.RetryAfter > 0 {
			retryAfter = int(math.Ceil(max(f.RetryAfter.Seconds(), 1)))
		}
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeJSON(w, http.StatusTooManyRequests, obj{"message": "Too Many Attempts."})
		return false
	}
	if fail {
		writeJSON(w, http.StatusInternalServerError, obj{"message": "Server Error"})
		return false
	}
	return true
}

// allowRate is a sliding window per key over accepted requests, like
// Laravel's throttle (which does not count refused ones). It sets the
// x-ratelimit headers Loop has been seen sending, and Retry-After on 429.
func (s *Sandbox) allowRate(w http.ResponseWriter, key string) bool {
	now := s.now()
	s.mu.Lock()
	hits := s.hits[key]
	cut := 0
	for cut < len(hits) && !hits[cut].After(now.Add(-s.opts.RateWindow)) {
		cut++
	}
	hits = hits[cut:]
	limit := s.opts.RateLimit
	if len(hits) >= limit {
		wait := hits[0].Add(s.opts.RateWindow).Sub(now)
		s.hits[key] = hits
		s.mu.Unlock()
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait.Seconds(), 1)))))
		writeJSON(w, http.StatusTooManyRequests, obj{"message": "Too Many Attempts."})
		return false
	}
	hits = append(hits, now)
	s.hits[key] = hits
	remaining := limit - len(hits)
	s.mu.Unlock()
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(limit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	return true
}

func (s *Sandbox) handleAPINotFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, obj{"message": "Not Found."})
}

// readBody decodes a JSON request body into v; Loop (Laravel) also accepts
// form posts, which the sandbox does not need.
func readBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	return json.Unmarshal(data, v)
}

// normLookup compares lookup values loosely: postal codes without spaces,
// emails without case, phones by digits.
func normLookup(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '+', '.':
			return -1
		}
		return r
	}, s)
}

func (o *order) matchesLookup(v string) bool {
	n := normLookup(v)
	if n == "" {
		return false
	}
	for _, cand := range []string{o.Zip, o.Email, o.Phone} {
		if cand != "" && normLookup(cand) == n {
			return true
		}
	}
	return false
}

type linkRequest struct {
	Name *string `json:"name"`
	Zip  *string `json:"zip"`
	Gift bool    `json:"gift"`
	Type string  `json:"type"`
	Size int     `json:"size"`
}

// findLinkOrder validates a deep-link request and finds its order, answering
// Loop's 400 {"errors":[...]} itself when it cannot.
func (s *Sandbox) findLinkOrder(w http.ResponseWriter, r *http.Request, req *linkRequest) *order {
	if err := readBody(r, req); err != nil {
		writeJSON(w, http.StatusBadRequest, obj{"errors": []string{"The request body is not valid JSON."}})
		return nil
	}
	var missing []string
	if req.Name == nil || strings.TrimSpace(*req.Name) == "" {
		missing = append(missing, "The name field is required.")
	}
	if req.Zip == nil || strings.TrimSpace(*req.Zip) == "" {
		missing = append(missing, "The zip field is required.")
	}
	if len(missing) > 0 {
		writeJSON(w, http.StatusBadRequest, obj{"errors": missing})
		return nil
	}
	s.mu.Lock()
	o := s.orderByNameLocked(*req.Name)
	s.mu.Unlock()
	if o == nil || !o.matchesLookup(*req.Zip) {
		// One message for both: Loop does not reveal which half was wrong.
		writeJSON(w, http.StatusBadRequest, obj{"errors": []string{"Order not found."}})
		return nil
	}
	return o
}

func (s *Sandbox) newLink(r *http.Request, o *order, gift bool) string {
	link := &deepLink{uuid: newUUID(), order: o, gift: gift, created: s.now()}
	s.mu.Lock()
	s.links[link.uuid] = link
	s.mu.Unlock()
	return s.base(r) + "/portal/link/" + link.uuid
}

func (s *Sandbox) handleDeepLink(w http.ResponseWriter, r *http.Request) {
	var req linkRequest
	o := s.findLinkOrder(w, r, &req)
	if o == nil {
		return
	}
	writeJSON(w, http.StatusOK, obj{"url": s.newLink(r, o, req.Gift)})
}

func (s *Sandbox) handleQR(w http.ResponseWriter, r *http.Request) {
	var req linkRequest
	o := s.findLinkOrder(w, r, &req)
	if o == nil {
		return
	}
	kind := req.Type
	if kind == "" {
		kind = "png"
	}
	if kind != "png" && kind != "svg" && kind != "eps" {
		kind = "png" // Loop falls back to PNG rather than failing
	}
	size := req.Size
	if size <= 0 {
		size = 250
	}
	if size > 2000 {
		writeJSON(w, http.StatusBadRequest, obj{"errors": []string{"The size may not be greater than 2000."}})
		return
	}
	link := s.newLink(r, o, req.Gift)
	img := &qrImage{uuid: newUUID(), link: link, kind: kind, size: size}
	s.mu.Lock()
	s.qrs[img.uuid] = img
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, obj{"qr": s.base(r) + "/api/v1/qr/i/" + img.uuid, "deeplink_url": link})
}

// Timestamp formats: ISO with milliseconds on the list and in webhooks,
// "Y-m-d H:i:s" on return details.
const (
	isoMillis    = "2006-01-02T15:04:05.000Z"
	detailLayout = "2006-01-02 15:04:05"
)

func iso(t time.Time) string { return t.UTC().Format(isoMillis) }

// parseWhen accepts what Laravel's date rule accepts in practice.
func parseWhen(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// listCursor is the position after (or, for previous pages, before) the
// last return served, by the filter timestamp and id: keyset pagination, so
// returns created while a client pages through do not shift the pages.
type listCursor struct {
	T    int64 `json:"t"`
	ID   int64 `json:"i"`
	Prev bool  `json:"p,omitempty"`
}

func encodeCursor(c listCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (listCursor, bool) {
	var c listCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, false
	}
	return c, true
}

var defaultListStates = []loop.State{loop.StateOpen, loop.StateClosed, loop.StateExpired}

func (s *Sandbox) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.now().UTC()
	from, to := now.Add(-24*time.Hour), now
	fromStr, toStr := q.Get("from"), q.Get("to")
	if fromStr != "" {
		t, ok := parseWhen(fromStr)
		if !ok {
			invalid(w, "from", "The from is not a valid date.")
			return
		}
		from = t
		if toStr == "" {
			to = now
		}
	}
	if toStr != "" {
		t, ok := parseWhen(toStr)
		if !ok {
			invalid(w, "to", "The to is not a valid date.")
			return
		}
		to = t
		if fromStr == "" {
			from = to.Add(-24 * time.Hour)
		}
	}
	if to.Before(from) {
		invalid(w, "to", "The to must be a date after or equal to from.")
		return
	}
	if to.Sub(from) > loop.MaxListWindow {
		invalid(w, "to", "The date range may not be greater than 120 days.")
		return
	}
	filter := q.Get("filter")
	if filter == "" {
		filter = loop.FilterCreatedAt
	}
	if filter != loop.FilterCreatedAt && filter != loop.FilterUpdatedAt {
		invalid(w, "filter", "The selected filter is invalid.")
		return
	}
	states := defaultListStates
	if st := q.Get("state"); st != "" {
		if !loop.State(st).Valid() {
			invalid(w, "state", "The selected state is invalid.")
			return
		}
		states = []loop.State{loop.State(st)}
	}
	paginate := q.Get("paginate") == "true" || q.Get("paginate") == "1"
	pageSize := 100
	if ps := q.Get("pageSize"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 {
			invalid(w, "pageSize", "The page size must be an integer of at least 1.")
			return
		}
		if n > loop.MaxPageSize {
			invalid(w, "pageSize", "The page size may not be greater than 750.")
			return
		}
		pageSize = n
	}
	var cur *listCursor
	if cs := q.Get("cursor"); cs != "" && paginate {
		c, ok := decodeCursor(cs)
		if !ok {
			invalid(w, "cursor", "The cursor is invalid.")
			return
		}
		cur = &c
	}

	stamp := func(rt *ret) time.Time {
		if filter == loop.FilterUpdatedAt {
			return rt.updatedAt
		}
		return rt.createdAt
	}
	type row struct {
		r *ret
		t time.Time
	}
	base := s.base(r)
	s.mu.Lock()
	defer s.mu.Unlock() // views read returns that webhooks-driving calls mutate
	var rows []row
	for _, rt := range s.returns {
		t := stamp(rt)
		if t.Before(from) || t.After(to) || !slices.Contains(states, rt.state) {
			continue
		}
		rows = append(rows, row{rt, t})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return int(a.r.id - b.r.id)
	})
	if !paginate {
		out := make([]listReturn, 0, len(rows))
		for _, rw := range rows {
			out = append(out, s.listView(rw.r, base))
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	after := func(rw row, c listCursor) bool {
		t := rw.t.UnixNano()
		return t > c.T || (t == c.T && rw.r.id > c.ID)
	}
	start, end := 0, len(rows)
	if cur != nil && !cur.Prev {
		for start < len(rows) && !after(rows[start], *cur) {
			start++
		}
		end = min(start+pageSize, len(rows))
	} else if cur != nil && cur.Prev {
		// Rows before the cursor form a prefix of the sorted rows.
		end = 0
		for end < len(rows) && !after(rows[end], listCursor{T: cur.T, ID: cur.ID - 1}) {
			end++
		}
		start = max(0, end-pageSize)
	} else {
		end = min(pageSize, len(rows))
	}
	page := rows[start:end]
	out := make([]listReturn, 0, len(page))
	for _, rw := range page {
		out = append(out, s.listView(rw.r, base))
	}
	pageURL := func(c listCursor) string {
		v := url.Values{}
		for _, k := range []string{"from", "to", "filter", "state"} {
			if q.Get(k) != "" {
				v.Set(k, q.Get(k))
			}
		}
		v.Set("paginate", "true")
		v.Set("pageSize", strconv.Itoa(pageSize))
		v.Set("cursor", encodeCursor(c))
		return base + "/api/v1/warehouse/return/list?" + v.Encode()
	}
	var next, prev *string
	if end < len(rows) && len(page) > 0 {
		last := page[len(page)-1]
		u := pageURL(listCursor{T: last.t.UnixNano(), ID: last.r.id})
		next = &u
	}
	if start > 0 && len(page) > 0 {
		first := page[0]
		u := pageURL(listCursor{T: first.t.UnixNano(), ID: first.r.id, Prev: true})
		prev = &u
	}
	writeJSON(w, http.StatusOK, listPage{Returns: out, NextPageURL: next, PreviousPageURL: prev})
}

type listPage struct {
	Returns         []listReturn `json:"returns"`
	NextPageURL     *string      `json:"nextPageUrl"`
	PreviousPageURL *string      `json:"previousPageUrl"`
}

// listReturn is a return on the detailed list: ids and money are strings,
// timestamps ISO.
type listReturn struct {
	ID                    string         `json:"id"`
	State                 loop.State     `json:"state"`
	CreatedAt             string         `json:"created_at"`
	UpdatedAt             string         `json:"updated_at"`
	EditedAt              string         `json:"edited_at"`
	Total                 string         `json:"total"`
	Outcome               string         `json:"outcome"`
	OrderID               string         `json:"order_id"`
	OrderName             string         `json:"order_name"`
	ProviderOrderID       string         `json:"provider_order_id"`
	OrderNumber           string         `json:"order_number"`
	Customer              string         `json:"customer"`
	Currency              string         `json:"currency"`
	Refund                string         `json:"refund"`
	HandlingFee           string         `json:"handling_fee"`
	ReturnProductTotal    string         `json:"return_product_total"`
	ReturnDiscountTotal   string         `json:"return_discount_total"`
	ReturnTaxTotal        string         `json:"return_tax_total"`
	ReturnTotal           string         `json:"return_total"`
	ReturnCreditTotal     string         `json:"return_credit_total"`
	ExchangeProductTotal  string         `json:"exchange_product_total"`
	ExchangeDiscountTotal string         `json:"exchange_discount_total"`
	ExchangeTaxTotal      string         `json:"exchange_tax_total"`
	ExchangeTotal         string         `json:"exchange_total"`
	ExchangeCreditTotal   string         `json:"exchange_credit_total"`
	GiftCard              string         `json:"gift_card"`
	GiftCardOrderName     *string        `json:"gift_card_order_name"`
	GiftCardOrderID       *string        `json:"gift_card_order_id"`
	Carrier               string         `json:"carrier"`
	TrackingNumber        string         `json:"tracking_number"`
	LabelStatus           string         `json:"label_status"`
	LabelURL              *string        `json:"label_url"`
	LabelRate             string         `json:"label_rate"`
	DestinationID         *string        `json:"destination_id"`
	StatusPageURL         string         `json:"status_page_url"`
	ReturnMethod          string         `json:"return_method"`
	LineItems             []listLineItem `json:"line_items"`
	Exchanges             []any          `json:"exchanges"`
}

type listLineItem struct {
	LineItemID         string `json:"line_item_id"`
	ProviderLineItemID string `json:"provider_line_item_id"`
	ProductID          string `json:"product_id"`
	VariantID          string `json:"variant_id"`
	SKU                string `json:"sku"`
	Title              string `json:"title"`
	Price              string `json:"price"`
	ReturnReason       string `json:"return_reason"`
	ParentReturnReason string `json:"parent_return_reason"`
	Outcome            string `json:"outcome"`
}

// totals are a return's money fields, computed from its items in cents.
type totals struct {
	product, tax, total, refund, credit, exchange int64
}

func (s *Sandbox) totalsOf(r *ret) totals {
	var t totals
	for _, i := range r.items {
		if i < len(r.order.Items) {
			t.product += cents(r.order.Items[i].Price)
		}
	}
	t.tax = 0
	t.total = t.product + t.tax
	switch {
	case strings.HasPrefix(r.outcome, "exchange"):
		t.exchange = t.total
	case r.outcome == "credit":
		t.credit = t.total
	default:
		t.refund = t.total
	}
	return t
}

func cents(price string) int64 {
	f, err := strconv.ParseFloat(price, 64)
	if err != nil {
		return 0
	}
	return int64(math.Round(f * 100))
}

func money(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }

// na is how Loop fills label fields before a label exists.
func na(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

func (s *Sandbox) labelURL(r *ret, base string) *string {
	if !r.hasLabel() {
		return nil
	}
	u := base + "/portal/return/" + r.uuid + "/label.pdf"
	return &u
}

func (s *Sandbox) listView(r *ret, base string) listReturn {
	t := s.totalsOf(r)
	o := r.order
	lr := listReturn{
		ID: strconv.FormatInt(r.id, 10), State: r.state,
		CreatedAt: iso(r.createdAt), UpdatedAt: iso(r.updatedAt), EditedAt: iso(r.editedAt),
		Total: money(t.total), Outcome: r.outcome,
		OrderID: strconv.FormatInt(o.ID, 10), OrderName: o.Name,
		ProviderOrderID: strconv.FormatInt(o.ProviderOrderID, 10),
		OrderNumber:     strings.TrimPrefix(o.Name, "#"),
		Customer:        o.Email, Currency: o.Currency,
		Refund: money(t.refund), HandlingFee: "0.00",
		ReturnProductTotal: money(t.product), ReturnDiscountTotal: "0.00", ReturnTaxTotal: money(t.tax),
		ReturnTotal: money(t.total), ReturnCreditTotal: money(t.credit),
		ExchangeProductTotal: money(t.exchange), ExchangeDiscountTotal: "0.00", ExchangeTaxTotal: "0.00",
		ExchangeTotal: money(t.exchange), ExchangeCreditTotal: money(t.exchange),
		GiftCard: "0.00",
		Carrier:  na(r.carrier), TrackingNumber: na(r.tracking), LabelStatus: na(r.label),
		LabelURL: s.labelURL(r, base), LabelRate: "0.00",
		StatusPageURL: base + "/portal/return/" + r.uuid,
		ReturnMethod:  "prepaid_label",
		Exchanges:     []any{},
	}
	if r.hasLabel() {
		lr.LabelRate = "4.50"
	}
	for _, i := range r.items {
		if i >= len(o.Items) {
			continue
		}
		it := o.Items[i]
		lr.LineItems = append(lr.LineItems, listLineItem{
			LineItemID: strconv.FormatInt(o.loopItemIDs[i], 10), ProviderLineItemID: strconv.FormatInt(it.ID, 10),
			ProductID: strconv.FormatInt(it.ProductID, 10), VariantID: strconv.FormatInt(it.VariantID, 10),
			SKU: it.SKU, Title: it.Title, Price: it.Price,
			ReturnReason: r.reason, ParentReturnReason: r.reason, Outcome: r.outcome,
		})
	}
	return lr
}

// detailsReturn is a return on Get Return Details: integer ids and
// "Y-m-d H:i:s" timestamps (Loop's own example), money still strings.
type detailsReturn struct {
	ID              int64             `json:"id"`
	State           loop.State        `json:"state"`
	CreatedAt       string            `json:"created_at"`
	UpdatedAt       string            `json:"updated_at"`
	Total           string            `json:"total"`
	Outcome         string            `json:"outcome"`
	OrderID         int64             `json:"order_id"`
	OrderName       string            `json:"order_name"`
	ProviderOrderID int64             `json:"provider_order_id"`
	Customer        string            `json:"customer"`
	Currency        string            `json:"currency"`
	Refund          string            `json:"refund"`
	HandlingFee     string            `json:"handling_fee"`
	ReturnTotal     string            `json:"return_total"`
	ExchangeTotal   string            `json:"exchange_total"`
	Carrier         string            `json:"carrier"`
	TrackingNumber  string            `json:"tracking_number"`
	LabelStatus     string            `json:"label_status"`
	LabelURL        *string           `json:"label_url"`
	StatusPageURL   string            `json:"status_page_url"`
	ReturnMethod    string            `json:"return_method"`
	LineItems       []detailsLineItem `json:"line_items"`
}

type detailsLineItem struct {
	ID                 int64  `json:"id"`
	ProviderLineItemID int64  `json:"provider_line_item_id"`
	SKU                string `json:"sku"`
	Title              string `json:"title"`
	Price              string `json:"price"`
	ReturnReason       string `json:"return_reason"`
}

func (s *Sandbox) detailsView(r *ret, base string) detailsReturn {
	t := s.totalsOf(r)
	o := r.order
	d := detailsReturn{
		ID: r.id, State: r.state,
		CreatedAt: r.createdAt.UTC().Format(detailLayout), UpdatedAt: r.updatedAt.UTC().Format(detailLayout),
		Total: money(t.total), Outcome: r.outcome,
		OrderID: o.ID, OrderName: o.Name, ProviderOrderID: o.ProviderOrderID,
		Customer: o.Email, Currency: o.Currency,
		Refund: money(t.refund), HandlingFee: "0.00", ReturnTotal: money(t.total), ExchangeTotal: money(t.exchange),
		Carrier: na(r.carrier), TrackingNumber: na(r.tracking), LabelStatus: na(r.label),
		LabelURL: s.labelURL(r, base), StatusPageURL: base + "/portal/return/" + r.uuid,
		ReturnMethod: "prepaid_label",
		LineItems:    []detailsLineItem{},
	}
	for _, i := range r.items {
		if i >= len(o.Items) {
			continue
		}
		it := o.Items[i]
		d.LineItems = append(d.LineItems, detailsLineItem{
			ID: o.loopItemIDs[i], ProviderLineItemID: it.ID, SKU: it.SKU, Title: it.Title, Price: it.Price, ReturnReason: r.reason,
		})
	}
	return d
}

func (s *Sandbox) handleDetails(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	given := 0
	for _, k := range []string{"return_id", "order_id", "order_name"} {
		if q.Get(k) != "" {
			given++
		}
	}
	if given != 1 {
		invalid(w, "return_id", "Exactly one of return id, order id or order name is required.")
		return
	}
	if ct := q.Get("currency_type"); ct != "" && ct != "shop" && ct != "presentment" {
		invalid(w, "currency_type", "The selected currency type is invalid.")
		return
	}
	var idFilter func(*ret) bool
	switch {
	case q.Get("return_id") != "":
		id, err := strconv.ParseInt(q.Get("return_id"), 10, 64)
		if err != nil {
			invalid(w, "return_id", "The return id must be an integer.")
			return
		}
		idFilter = func(rt *ret) bool { return rt.id == id }
	case q.Get("order_id") != "":
		id, err := strconv.ParseInt(q.Get("order_id"), 10, 64)
		if err != nil {
			invalid(w, "order_id", "The order id must be an integer.")
			return
		}
		idFilter = func(rt *ret) bool { return rt.order.ID == id || rt.order.ProviderOrderID == id }
	default:
		name := q.Get("order_name")
		idFilter = func(rt *ret) bool { return sameOrderName(rt.order.Name, name) }
	}
	base := s.base(r)
	s.mu.Lock()
	var found *ret
	for _, rt := range s.returns {
		if idFilter(rt) && (found == nil || !rt.createdAt.Before(found.createdAt)) {
			found = rt
		}
	}
	var view detailsReturn
	if found != nil {
		view = s.detailsView(found, base)
	}
	s.mu.Unlock()
	if found == nil {
		// Loop's "nothing found" is an HTTP 200.
		writeJSON(w, http.StatusOK, obj{"error": obj{"message": "No return found with this ID."}})
		return
	}
	writeJSON(w, http.StatusOK, view)
}

type eligibilityItem struct {
	ID                 int64    `json:"id"`
	ExternalID         string   `json:"external_id"`
	Title              string   `json:"title"`
	SKU                string   `json:"sku"`
	Eligible           bool     `json:"eligible"`
	Reasons            []string `json:"reasons"`
	ReturnWindowEndsAt *string  `json:"return_window_ends_at"`
}

// eligibilityLocked follows the order's return window and its returns: an
// item is eligible once delivered, until the window ends, unless an open,
// review or closed return already holds it.
func (s *Sandbox) eligibilityLocked(o *order) []eligibilityItem {
	now := s.now()
	held := map[int]bool{}
	for _, rt := range s.returns {
		if rt.order != o || rt.state == loop.StateCancelled || rt.state == loop.StateExpired {
			continue
		}
		for _, i := range rt.items {
			held[i] = true
		}
	}
	var out []eligibilityItem
	for i, it := range o.Items {
		e := eligibilityItem{ID: o.loopItemIDs[i], ExternalID: strconv.FormatInt(it.ID, 10), Title: it.Title, SKU: it.SKU, Reasons: []string{}}
		if o.DeliveredAt.IsZero() {
			e.Reasons = append(e.Reasons, "not_delivered")
		} else {
			ends := o.DeliveredAt.Add(time.Duration(o.ReturnWindowDays) * 24 * time.Hour)
			endsStr := iso(ends)
			e.ReturnWindowEndsAt = &endsStr
			if now.After(ends) {
				e.Reasons = append(e.Reasons, "outside_return_window")
			}
		}
		if held[i] {
			e.Reasons = append(e.Reasons, "already_returned")
		}
		e.Eligible = len(e.Reasons) == 0
		out = append(out, e)
	}
	return out
}

func (s *Sandbox) handleEligibility(w http.ResponseWriter, r *http.Request) {
	if s.opts.NoEligibility {
		writeJSON(w, http.StatusForbidden, obj{"errors": obj{"message": "This feature is not available on your plan.", "code": "NOT_AUTHORIZED"}})
		return
	}
	var req struct {
		OrderName string `json:"order_name"`
	}
	if err := readBody(r, &req); err != nil {
		invalid(w, "order_name", "The order name field is required.")
		return
	}
	if strings.TrimSpace(req.OrderName) == "" {
		invalid(w, "order_name", "The order name field is required.")
		return
	}
	s.mu.Lock()
	o := s.orderByNameLocked(req.OrderName)
	if o == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, obj{"errors": obj{"message": "Order not found.", "code": "ORDER_NOT_FOUND"}})
		return
	}
	items := s.eligibilityLocked(o)
	orderID := o.ID
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, obj{"return_eligibility": obj{
		"order_id": orderID,
		"as_of":    iso(s.now()),
		"advisory": true,
		"items":    items,
	}})
}

// handleReturnAction serves process, cancel, flag and close. Success is the
// JSON literal true; refusals come with HTTP 200, as Loop sends them.
func (s *Sandbox) handleReturnAction(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	// An unknown id is answered HTTP 200 with Loop's error body.
	notFound := obj{"errors": obj{"message": "No return found with this ID."}}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusOK, notFound)
		return
	}
	target := map[string]loop.State{"process": loop.StateClosed, "close": loop.StateClosed, "cancel": loop.StateCancelled, "flag": loop.StateReview}
	to, ok := target[action]
	if !ok {
		s.handleAPINotFound(w, r)
		return
	}
	s.mu.Lock()
	rt := s.returnByIDLocked(id)
	if rt == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, notFound)
		return
	}
	verb := map[string]string{"process": "processed", "close": "closed", "cancel": "cancelled", "flag": "flagged"}[action]
	refuse := func(body any) {
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, body)
	}
	switch {
	case action == "cancel" && rt.state == loop.StateExpired:
		refuse(obj{"content": "Return is expired and cannot be processed."})
		return
	case action == "cancel" && rt.state == loop.StateReview:
		refuse(obj{"content": "Return is flagged and cannot be processed."})
		return
	case action == "process" && rt.state == loop.StateReview:
		refuse(obj{"message": "Return is review and therefore cannot be processed."})
		return
	case rt.state == loop.StateCancelled && (action == "process" || action == "close"):
		refuse(obj{"message": "Return is cancelled and therefore cannot be processed."})
		return
	case rt.state != loop.StateOpen && !(action == "close" && rt.state == loop.StateReview):
		refuse(obj{"errors": obj{"message": fmt.Sprintf("Return is %s and therefore cannot be %s.", rt.state, verb), "code": "UNPROCESSABLE_RETURN"}})
		return
	}
	events := s.setStateLocked(rt, to)
	s.mu.Unlock()
	s.dispatch(events)
	writeJSON(w, http.StatusOK, true)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
