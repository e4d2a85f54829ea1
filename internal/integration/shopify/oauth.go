package shopify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Install and tokens (shared/contracts/shopify.md §6): the authorization
// code grant of a public app (with expiring offline tokens and their
// refresh), and the client credentials grant of a Dev Dashboard custom
// app, all at the shop's /admin/oauth/access_token.

// shopDomainPattern is the only shape of shop Shopify's OAuth redirects
// name; anything else (a custom domain, another host, a path) is refused,
// so hubdesk never sends a browser or a secret to a host of the caller's
// choosing.
var shopDomainPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)

// ValidShopDomain says whether s is a shop's myshopify domain exactly as
// the contract allows it (lower case, no scheme, port or path).
func ValidShopDomain(s string) bool { return shopDomainPattern.MatchString(s) }

// OAuthMaxSkew is how far the timestamp of a signed install callback may
// be from now, as Shopify's own library allows.
const OAuthMaxSkew = 90 * time.Second

// Errors of VerifyOAuthQuery.
var (
	ErrOAuthUnsigned  = errors.New("shopify oauth: no hmac")
	ErrOAuthSignature = errors.New("shopify oauth: hmac does not match")
	ErrOAuthTimestamp = errors.New("shopify oauth: timestamp missing or outside the allowed window")
	ErrOAuthRepeated  = errors.New("shopify oauth: a parameter appears more than once")
	ErrOAuthShop      = errors.New("shopify oauth: shop is not a myshopify.com domain")
)

