// Package testlog gives tests a logger that fails the test when a secret
// appears in any line it wrote: API keys, tokens, passwords, client
// secrets and session cookies must never reach a log, whatever the level.
// testapp installs one for every server it starts and registers the
// secrets it hands out; a test registers the ones it makes itself with
// Secret. The e2e suite scans the demo binary's log with Find.
package testlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// MinSecretLen is the shortest string worth looking for: shorter ones (a
// demo password such as "demo") match ordinary words and prove nothing.
const MinSecretLen = 8

// Log collects log lines for one test and checks them when it ends.
type Log struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	secrets []string
}

// New returns a Log whose lines are checked against the registered
// secrets when t ends.
func New(t testing.TB, secrets ...string) *Log {
	l := &Log{}
	l.Secret(secrets...)
	t.Cleanup(func() { l.check(t.Errorf) })
	return l
}

func (l *Log) check(errorf func(format string, args ...any)) {
	if found := l.Leaks(); len(found) > 0 {
		errorf("a secret was written to the log (%d found): %s", len(found), strings.Join(Mask(found), ", "))
	}
}

// Logger writes JSON lines at every level, debug included, so a secret a
// debug line would carry is caught too.
func (l *Log) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Secret registers strings no line may contain.
func (l *Log) Secret(secrets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= MinSecretLen {
			l.secrets = append(l.secrets, s)
		}
	}
}

// Write takes one log line (slog writes whole lines).
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String is everything logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Leaks lists the registered secrets the log holds.
func (l *Log) Leaks() []string {
	l.mu.Lock()
	secrets := append([]string(nil), l.secrets...)
	l.mu.Unlock()
	return Find(l.String(), secrets...)
}

// Find lists the secrets that text contains, as written or as a JSON
// string would carry them (a key with a quote or a slash in it).
func Find(text string, secrets ...string) []string {
	var found []string
	for _, s := range secrets {
		if len(s) < MinSecretLen {
			continue
		}
		quoted, _ := json.Marshal(s)
		if strings.Contains(text, s) || strings.Contains(text, string(quoted[1:len(quoted)-1])) {
			found = append(found, s)
		}
	}
	return found
}

// Mask names a leaked secret in a failure message without printing it
// whole (test output is a log too).
func Mask(secrets []string) []string {
	out := make([]string, len(secrets))
	for i, s := range secrets {
		out[i] = s[:3] + "…" + s[len(s)-2:]
	}
	return out
}
