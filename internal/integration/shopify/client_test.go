package shopify_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
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
