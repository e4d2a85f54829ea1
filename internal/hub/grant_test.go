package hub

import (
	"errors"
	"testing"
	"time"
)

// A grant opens its order until it expires; renewal never takes it past
// GrantMaxSession from the link's open; another shop's secret, a shopper
// token and an edited grant open nothing.
func TestGuestGrant(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	c := grantClaims{ShopID: 3, OrderID: 77, Expires: start.Add(GrantTTL), SessionStart: start}
	g := signGrant(c, "secret")
	got, err := verifyGrant(g, "secret", start.Add(time.Minute))
	if err != nil || got.OrderID != 77 || got.ShopID != 3 {
		t.Fatalf("verify: %+v %v", got, err)
	}
	if _, err := verifyGrant(g, "secret", start.Add(GrantTTL)); !errors.Is(err, errTokenExpired) {
		t.Errorf("an expired grant: %v", err)
	}
	if _, err := verifyGrant(g, "other", start); !errors.Is(err, errTokenSignature) {
		t.Errorf("another shop's secret: %v", err)
	}
	tok := signToken(tokenClaims{ShopID: 3, CustomerID: 77, Expires: start.Add(time.Hour), SessionStart: start}, "secret")
	if _, err := verifyGrant(tok, "secret", start); err == nil {
		t.Error("a shopper token was taken for a grant")
	}
	if _, err := verifyToken(g, "secret", start); err == nil {
		t.Error("a grant was taken for a shopper token")
	}
	edited := signGrant(grantClaims{ShopID: 3, OrderID: 78, Expires: c.Expires, SessionStart: start}, "other")
	if _, err := verifyGrant(g[:len(g)-43]+edited[len(edited)-43:], "secret", start); err == nil {
		t.Error("an edited grant passed")
	}
	now := start
	for now.Before(start.Add(GrantMaxSession + time.Hour)) {
		now = now.Add(20 * time.Minute)
		if r, ok := c.renewed(now); ok {
			c = r
		}
	}
	if want := start.Add(GrantMaxSession); !c.Expires.Equal(want) {
		t.Errorf("renewed until %s, want the session's end %s", c.Expires, want)
	}
}