// oauthMessage is what Shopify signs on a redirect to the app: every
// parameter but hmac (and the App Proxy's signature), as key=value,
// sorted, joined by "&".
func oauthMessage(q url.Values) string {
	pairs := make([]string, 0, len(q))
	for k, vs := range q {
		if k == "hmac" || k == "signature" {
			continue
		}
		pairs = append(pairs, k+"="+strings.Join(vs, ","))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// SignOAuthQuery returns the hmac Shopify adds to a redirect to the app
// (the install callback): lowercase hex HMAC-SHA256 with the app's client
// secret. The sandbox signs with it; tests forge with it.
func SignOAuthQuery(q url.Values, clientSecret string) string {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte(oauthMessage(q)))
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyOAuthQuery checks a redirect Shopify signed for the app: no
// parameter twice (a reader would take one value while the hmac covered
// both), the hmac in constant time, the timestamp window and the shop's
// shape. Only then may code, shop and state be used.
func VerifyOAuthQuery(q url.Values, clientSecret string, now time.Time) error {
	for _, vs := range q {
		if len(vs) > 1 {
			return ErrOAuthRepeated
		}
	}
	sig := q.Get("hmac")
	if sig == "" {
		return ErrOAuthUnsigned
	}
	got, err := hex.DecodeString(sig)
	if err != nil || clientSecret == "" {
		return ErrOAuthSignature
	}
	want, _ := hex.DecodeString(SignOAuthQuery(q, clientSecret))
	if !hmac.Equal(got, want) {
		return ErrOAuthSignature
	}
	ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	if err != nil {
		return ErrOAuthTimestamp
	}
	if skew := now.Sub(time.Unix(ts, 0)); skew > OAuthMaxSkew || skew < -OAuthMaxSkew {
		return ErrOAuthTimestamp
	}
	if !ValidShopDomain(q.Get("shop")) {
		return ErrOAuthShop
	}
	return nil
}

// AuthorizeURL is where a merchant's browser goes to approve the app:
// {admin}/admin/oauth/authorize with the app's client id, the scopes it
// asks for, where to come back and the single-use state. An empty
// grant_options[] asks for an offline token (the default), which is what
// background sync needs.
func AuthorizeURL(adminRoot, clientID string, scopes []string, redirectURI, state string) string {
	q := url.Values{}
	q.Set("client_id", clientID)
	q.Set("scope", strings.Join(scopes, ","))
	q.Set("redirect_uri", redirectURI)
	q.Set("state", state)
	return strings.TrimRight(adminRoot, "/") + "/admin/oauth/authorize?" + q.Encode()
}

// Token is an access token as Shopify's token endpoint issued it. A zero
// ExpiresAt is a token that does not expire (the grants here always give
// one that does); a zero RefreshExpiresAt goes with no refresh token.
type Token struct {
	AccessToken      string
	Scopes           []string
	ExpiresAt        time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
}

// TokenError is Shopify's token endpoint refusing a request (4xx): the
// code, client id or secret, or refresh token is not good. Asking again
// with the same input gets the same answer.
type TokenError struct {
	Status      int
	Code        string // e.g. invalid_client, invalid_grant
	Description string
}

func (e *TokenError) Error() string {
	s := fmt.Sprintf("shopify oauth: token refused (%d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	s += ")"
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// OAuth calls Shopify's token endpoint. The zero value calls the real
// Shopify with http.DefaultClient.
type OAuth struct {
	HTTP *http.Client
	// AdminRoot maps a shop domain to the root its admin answers on;
	// nil: https://{shop}. The demo and tests point it at the sandbox.
	AdminRoot func(shop string) string
	// Now dates the expiries Shopify gives in seconds (default time.Now).
	Now func() time.Time
}

// Root is the admin root of shop (https://{shop} unless AdminRoot says
// otherwise).
func (o *OAuth) Root(shop string) string {
	if o != nil && o.AdminRoot != nil {
		return strings.TrimRight(o.AdminRoot(shop), "/")
	}
	return "https://" + shop
}

// ExchangeCode trades the code of an install callback for an expiring
// offline token and its refresh token (expiring=1: required of public
// apps; about 60 minutes, the refresh token much longer).
func (o *OAuth) ExchangeCode(ctx context.Context, shop, clientID, clientSecret, code string) (*Token, error) {
	return o.token(ctx, shop, url.Values{"client_id": {clientID}, "client_secret": {clientSecret}, "code": {code}, "expiring": {"1"}})
}

// Refresh trades a refresh token for a new access token (and a new
// refresh token: the old one stops working).
func (o *OAuth) Refresh(ctx context.Context, shop, clientID, clientSecret, refreshToken string) (*Token, error) {
	return o.token(ctx, shop, url.Values{"client_id": {clientID}, "client_secret": {clientSecret},
		"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

// ClientCredentials asks for a token with a Dev Dashboard custom app's
// client id and secret (about 24 hours, no refresh token: ask again).
func (o *OAuth) ClientCredentials(ctx context.Context, shop, clientID, clientSecret string) (*Token, error) {
	return o.token(ctx, shop, url.Values{"client_id": {clientID}, "client_secret": {clientSecret}, "grant_type": {"client_credentials"}})
}

// tokenResponse is the token endpoint's JSON answer.
type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	Scope                 string `json:"scope"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	Error                 string `json:"error"`
	ErrorDescription      string `json:"error_description"`
	Errors                any    `json:"errors"`
}

func (o *OAuth) token(ctx context.Context, shop string, form url.Values) (*Token, error) {
	if !ValidShopDomain(shop) {
		return nil, ErrOAuthShop
	}
	now := time.Now
	client := http.DefaultClient
	if o != nil && o.Now != nil {
		now = o.Now
	}
	if o != nil && o.HTTP != nil {
		client = o.HTTP
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.Root(shop)+"/admin/oauth/access_token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("shopify oauth: token for %s: %w", shop, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("shopify oauth: token for %s: %w", shop, err)
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		te := &TokenError{Status: resp.StatusCode, Code: tr.Error, Description: tr.ErrorDescription}
		if te.Description == "" && tr.Errors != nil {
			te.Description = fmt.Sprint(tr.Errors)
		}
		return nil, te
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("shopify oauth: token for %s: HTTP %d", shop, resp.StatusCode)
	case jsonErr != nil || tr.AccessToken == "":
		return nil, fmt.Errorf("shopify oauth: token for %s: unreadable answer", shop)
	}
	at := now().UTC()
	t := &Token{AccessToken: tr.AccessToken, Scopes: SplitScopes(tr.Scope), RefreshToken: tr.RefreshToken}
	if tr.ExpiresIn > 0 {
		t.ExpiresAt = at.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if tr.RefreshTokenExpiresIn > 0 {
		t.RefreshExpiresAt = at.Add(time.Duration(tr.RefreshTokenExpiresIn) * time.Second)
	}
	return t, nil
}

// SplitScopes reads Shopify's comma-separated scope list.
func SplitScopes(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
