package loop

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MaxListWindow is the widest from/to range Loop accepts on the returns list;
// wider ranges are answered 422. ListReturns splits longer ranges.
const MaxListWindow = 120 * 24 * time.Hour

// Filters for ListQuery.Filter: which timestamp from/to apply to.
const (
	FilterCreatedAt = "created_at"
	FilterUpdatedAt = "updated_at"
)

// MaxPageSize is the largest page Loop serves.
const MaxPageSize = 750

// ListQuery selects returns from Loop's detailed returns list.
type ListQuery struct {
	// From and To bound the Filter timestamp. Both zero: Loop's default, the
	// last 24 hours. Only From: up to now. Only To: the 24 hours before To.
	// Any range is accepted; it is walked in windows of at most 120 days.
	From, To time.Time
	// Filter is FilterCreatedAt (Loop's default) or FilterUpdatedAt, which
	// the reconciliation job uses with its watermark.
	Filter string
	// State narrows to one state. Empty means Loop's default, which is open,
	// closed and expired only: cancelled and review returns are listed only
	// when asked for by state.
	State State
	// PageSize defaults to 100, at most MaxPageSize.
	PageSize int
}

// Page is one page of the returns list.
type Page struct {
	Returns []Return
	// Cursor fetches the next page with ListReturnsPage; "" on the last page.
	Cursor string
}

// ListReturns iterates over every return matching q, page after page and
// window after window (scope Returns). Iteration stops at the first error,
// which is yielded with a zero Return:
//
//	for r, err := range client.ListReturns(ctx, q) {
//		if err != nil { return err }
//		...
//	}
//
// The same return can appear twice if it changes while the list is walked
// with FilterUpdatedAt; callers upsert by ID.
func (c *Client) ListReturns(ctx context.Context, q ListQuery) iter.Seq2[Return, error] {
	return func(yield func(Return, error) bool) {
		for _, w := range listWindows(q, c.shared.now()) {
			wq := q
			wq.From, wq.To = w[0], w[1]
			cursor := ""
			for {
				page, err := c.ListReturnsPage(ctx, wq, cursor)
				if err != nil {
					yield(Return{}, err)
					return
				}
				for _, r := range page.Returns {
					if !yield(r, nil) {
						return
					}
				}
				if page.Cursor == "" {
					break
				}
				if page.Cursor == cursor {
					yield(Return{}, &Error{Op: "list returns", Kind: KindUnavailable, Message: "Loop returned the same cursor twice"})
					return
				}
				cursor = page.Cursor
			}
		}
	}
}

// listWindows splits q's range into consecutive windows Loop accepts. Each
// window ends one millisecond before the next begins (Loop's timestamps have
// whole seconds), so no return is listed twice or skipped at a boundary.
func listWindows(q ListQuery, now time.Time) [][2]time.Time {
	from, to := q.From, q.To
	switch {
	case from.IsZero() && to.IsZero():
		return [][2]time.Time{{}} // let Loop apply its 24-hour default
	case to.IsZero():
		to = now
	case from.IsZero():
		from = to.Add(-24 * time.Hour)
	}
	if !from.Before(to) {
		return [][2]time.Time{{from, to}} // let Loop judge it
	}
	var out [][2]time.Time
	for start := from; start.Before(to) || start.Equal(to); {
		end := start.Add(MaxListWindow - time.Millisecond)
		if end.After(to) {
			end = to
		}
		out = append(out, [2]time.Time{start, end})
		start = end.Add(time.Millisecond)
	}
	return out
}

// ListReturnsPage fetches one page; cursor "" is the first. q's range must
// be at most MaxListWindow (ListReturns splits longer ones).
func (c *Client) ListReturnsPage(ctx context.Context, q ListQuery, cursor string) (Page, error) {
	query := listValues(q)
	if cursor != "" {
		// The cursor is a whole query string taken from Loop's nextPageUrl
		// (see nextCursor): it overrides our parameters, adding the cursor.
		extra, err := url.ParseQuery(cursor)
		if err != nil {
			return Page{}, &Error{Op: "list returns", Kind: KindInvalid, Message: "malformed cursor", Err: err}
		}
		for k, v := range extra {
			query[k] = v
		}
	}
	req := request{
		endpoint: "list_returns", op: "list returns", scope: ScopeReturns,
		method: http.MethodGet, path: "/warehouse/return/list", query: query, idempotent: true,
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return Page{}, err
	}
	body := bytes.TrimSpace(resp.body)
	// Without paginate=true Loop sends a bare array; accept it anyway in
	// case a proxy or an older API version drops the parameter.
	if len(body) > 0 && body[0] == '[' {
		var rs []Return
		if err := decode(req, resp, &rs); err != nil {
			return Page{}, err
		}
		return Page{Returns: rs}, nil
	}
	var env struct {
		Returns     []Return `json:"returns"`
		NextPageURL *string  `json:"nextPageUrl"`
	}
	if err := decode(req, resp, &env); err != nil {
		return Page{}, err
	}
	page := Page{Returns: env.Returns}
	if env.NextPageURL != nil && *env.NextPageURL != "" {
		next, err := nextCursor(*env.NextPageURL)
		if err != nil {
			return Page{}, &Error{Op: req.op, Kind: KindUnavailable, Status: resp.status, Message: "unreadable nextPageUrl", Err: err}
		}
		page.Cursor = next
	}
	return page, nil
}

