package shopify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/integration/shopify/sandbox"
)

func TestVerifyOAuthQuery(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	signed := func(mut func(url.Values)) url.Values {
		q := url.Values{"code": {"abc"}, "shop": {"demo-shop.myshopify.com"}, "state": {"s1"}, "timestamp": {strconv.FormatInt(now.Unix(), 10)}, "host": {"YWRtaW4"}}
		if mut != nil {
			mut(q)
		}
		q.Set("hmac", shopify.SignOAuthQuery(q, "app-secret"))
		return q
	}
	cases := []struct {
		name string
		q    url.Values
		want error
	}{
		{"valid", signed(nil), nil},
		{"tampered shop", func() url.Values { q := signed(nil); q.Set("shop", "evil-shop.myshopify.com"); return q }(), shopify.ErrOAuthSignature},
		{"wrong secret", func() url.Values {
			q := signed(nil)
			q.Set("hmac", shopify.SignOAuthQuery(q, "other"))
			return q
		}(), shopify.ErrOAuthSignature},
		{"no hmac", func() url.Values { q := signed(nil); q.Del("hmac"); return q }(), shopify.ErrOAuthUnsigned},
		{"not hex", func() url.Values { q := signed(nil); q.Set("hmac", "zz"); return q }(), shopify.ErrOAuthSignature},
		{"repeated state", func() url.Values { q := signed(nil); q.Add("state", "s2"); return q }(), shopify.ErrOAuthRepeated},
		{"stale", signed(func(q url.Values) { q.Set("timestamp", strconv.FormatInt(now.Add(-2*time.Minute).Unix(), 10)) }), shopify.ErrOAuthTimestamp},
		{"foreign host, signed", signed(func(q url.Values) { q.Set("shop", "evil.example.com") }), shopify.ErrOAuthShop},
		{"host with a path, signed", signed(func(q url.Values) { q.Set("shop", "demo.myshopify.com/evil") }), shopify.ErrOAuthShop},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := shopify.VerifyOAuthQuery(c.q, "app-secret", now); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestValidShopDomain(t *testing.T) {
	for s, want := range map[string]bool{"demo-shop.myshopify.com": true, "a.myshopify.com": true, "-a.myshopify.com": false,
		"Demo.myshopify.com": false, "demo.myshopify.com.evil.com": false, "evil.com": false, "demo.myshopify.com:443": false, "": false} {
		if got := shopify.ValidShopDomain(s); got != want {
			t.Errorf("ValidShopDomain(%q) = %v", s, got)
		}
	}
}

// TestInstallAndTokenGrantsAgainstTheSandbox goes through an install over
// real HTTP: the authorization page, the signed callback, the code traded
// for an expiring token and refresh token, a refresh, and a custom app's
// client credentials grant — each token then accepted by the Admin API.
func TestInstallAndTokenGrantsAgainstTheSandbox(t *testing.T) {
	sb := sandbox.New(sandbox.Options{ClientID: "app-id", ClientSecret: "app-secret",
		CustomApps: []sandbox.App{{ClientID: "custom-id", ClientSecret: "custom-secret", Scopes: []string{"read_orders"}}}})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	sb.SetBaseURL(srv.URL)
	ctx := context.Background()
	o := &shopify.OAuth{AdminRoot: func(string) string { return srv.URL }}

	// The app's callback, which only records the redirect.
	var callback url.Values
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { callback = r.URL.Query() }))
	defer app.Close()
	authorize := shopify.AuthorizeURL(o.Root(sb.Shop()), "app-id", []string{"read_orders", "read_customers"}, app.URL+"/shopify/callback", "state-1")
	page, err := http.Get(authorize)
	if err != nil || page.StatusCode != http.StatusOK {
		t.Fatalf("authorize page: %v %v", err, page)
	}
	page.Body.Close()
	form := url.Values{"client_id": {"app-id"}, "scope": {"read_orders,read_customers"}, "redirect_uri": {app.URL + "/shopify/callback"}, "state": {"state-1"}}
	resp, err := http.PostForm(srv.URL+"/admin/oauth/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := shopify.VerifyOAuthQuery(callback, "app-secret", time.Now()); err != nil {
		t.Fatalf("callback %v does not verify: %v", callback, err)
	}
	if callback.Get("state") != "state-1" || callback.Get("shop") != sb.Shop() {
		t.Fatalf("callback = %v", callback)
	}
	tok, err := o.ExchangeCode(ctx, sb.Shop(), "app-id", "app-secret", callback.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || time.Until(tok.ExpiresAt) < 50*time.Minute || time.Until(tok.ExpiresAt) > 61*time.Minute {
		t.Fatalf("token = %+v, want an expiring token of about an hour with a refresh token", tok)
	}
	if !slices.Equal(tok.Scopes, []string{"read_orders", "read_customers"}) {
		t.Fatalf("scopes = %v", tok.Scopes)
	}
	// The code works once.
	var te *shopify.TokenError
	if _, err := o.ExchangeCode(ctx, sb.Shop(), "app-id", "app-secret", callback.Get("code")); !errors.As(err, &te) || te.Code != "invalid_grant" {
		t.Fatalf("second exchange: %v", err)
	}
	scopes, err := shopify.New(shopify.Options{Shop: sb.Shop(), BaseURL: srv.URL, Tokens: shopify.StaticToken(tok.AccessToken)}).AccessScopes(ctx)
	if err != nil || len(scopes) != 2 {
		t.Fatalf("access scopes with the installed token: %v %v", scopes, err)
	}

	renewed, err := o.Refresh(ctx, sb.Shop(), "app-id", "app-secret", tok.RefreshToken)
	if err != nil || renewed.AccessToken == tok.AccessToken || renewed.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %+v %v", renewed, err)
	}
	if _, err := o.Refresh(ctx, sb.Shop(), "app-id", "app-secret", tok.RefreshToken); !errors.As(err, &te) {
		t.Fatalf("a used refresh token must be refused: %v", err)
	}

	cc, err := o.ClientCredentials(ctx, sb.Shop(), "custom-id", "custom-secret")
	if err != nil || cc.RefreshToken != "" || time.Until(cc.ExpiresAt) < 23*time.Hour {
		t.Fatalf("client credentials: %+v %v", cc, err)
	}
	if _, err := o.ClientCredentials(ctx, sb.Shop(), "custom-id", "wrong"); !errors.As(err, &te) || te.Status != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := o.ClientCredentials(ctx, "evil.example.com", "custom-id", "custom-secret"); !errors.Is(err, shopify.ErrOAuthShop) {
		t.Fatalf("foreign host: %v", err)
	}
	if !strings.HasPrefix(authorize, srv.URL+"/admin/oauth/authorize?") {
		t.Fatal(authorize)
	}
}

