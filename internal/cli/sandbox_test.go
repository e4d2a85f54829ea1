package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/config"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	shopifysandbox "github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
)

func TestSandboxUsage(t *testing.T) {
	isolate(t)
	for _, args := range [][]string{
		{"sandbox"},
		{"sandbox", "stripe"},
		{"sandbox", "shopify", "--proxy-target", "ftp://example.com/hub"},
		{"sandbox", "shopify", "--customer", "7000000100,only-two"},
	} {
		if code, _, errOut := run(t, args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, errOut)
		}
	}
}

// lockedBuffer is a stdout the test can read while the command writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The standalone storefront, pointed at an app, logs the demo shopper in
// with the printed link and forwards her to the app signed with the demo
// shop's secret.
func TestSandboxShopifyStandalone(t *testing.T) {
	isolate(t)
	type hit struct{ path, query string }
	hits := make(chan hit, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- hit{r.URL.Path, r.URL.RawQuery}
		io.WriteString(w, "hub")
	}))
	defer app.Close()
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runSandbox(ctx, &env{stdout: &out, stderr: io.Discard, cfg: cfg},
			[]string{"shopify", "--addr", "127.0.0.1:0", "--proxy-target", app.URL + "/hub"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sandbox shopify: %v", err)
		}
	}()
	link := regexp.MustCompile(`hub: (http://\S+/account/login-as\S+)`)
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		m = link.FindStringSubmatch(out.String())
	}
	if m == nil {
		t.Fatalf("no login link in %q", out.String())
	}
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := <-hits
	q, _ := url.ParseQuery(h.query)
	if h.path != "/hub" || shopify.VerifyProxy(q, "hubdesk-demo-secret", time.Now()) != nil ||
		q.Get("logged_in_customer_id") != "7000000100" || q.Get("shop") != "demo-shop.myshopify.com" {
		t.Fatalf("app got %s?%s", h.path, h.query)
	}
}

// `hubdesk sandbox shopify order …` changes orders in a running sandbox.
func TestSandboxShopifyOrderCommands(t *testing.T) {
	isolate(t)
	var topics []string
	var mu sync.Mutex
	sb := shopifysandbox.New(shopifysandbox.Options{Orders: 3, Customers: []shopifysandbox.Customer{{ID: "7000000100", Email: "o@example.com", FirstName: "O"}},
		OnChange: func(topic string, _ []byte) { mu.Lock(); topics = append(topics, topic); mu.Unlock() }})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	code, out, errOut := run(t, "sandbox", "shopify", "order", "create", "--sandbox", srv.URL, "--customer", "7000000100")
	id := strings.TrimSpace(out)
	if code != 0 || id == "" {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	for _, action := range []string{"fulfill", "in-transit", "out-for-delivery", "deliver"} {
		if code, _, errOut := run(t, "sandbox", "shopify", "order", action, "--sandbox", srv.URL, id); code != 0 {
			t.Fatalf("%s: %d %q", action, code, errOut)
		}
	}
	if code, _, errOut := run(t, "sandbox", "shopify", "order", "cancel", "--sandbox", srv.URL, id); code == 0 || !strings.Contains(errOut, "refused") {
		t.Errorf("cancel a delivered order: %d %q", code, errOut)
	}
	line := shopify.LegacyID(sb.Order(id).LineItems.Nodes[0].ID)
	if code, _, errOut := run(t, "sandbox", "shopify", "order", "refund", "--sandbox", srv.URL, "--line", line, "--quantity", "1", id); code != 0 {
		t.Fatalf("refund: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, "sandbox", "shopify", "order", "refund", "--sandbox", srv.URL, "--amount", "99999.00", id); code == 0 || !strings.Contains(errOut, "refused") {
		t.Errorf("refund more than the order: %d %q", code, errOut)
	}
	if o := sb.Order(id); o == nil || o.Fulfillments[0].DeliveredAt == nil || o.DisplayFinancialStatus != "PARTIALLY_REFUNDED" {
		t.Errorf("order: %+v", o)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(topics) < 8 || topics[0] != "orders/create" {
		t.Errorf("changes: %v", topics)
	}
}