// nextCursor keeps only the query string of Loop's nextPageUrl. The next page
// is requested from our configured base URL, never from the host Loop named:
// following an absolute URL from a response would send the API key wherever
// that URL points.
func nextCursor(nextPageURL string) (string, error) {
	u, err := url.Parse(nextPageURL)
	if err != nil {
		return "", err
	}
	if u.RawQuery == "" {
		return "", fmt.Errorf("no query in nextPageUrl")
	}
	return u.RawQuery, nil
}

func listValues(q ListQuery) url.Values {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(isoMillis))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(isoMillis))
	}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.State != "" {
		v.Set("state", string(q.State))
	}
	size := q.PageSize
	if size <= 0 {
		size = 100
	}
	if size > MaxPageSize {
		size = MaxPageSize
	}
	v.Set("paginate", "true")
	v.Set("pageSize", strconv.Itoa(size))
	return v
}

// DetailsQuery selects one return for ReturnDetailsBy; set exactly one of
// ReturnID, OrderID and OrderName.
type DetailsQuery struct {
	ReturnID  string
	OrderID   string
	OrderName string
	// CurrencyType is "shop" or "presentment"; "" is Loop's default.
	CurrencyType string
}

// ReturnDetails fetches the return for an order by its name, e.g. "#1001"
// (scope Returns). Loop answers "nothing found" with HTTP 200 and an error
// body: that is ErrNotFound.
func (c *Client) ReturnDetails(ctx context.Context, orderName string) (Return, error) {
	return c.ReturnDetailsBy(ctx, DetailsQuery{OrderName: orderName})
}

// ReturnDetailsBy fetches one return by return id, order id or order name.
func (c *Client) ReturnDetailsBy(ctx context.Context, q DetailsQuery) (Return, error) {
	v := url.Values{}
	what := ""
	set := 0
	if q.ReturnID != "" {
		v.Set("return_id", q.ReturnID)
		what, set = "return "+q.ReturnID, set+1
	}
	if q.OrderID != "" {
		v.Set("order_id", q.OrderID)
		what, set = "order id "+q.OrderID, set+1
	}
	if q.OrderName != "" {
		v.Set("order_name", q.OrderName)
		what, set = "order "+q.OrderName, set+1
	}
	op := "return details for " + what
	if set != 1 {
		return Return{}, &Error{Op: "return details", Kind: KindInvalid, Message: "set exactly one of return id, order id, order name"}
	}
	if q.CurrencyType != "" {
		v.Set("currency_type", q.CurrencyType)
	}
	req := request{
		endpoint: "return_details", op: op, scope: ScopeReturns,
		method: http.MethodGet, path: "/warehouse/return/details", query: v, idempotent: true,
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return Return{}, err
	}
	body := bytes.TrimSpace(resp.body)
	if len(body) > 0 && body[0] == '[' {
		// Not documented, but an order can have several returns: if Loop
		// ever lists them, the most recently created one is "the" return.
		var rs []Return
		if err := decode(req, resp, &rs); err != nil {
			return Return{}, err
		}
		if len(rs) == 0 {
			return Return{}, &Error{Op: op, Kind: KindNotFound, Status: resp.status, Message: "no return found"}
		}
		latest := rs[0]
		for _, r := range rs[1:] {
			if r.CreatedAt.After(latest.CreatedAt.Time) {
				latest = r
			}
		}
		return latest, nil
	}
	var r Return
	if err := decode(req, resp, &r); err != nil {
		return Return{}, err
	}
	if r.ID == "" {
		return Return{}, &Error{Op: op, Kind: KindNotFound, Status: resp.status, Message: "answer carries no return"}
	}
	return r, nil
}
