package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

func start(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, string) {
	t.Helper()
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return sb, srv.URL
}

// call sends a raw request and returns status, headers and body.
func call(t *testing.T, method, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("X-Authorization", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func TestAuthAndScopes(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	const unauthorized = `{"error":{"code":"401","http_code":"GEN-UNAUTHORIZED","message":"Unauthorized."}}`
	cases := []struct {
		key, method, path, body string
		want                    int
	}{
		{"", "GET", "/api/v1/webhooks", "", 401},
		{"wrong", "GET", "/api/v1/webhooks", "", 401},
		{sandbox.KeyOrders, "GET", "/api/v1/webhooks", "", 401},
		{sandbox.KeyOrders, "GET", "/api/v1/warehouse/return/list", "", 401},
		{sandbox.KeyReturns, "POST", "/api/v1/order/link", `{"name":"#1001","zip":"10115"}`, 401},
		{sandbox.KeyOrders, "POST", "/api/v1/order/link", `{"name":"#1001","zip":"10115"}`, 200},
		{sandbox.KeyReturns, "GET", "/api/v1/warehouse/return/list", "", 200},
		{sandbox.KeyFull, "GET", "/api/v1/webhooks", "", 200},
	}
	for _, c := range cases {
		status, _, body := call(t, c.method, base+c.path, c.key, c.body)
		if status != c.want {
			t.Fatalf("%s %s with %q: %d %s", c.method, c.path, c.key, status, body)
		}
		if status == 401 && string(body) != unauthorized {
			t.Fatalf("401 body %s", body)
		}
	}
}

func TestListSemantics(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	list := base + "/api/v1/warehouse/return/list"

	// No paginate: a bare array; default window 24 h; default states.
	status, _, body := call(t, "GET", list, sandbox.KeyFull, "")
	var arr []map[string]any
	if status != 200 || json.Unmarshal(body, &arr) != nil || len(arr) != 2 {
		t.Fatalf("default list: %d %s", status, body)
	}
	if !bytes.Contains(body, []byte(`http:\/\/`)) {
		t.Fatalf("URLs not escaped like PHP: %s", body)
	}
	if _, ok := arr[0]["id"].(string); !ok {
		t.Fatal("list id is not a string")
	}

	// Over 120 days: 422, Laravel-shaped.
	status, _, body = call(t, "GET", list+"?from=2024-01-01T00:00:00.000Z&to=2024-06-01T00:00:00.000Z", sandbox.KeyFull, "")
	var v struct {
		Message string              `json:"message"`
		Errors  map[string][]string `json:"errors"`
	}
	if status != 422 || json.Unmarshal(body, &v) != nil || v.Message == "" || len(v.Errors["to"]) == 0 {
		t.Fatalf("120-day rule: %d %s", status, body)
	}
	// Exactly 120 days is allowed.
	if status, _, body = call(t, "GET", list+"?from=2024-01-01T00:00:00.000Z&to=2024-04-30T00:00:00.000Z", sandbox.KeyFull, ""); status != 200 {
		t.Fatalf("120 days: %d %s", status, body)
	}

	// Pagination: opaque cursor, nextPageUrl to follow, previousPageUrl back.
	from := time.Now().Add(-60 * 24 * time.Hour).UTC().Format(time.RFC3339)
	next := list + "?paginate=true&pageSize=2&from=" + from
	var ids []string
	var pages int
	var prev *string
	for next != "" {
		status, _, body = call(t, "GET", next, sandbox.KeyFull, "")
		var page struct {
			Returns []struct {
				ID string `json:"id"`
			} `json:"returns"`
			NextPageURL     *string `json:"nextPageUrl"`
			PreviousPageURL *string `json:"previousPageUrl"`
		}
		if status != 200 || json.Unmarshal(body, &page) != nil {
			t.Fatalf("page: %d %s", status, body)
		}
		pages++
		for _, r := range page.Returns {
			ids = append(ids, r.ID)
		}
		next = ""
		if page.NextPageURL != nil {
			next = *page.NextPageURL
		}
		if page.PreviousPageURL != nil {
			prev = page.PreviousPageURL
		}
	}
	if pages < 3 || len(ids) != 7 { // open, closed, expired in 60 days
		t.Fatalf("%d pages, ids %v", pages, ids)
	}
	if prev == nil {
		t.Fatal("no previousPageUrl on later pages")
	}
	status, _, body = call(t, "GET", *prev, sandbox.KeyFull, "")
	if status != 200 || !bytes.Contains(body, []byte(`"returns":[{`)) {
		t.Fatalf("previous page: %d %s", status, body)
	}
	if status, _, _ = call(t, "GET", list+"?paginate=true&cursor=garbage!", sandbox.KeyFull, ""); status != 422 {
		t.Fatalf("bad cursor: %d", status)
	}
}

func TestRateLimitPerKey(t *testing.T) {
	_, base := start(t, sandbox.Options{RateLimit: 3})
	for i := range 3 {
		status, h, _ := call(t, "GET", base+"/api/v1/webhooks", sandbox.KeyFull, "")
		if status != 200 || h.Get("X-RateLimit-Limit") != "3" {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	status, h, body := call(t, "GET", base+"/api/v1/webhooks", sandbox.KeyFull, "")
	if status != 429 || h.Get("Retry-After") == "" || h.Get("X-RateLimit-Remaining") != "0" || !bytes.Contains(body, []byte("Too Many Attempts")) {
		t.Fatalf("4th request: %d %v %s", status, h, body)
	}
	// Another key has its own budget.
	if status, _, _ := call(t, "GET", base+"/api/v1/warehouse/return/list", sandbox.KeyReturns, ""); status != 200 {
		t.Fatalf("other key limited: %d", status)
	}
}

func TestDetailsShapes(t *testing.T) {
	_, base := start(t, sandbox.Options{})
	status, _, body := call(t, "GET", base+"/api/v1/warehouse/return/details?order_name=%231003", sandbox.KeyFull, "")
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if status != 200 || dec.Decode(&m) != nil {
		t.Fatalf("%d %s", status, body)
	}
	if _, ok := m["id"].(json.Number); !ok {
		t.Fatalf("details id not an integer: %s", body)
	}
	if _, err := time.Parse("2006-01-02 15:04:05", m["created_at"].(string)); err != nil {
		t.Fatalf("details created_at: %v", err)
	}
	// The order name works without "#", too.
	if status, _, body = call(t, "GET", base+"/api/v1/warehouse/return/details?order_name=1003", sandbox.KeyFull, ""); status != 200 || bytes.Contains(body, []byte(`"error"`)) {
		t.Fatalf("without #: %s", body)
	}
	status, _, body = call(t, "GET", base+"/api/v1/warehouse/return/details?order_name=%239999", sandbox.KeyFull, "")
	if status != 200 || string(body) != `{"error":{"message":"No return found with this ID."}}` {
		t.Fatalf("not found: %d %s", status, body)
	}
	if status, _, _ = call(t, "GET", base+"/api/v1/warehouse/return/details?order_name=1&return_id=2", sandbox.KeyFull, ""); status != 422 {
		t.Fatalf("two selectors: %d", status)
	}
}

func TestPortal(t *testing.T) {
	sb, base := start(t, sandbox.Options{ShopName: "Ada's <Shop>"})
	_, _, body := call(t, "POST", base+"/api/v1/order/link", sandbox.KeyFull, `{"name":"#1003","zip":"sw1a1aa","gift":true}`)
	var link struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(body, &link); err != nil || !strings.HasPrefix(link.URL, base+"/portal/link/") {
		t.Fatalf("link %s", body)
	}
	status, h, page := call(t, "GET", link.URL, "", "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("portal: %d", status)
	}
	for _, want := range []string{"Order #1003", "Gift return", "already returned", "Ada&#39;s &lt;Shop&gt;", "9400136105440512280610"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Fatalf("portal page lacks %q:\n%s", want, page)
		}
	}
	if bytes.Contains(page, []byte("src=\"http")) || bytes.Contains(page, []byte("href=\"http")) {
		t.Fatal("portal loads third-party assets")
	}
	// Loop's fragment form and the portal's fallback lookup.
	if status, _, page = call(t, "GET", base+"/portal/", "", ""); status != 200 || !bytes.Contains(page, []byte("#\\/link\\/")) {
		t.Fatalf("portal index: %d", status)
	}
	if _, _, page = call(t, "GET", base+"/portal/?order=%231001&zip=10115", "", ""); !bytes.Contains(page, []byte("Order #1001")) {
		t.Fatal("fallback lookup failed")
	}
	if _, _, page = call(t, "GET", base+"/portal/?order=%231001&zip=00000", "", ""); !bytes.Contains(page, []byte("could not find")) {
		t.Fatal("fallback lookup with wrong zip should fail")
	}
	if status, _, _ = call(t, "GET", base+"/portal/link/nope", "", ""); status != 404 {
		t.Fatalf("unknown link: %d", status)
	}
	r := sb.Returns("#1003")[0]
	_, _, lb := call(t, "GET", base+"/api/v1/warehouse/return/details?return_id="+itoa(r.ID), sandbox.KeyFull, "")
	var d struct {
		StatusPageURL string `json:"status_page_url"`
	}
	json.Unmarshal(lb, &d)
	if status, _, page = call(t, "GET", d.StatusPageURL, "", ""); status != 200 || !bytes.Contains(page, []byte("in_transit")) {
		t.Fatalf("status page %s: %d", d.StatusPageURL, status)
	}
	if status, _, _ = call(t, "GET", d.StatusPageURL+"/label.pdf", "", ""); status != 200 {
		t.Fatalf("label_url: %d", status)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestAdminAndFaults(t *testing.T) {
	sb, base := start(t, sandbox.Options{NoSeed: true})
	status, _, body := call(t, "POST", base+"/_sandbox/orders", "", `{"name":"#2001","email":"x@example.com","zip":"1000 AA","delivered_at":"`+time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339)+`"}`)
	if status != 201 {
		t.Fatalf("add order: %d %s", status, body)
	}
	status, _, body = call(t, "POST", base+"/_sandbox/returns", "", `{"order_name":"#2001"}`)
	var info sandbox.ReturnInfo
	if status != 201 || json.Unmarshal(body, &info) != nil || info.State != loop.StateOpen {
		t.Fatalf("create return: %d %s", status, body)
	}
	path := base + "/_sandbox/returns/" + itoa(info.ID)
	steps := []string{"pre_transit", "in_transit", "out_for_delivery", "delivered"}
	for _, want := range steps {
		status, _, body = call(t, "POST", path+"/advance", "", "")
		json.Unmarshal(body, &info)
		if status != 200 || info.LabelStatus != want || info.TrackingNumber == "" {
			t.Fatalf("advance to %s: %d %s", want, status, body)
		}
	}
	call(t, "POST", path+"/advance", "", "")
	if r := sb.Returns("#2001")[0]; r.State != loop.StateClosed {
		t.Fatalf("not closed after delivery: %+v", r)
	}
	if status, _, _ = call(t, "POST", path+"/advance", "", ""); status != 409 {
		t.Fatalf("advance from closed: %d", status)
	}
	if status, _, _ = call(t, "POST", path+"/state", "", `{"state":"cancelled"}`); status != 200 {
		t.Fatalf("set state: %d", status)
	}
	if status, _, body = call(t, "POST", path+"/label", "", `{"carrier":"UPS","tracking_number":"1Z9","label_status":"failure"}`); status != 200 || !bytes.Contains(body, []byte("1Z9")) {
		t.Fatalf("set label: %d %s", status, body)
	}
	if status, _, _ = call(t, "POST", base+"/_sandbox/returns", "", `{"order_name":"#nope"}`); status != 404 {
		t.Fatalf("unknown order: %d", status)
	}

	// Faults over HTTP.
	call(t, "PUT", base+"/_sandbox/faults", "", `{"outage":true}`)
	if status, h, _ := call(t, "GET", base+"/api/v1/webhooks", sandbox.KeyFull, ""); status != 503 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("outage: %d", status)
	}
	call(t, "PUT", base+"/_sandbox/faults", "", `{"error_rate":1}`)
	if status, _, _ := call(t, "GET", base+"/api/v1/webhooks", sandbox.KeyFull, ""); status != 500 {
		t.Fatalf("error rate 1: %d", status)
	}
	call(t, "PUT", base+"/_sandbox/faults", "", `{"rate_limited":true}`)
	if status, h, _ := call(t, "GET", base+"/api/v1/webhooks", sandbox.KeyFull, ""); status != 429 || h.Get("Retry-After") != "60" {
		t.Fatalf("429 storm: %d, Retry-After %q", status, h.Get("Retry-After"))
	}
	call(t, "PUT", base+"/_sandbox/faults", "", `{"rate_limited":true,"retry_after_s":3}`)
	if status, h, _ := call(t, "GET", base+"/api/v1/webhooks", sandbox.KeyFull, ""); status != 429 || h.Get("Retry-After") != "3" {
		t.Fatalf("429 storm with its own wait: %d, Retry-After %q", status, h.Get("Retry-After"))
	}
	call(t, "PUT", base+"/_sandbox/faults", "", `{"latency_ms":80}`)
	t0 := time.Now()
	if status, _, _ := call(t, "GET", base+"/api/v1/webhooks", sandbox.KeyFull, ""); status != 200 || time.Since(t0) < 80*time.Millisecond {
		t.Fatalf("latency: %d after %v", status, time.Since(t0))
	}
	if f := sb.Faults(); f.Latency != 80*time.Millisecond || f.Outage {
		t.Fatalf("faults %+v", f)
	}
	// The portal is never faulted.
	call(t, "PUT", base+"/_sandbox/faults", "", `{"outage":true}`)
	if status, _, _ := call(t, "GET", base+"/portal/", "", ""); status != 200 {
		t.Fatalf("portal under outage: %d", status)
	}
	if status, _, body = call(t, "GET", base+"/_sandbox/state", "", ""); status != 200 || !bytes.Contains(body, []byte(`"#2001"`)) {
		t.Fatalf("state: %d %s", status, body)
	}
}

func TestWebhookRetriesAndRetryAfter(t *testing.T) {
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		body, _ := io.ReadAll(r.Body)
		if err := loop.VerifyWebhook(body, r.Header.Get("X-Loop-Signature"), sandbox.DefaultWebhookSecret); err != nil {
			t.Errorf("signature: %v", err)
		}
	}))
	defer recv.Close()
	sb, base := start(t, sandbox.Options{WebhookBackoff: time.Millisecond})
	call(t, "POST", base+"/api/v1/webhooks", sandbox.KeyFull, `{"topic":"return","trigger":"return.updated","url":"`+recv.URL+`","status":"active"}`)
	// An inactive subscription receives nothing.
	call(t, "POST", base+"/api/v1/webhooks", sandbox.KeyFull, `{"topic":"return","trigger":"return.updated","url":"`+recv.URL+`/inactive"}`)
	r := sb.Returns("#1004")[0]
	if _, err := sb.AdvanceReturn(r.ID); err != nil { // review → open
		t.Fatal(err)
	}
	sb.WaitDeliveries()
	ds := sb.Deliveries()
	if len(ds) != 2 || ds[0].Status != 429 || !ds[1].Delivered || ds[1].Attempt != 2 || hits.Load() != 2 {
		t.Fatalf("deliveries %+v", ds)
	}

	// A dead receiver is given up on after WebhookRetries.
	dead := sandbox.New(sandbox.Options{WebhookBackoff: time.Millisecond, WebhookRetries: 2})
	defer dead.Close()
	srv := httptest.NewServer(dead)
	defer srv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + ln.Addr().String()
	ln.Close()
	call(t, "POST", srv.URL+"/api/v1/webhooks", sandbox.KeyFull, `{"topic":"return","trigger":"return.created","url":"`+deadURL+`","status":"active"}`)
	dead.CreateReturn(sandbox.ReturnSpec{OrderName: "#1001"})
	dead.WaitDeliveries()
	if ds := dead.Deliveries(); len(ds) != 3 || ds[2].Delivered || ds[2].Error == "" {
		t.Fatalf("dead receiver: %+v", ds)
	}
}