func TestWebhookSubscriptionsAgainstTheSandbox(t *testing.T) {
	sb := sandbox.New(sandbox.Options{AdminToken: "tok"})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	ctx := context.Background()
	c := shopify.New(shopify.Options{Shop: sb.Shop(), BaseURL: srv.URL, Tokens: shopify.StaticToken("tok")})
	sub, err := c.CreateWebhookSubscription(ctx, "ORDERS_CREATE", "https://hub.example.com/webhooks/shopify")
	if err != nil || sub.ID == "" {
		t.Fatalf("create: %+v %v", sub, err)
	}
	if _, err := c.CreateWebhookSubscription(ctx, "ORDERS_CREATE", "https://hub.example.com/webhooks/shopify"); !errors.Is(err, shopify.ErrInvalid) {
		t.Fatalf("duplicate: %v", err)
	}
	list, err := c.WebhookSubscriptions(ctx)
	if err != nil || len(list) != 1 || list[0].Topic != "ORDERS_CREATE" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := c.DeleteWebhookSubscription(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	if got := sb.WebhookSubscriptions(); len(got) != 0 {
		t.Fatalf("after delete: %+v", got)
	}
	if shopify.TopicName("FULFILLMENT_EVENTS_CREATE") != "fulfillment_events/create" || shopify.TopicName("APP_UNINSTALLED") != "app/uninstalled" {
		t.Fatal("TopicName")
	}
}
