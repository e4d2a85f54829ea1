package loop_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

// env is a sandbox on a loopback httptest.Server and a client for it.
type env struct {
	sb     *sandbox.Sandbox
	srv    *httptest.Server
	client *loop.Client
}

// newEnv starts a sandbox with opts and a client with copts; the client's
// BaseURL and, unless set, APIKey are filled in. Retries are fast by default
// so failure tests do not sleep.
func newEnv(t testing.TB, opts sandbox.Options, copts loop.Options) *env {
	t.Helper()
	if opts.WebhookBackoff == 0 {
		opts.WebhookBackoff = 10 * time.Millisecond
	}
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	sb.SetBaseURL(srv.URL)
	t.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	copts.BaseURL = srv.URL + "/api/v1"
	if copts.APIKey == "" {
		copts.APIKey = sandbox.KeyFull
	}
	if copts.RetryBaseDelay == 0 {
		copts.RetryBaseDelay = 5 * time.Millisecond
	}
	if copts.RetryMaxDelay == 0 {
		copts.RetryMaxDelay = 20 * time.Millisecond
	}
	return &env{sb: sb, srv: srv, client: loop.New(copts)}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestDeepLinkResolvesToPortal(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	link, err := e.client.CreateDeepLink(ctx(t), loop.DeepLinkRequest{OrderName: "#1001", Lookup: "10115"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, e.srv.URL+"/portal/link/") {
		t.Fatalf("deep link %q does not point at the sandbox", link.URL)
	}
	resp, err := http.Get(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Order #1001") {
		t.Fatalf("portal page: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "http://") && strings.Contains(string(body), "<script src") {
		t.Fatal("portal page loads third-party assets")
	}

	// Lookup by email works as well as by postal code, without the "#".
	if _, err := e.client.CreateDeepLink(ctx(t), loop.DeepLinkRequest{OrderName: "1001", Lookup: "ADA@example.com"}); err != nil {
		t.Fatalf("lookup by email: %v", err)
	}
}

func TestQR(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	for _, kind := range []string{loop.QRPNG, loop.QRSVG, ""} {
		qr, err := e.client.CreateQR(ctx(t), loop.QRRequest{DeepLinkRequest: loop.DeepLinkRequest{OrderName: "#1001", Lookup: "10115"}, Type: kind, Size: 120})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(qr.DeepLinkURL, e.srv.URL+"/portal/link/") {
			t.Fatalf("deeplink_url %q", qr.DeepLinkURL)
		}
		resp, err := http.Get(qr.QR)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") {
			t.Fatalf("qr image %s: %d %s", kind, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}

func TestOrderNotFoundIs400(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	for _, req := range []loop.DeepLinkRequest{
		{OrderName: "#9999", Lookup: "10115"}, // no such order
		{OrderName: "#1001", Lookup: "99999"}, // wrong postal code
	} {
		_, err := e.client.CreateDeepLink(ctx(t), req)
		if !errors.Is(err, loop.ErrNotFound) {
			t.Fatalf("%+v: want ErrNotFound, got %v", req, err)
		}
		var le *loop.Error
		if !errors.As(err, &le) || le.Status != 400 || le.Attempts != 1 {
			t.Fatalf("want one attempt answered 400, got %#v", le)
		}
	}
}

func TestUnauthorizedAndMissingScope(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{APIKey: "not-a-key"})
	_, err := e.client.ReturnDetails(ctx(t), "#1003")
	if !errors.Is(err, loop.ErrUnauthorized) {
		t.Fatalf("bad key: want ErrUnauthorized, got %v", err)
	}
	var le *loop.Error
	errors.As(err, &le)
	if le.Code != "GEN-UNAUTHORIZED" || le.Message != "Unauthorized." || le.Attempts != 1 {
		t.Fatalf("401 envelope not read: %#v", le)
	}

	// A Returns-only key: 401 on deep links. Before any success it reads as
	// unauthorized; once the key has worked for Returns it reads as a
	// missing scope.
	ro := e.client.WithKey(sandbox.KeyReturns)
	if _, err := ro.CreateDeepLink(ctx(t), loop.DeepLinkRequest{OrderName: "#1001", Lookup: "10115"}); !errors.Is(err, loop.ErrUnauthorized) {
		t.Fatalf("want ErrUnauthorized before any success, got %v", err)
	}
	if _, err := ro.ReturnDetails(ctx(t), "#1003"); err != nil {
		t.Fatal(err)
	}
	_, err = ro.CreateDeepLink(ctx(t), loop.DeepLinkRequest{OrderName: "#1001", Lookup: "10115"})
	if !errors.Is(err, loop.ErrMissingScope) {
		t.Fatalf("want ErrMissingScope, got %v", err)
	}
}

func TestReturnDetailsAndHTTP200NotFound(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	r, err := e.client.ReturnDetails(ctx(t), "#1003")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != loop.StateOpen || r.Carrier != "USPS" || r.Tracking() != "9400136105440512280610" || r.Label() != "in_transit" {
		t.Fatalf("unexpected return %+v", r)
	}
	if r.CreatedAt.IsZero() || r.ID == "" || r.OrderID == "" || r.Total == "" {
		t.Fatalf("details fields not decoded: %+v", r)
	}
	if _, err := r.ID.Int64(); err != nil {
		t.Fatalf("details id should be numeric: %v", err)
	}

	// No label yet: Loop says N/A, the helpers say "".
	r, err = e.client.ReturnDetails(ctx(t), "#1002")
	if err != nil {
		t.Fatal(err)
	}
	if r.Tracking() != "" || r.Label() != "" || r.CarrierName() != "" {
		t.Fatalf("N/A not normalised: %q %q %q", r.Tracking(), r.Label(), r.CarrierName())
	}

	// Loop answers "nothing found" with HTTP 200 and an error body.
	_, err = e.client.ReturnDetails(ctx(t), "#1001")
	var le *loop.Error
	if !errors.Is(err, loop.ErrNotFound) || !errors.As(err, &le) || le.Status != 200 {
		t.Fatalf("want ErrNotFound from an HTTP 200, got %v", err)
	}
	if le.Message != "No return found with this ID." {
		t.Fatalf("message %q", le.Message)
	}
}

func TestValidation422(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	// The client never sends more than 120 days; a raw page call can.
	now := time.Now()
	_, err := e.client.ListReturnsPage(ctx(t), loop.ListQuery{From: now.Add(-200 * 24 * time.Hour), To: now}, "")
	var le *loop.Error
	if !errors.Is(err, loop.ErrInvalid) || !errors.As(err, &le) || le.Status != 422 || len(le.Fields["to"]) == 0 {
		t.Fatalf("want 422 with field errors, got %v", err)
	}
	_, err = e.client.ListReturnsPage(ctx(t), loop.ListQuery{State: "shipped"}, "")
	if !errors.Is(err, loop.ErrInvalid) || !strings.Contains(err.Error(), "state") {
		t.Fatalf("want 422 on state, got %v", err)
	}
}

func TestListReturnsPaginatesAndSplitsWindows(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	e := newEnv(t, sandbox.Options{NoSeed: true}, loop.Options{})
	e.sb.AddOrder(sandbox.Order{Name: "#5000", Zip: "1000", DeliveredAt: now.Add(-400 * 24 * time.Hour)})
	// 25 returns spread over 300 days, all open.
	for i := range 25 {
		at := now.Add(-time.Duration(i*12) * 24 * time.Hour)
		if _, err := e.sb.SeedReturn(sandbox.ReturnSpec{OrderName: "#5000", CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	e.sb.ResetRequests()
	seen := map[loop.ID]bool{}
	for r, err := range e.client.ListReturns(ctx(t), loop.ListQuery{From: now.Add(-300 * 24 * time.Hour), To: now, PageSize: 4}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[r.ID] {
			t.Fatalf("return %s listed twice", r.ID)
		}
		seen[r.ID] = true
	}
	if len(seen) != 25 {
		t.Fatalf("listed %d returns, want 25", len(seen))
	}
	reqs := e.sb.Requests()
	windows := map[string]bool{}
	for _, rq := range reqs {
		if strings.Contains(rq.Query, "cursor=") {
			continue
		}
		windows[rq.Query] = true
	}
	if len(windows) != 3 {
		t.Fatalf("300 days should be 3 windows, saw %d first pages", len(windows))
	}
	if len(reqs) < 8 { // 25 returns / 4 per page, across 3 windows
		t.Fatalf("only %d requests: pagination not exercised", len(reqs))
	}

	// Stopping early stops fetching.
	e.sb.ResetRequests()
	for range e.client.ListReturns(ctx(t), loop.ListQuery{From: now.Add(-100 * 24 * time.Hour), To: now, PageSize: 2}) {
		break
	}
	if n := len(e.sb.Requests()); n != 1 {
		t.Fatalf("breaking out of the loop made %d requests", n)
	}
}

func TestListReturnsDefaultsAndStates(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	count := func(q loop.ListQuery) (n int, states map[loop.State]int) {
		states = map[loop.State]int{}
		for r, err := range e.client.ListReturns(ctx(t), q) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			states[r.State]++
		}
		return n, states
	}
	// Default window: last 24 hours (#1002 and #1010 in the seed).
	if n, _ := count(loop.ListQuery{}); n != 2 {
		t.Fatalf("default window listed %d, want 2", n)
	}
	now := time.Now()
	_, states := count(loop.ListQuery{From: now.Add(-60 * 24 * time.Hour), To: now})
	if states[loop.StateCancelled] != 0 || states[loop.StateReview] != 0 || states[loop.StateOpen] == 0 || states[loop.StateClosed] == 0 || states[loop.StateExpired] == 0 {
		t.Fatalf("default states wrong: %v", states)
	}
	for _, st := range []loop.State{loop.StateReview, loop.StateCancelled} {
		if n, _ := count(loop.ListQuery{From: now.Add(-60 * 24 * time.Hour), To: now, State: st}); n != 1 {
			t.Fatalf("state=%s listed %d, want 1", st, n)
		}
	}
	// updated_at filter.
	if n, _ := count(loop.ListQuery{From: now.Add(-7 * time.Hour), To: now, Filter: loop.FilterUpdatedAt}); n != 4 {
		t.Fatalf("updated_at filter listed %d, want 4", n)
	}
}

func TestEligibility(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	cases := []struct {
		order string
		want  bool
	}{
		{"#1001", true},  // delivered 3 days ago
		{"#1008", false}, // outside the 30-day window
		{"#1009", false}, // not delivered
		{"#1003", false}, // the only item is in an open return
		{"#1011", true},  // one item returned, the other still eligible
	}
	for _, c := range cases {
		el, err := e.client.Eligibility(ctx(t), c.order)
		if err != nil {
			t.Fatalf("%s: %v", c.order, err)
		}
		if el.AnyEligible() != c.want || len(el.Items) == 0 || el.OrderID == "" || el.AsOf.IsZero() {
			t.Fatalf("%s: eligibility %+v, want any=%v", c.order, el, c.want)
		}
	}
	if _, err := e.client.Eligibility(ctx(t), "#4040"); !errors.Is(err, loop.ErrNotFound) {
		t.Fatalf("unknown order: want ErrNotFound, got %v", err)
	}
	// Plan without eligibility: not available, fall back to settings.
	e2 := newEnv(t, sandbox.Options{NoEligibility: true}, loop.Options{})
	if _, err := e2.client.Eligibility(ctx(t), "#1001"); !errors.Is(err, loop.ErrNotAvailable) {
		t.Fatalf("want ErrNotAvailable, got %v", err)
	}
	if _, err := e.client.WithKey(sandbox.KeyReturns).Eligibility(ctx(t), "#1001"); !errors.Is(err, loop.ErrNotAvailable) {
		t.Fatalf("401 on eligibility: want ErrNotAvailable, got %v", err)
	}
}

func TestRateLimited429IsRetried(t *testing.T) {
	// Loop allows 3 requests per second here; the client does not pace, so
	// Loop's 429 and Retry-After are what slow it down.
	e := newEnv(t, sandbox.Options{RateLimit: 3, RateWindow: time.Second}, loop.Options{Limiter: loop.NoLimit, MaxAttempts: 3})
	for i := range 4 {
		if _, err := e.client.ReturnDetails(ctx(t), "#1003"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	var got429 bool
	for _, rq := range e.sb.Requests() {
		got429 = got429 || rq.Status == 429
	}
	if !got429 {
		t.Fatal("the sandbox never said 429")
	}

	// With a single attempt the 429 surfaces, with Retry-After.
	one := loop.New(loop.Options{APIKey: sandbox.KeyFull, BaseURL: e.srv.URL + "/api/v1", Limiter: loop.NoLimit, MaxAttempts: 1})
	var err error
	for range 5 {
		if _, err = one.ReturnDetails(ctx(t), "#1003"); err != nil {
			break
		}
	}
	var le *loop.Error
	if !errors.Is(err, loop.ErrRateLimited) || !errors.As(err, &le) || le.RetryAfter < time.Second {
		t.Fatalf("want ErrRateLimited with Retry-After, got %v", err)
	}
}

func TestTimeoutAndCancellation(t *testing.T) {
	// Loop takes 30 s to answer: without per-attempt timeouts the two
	// attempts would take a minute, so a 10 s bound proves them without
	// depending on how busy the machine is.
	e := newEnv(t, sandbox.Options{Faults: sandbox.Faults{Latency: 30 * time.Second}}, loop.Options{Timeout: 50 * time.Millisecond, MaxAttempts: 2})
	start := time.Now()
	_, err := e.client.ReturnDetails(ctx(t), "#1003")
	var le *loop.Error
	if !errors.Is(err, loop.ErrUnavailable) || !errors.As(err, &le) || le.Attempts != 2 {
		t.Fatalf("want ErrUnavailable after 2 attempts, got %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout should unwrap to DeadlineExceeded: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("timeouts not applied: took %v", d)
	}

	c, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(30 * time.Millisecond); cancel() }()
	// A fresh client: its breaker is untouched by the timeouts above.
	_, err = loop.New(loop.Options{APIKey: sandbox.KeyFull, BaseURL: e.srv.URL + "/api/v1"}).ReturnDetails(c, "#1003")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, loop.ErrCanceled) {
		t.Fatalf("want cancellation, got %v", err)
	}
}

func TestServerErrorsAreRetriedThenBreakerOpens(t *testing.T) {
	e := newEnv(t, sandbox.Options{Faults: sandbox.Faults{Outage: true}}, loop.Options{MaxAttempts: 2, BreakerThreshold: 4, BreakerCooldown: 200 * time.Millisecond})
	for i := range 2 {
		_, err := e.client.ReturnDetails(ctx(t), "#1003")
		var le *loop.Error
		if !errors.Is(err, loop.ErrUnavailable) || !errors.As(err, &le) || le.Status != 503 || le.Attempts != 2 {
			t.Fatalf("call %d: want 503 after 2 attempts, got %v", i, err)
		}
	}
	before := len(e.sb.Requests())
	_, err := e.client.ReturnDetails(ctx(t), "#1003")
	if !errors.Is(err, loop.ErrUnavailable) || !strings.Contains(err.Error(), "circuit open") {
		t.Fatalf("want open circuit, got %v", err)
	}
	if after := len(e.sb.Requests()); after != before {
		t.Fatalf("open circuit still called Loop (%d requests)", after-before)
	}
	// Another key has its own circuit.
	if _, err := e.client.WithKey(sandbox.KeyReturns).ReturnDetails(ctx(t), "#1003"); strings.Contains(err.Error(), "circuit open") {
		t.Fatal("circuit shared between keys")
	}
	// Loop comes back; after the cool-down a probe closes the circuit.
	e.sb.SetFaults(sandbox.Faults{})
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err = e.client.ReturnDetails(ctx(t), "#1003")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("circuit never closed: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := loop.New(loop.Options{APIKey: "k", BaseURL: "http://" + addr + "/api/v1", MaxAttempts: 2, RetryBaseDelay: time.Millisecond})
	_, err = c.CreateDeepLink(ctx(t), loop.DeepLinkRequest{OrderName: "#1", Lookup: "1"})
	if !errors.Is(err, loop.ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
	rep := c.CheckKey(ctx(t))
	if !rep.Unreachable() || rep.Invalid() || rep.Valid() {
		t.Fatalf("dead Loop must read as unreachable, got %+v", rep)
	}
}

func TestCheckKey(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	cases := []struct {
		key                   string
		orders, returns, devt bool
	}{
		{sandbox.KeyFull, true, true, true},
		{sandbox.KeyOrders, true, false, false},
		{sandbox.KeyReturns, false, true, false},
	}
	for _, c := range cases {
		e.sb.ResetRequests()
		rep := e.client.WithKey(c.key).CheckKey(ctx(t))
		if rep.Has(loop.ScopeOrders) != c.orders || rep.Has(loop.ScopeReturns) != c.returns || rep.Has(loop.ScopeDeveloperTools) != c.devt {
			t.Fatalf("%s: report %+v", c.key, rep)
		}
		if !rep.Valid() || rep.Invalid() || rep.Unreachable() {
			t.Fatalf("%s: valid=%v invalid=%v unreachable=%v", c.key, rep.Valid(), rep.Invalid(), rep.Unreachable())
		}
		// Side-effect free: no subscription created, no state touched.
		for _, rq := range e.sb.Requests() {
			if rq.Method != http.MethodGet && rq.Path != "/api/v1/order/link" {
				t.Fatalf("key check sent %s %s", rq.Method, rq.Path)
			}
		}
	}
	rep := e.client.WithKey("wrong").CheckKey(ctx(t))
	if !rep.Invalid() || rep.Valid() || rep.Unreachable() {
		t.Fatalf("wrong key: %+v", rep)
	}
	// A scope found missing makes later 401s on it read as missing scope.
	oc := e.client.WithKey(sandbox.KeyOrders)
	oc.CheckKey(ctx(t))
	if _, err := oc.ReturnDetails(ctx(t), "#1003"); !errors.Is(err, loop.ErrMissingScope) {
		t.Fatalf("want ErrMissingScope after key check, got %v", err)
	}
}

func TestWebhookSubscriptionsAndSignedDelivery(t *testing.T) {
	var mu sync.Mutex
	var got []loop.Event
	var fails atomic.Int32
	fails.Store(2) // the receiver fails twice, then accepts
	var rejected atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := loop.VerifyWebhookRequest(r, sandbox.DefaultWebhookSecret)
		if err != nil {
			rejected.Add(1)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if bytes.Contains(body, []byte(`"topic":"return"`)) && !bytes.Contains(body, []byte(`\/`)) {
			t.Errorf("webhook body does not escape slashes like Loop: %s", body)
		}
		if fails.Add(-1) >= 0 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		ev, err := loop.ParseWebhook(body)
		if err != nil {
			t.Errorf("parse: %v", err)
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	defer recv.Close()

	e := newEnv(t, sandbox.Options{}, loop.Options{})
	var ids []loop.ID
	for _, trig := range []string{loop.TriggerReturnCreated, loop.TriggerReturnUpdated, loop.TriggerReturnClosed} {
		w, err := e.client.CreateWebhook(ctx(t), loop.WebhookInput{Topic: loop.TopicReturn, Trigger: trig, URL: recv.URL + "/hooks/loop"})
		if err != nil {
			t.Fatal(err)
		}
		if w.ID == "" || w.Status != loop.WebhookActive || w.ShopID == "" {
			t.Fatalf("created %+v", w)
		}
		ids = append(ids, w.ID)
	}
	lw, err := e.client.CreateWebhook(ctx(t), loop.WebhookInput{Topic: loop.TopicLabel, Trigger: loop.TriggerLabelCreated, URL: recv.URL, Status: loop.WebhookInactive})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.UpdateWebhook(ctx(t), lw.ID, loop.WebhookInput{Topic: loop.TopicLabel, Trigger: loop.TriggerLabelCreated, URL: recv.URL, Status: loop.WebhookActive}); err != nil {
		t.Fatal(err)
	}
	list, err := e.client.ListWebhooks(ctx(t))
	if err != nil || len(list) != 4 {
		t.Fatalf("list: %v %+v", err, list)
	}
	if _, err := e.client.CreateWebhook(ctx(t), loop.WebhookInput{Topic: "nope", Trigger: loop.TriggerReturnCreated, URL: recv.URL}); !errors.Is(err, loop.ErrInvalid) {
		t.Fatalf("bad topic: want ErrInvalid, got %v", err)
	}
	if err := e.client.DeleteWebhook(ctx(t), "999999"); !errors.Is(err, loop.ErrNotFound) {
		t.Fatalf("delete unknown: want ErrNotFound, got %v", err)
	}

	info, err := e.sb.CreateReturn(sandbox.ReturnSpec{OrderName: "#1001", Items: []int{0}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sb.AdvanceReturn(info.ID); err != nil { // label created + return updated
		t.Fatal(err)
	}
	if _, err := e.sb.SetReturnState(info.ID, loop.StateClosed); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitDeliveries()

	mu.Lock()
	defer mu.Unlock()
	triggers := map[string]int{}
	for _, ev := range got {
		triggers[ev.Trigger]++
		switch ev.Topic {
		case loop.TopicReturn:
			if ev.Return == nil || string(ev.Return.ID) == "" || ev.Return.OrderName != "#1001" || ev.ShopID != "9876" {
				t.Fatalf("return event %+v", ev.Return)
			}
		case loop.TopicLabel:
			if ev.Label == nil || ev.Label.Tracking() == "" || ev.Label.ShopID != "9876" {
				t.Fatalf("label event %+v", ev.Label)
			}
		}
	}
	want := map[string]int{loop.TriggerReturnCreated: 1, loop.TriggerReturnUpdated: 1, loop.TriggerReturnClosed: 1, loop.TriggerLabelCreated: 1}
	for k, v := range want {
		if triggers[k] != v {
			t.Fatalf("triggers %v, want %v", triggers, want)
		}
	}
	if rejected.Load() != 0 {
		t.Fatalf("%d deliveries failed verification", rejected.Load())
	}
	retried := false
	for _, d := range e.sb.Deliveries() {
		retried = retried || d.Attempt > 1
	}
	if !retried {
		t.Fatal("non-2xx answers were not retried")
	}
	for _, id := range ids {
		if err := e.client.DeleteWebhook(ctx(t), id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAPIKeyNeverLeaks drives every failure path with a recognisable key and
// looks for it in errors, logs and metrics.
func TestAPIKeyNeverLeaks(t *testing.T) {
	const secret = "sk_live_DO-NOT-LEAK-4242"
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	e := newEnv(t, sandbox.Options{Keys: []sandbox.Key{{Key: secret, Scopes: []loop.Scope{loop.ScopeReturns}}}, RateLimit: 2, RateWindow: time.Minute},
		loop.Options{APIKey: secret, Registerer: reg, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Limiter: loop.NoLimit, MaxAttempts: 2, BreakerThreshold: 2, BreakerCooldown: time.Minute, MaxRetryAfter: time.Millisecond})
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }
	collect(e.client.ReturnDetails(ctx(t), "#1003"))
	collect(e.client.CreateDeepLink(ctx(t), loop.DeepLinkRequest{OrderName: "#1001", Lookup: "10115"})) // missing scope
	collect(e.client.ReturnDetails(ctx(t), "#1003"))                                                    // 429
	collect(e.client.ReturnDetails(ctx(t), "#1001"))
	e.sb.SetFaults(sandbox.Faults{Outage: true})
	collect(e.client.WithKey(secret).ReturnDetails(ctx(t), "#1003"))
	collect(e.client.ReturnDetails(ctx(t), "#1003")) // circuit open
	collect(nil, e.client.CheckKey(ctx(t)).Orders.Err)
	dead := loop.New(loop.Options{APIKey: secret, BaseURL: "http://127.0.0.1:1/api/v1", MaxAttempts: 1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	collect(dead.ReturnDetails(ctx(t), "#1"))

	var sawErr int
	for _, err := range errs {
		if err == nil {
			continue
		}
		sawErr++
		if strings.Contains(err.Error(), secret) || strings.Contains(strings.ToLower(err.Error()), "authorization:") {
			t.Fatalf("error leaks the key: %v", err)
		}
	}
	if sawErr < 5 {
		t.Fatalf("only %d failures exercised", sawErr)
	}
	if logs.Len() == 0 {
		t.Fatal("no logs written: the leak check checked nothing")
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("logs leak the key:\n%s", logs.String())
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	for _, mf := range mfs {
		text.WriteString(mf.String())
		text.WriteByte('\n')
	}
	if !strings.Contains(text.String(), "hubdesk_loop_calls_total") || !strings.Contains(text.String(), "return_details") {
		t.Fatalf("metrics not registered:\n%s", text.String())
	}
	if strings.Contains(text.String(), secret) || strings.Contains(text.String(), loop.KeyID(secret)) {
		t.Fatal("metrics leak the key or its fingerprint")
	}
	for _, rq := range e.sb.Requests() {
		if strings.Contains(rq.Query, secret) {
			t.Fatal("key sent in a URL")
		}
	}
}

func TestManyClientsOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 3 {
		loop.New(loop.Options{Registerer: reg})
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// TestWebhookVerificationOverHTTP replays a real sandbox delivery to a
// receiver that verifies it, intact and tampered with.
func TestWebhookVerificationOverHTTP(t *testing.T) {
	type delivery struct {
		body []byte
		sig  string
	}
	captured := make(chan delivery, 4)
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		captured <- delivery{body, r.Header.Get(loop.SignatureHeader)}
	}))
	defer capture.Close()
	e := newEnv(t, sandbox.Options{}, loop.Options{})
	if _, err := e.client.CreateWebhook(ctx(t), loop.WebhookInput{Topic: loop.TopicReturn, Trigger: loop.TriggerReturnCreated, URL: capture.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sb.CreateReturn(sandbox.ReturnSpec{OrderName: "#1001"}); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitDeliveries()
	d := <-captured

	verifier := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := loop.VerifyWebhookRequest(r, e.sb.WebhookSecret()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	defer verifier.Close()
	send := func(body []byte, sig string, url string) int {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if sig != "" {
			req.Header.Set(loop.SignatureHeader, sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tampered := bytes.Replace(d.body, []byte(`"state":"open"`), []byte(`"state":"closed"`), 1)
	reencoded := bytes.ReplaceAll(d.body, []byte(`\/`), []byte(`/`))
	wrongSecret := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := loop.VerifyWebhookRequest(r, "not-the-secret"); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	defer wrongSecret.Close()
	cases := []struct {
		name string
		body []byte
		sig  string
		url  string
		want int
	}{
		{"intact", d.body, d.sig, verifier.URL, 200},
		{"tampered body", tampered, d.sig, verifier.URL, 401},
		{"re-encoded body", reencoded, d.sig, verifier.URL, 401},
		{"missing header", d.body, "", verifier.URL, 401},
		{"wrong secret", d.body, d.sig, wrongSecret.URL, 401},
	}
	if bytes.Equal(tampered, d.body) || bytes.Equal(reencoded, d.body) {
		t.Fatal("tampering changed nothing")
	}
	for _, c := range cases {
		if got := send(c.body, c.sig, c.url); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// fullUntil is a limiter whose window is full for another d.
type fullUntil time.Duration

func (d fullUntil) Wait(ctx context.Context, keyID string) error {
	return &loop.SlotPastDeadline{RetryAfter: time.Duration(d)}
}

// TestASlotPastTheDeadlineIsRateLimited: a limiter that has no slot before
// the caller's deadline makes the call fail at once as rate limited with
// the wait as RetryAfter — what a job snoozes on — without calling Loop.
func TestASlotPastTheDeadlineIsRateLimited(t *testing.T) {
	e := newEnv(t, sandbox.Options{}, loop.Options{Limiter: fullUntil(42 * time.Second)})
	_, err := e.client.ReturnDetails(ctx(t), "#1003")
	var le *loop.Error
	if !errors.Is(err, loop.ErrRateLimited) || !errors.As(err, &le) || le.RetryAfter != 42*time.Second {
		t.Fatalf("got %v, want rate limited with RetryAfter 42s", err)
	}
	if n := len(e.sb.Requests()); n != 0 {
		t.Fatalf("%d requests reached Loop", n)
	}
}
