package testlog

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestFindsASecretInAnyForm(t *testing.T) {
	const key = `lp_live_"quoted"/key`
	l := &Log{}
	l.Secret(key, "demo") // "demo" is too short to look for
	l.Logger().Debug("calling Loop", slog.String("key", key), slog.String("shop", "demo-shop"))
	if got := l.Leaks(); len(got) != 1 || got[0] != key {
		t.Fatalf("Leaks() = %q, want the key (JSON-escaped in the line)", got)
	}
}

func TestACleanLogPasses(t *testing.T) {
	l := New(t, "hd_0123456789abcdef")
	l.Logger().Info("request", slog.String("path", "/api/v1/customers"), slog.String("token", "hd_0123…"))
	if got := l.Leaks(); len(got) != 0 {
		t.Fatalf("Leaks() = %q on a clean log", got)
	}
}

func TestALeakFailsTheCheck(t *testing.T) {
	l := &Log{}
	l.Secret("hubdesk-demo-secret")
	l.Logger().Warn("webhook", slog.String("secret", "hubdesk-demo-secret"))
	var failure string
	l.check(func(format string, args ...any) { failure = fmt.Sprintf(format, args...) })
	if failure == "" || strings.Contains(failure, "hubdesk-demo-secret") {
		t.Fatalf("check reported %q: want a failure that does not print the secret", failure)
	}
}
