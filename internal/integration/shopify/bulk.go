package shopify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Bulk operations (contract §4): a query over every order runs on
// Shopify's side and produces a JSONL file in which each nested
// connection's nodes are lines of their own pointing at their parent by
// __parentId. BulkOrdersQuery is the query, OrderStream reads its file.

// Bulk operation statuses.
const (
	BulkCreated   = "CREATED"
	BulkRunning   = "RUNNING"
	BulkCompleted = "COMPLETED"
	BulkCanceling = "CANCELING"
	BulkCanceled  = "CANCELED"
	BulkFailed    = "FAILED"
	BulkExpired   = "EXPIRED"
)

// BulkOperation is Shopify's report of one bulk operation.
type BulkOperation struct {
	ID              string     `json:"id"`
	Status          string     `json:"status"`
	ErrorCode       string     `json:"errorCode"`
	CreatedAt       time.Time  `json:"createdAt"`
	CompletedAt     *time.Time `json:"completedAt"`
	ObjectCount     Count      `json:"objectCount"`
	RootObjectCount Count      `json:"rootObjectCount"`
	FileSize        Count      `json:"fileSize"`
	URL             string     `json:"url"`
	PartialDataURL  string     `json:"partialDataUrl"`
}

// Done reports whether the operation will not change any more.
func (b *BulkOperation) Done() bool {
	switch b.Status {
	case BulkCompleted, BulkCanceled, BulkFailed, BulkExpired:
		return true
	}
	return false
}

// Count is an UnsignedInt64, which Shopify sends as a string.
type Count int64

// UnmarshalJSON accepts "123", 123 and null.
func (c *Count) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*c = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("count %q: %w", s, err)
	}
	*c = Count(n)
	return nil
}

// BulkOrdersQuery is the bulk query over every order: the fields of
// orderFields, with its nested connections unbounded (bulk queries take no
// first:). filter is Shopify's search syntax ("updated_at:>2026-01-01"),
// or "" for every order.
func BulkOrdersQuery(filter string) string {
	args := ""
	if filter != "" {
		b, _ := json.Marshal(filter)
		args = "(query: " + string(b) + ")"
	}
	return `{
	orders` + args + ` {
		edges { node {
			id name email createdAt updatedAt cancelledAt
			displayFinancialStatus displayFulfillmentStatus returnStatus currencyCode
			totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
			subtotalPriceSet { presentmentMoney { amount currencyCode } }
			totalShippingPriceSet { presentmentMoney { amount currencyCode } }
			totalTaxSet { presentmentMoney { amount currencyCode } }
			shippingAddress { name address1 address2 city province zip countryCodeV2 phone }
			customer { ` + customerFields + ` }
			fulfillments {
				id status displayStatus createdAt updatedAt inTransitAt deliveredAt estimatedDeliveryAt
				trackingInfo { company number url }
				fulfillmentLineItems { edges { node { id quantity lineItem { id } } } }
			}
			lineItems { edges { node { id title variantTitle quantity currentQuantity sku
				originalUnitPriceSet { presentmentMoney { amount currencyCode } }
				image { url altText } variant { id legacyResourceId availableForSale } } } }
		} }
	}
}`
}

const bulkOperationFields = `id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url partialDataUrl`

const bulkRunMutation = `mutation BulkOperationRunQuery($query: String!) {
	bulkOperationRunQuery(query: $query) {
		bulkOperation { ` + bulkOperationFields + ` }
		userErrors { field message code }
	}
}`

// ErrBulkInProgress is returned by RunBulkQuery when the shop already has
// a bulk query running (Shopify allows one per app and shop).
var ErrBulkInProgress = errors.New("shopify: a bulk query is already running")

// RunBulkQuery starts a bulk query.
func (c *Client) RunBulkQuery(ctx context.Context, query string) (BulkOperation, error) {
	var out struct {
		Run struct {
			BulkOperation *BulkOperation  `json:"bulkOperation"`
			UserErrors    []bulkUserError `json:"userErrors"`
		} `json:"bulkOperationRunQuery"`
	}
	if err := c.Do(ctx, bulkRunMutation, map[string]any{"query": query}, &out); err != nil {
		return BulkOperation{}, err
	}
	for _, e := range out.Run.UserErrors {
		if e.Code == "OPERATION_IN_PROGRESS" || strings.Contains(e.Message, "already in progress") {
			return BulkOperation{}, fmt.Errorf("%w: %s", ErrBulkInProgress, e.Message)
		}
	}
	if err := userErrors("mutation BulkOperationRunQuery", plainUserErrors(out.Run.UserErrors)); err != nil {
		return BulkOperation{}, err
	}
	if out.Run.BulkOperation == nil {
		return BulkOperation{}, &Error{Op: "mutation BulkOperationRunQuery", Kind: KindUnavailable, Status: 200, Message: "no bulk operation in the answer"}
	}
	return *out.Run.BulkOperation, nil
}

