package shopify_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
)

// startAdmin serves a sandbox over real HTTP on loopback and a client for it.
func startAdmin(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, *shopify.Client) {
	t.Helper()
	if opts.AdminToken == "" {
		opts.AdminToken = "shpat_test"
	}
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	sb.SetBaseURL(srv.URL)
	c := shopify.New(shopify.Options{Shop: sb.Shop(), BaseURL: sb.AdminURL(), Tokens: shopify.StaticToken(opts.AdminToken)})
	return sb, c
}

func TestClientShopAndScopes(t *testing.T) {
	_, c := startAdmin(t, sandbox.Options{StorefrontDomains: []string{"www.acme.test", "acme.test"}})
	ctx := context.Background()
	shop, err := c.Shop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if shop.MyshopifyDomain != sandbox.DefaultShop || shop.Name != sandbox.DefaultShopName {
		t.Errorf("shop = %+v", shop)
	}
	if got := shop.StorefrontHosts(); !slices.Equal(got, []string{"www.acme.test", sandbox.DefaultShop, "acme.test"}) {
		t.Errorf("hosts = %v", got)
	}
	scopes, err := c.AccessScopes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(scopes, sandbox.DefaultAdminScopes) {
		t.Errorf("scopes = %v", scopes)
	}
	if th := c.Throttle(); th.MaximumAvailable != sandbox.DefaultCostBucket || th.RestoreRate != sandbox.DefaultCostRestoreRate {
		t.Errorf("throttle = %+v", th)
	}
}

func TestClientUnauthorized(t *testing.T) {
	sb, _ := startAdmin(t, sandbox.Options{})
	ctx := context.Background()
	bad := shopify.New(shopify.Options{Shop: sb.Shop(), BaseURL: sb.AdminURL(), Tokens: shopify.StaticToken("shpat_wrong")})
	_, err := bad.Shop(ctx)
	if !errors.Is(err, shopify.ErrUnauthorized) {
		t.Fatalf("wrong token: %v", err)
	}
	// An issued token works until it expires.
	tok := sb.IssueAccessToken([]string{"read_orders"}, time.Hour)
	c := shopify.New(shopify.Options{Shop: sb.Shop(), BaseURL: sb.AdminURL(), Tokens: shopify.StaticToken(tok)})
	scopes, err := c.AccessScopes(ctx)
	if err != nil || !slices.Equal(scopes, []string{"read_orders"}) {
		t.Fatalf("issued token: %v %v", scopes, err)
	}
	sb.RevokeAccessToken(tok)
	if _, err := c.AccessScopes(ctx); !errors.Is(err, shopify.ErrUnauthorized) {
		t.Fatalf("revoked token: %v", err)
	}
}

// A THROTTLED answer arrives as HTTP 200; the client waits for the bucket
// to refill by the query's cost and asks again.
func TestClientRetriesThrottled(t *testing.T) {
	sb, c := startAdmin(t, sandbox.Options{CostBucket: 50, CostRestoreRate: 50})
	ctx := context.Background()
	sb.DrainCostBucket()
	start := time.Now()
	if _, err := c.Shop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, throttled := sb.AdminStats(); throttled != 1 {
		t.Errorf("throttled %d times, want 1", throttled)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v", el)
	}
}

