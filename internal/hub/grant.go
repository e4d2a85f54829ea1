package hub

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Guest grants keep a shopper who opened a one-time guest link (package
// guest) on that one order for the next clicks. The App Proxy strips
// cookies both ways, so there is no session to keep; the link itself
// cannot be used twice. On its first open the link is exchanged for a
// grant — signed like a shopper token (token.go), but naming an order
// instead of a customer and with a key of its own — that every link of
// the page carries (?grant=) and that is renewed as pages render, within
// GrantMaxSession of the open. A grant opens that order's page, its Start
// a return and its contact form, and nothing else: no orders list, no
// messages, no account.
//
// A grant is base64url(payload) "." base64url(HMAC-SHA256(payload)) with
// payload "g1.<shop id>.<order id>.<expires unix>.<session start unix>".
const (
	// GrantTTL is how long a grant stays valid after it is issued or
	// renewed.
	GrantTTL = 30 * time.Minute
	// GrantMaxSession bounds renewal: access to the order ends this long
	// after the link was opened; a new lookup mails a new link.
	GrantMaxSession = 4 * time.Hour
)

// grantClaims are what a grant asserts.
type grantClaims struct {
	ShopID, OrderID int64
	Expires         time.Time
	SessionStart    time.Time
}

func grantKey(clientSecret string) []byte {
	mac := hmac.New(sha256.New, []byte(clientSecret))
	mac.Write([]byte("hubdesk guest order grant v1"))
	return mac.Sum(nil)
}

func signGrant(c grantClaims, clientSecret string) string {
	payload := "g1." + strconv.FormatInt(c.ShopID, 10) + "." + strconv.FormatInt(c.OrderID, 10) + "." +
		strconv.FormatInt(c.Expires.Unix(), 10) + "." + strconv.FormatInt(c.SessionStart.Unix(), 10)
	mac := hmac.New(sha256.New, grantKey(clientSecret))
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func decodeGrant(grant string) (c grantClaims, payload, sig []byte, err error) {
	p, s, ok := strings.Cut(grant, ".")
	if !ok || len(grant) > 512 {
		return c, nil, nil, errTokenMalformed
	}
	if payload, err = base64.RawURLEncoding.DecodeString(p); err != nil {
		return c, nil, nil, errTokenMalformed
	}
	if sig, err = base64.RawURLEncoding.DecodeString(s); err != nil {
		return c, nil, nil, errTokenMalformed
	}
	parts := strings.Split(string(payload), ".")
	if len(parts) != 5 || parts[0] != "g1" {
		return c, nil, nil, errTokenMalformed
	}
	var n [4]int64
	for i, s := range parts[1:] {
		if n[i], err = strconv.ParseInt(s, 10, 64); err != nil || n[i] <= 0 {
			return c, nil, nil, errTokenMalformed
		}
	}
	return grantClaims{ShopID: n[0], OrderID: n[1], Expires: time.Unix(n[2], 0), SessionStart: time.Unix(n[3], 0)}, payload, sig, nil
}

// verifyGrant checks the signature in constant time, then the expiry.
func verifyGrant(grant, clientSecret string, now time.Time) (grantClaims, error) {
	c, payload, sig, err := decodeGrant(grant)
	if err != nil {
		return c, err
	}
	mac := hmac.New(sha256.New, grantKey(clientSecret))
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return grantClaims{}, errTokenSignature
	}
	if !now.Before(c.Expires) {
		return grantClaims{}, errTokenExpired
	}
	return c, nil
}

// renewed is the grant for a page's links: a fresh TTL, never past the
// session's end.
func (c grantClaims) renewed(now time.Time) (grantClaims, bool) {
	end := c.SessionStart.Add(GrantMaxSession)
	exp := now.Add(GrantTTL)
	if exp.After(end) {
		exp = end
	}
	if !exp.After(c.Expires) {
		return c, false
	}
	c.Expires = exp
	return c, true
}
