package hub

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/shop"
)

// Shopper tokens let a headless storefront (no App Proxy) open the hub for
// a customer it has authenticated itself. The merchant's server asks the
// API for one; the hub accepts it as a bearer token or ?token=, and every
// link it renders carries a fresh one, so no cookie is needed.
//
// A token is base64url(payload) "." base64url(HMAC-SHA256(payload)) with
// payload "v1.<shop id>.<customer id>.<expires unix>.<session start unix>".
// The key is derived from the shop's Shopify client secret, so tokens need
// no new key material, are worthless in another shop, and all die when the
// merchant rotates the secret.
const (
	// TokenTTL is how long a token stays valid after it is issued or renewed.
	TokenTTL = 15 * time.Minute
	// TokenMaxSession bounds renewal: links stop carrying fresh tokens this
	// long after the merchant's server issued the first one.
	TokenMaxSession = 4 * time.Hour
)

// Errors of parseToken; the hub answers all of them with the same 401.
var (
	errTokenMalformed = errors.New("hub token: malformed")
	errTokenSignature = errors.New("hub token: signature does not match")
	errTokenExpired   = errors.New("hub token: expired")
)

// tokenClaims are what a token asserts.
type tokenClaims struct {
	ShopID, CustomerID int64
	Expires            time.Time
	SessionStart       time.Time
}

// tokenKey derives the per-shop signing key from the client secret. The
// label keeps it distinct from the secret's other uses (App Proxy and
// webhook signatures).
func tokenKey(clientSecret string) []byte {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte("hubdesk shopper token v1"))
	return mac.Sum(nil)
}

// signToken returns the token for c.
func signToken(c tokenClaims, clientSecret string) string {
	payload := "v1." + strconv.FormatInt(c.ShopID, 10) + "." + strconv.FormatInt(c.CustomerID, 10) + "." +
		strconv.FormatInt(c.Expires.Unix(), 10) + "." + strconv.FormatInt(c.SessionStart.Unix(), 10)
	mac := hmac.New(sha256.New, tokenKey(clientSecret))
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// tokenShop reads the shop id of a token before it is verified, so the
// hub can look up the secret to verify it with. Nothing else is trusted
// until verifyToken succeeds.
func tokenShop(token string) (int64, error) {
	c, _, _, err := decodeToken(token)
	if err != nil {
		return 0, err
	}
	return c.ShopID, nil
}

func decodeToken(token string) (c tokenClaims, payload, sig []byte, err error) {
	p, s, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 {
		return c, nil, nil, errTokenMalformed
	}
	if payload, err = base64.RawURLEncoding.DecodeString(p); err != nil {
		return c, nil, nil, errTokenMalformed
	}
	if sig, err = base64.RawURLEncoding.DecodeString(s); err != nil {
		return c, nil, nil, errTokenMalformed
	}
	parts := strings.Split(string(payload), ".")
	if len(parts) != 5 || parts[0] != "v1" {
		return c, nil, nil, errTokenMalformed
	}
	var n [4]int64
	for i, s := range parts[1:] {
		if n[i], err = strconv.ParseInt(s, 10, 64); err != nil || n[i] <= 0 {
			return c, nil, nil, errTokenMalformed
		}
	}
	c = tokenClaims{ShopID: n[0], CustomerID: n[1], Expires: time.Unix(n[2], 0), SessionStart: time.Unix(n[3], 0)}
	return c, payload, sig, nil
}

// verifyToken checks the signature in constant time, then the expiry.
func verifyToken(token, clientSecret string, now time.Time) (tokenClaims, error) {
	c, payload, sig, err := decodeToken(token)
	if err != nil {
		return c, err
	}
	mac := hmac.New(sha256.New, tokenKey(clientSecret))
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return tokenClaims{}, errTokenSignature
	}
	if !now.Before(c.Expires) {
		return tokenClaims{}, errTokenExpired
	}
	return c, nil
}

// renewed returns the claims for the links of a page: a fresh TTL, never
// past the session's limit. ok is false once the session is over, and the
// links then keep the current token until it expires.
func (c tokenClaims) renewed(now time.Time) (tokenClaims, bool) {
	end := c.SessionStart.Add(TokenMaxSession)
	exp := now.Add(TokenTTL)
	if exp.After(end) {
		exp = end
	}
	if !exp.After(c.Expires) {
		return c, false
	}
	c.Expires = exp
	return c, true
}

// ErrNoClientSecret means the shop has no Shopify client secret to derive
// the token key from.
var ErrNoClientSecret = shop.ErrNoClientSecret

// IssueShopperToken signs a token that opens the hub for one customer of
// a shop, valid for TokenTTL, and returns it with its expiry and the hub
// URL that carries it. The caller has checked that the customer belongs to
// the shop (the API does, by looking it up in that shop).
func (h *Hub) IssueShopperToken(ctx context.Context, shopID, customerID int64) (token string, expiresAt time.Time, hubURL string, err error) {
	secret, err := h.opts.Shops.ClientSecret(ctx, shopID)
	if err != nil {
		return "", time.Time{}, "", fmt.Errorf("hub: client secret of shop %d: %w", shopID, err)
	}
	if secret == "" {
		return "", time.Time{}, "", ErrNoClientSecret
	}
	now := h.opts.Now()
	c := tokenClaims{ShopID: shopID, CustomerID: customerID, Expires: now.Add(TokenTTL), SessionStart: now}
	token = signToken(c, secret)
	return token, c.Expires.Truncate(time.Second), h.opts.BaseURL + "/hub?token=" + url.QueryEscape(token), nil
}