// The client keeps a reserve: when the last report says the bucket is
// nearly empty it waits before sending, so Shopify need not refuse.
func TestClientWaitsForLowBucket(t *testing.T) {
	sb, c := startAdmin(t, sandbox.Options{CostBucket: 100, CostRestoreRate: 20})
	ctx := context.Background()
	sb.DrainCostBucket()
	// The client does not know yet: its first call is refused, then it waits.
	if _, err := c.Shop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, throttled := sb.AdminStats(); throttled != 1 {
		t.Fatalf("throttled %d times, want 1", throttled)
	}
	// Now it knows the bucket is nearly empty and waits before asking.
	start := time.Now()
	for range 3 {
		if _, err := c.Shop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, throttled := sb.AdminStats(); throttled != 1 {
		t.Errorf("throttled %d times after the first, want none", throttled-1)
	}
	if el := time.Since(start); el < 300*time.Millisecond {
		t.Errorf("did not wait: %v", el)
	}
}

func TestClientMaxCostIsPermanent(t *testing.T) {
	_, c := startAdmin(t, sandbox.Options{})
	ctx := context.Background()
	// 1001 aliased shop fields cost more than one query may.
	q := "query Big {"
	for i := range 1001 {
		q += " s" + string(rune('a'+i%26)) + itoa(i) + ": shop { id }"
	}
	q += " }"
	err := c.Do(ctx, q, nil, nil)
	if !errors.Is(err, shopify.ErrMaxCost) {
		t.Fatalf("err = %v", err)
	}
	var se *shopify.Error
	if !errors.As(err, &se) || se.Temporary() {
		t.Fatalf("err = %#v", err)
	}
}

func itoa(i int) string {
	return string(rune('0'+i/1000%10)) + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func TestClientCustomerOrdersPaginates(t *testing.T) {
	sb, c := startAdmin(t, sandbox.Options{Orders: 250, GeneratedCustomers: 4,
		Customers: []sandbox.Customer{{ID: "7000000100", Email: "olivia@example.com", FirstName: "Olivia", LastName: "Johnson"}}})
	ctx := context.Background()
	want := sb.CustomerOrderIDs("7000000100")
	if len(want) != 50 {
		t.Fatalf("sandbox gives her %d orders", len(want))
	}
	cust, orders, err := c.AllCustomerOrders(ctx, "7000000100", 0)
	if err != nil {
		t.Fatal(err)
	}
	if cust.Email() != "olivia@example.com" || cust.DefaultAddress == nil {
		t.Errorf("customer = %+v", cust)
	}
	var got []string
	for i, o := range orders {
		got = append(got, shopify.LegacyID(o.ID))
		if i > 0 && o.CreatedAt.After(orders[i-1].CreatedAt) {
			t.Fatalf("not newest first at %d", i)
		}
		if len(o.LineItems.Nodes) == 0 || o.TotalPriceSet.PresentmentMoney.Amount == "" {
			t.Fatalf("order %s = %+v", o.Name, o)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("orders %v, want %v", got, want)
	}
	// A bounded read stops after the pages it needs.
	_, some, err := c.AllCustomerOrders(ctx, "7000000100", 15)
	if err != nil || len(some) != 15 {
		t.Fatalf("max 15: %d %v", len(some), err)
	}
	// Unknown customers and orders are nil, not errors.
	if cust, _, err := c.AllCustomerOrders(ctx, "123", 0); err != nil || cust != nil {
		t.Errorf("unknown customer: %v %v", cust, err)
	}
	if o, err := c.Order(ctx, "999"); err != nil || o != nil {
		t.Errorf("unknown order: %v %v", o, err)
	}
	o, err := c.Order(ctx, want[0])
	if err != nil || o == nil || o.Customer == nil || o.Customer.Email() != "olivia@example.com" {
		t.Fatalf("order: %+v %v", o, err)
	}
	if cu, err := c.Customer(ctx, "7000000100"); err != nil || cu.FirstName != "Olivia" {
		t.Errorf("customer: %+v %v", cu, err)
	}
}

func TestClientMissingScope(t *testing.T) {
	sb, _ := startAdmin(t, sandbox.Options{Orders: 10})
	tok := sb.IssueAccessToken([]string{"read_customers"}, 0)
	c := shopify.New(shopify.Options{Shop: sb.Shop(), BaseURL: sb.AdminURL(), Tokens: shopify.StaticToken(tok)})
	_, err := c.Order(context.Background(), "5000000001")
	if !errors.Is(err, shopify.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
}

func TestClientWebhookSubscriptions(t *testing.T) {
	sb, c := startAdmin(t, sandbox.Options{})
	ctx := context.Background()
	a, err := c.CreateWebhookSubscription(ctx, "ORDERS_UPDATED", "https://hub.example/webhooks/shopify")
	if err != nil || a.Topic != "ORDERS_UPDATED" {
		t.Fatalf("create: %+v %v", a, err)
	}
	if _, err := c.CreateWebhookSubscription(ctx, "ORDERS_UPDATED", "https://hub.example/webhooks/shopify"); !errors.Is(err, shopify.ErrInvalid) {
		t.Errorf("duplicate: %v", err)
	}
	b, err := c.CreateWebhookSubscription(ctx, "BULK_OPERATIONS_FINISH", "https://hub.example/webhooks/shopify")
	if err != nil {
		t.Fatal(err)
	}
	subs, err := c.WebhookSubscriptions(ctx)
	if err != nil || len(subs) != 2 || subs[0].ID != a.ID || subs[1].ID != b.ID {
		t.Fatalf("list: %+v %v", subs, err)
	}
	if err := c.DeleteWebhookSubscription(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := sb.WebhookSubscriptions(); len(got) != 1 || got[0].ID != b.ID {
		t.Errorf("left: %+v", got)
	}
}

// A bulk query over every order: started, polled to completion, its file
// downloaded over HTTP and read back order by order, children stitched.
func TestClientBulkOrders(t *testing.T) {
	var finished []string
	var mu sync.Mutex
	sb, c := startAdmin(t, sandbox.Options{Orders: 2000, BulkDir: t.TempDir(), OnChange: func(topic string, body []byte) {
		mu.Lock()
		finished = append(finished, topic+" "+string(body))
		mu.Unlock()
	}})
	ctx := context.Background()
	// A change before the operation shows in its file.
	if _, err := sb.Fulfill("5000001999", "", ""); err != nil {
		t.Fatal(err)
	}
	op, err := c.RunBulkQuery(ctx, shopify.BulkOrdersQuery(""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunBulkQuery(ctx, shopify.BulkOrdersQuery("")); err != nil && !errors.Is(err, shopify.ErrBulkInProgress) {
		t.Fatalf("second run: %v", err)
	}
	var done *shopify.BulkOperation
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if done, err = c.BulkOperation(ctx, op.ID); err != nil {
			t.Fatal(err)
		}
		if done.Done() {
			break
		}
	}
	if done.Status != shopify.BulkCompleted || done.RootObjectCount != 2000 || done.URL == "" {
		t.Fatalf("operation = %+v", done)
	}
	if cur, err := c.CurrentBulkOperation(ctx); err != nil || cur.ID != op.ID {
		t.Fatalf("current = %+v %v", cur, err)
	}
	body, err := c.OpenBulkResult(ctx, done.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	s := shopify.NewOrderStream(body, 0)
	n, lines := 0, 0
	var last *shopify.Order
	for {
		o, _, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		lines += len(o.LineItems.Nodes)
		if len(o.LineItems.Nodes) == 0 {
			t.Fatalf("order %s has no lines", o.ID)
		}
		for _, f := range o.Fulfillments {
			if f.Status == "SUCCESS" && len(f.FulfillmentLineItems.Nodes) == 0 {
				t.Fatalf("fulfillment %s carries nothing", f.ID)
			}
		}
		last = o
	}
	if problems, skipped := s.Problems(); skipped > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if n != 2000 || int64(n+lines) > int64(done.ObjectCount) {
		t.Errorf("%d orders, %d lines; operation says %d objects", n, lines, done.ObjectCount)
	}
	if len(last.Fulfillments) == 0 || last.Fulfillments[len(last.Fulfillments)-1].DisplayStatus != "CONFIRMED" {
		t.Errorf("last order = %+v", last.Fulfillments)
	}
	// Resuming at an offset: a Range request.
	tail, err := c.OpenBulkResult(ctx, done.URL, int64(done.FileSize)-10)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(tail)
	tail.Close()
	if len(b) != 10 {
		t.Errorf("range read %d bytes", len(b))
	}
	mu.Lock()
	defer mu.Unlock()
	if last := finished[len(finished)-1]; !strings.HasPrefix(last, "bulk_operations/finish ") || !strings.Contains(last, `"status":"completed"`) {
		t.Errorf("changes: %q", finished)
	}
}

// An HTTP 429 (too many requests at once, beside the cost bucket's
// THROTTLED) says how long to wait in Retry-After, in seconds with a
// fraction: the client waits that long, each time, then completes.
func TestClientWaitsOutTooManyRequests(t *testing.T) {
	sb, c := startAdmin(t, sandbox.Options{})
	ctx := context.Background()
	sb.TooManyRequests(2, "1.5")
	start := time.Now()
	if _, err := c.Shop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := sb.Rejected(); n != 2 {
		t.Errorf("refused %d times, want 2", n)
	}
	if el := time.Since(start); el < 3*time.Second {
		t.Errorf("answered after %v: Shopify asked for 1.5 s twice", el)
	}
	// A wait longer than the client sleeps through comes back to the
	// caller (a job reschedules), with the wait.
	sb.TooManyRequests(1, "120.0")
	err := c.Do(ctx, "query { shop { name } }", nil, nil)
	var se *shopify.Error
	if !errors.As(err, &se) || !errors.Is(err, shopify.ErrThrottled) || se.RetryAfter != 2*time.Minute {
		t.Fatalf("a 429 asking for 2 minutes: %#v", err)
	}
}