func TestListenAndServe(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sb.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()
	c := loop.New(loop.Options{APIKey: sandbox.KeyFull, BaseURL: base + "/api/v1"})
	link, err := c.CreateDeepLink(context.Background(), loop.DeepLinkRequest{OrderName: "#1001", Lookup: "10115"})
	if err != nil || !strings.HasPrefix(link.URL, base+"/portal/link/") {
		t.Fatalf("%v %q", err, link.URL)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

// A store's order names repeat; its order ids do not. Orders added with
// their store ids keep namesakes apart, a return picks its order by that
// id, and Loop's answers carry it as provider_order_id.
func TestNamesakeOrdersByStoreID(t *testing.T) {
	sb, base := start(t, sandbox.Options{NoSeed: true})
	sb.AddOrder(sandbox.Order{Name: "#1032", ProviderOrderID: 5001032, Zip: "10115"})
	sb.AddOrder(sandbox.Order{Name: "#1032", ProviderOrderID: 5009032, Zip: "94105"})
	info, err := sb.CreateReturn(sandbox.ReturnSpec{ProviderOrderID: 5009032})
	if err != nil || info.ProviderOrderID != 5009032 || info.OrderName != "#1032" {
		t.Fatalf("return: %+v %v", info, err)
	}
	status, _, body := call(t, "POST", base+"/_sandbox/returns", "", `{"provider_order_id":5001032}`)
	var created sandbox.ReturnInfo
	if err := json.Unmarshal(body, &created); status != 201 || err != nil || created.ProviderOrderID != 5001032 {
		t.Fatalf("admin create: %d %s", status, body)
	}
	status, _, body = call(t, "GET", base+"/api/v1/warehouse/return/details?order_id=5009032", sandbox.KeyFull, "")
	if status != 200 || !strings.Contains(string(body), `"provider_order_id":5009032`) {
		t.Fatalf("details by store id: %d %s", status, body)
	}
	if got := len(sb.Returns("#1032")); got != 2 {
		t.Fatalf("returns of #1032: %d, want one per order", got)
	}
}
