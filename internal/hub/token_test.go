package hub

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := tokenClaims{ShopID: 7, CustomerID: 42, Expires: now.Add(TokenTTL), SessionStart: now}
	tok := signToken(c, "secret")
	got, err := verifyToken(tok, "secret", now.Add(time.Minute))
	if err != nil || got != c {
		t.Fatalf("verify = %+v, %v", got, err)
	}
	if shop, err := tokenShop(tok); err != nil || shop != 7 {
		t.Errorf("tokenShop = %d, %v", shop, err)
	}
	payload, sig, _ := strings.Cut(tok, ".")
	flip := func(s string) string { // change one character, keep it base64url
		b := []byte(s)
		if b[3] == 'A' {
			b[3] = 'B'
		} else {
			b[3] = 'A'
		}
		return string(b)
	}
	other := signToken(tokenClaims{ShopID: 7, CustomerID: 43, Expires: c.Expires, SessionStart: now}, "secret")
	otherPayload, _, _ := strings.Cut(other, ".")
	for name, tc := range map[string]struct {
		token, secret string
		at            time.Time
		want          error
	}{
		"expired":                 {tok, "secret", c.Expires, errTokenExpired},
		"wrong secret":            {tok, "other-secret", now, errTokenSignature},
		"tampered signature":      {payload + "." + flip(sig), "secret", now, errTokenSignature},
		"another payload, my sig": {otherPayload + "." + sig, "secret", now, errTokenSignature},
		"tampered payload":        {flip(payload) + "." + sig, "secret", now, nil}, // malformed or bad signature
		"no dot":                  {payload, "secret", now, errTokenMalformed},
		"not base64":              {"!!!." + sig, "secret", now, errTokenMalformed},
		"empty":                   {"", "secret", now, errTokenMalformed},
		"huge":                    {strings.Repeat("a", 600) + "." + sig, "secret", now, errTokenMalformed},
	} {
		_, err := verifyToken(tc.token, tc.secret, tc.at)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestTokenRenewal(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	c := tokenClaims{ShopID: 1, CustomerID: 2, Expires: start.Add(TokenTTL), SessionStart: start}
	r, ok := c.renewed(start.Add(10 * time.Minute))
	if !ok || !r.Expires.Equal(start.Add(10*time.Minute+TokenTTL)) {
		t.Errorf("renewed = %v, %v", r.Expires, ok)
	}
	// Near the end of the session the renewal stops at its limit.
	late := tokenClaims{ShopID: 1, CustomerID: 2, Expires: start.Add(TokenMaxSession - time.Minute), SessionStart: start}
	r, ok = late.renewed(start.Add(TokenMaxSession - 2*time.Minute))
	if !ok || !r.Expires.Equal(start.Add(TokenMaxSession)) {
		t.Errorf("late renewal = %v, %v", r.Expires, ok)
	}
	done := tokenClaims{ShopID: 1, CustomerID: 2, Expires: start.Add(TokenMaxSession), SessionStart: start}
	if _, ok := done.renewed(start.Add(TokenMaxSession - time.Second)); ok {
		t.Error("renewed past the session limit")
	}
}
