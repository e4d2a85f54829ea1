package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyProxy feeds App Proxy queries as the hub receives them. Whatever
// the input, VerifyProxy must not panic, and it may accept a query only
// when every identity parameter appears once, the timestamp is inside the
// window and the signature is the HMAC of Shopify's message — computed
// here independently of proxyMessage, so a bug there is caught too. A
// query the proxy itself signed must always pass.
func FuzzVerifyProxy(f *testing.F) {
	const secret = "hubdesk-fuzz-secret"
	now := time.Unix(1_780_000_000, 0)
	signed := SignedProxyQuery(url.Values{"x": {"1"}}, ProxyParams{
		Shop: "demo-shop.myshopify.com", LoggedInCustomerID: "7000000100", PathPrefix: "/apps/hub", Timestamp: now,
	}, secret)
	f.Add(signed.Encode(), secret, int64(0))
	f.Add(signed.Encode(), "another-secret", int64(0))
	f.Add(signed.Encode(), secret, int64(91))
	f.Add(signed.Encode()+"&logged_in_customer_id=1", secret, int64(0))
	f.Add("shop=a.myshopify.com&signature=zz&timestamp=1", secret, int64(0))
	f.Add("a=1,2&a=3&signature="+strings.Repeat("0", 64), "", int64(-5))

	f.Fuzz(func(t *testing.T, rawQuery, clientSecret string, skewSeconds int64) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return // net/http would not hand the hub such a query either
		}
		at := now.Add(time.Duration(skewSeconds%1_000_000) * time.Second)
		if VerifyProxy(q, clientSecret, at) != nil {
			return
		}
		for _, k := range ProxyIdentityParams {
			if len(q[k]) > 1 {
				t.Fatalf("accepted a repeated %q", k)
			}
		}
		ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if err != nil || at.Sub(time.Unix(ts, 0)).Abs() > ProxyMaxSkew {
			t.Fatalf("accepted timestamp %q at %d", q.Get("timestamp"), at.Unix())
		}
		var pairs []string
		for k, vs := range q {
			if k != "signature" {
				pairs = append(pairs, k+"="+strings.Join(vs, ","))
			}
		}
		sort.Strings(pairs)
		mac := hmac.New(sha256.New, []byte(clientSecret))
		mac.Write([]byte(strings.Join(pairs, "")))
		got, _ := hex.DecodeString(q.Get("signature"))
		if !hmac.Equal(got, mac.Sum(nil)) {
			t.Fatalf("accepted a query whose signature is not the HMAC of its message: %q", rawQuery)
		}
	})
}

// FuzzSignedProxyQueryVerifies: every query the App Proxy forwards, with
// whatever the shopper put in the storefront URL, verifies with the secret
// that signed it and with no other.
func FuzzSignedProxyQueryVerifies(f *testing.F) {
	f.Add("x=1", "7000000100", "hubdesk-demo-secret")
	f.Add("signature=forged&shop=evil.myshopify.com", "", "s")
	f.Add("a=%00&b=%E2%82%AC", "1", "")
	f.Fuzz(func(t *testing.T, shopperQuery, customerID, clientSecret string) {
		q, err := url.ParseQuery(shopperQuery)
		if err != nil {
			return
		}
		for _, k := range ProxyIdentityParams {
			delete(q, k) // the proxy replaces these (see the sandbox's ForwardShopperDuplicates)
		}
		now := time.Unix(1_780_000_000, 0)
		signed := SignedProxyQuery(q, ProxyParams{Shop: "demo-shop.myshopify.com", LoggedInCustomerID: customerID,
			PathPrefix: "/apps/hub", Timestamp: now}, clientSecret)
		// Round trip through the wire form, as the hub receives it.
		received, err := url.ParseQuery(signed.Encode())
		if err != nil {
			t.Fatalf("the signed query does not parse: %v", err)
		}
		if err := VerifyProxy(received, clientSecret, now); err != nil {
			t.Fatalf("a query signed by the proxy was refused: %v (%s)", err, signed.Encode())
		}
		if err := VerifyProxy(received, clientSecret+"x", now); err == nil {
			t.Fatal("a query verified with another secret")
		}
	})
}
