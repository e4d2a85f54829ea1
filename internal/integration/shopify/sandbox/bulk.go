package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// Bulk operations: bulkOperationRunQuery over orders writes a real JSONL
// file, as Shopify does, from a snapshot of the shop taken when the
// operation starts; the file is served at /_bulk/{name} (Range requests
// honoured, no token, as Shopify's signed storage URLs); completion is
// reported by currentBulkOperation, node(id:) and a
// bulk_operations/finish change through Options.OnChange.

type bulkOp struct {
	id         string
	status     string
	errorCode  string
	created    time.Time
	completed  *time.Time
	objects    int64
	roots      int64
	size       int64
	url        string
	path       string
	cancelling chan struct{}
}

func (b *bulkOp) object() map[string]any {
	m := map[string]any{
		"id": b.id, "status": b.status, "errorCode": nil, "createdAt": b.created, "completedAt": b.completed,
		"objectCount": strconv.FormatInt(b.objects, 10), "rootObjectCount": strconv.FormatInt(b.roots, 10),
		"fileSize": nil, "url": nil, "partialDataUrl": nil, "type": "QUERY",
	}
	if b.errorCode != "" {
		m["errorCode"] = b.errorCode
	}
	if b.status == shopify.BulkCompleted {
		m["fileSize"] = strconv.FormatInt(b.size, 10)
		if b.roots > 0 {
			m["url"] = b.url
		}
	}
	return m
}

func (c *gqlCall) bulkRun() (resolved, *graphQLError) {
	s := c.s
	query := c.str("query")
	inner, ok := parseOperation(query)
	uerr := func(code, msg string) (resolved, *graphQLError) {
		return resolved{value: map[string]any{"bulkOperation": nil,
			"userErrors": []map[string]any{{"field": []string{"query"}, "message": msg, "code": code}}}, cost: 10}, nil
	}
	if !ok || len(inner.fields) != 1 || inner.fields[0] != "orders" {
		return uerr("INVALID", "Bulk queries in this sandbox must select the orders connection and nothing else.")
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if b := s.data.bulk; b != nil && (b.status == shopify.BulkCreated || b.status == shopify.BulkRunning || b.status == shopify.BulkCanceling) {
		return uerr("OPERATION_IN_PROGRESS", "A bulk query operation for this app and shop is already in progress: "+b.id+".")
	}
	dir, err := s.bulkDir()
	if err != nil {
		return resolved{}, &graphQLError{Message: "Internal error: " + err.Error(), Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}}
	}
	s.data.bulkSeq++
	name := fmt.Sprintf("bulk-%d-%d.jsonl", time.Now().UnixNano(), s.data.bulkSeq)
	b := &bulkOp{
		id: shopify.GID("BulkOperation", strconv.Itoa(7_000_000+s.data.bulkSeq)), status: shopify.BulkCreated,
		created: s.opts.Now().UTC().Truncate(time.Second), path: filepath.Join(dir, name),
		url: s.BaseURL() + "/_bulk/" + name, cancelling: make(chan struct{}),
	}
	if old := s.data.bulk; old != nil {
		s.bulkHistory = append(s.bulkHistory, old)
	}
	s.data.bulk = b
	snap := s.data.snapshot()
	go s.writeBulk(b, snap)
	return resolved{value: map[string]any{"bulkOperation": b.object(), "userErrors": []any{}}, cost: 10}, nil
}

func (c *gqlCall) bulkCancel() (resolved, *graphQLError) {
	s := c.s
	id := c.str("id")
	s.dmu.Lock()
	defer s.dmu.Unlock()
	b := s.data.bulk
	if b == nil || b.id != id {
		return resolved{value: map[string]any{"bulkOperation": nil,
			"userErrors": []map[string]any{{"field": []string{"id"}, "message": "Bulk operation does not exist"}}}, cost: 10}, nil
	}
	if b.status == shopify.BulkCreated || b.status == shopify.BulkRunning {
		b.status = shopify.BulkCanceling
		close(b.cancelling)
	}
	return resolved{value: map[string]any{"bulkOperation": b.object(), "userErrors": []any{}}, cost: 10}, nil
}

// bulkDir is where result files go: Options.BulkDir, or a directory made
// once under the system's temporary one. The caller holds dmu.
func (s *Sandbox) bulkDir() (string, error) {
	if s.opts.BulkDir != "" {
		return s.opts.BulkDir, os.MkdirAll(s.opts.BulkDir, 0o755)
	}
	if s.tmpBulkDir == "" {
		d, err := os.MkdirTemp("", "shopify-sandbox-bulk-")
		if err != nil {
			return "", err
		}
		s.tmpBulkDir = d
	}
	return s.tmpBulkDir, nil
}

