package shopify_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

const sampleJSONL = `{"id":"gid://shopify/Order/1","name":"#1001","updatedAt":"2026-01-02T03:04:05Z","fulfillments":[{"id":"gid://shopify/Fulfillment/10","status":"SUCCESS","displayStatus":"DELIVERED","deliveredAt":"2026-01-05T00:00:00Z","trackingInfo":[{"company":"UPS","number":"1Z","url":"https://ups.example/1Z"}]}]}
{"id":"gid://shopify/LineItem/100","title":"Mug","quantity":2,"currentQuantity":2,"__parentId":"gid://shopify/Order/1"}
{"id":"gid://shopify/LineItem/101","title":"Tea","quantity":1,"currentQuantity":1,"__parentId":"gid://shopify/Order/1"}
{"id":"gid://shopify/FulfillmentLineItem/1000","quantity":2,"lineItem":{"id":"gid://shopify/LineItem/100"},"__parentId":"gid://shopify/Fulfillment/10"}
{"id":"gid://shopify/Order/2","name":"#1002","updatedAt":"2026-01-03T00:00:00Z","fulfillments":[]}
{"id":"gid://shopify/LineItem/200","title":"Pot","quantity":1,"__parentId":"gid://shopify/Order/2"}
`

func readAll(t testing.TB, data []byte, start int64) ([]*shopify.Order, []int64) {
	s := shopify.NewOrderStream(bytes.NewReader(data[start:]), start)
	var orders []*shopify.Order
	var offsets []int64
	for {
		o, off, err := s.Next()
		if errors.Is(err, io.EOF) {
			return orders, offsets
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		orders = append(orders, o)
		offsets = append(offsets, off)
	}
}

func TestOrderStreamStitches(t *testing.T) {
	orders, offsets := readAll(t, []byte(sampleJSONL), 0)
	if len(orders) != 2 {
		t.Fatalf("%d orders", len(orders))
	}
	o := orders[0]
	if o.Name != "#1001" || len(o.LineItems.Nodes) != 2 || o.LineItems.Nodes[1].Title != "Tea" {
		t.Errorf("order 1 = %+v", o)
	}
	f := o.Fulfillments[0]
	if len(f.FulfillmentLineItems.Nodes) != 1 || f.FulfillmentLineItems.Nodes[0].LineItem.ID != "gid://shopify/LineItem/100" || f.DeliveredAt == nil {
		t.Errorf("fulfillment = %+v", f)
	}
	if len(orders[1].LineItems.Nodes) != 1 {
		t.Errorf("order 2 = %+v", orders[1])
	}
	// Resuming at the first order's offset reads the second order alone.
	if want := int64(strings.Index(sampleJSONL, `{"id":"gid://shopify/Order/2"`)); offsets[0] != want {
		t.Errorf("offset = %d, want %d", offsets[0], want)
	}
	if offsets[1] != int64(len(sampleJSONL)) {
		t.Errorf("last offset = %d", offsets[1])
	}
	rest, _ := readAll(t, []byte(sampleJSONL), offsets[0])
	if len(rest) != 1 || !reflect.DeepEqual(rest[0], orders[1]) {
		t.Errorf("resumed = %+v", rest)
	}
}

func TestOrderStreamReportsBadLines(t *testing.T) {
	data := "not json\n" +
		`{"id":"gid://shopify/LineItem/9","__parentId":"gid://shopify/Order/404"}` + "\n" +
		`{"id":"gid://shopify/Order/1"}` + "\n" +
		`{"id":"gid://shopify/LineItem/9","__parentId":"gid://shopify/Order/404"}` + "\n" +
		strings.Repeat("x", shopify.MaxBulkLine+10) + "\n" +
		`{"id":"gid://shopify/Order/2"}`
	s := shopify.NewOrderStream(strings.NewReader(data), 0)
	var ids []string
	for {
		o, _, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	if len(ids) != 2 {
		t.Errorf("orders %v", ids)
	}
	problems, skipped := s.Problems()
	if skipped != 4 || len(problems) != 4 {
		t.Errorf("skipped %d: %q", skipped, problems)
	}
}

// FuzzBulkJSONL: whatever the file, the reader never panics, its offsets
// only move forward within the file, and resuming at any offset it gave
// reads exactly the orders that followed.
func FuzzBulkJSONL(f *testing.F) {
	f.Add([]byte(sampleJSONL))
	f.Add([]byte(""))
	f.Add([]byte("\n\n{\"id\":\"gid://shopify/Order/1\"}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		orders, offsets := readAll(t, data, 0)
		prev := int64(0)
		for i, off := range offsets {
			if off < prev || off > int64(len(data)) {
				t.Fatalf("offset %d: %d after %d (len %d)", i, off, prev, len(data))
			}
			prev = off
		}
		for i := range offsets {
			if i >= 3 {
				break
			}
			rest, _ := readAll(t, data, offsets[i])
			if len(rest) != len(orders)-i-1 {
				t.Fatalf("resume at %d: %d orders, want %d", offsets[i], len(rest), len(orders)-i-1)
			}
			for j := range rest {
				if !reflect.DeepEqual(rest[j], orders[i+1+j]) {
					t.Fatalf("resume at %d: order %d differs", offsets[i], j)
				}
			}
		}
	})
}
