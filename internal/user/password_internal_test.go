package user

import (
	"strings"
	"testing"
)

// TestDummyHashCostsARealCheck: an unknown email must cost a full argon2
// check with today's parameters, so the written-out dummy hash must parse
// and carry exactly what HashPassword writes.
func TestDummyHashCostsARealCheck(t *testing.T) {
	ok, err := CheckPassword(dummyHash, "hubdesk-timing-equaliser")
	if ok || err != nil {
		t.Fatalf("CheckPassword(dummyHash) = %v, %v; want false, nil", ok, err)
	}
	real, err := HashPassword("x")
	if err != nil {
		t.Fatal(err)
	}
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	if params(dummyHash) != params(real) {
		t.Errorf("dummy hash parameters %q, HashPassword's %q", params(dummyHash), params(real))
	}
	if len(dummyHash) != len(real) {
		t.Errorf("dummy hash is %d long, a real one %d: the salt or key length differs", len(dummyHash), len(real))
	}
}