// The shapes of JSONL lines: an order without its connections (their
// nodes are lines of their own), and children with __parentId.
type bulkOrderLine struct {
	*shopify.Order
	LineItems    *struct{}             `json:"lineItems,omitempty"`
	Fulfillments []bulkFulfillmentLine `json:"fulfillments"`
}

type bulkFulfillmentLine struct {
	shopify.Fulfillment
	FulfillmentLineItems *struct{} `json:"fulfillmentLineItems,omitempty"`
}

type bulkLineItemLine struct {
	shopify.LineItem
	ParentID string `json:"__parentId"`
}

type bulkFulfillmentLineItemLine struct {
	shopify.FulfillmentLineItem
	ParentID string `json:"__parentId"`
}

// writeBulk writes the operation's file from the snapshot, then marks it
// completed (or canceled, or failed) and reports the finish.
func (s *Sandbox) writeBulk(b *bulkOp, snap *shopData) {
	s.dmu.Lock()
	b.status = shopify.BulkRunning
	s.dmu.Unlock()
	status, code := shopify.BulkCompleted, ""
	var objects, roots, size int64
	err := func() error {
		f, err := os.Create(b.path)
		if err != nil {
			return err
		}
		defer f.Close()
		w := bufio.NewWriterSize(f, 256<<10)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		var werr error
		allOrderIDs(snap.seeded, snap.created, func(id int64) bool {
			if roots%1000 == 0 {
				select {
				case <-b.cancelling:
					status = shopify.BulkCanceled
					return false
				default:
				}
				s.dmu.Lock()
				b.objects, b.roots = objects, roots
				s.dmu.Unlock()
			}
			o := snap.orderByID(id)
			line := bulkOrderLine{Order: o, Fulfillments: make([]bulkFulfillmentLine, len(o.Fulfillments))}
			for i := range o.Fulfillments {
				line.Fulfillments[i] = bulkFulfillmentLine{Fulfillment: o.Fulfillments[i]}
			}
			if werr = enc.Encode(line); werr != nil {
				return false
			}
			objects++
			roots++
			for _, li := range o.LineItems.Nodes {
				if werr = enc.Encode(bulkLineItemLine{LineItem: li, ParentID: o.ID}); werr != nil {
					return false
				}
				objects++
			}
			for _, fu := range o.Fulfillments {
				for _, fli := range fu.FulfillmentLineItems.Nodes {
					if werr = enc.Encode(bulkFulfillmentLineItemLine{FulfillmentLineItem: fli, ParentID: fu.ID}); werr != nil {
						return false
					}
					objects++
				}
			}
			return true
		})
		if werr != nil {
			return werr
		}
		if err := w.Flush(); err != nil {
			return err
		}
		st, err := f.Stat()
		if err != nil {
			return err
		}
		size = st.Size()
		return nil
	}()
	if err != nil {
		status, code = shopify.BulkFailed, "INTERNAL_SERVER_ERROR"
		s.log.Error("shopify sandbox: bulk operation failed", "id", b.id, "err", err)
	}
	done := s.opts.Now().UTC().Truncate(time.Second)
	s.dmu.Lock()
	b.status, b.errorCode, b.objects, b.roots, b.size, b.completed = status, code, objects, roots, size, &done
	s.dmu.Unlock()
	payload, _ := json.Marshal(map[string]any{
		"admin_graphql_api_id": b.id, "completed_at": done, "created_at": b.created,
		"error_code": nilIfEmpty(strings.ToLower(code)), "status": strings.ToLower(status), "type": "query",
	})
	s.emit("bulk_operations/finish", payload)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// bulkFile serves a result file. Names are the sandbox's own; anything
// else is not found.
func (s *Sandbox) bulkFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if strings.ContainsAny(name, `/\`) || !strings.HasSuffix(name, ".jsonl") {
		http.NotFound(w, r)
		return
	}
	s.dmu.Lock()
	dir, _ := s.bulkDir()
	s.dmu.Unlock()
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/jsonl")
	http.ServeContent(w, r, name, st.ModTime(), f)
}

// WaitBulk blocks until the current bulk operation is done or d passes,
// and reports whether it is done (tests).
func (s *Sandbox) WaitBulk(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s.dmu.Lock()
		b := s.data.bulk
		done := b != nil && (b.status == shopify.BulkCompleted || b.status == shopify.BulkCanceled || b.status == shopify.BulkFailed)
		s.dmu.Unlock()
		if done {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// Close stops the webhook sender and removes the result files of a
// sandbox that made its own directory.
func (s *Sandbox) Close() error {
	s.stopWebhooks(context.Background())
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if s.tmpBulkDir != "" {
		err := os.RemoveAll(s.tmpBulkDir)
		s.tmpBulkDir = ""
		return err
	}
	return nil
}
