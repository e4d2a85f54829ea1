package shopify

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// The example from Shopify's App Proxy documentation.
func TestSignProxyMatchesShopifysExample(t *testing.T) {
	q, _ := url.ParseQuery("extra=1&extra=2&shop=shop-name.myshopify.com&logged_in_customer_id=1&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555&signature=4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb")
	if msg := proxyMessage(q); msg != "extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviewsshop=shop-name.myshopify.comtimestamp=1317327555" {
		t.Fatalf("message = %q", msg)
	}
	if got := SignProxy(q, "hush"); got != q.Get("signature") {
		t.Fatalf("signature = %s, want Shopify's %s", got, q.Get("signature"))
	}
	if err := VerifyProxy(q, "hush", time.Unix(1317327555, 0).Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyProxy(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	secret := "hubdesk-demo-secret"
	valid := func() url.Values {
		return SignedProxyQuery(url.Values{"locale": {"de"}}, ProxyParams{Shop: "demo-shop.myshopify.com", LoggedInCustomerID: "42", PathPrefix: "/apps/hub", Timestamp: now}, secret)
	}
	cases := []struct {
		name   string
		mutate func(url.Values)
		at     time.Time
		secret string
		want   error
	}{
		{"valid", func(url.Values) {}, now, secret, nil},
		{"valid at the edge of the window", func(url.Values) {}, now.Add(ProxyMaxSkew), secret, nil},
		{"tampered customer id", func(q url.Values) { q.Set("logged_in_customer_id", "43") }, now, secret, ErrProxySignature},
		{"tampered extra parameter", func(q url.Values) { q.Set("locale", "fr") }, now, secret, ErrProxySignature},
		{"added parameter", func(q url.Values) { q.Add("order", "1") }, now, secret, ErrProxySignature},
		{"repeated key reordered is the same message", func(q url.Values) {}, now, secret, nil},
		{"stale timestamp", func(url.Values) {}, now.Add(ProxyMaxSkew + time.Second), secret, ErrProxyTimestamp},
		{"future timestamp", func(url.Values) {}, now.Add(-ProxyMaxSkew - time.Second), secret, ErrProxyTimestamp},
		{"missing signature", func(q url.Values) { q.Del("signature") }, now, secret, ErrProxyUnsigned},
		{"signature not hex", func(q url.Values) { q.Set("signature", "zz") }, now, secret, ErrProxySignature},
		{"wrong shop secret", func(url.Values) {}, now, "another-secret", ErrProxySignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := valid()
			c.mutate(q)
			if err := VerifyProxy(q, c.secret, c.at); !errors.Is(err, c.want) {
				t.Fatalf("VerifyProxy = %v, want %v", err, c.want)
			}
		})
	}
	// Repeated keys are joined with commas in the order given.
	q := SignedProxyQuery(url.Values{"tag": {"a", "b"}}, ProxyParams{Shop: "s", Timestamp: now}, secret)
	q["tag"] = []string{"b", "a"}
	if err := VerifyProxy(q, secret, now); !errors.Is(err, ErrProxySignature) {
		t.Fatalf("reordered repeated values must change the signature: %v", err)
	}
}

// A query signed over a repeated identity parameter is refused, whichever
// value a reader would take: the signature covers "a,b", a reader sees "a".
func TestVerifyProxyRefusesRepeatedIdentityParameters(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	secret := "hubdesk-demo-secret"
	signed := func(q url.Values) url.Values {
		q.Set("signature", SignProxy(q, secret))
		return q
	}
	base := func() url.Values {
		return SignedProxyQuery(url.Values{"locale": {"de"}}, ProxyParams{Shop: "demo-shop.myshopify.com", LoggedInCustomerID: "42", PathPrefix: "/apps/hub", Timestamp: now}, secret)
	}
	// The shopper's value comes first, as in a storefront URL the proxy
	// appends its own parameters to.
	doubled := map[string]func(q url.Values) url.Values{
		"shop": func(q url.Values) url.Values {
			q["shop"] = []string{"other.myshopify.com", q.Get("shop")}
			return signed(q)
		},
		"logged_in_customer_id": func(q url.Values) url.Values { q["logged_in_customer_id"] = []string{"7", "42"}; return signed(q) },
		"logged_in_customer_id, empty first": func(q url.Values) url.Values {
			q["logged_in_customer_id"] = []string{"", "42"}
			return signed(q)
		},
		"path_prefix": func(q url.Values) url.Values {
			q["path_prefix"] = []string{"/apps/other", "/apps/hub"}
			return signed(q)
		},
		"timestamp": func(q url.Values) url.Values {
			q["timestamp"] = []string{q.Get("timestamp"), "1"}
			return signed(q)
		},
		"hmac": func(q url.Values) url.Values { q["hmac"] = []string{"a", "b"}; return signed(q) },
		"signature": func(q url.Values) url.Values {
			q["signature"] = []string{q.Get("signature"), "00"}
			return q
		},
	}
	if err := VerifyProxy(base(), secret, now); err != nil {
		t.Fatalf("the base query must verify: %v", err)
	}
	for name, double := range doubled {
		t.Run(name, func(t *testing.T) {
			q := double(base())
			if err := VerifyProxy(q, secret, now); !errors.Is(err, ErrProxyRepeated) {
				t.Fatalf("VerifyProxy(%s) = %v, want %v", q.Encode(), err, ErrProxyRepeated)
			}
		})
	}
	// Every identity parameter is covered above.
	for _, k := range ProxyIdentityParams {
		if doubled[k] == nil {
			t.Errorf("no case doubles %s", k)
		}
	}
	// A repeated parameter of the shopper's own stays fine.
	q := signed(base())
	q["tag"] = []string{"a", "b"}
	if err := VerifyProxy(signed(q), secret, now); err != nil {
		t.Fatalf("a repeated shopper parameter: %v", err)
	}
}
