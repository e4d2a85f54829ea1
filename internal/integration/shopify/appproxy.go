// Package shopify holds what hubdesk needs from Shopify's side of the
// contract (shared/contracts/shopify.md): App Proxy signatures now; the
// webhook verifier and the Admin GraphQL client join it.
package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ProxyMaxSkew is how far an App Proxy timestamp may be from now; Shopify's
// own library uses 90 seconds.
const ProxyMaxSkew = 90 * time.Second

// Errors of VerifyProxy. They are distinct for logs and tests; the hub
// answers all of them the same way.
var (
	ErrProxyUnsigned  = errors.New("shopify app proxy: no signature")
	ErrProxySignature = errors.New("shopify app proxy: signature does not match")
	ErrProxyTimestamp = errors.New("shopify app proxy: timestamp missing or outside the allowed window")
	ErrProxyRepeated  = errors.New("shopify app proxy: an identity parameter appears more than once")
)

// ProxyIdentityParams are the parameters that say who is asking and how to
// check it. Each may appear at most once: the signature covers a repeated
// key as its values joined by ",", but a reader takes one of them, so a
// shopper who adds "logged_in_customer_id=<someone else>" ahead of the
// value the proxy appends would get a signed query whose first value is
// theirs. Shopify's own app library rejects repeated shop, timestamp,
// signature and hmac; hubdesk adds the customer and the path prefix.
var ProxyIdentityParams = []string{"shop", "logged_in_customer_id", "path_prefix", "timestamp", "signature", "hmac"}

// proxyMessage builds the string Shopify signs: every query parameter but
// "signature", as "key=value" with the values of a repeated key joined by
// ",", sorted, concatenated without a separator.
func proxyMessage(q url.Values) string {
	pairs := make([]string, 0, len(q))
	for k, vs := range q {
		if k == "signature" {
			continue
		}
		pairs = append(pairs, k+"="+strings.Join(vs, ","))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "")
}

// SignProxy returns the signature Shopify would add to query q, signed with
// the app's client secret: lowercase hex HMAC-SHA256.
func SignProxy(q url.Values, clientSecret string) string {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte(proxyMessage(q)))
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyProxy checks an App Proxy request's query: every identity
// parameter at most once, the signature (compared in constant time) and the
// timestamp window. Only after it returns nil may "shop" and
// "logged_in_customer_id" be trusted.
func VerifyProxy(q url.Values, clientSecret string, now time.Time) error {
	for _, k := range ProxyIdentityParams {
		if len(q[k]) > 1 {
			return ErrProxyRepeated
		}
	}
	sig := q.Get("signature")
	if sig == "" {
		return ErrProxyUnsigned
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return ErrProxySignature
	}
	want, _ := hex.DecodeString(SignProxy(q, clientSecret))
	if !hmac.Equal(got, want) {
		return ErrProxySignature
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		return ErrProxyTimestamp
	}
	skew := now.Sub(time.Unix(ts, 0))
	if skew > ProxyMaxSkew || skew < -ProxyMaxSkew {
		return ErrProxyTimestamp
	}
	return nil
}

// ProxyParams are the parameters Shopify adds to a proxied request.
type ProxyParams struct {
	Shop               string // {name}.myshopify.com
	LoggedInCustomerID string // empty when nobody is logged in
	PathPrefix         string // e.g. /apps/hub
	Timestamp          time.Time
}

// SignedProxyQuery adds Shopify's parameters and signature to query q (the
// shopper's own parameters), as the App Proxy does before forwarding. The
// Shopify sandbox and the demo use it; tests use it to make valid requests.
func SignedProxyQuery(q url.Values, p ProxyParams, clientSecret string) url.Values {
	out := url.Values{}
	for k, vs := range q {
		if k != "signature" {
			out[k] = append([]string(nil), vs...)
		}
	}
	out.Set("shop", p.Shop)
	out.Set("logged_in_customer_id", p.LoggedInCustomerID)
	out.Set("path_prefix", p.PathPrefix)
	out.Set("timestamp", strconv.FormatInt(p.Timestamp.Unix(), 10))
	out.Set("signature", SignProxy(out, clientSecret))
	return out
}