// bulkUserError is a bulk mutation's userError, which also carries a code
// (OPERATION_IN_PROGRESS).
type bulkUserError struct {
	UserError
	Code string `json:"code"`
}

func plainUserErrors(in []bulkUserError) []UserError {
	out := make([]UserError, len(in))
	for i, e := range in {
		out[i] = e.UserError
	}
	return out
}

const currentBulkQuery = `query CurrentBulkOperation { currentBulkOperation(type: QUERY) { ` + bulkOperationFields + ` } }`

// CurrentBulkOperation is the shop's latest bulk query; nil when there has
// been none.
func (c *Client) CurrentBulkOperation(ctx context.Context) (*BulkOperation, error) {
	var out struct {
		Current *BulkOperation `json:"currentBulkOperation"`
	}
	if err := c.Do(ctx, currentBulkQuery, nil, &out); err != nil {
		return nil, err
	}
	return out.Current, nil
}

const bulkNodeQuery = `query BulkOperation($id: ID!) { node(id: $id) { ... on BulkOperation { ` + bulkOperationFields + ` } } }`

// BulkOperation reads one bulk operation by id; nil when unknown.
func (c *Client) BulkOperation(ctx context.Context, id string) (*BulkOperation, error) {
	var out struct {
		Node *BulkOperation `json:"node"`
	}
	if err := c.Do(ctx, bulkNodeQuery, map[string]any{"id": id}, &out); err != nil {
		return nil, err
	}
	if out.Node == nil || out.Node.ID == "" {
		return nil, nil
	}
	return out.Node, nil
}

const bulkCancelMutation = `mutation BulkOperationCancel($id: ID!) {
	bulkOperationCancel(id: $id) { bulkOperation { ` + bulkOperationFields + ` } userErrors { field message } }
}`

// CancelBulkOperation asks Shopify to stop a running bulk operation.
func (c *Client) CancelBulkOperation(ctx context.Context, id string) error {
	var out struct {
		Cancel struct {
			UserErrors []UserError `json:"userErrors"`
		} `json:"bulkOperationCancel"`
	}
	if err := c.Do(ctx, bulkCancelMutation, map[string]any{"id": id}, &out); err != nil {
		return err
	}
	return userErrors("mutation BulkOperationCancel", out.Cancel.UserErrors)
}

// OpenBulkResult downloads a bulk operation's JSONL from offset on (a
// Range request, so a backfill resumes where it stopped). The URL is
// signed by Shopify and needs no token. A result that has expired answers
// ErrNotFound.
func (c *Client) OpenBulkResult(ctx context.Context, url string, offset int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &Error{Op: "download bulk result", Kind: KindInvalid, Message: err.Error()}
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, &Error{Op: "download bulk result", Kind: KindCanceled, Message: ctx.Err().Error()}
		}
		return nil, &Error{Op: "download bulk result", Kind: KindUnavailable, Message: err.Error()}
	}
	switch {
	case res.StatusCode == http.StatusPartialContent && offset > 0, res.StatusCode == http.StatusOK && offset == 0:
		return res.Body, nil
	case res.StatusCode == http.StatusOK:
		// The server ignored Range: skip to the offset ourselves.
		if _, err := io.CopyN(io.Discard, res.Body, offset); err != nil {
			res.Body.Close()
			return nil, &Error{Op: "download bulk result", Kind: KindUnavailable, Message: "skip to offset: " + err.Error()}
		}
		return res.Body, nil
	case res.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		res.Body.Close()
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	res.Body.Close()
	kind := KindUnavailable
	if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusForbidden || res.StatusCode == http.StatusGone {
		kind = KindNotFound
	}
	return nil, &Error{Op: "download bulk result", Kind: kind, Status: res.StatusCode}
}

// Limits that keep an OrderStream's memory bounded whatever the file.
const (
	// MaxBulkLine is the longest JSONL line read; a longer one is skipped
	// and reported.
	MaxBulkLine = 1 << 20
	// MaxBulkChildren is how many child lines one order may gather; more
	// are dropped and reported.
	MaxBulkChildren = 5000
	maxProblems     = 20
)

// OrderStream reads a bulk orders JSONL file one order at a time, its
// line items and fulfillment line items stitched back onto it by
// __parentId. It holds one order in memory, never the file.
//
// It assumes, as Shopify's files are written, that a parent's line comes
// before its children and that children follow their order before the
// next order begins; a child whose parent is not the current order is
// reported as a problem and skipped.
type OrderStream struct {
	r   *bufio.Reader
	pos int64 // offset of the next byte to read, from the file's start

	next      *Order // an order read but not handed out (its children may follow)
	nextStart int64  // where its line began
	children  int

	problems []string
	skipped  int
	eof      bool
}

// NewOrderStream reads r, which starts at byte offset start of the file
// (0, or the resume offset a previous Next gave).
func NewOrderStream(r io.Reader, start int64) *OrderStream {
	return &OrderStream{r: bufio.NewReaderSize(r, 64<<10), pos: start}
}

// Problems are the first lines that could not be used, with why; Skipped
// counts all of them.
func (s *OrderStream) Problems() ([]string, int) { return s.problems, s.skipped }

func (s *OrderStream) problem(at int64, format string, args ...any) {
	s.skipped++
	if len(s.problems) < maxProblems {
		s.problems = append(s.problems, fmt.Sprintf("byte %d: ", at)+fmt.Sprintf(format, args...))
	}
}

type bulkLine struct {
	ID       string `json:"id"`
	ParentID string `json:"__parentId"`
}

// Next returns the next complete order and the offset to resume from once
// it has been stored: the start of the line after it and its children.
// It returns io.EOF after the last order.
func (s *OrderStream) Next() (*Order, int64, error) {
	for {
		line, start, err := s.readLine()
		if err == io.EOF {
			if s.next != nil {
				o := s.next
				s.next = nil
				return o, s.pos, nil
			}
			return nil, s.pos, io.EOF
		}
		if err != nil {
			return nil, start, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var head bulkLine
		if err := json.Unmarshal(line, &head); err != nil {
			s.problem(start, "not JSON: %v", err)
			continue
		}
		if head.ParentID == "" {
			var o Order
			if err := json.Unmarshal(line, &o); err != nil || !strings.HasPrefix(o.ID, "gid://shopify/Order/") {
				if err == nil {
					err = fmt.Errorf("id %q is not an order", o.ID)
				}
				s.problem(start, "order: %v", err)
				continue
			}
			prev := s.next
			s.next, s.nextStart, s.children = &o, start, 0
			if prev != nil {
				return prev, start, nil
			}
			continue
		}
		s.attach(line, head, start)
	}
}

// attach stitches one child line onto the current order.
func (s *OrderStream) attach(line []byte, head bulkLine, at int64) {
	o := s.next
	if o == nil {
		s.problem(at, "%s: parent %s not seen", head.ID, head.ParentID)
		return
	}
	if s.children >= MaxBulkChildren {
		s.problem(at, "%s: more than %d children of %s", head.ID, MaxBulkChildren, o.ID)
		return
	}
	switch {
	case strings.HasPrefix(head.ID, "gid://shopify/LineItem/"):
		if head.ParentID != o.ID {
			s.problem(at, "%s: parent %s is not the current order %s", head.ID, head.ParentID, o.ID)
			return
		}
		var li LineItem
		if err := json.Unmarshal(line, &li); err != nil {
			s.problem(at, "line item: %v", err)
			return
		}
		o.LineItems.Nodes = append(o.LineItems.Nodes, li)
	case strings.HasPrefix(head.ID, "gid://shopify/FulfillmentLineItem/"):
		for i := range o.Fulfillments {
			if o.Fulfillments[i].ID == head.ParentID {
				var fli FulfillmentLineItem
				if err := json.Unmarshal(line, &fli); err != nil {
					s.problem(at, "fulfillment line item: %v", err)
					return
				}
				f := &o.Fulfillments[i]
				f.FulfillmentLineItems.Nodes = append(f.FulfillmentLineItems.Nodes, fli)
				s.children++
				return
			}
		}
		s.problem(at, "%s: parent %s is not a fulfillment of %s", head.ID, head.ParentID, o.ID)
		return
	default:
		// A child hubdesk did not ask for: not an error of the file.
		return
	}
	s.children++
}

// readLine reads one line (without its newline) and where it began. A
// line longer than MaxBulkLine is consumed, reported and returned empty.
func (s *OrderStream) readLine() ([]byte, int64, error) {
	start := s.pos
	if s.eof {
		return nil, start, io.EOF
	}
	var buf []byte
	tooLong := false
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.pos += int64(len(chunk))
		if !tooLong {
			if len(buf)+len(chunk) > MaxBulkLine+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			s.eof = true
			if len(buf) == 0 && !tooLong {
				return nil, start, io.EOF
			}
			err = nil
		}
		if err != nil {
			return nil, start, err
		}
		break
	}
	if tooLong {
		s.problem(start, "line longer than %d bytes", MaxBulkLine)
		return nil, start, nil
	}
	return bytes.TrimRight(buf, "\r\n"), start, nil
}
