package returns

import (
	"context"
	"errors"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// KeyChecker reports which scopes a Loop API key has.
type KeyChecker interface {
	CheckKey(ctx context.Context, apiKey string) loop.KeyReport
}

// LoopKeyChecker checks keys with a Loop client.
type LoopKeyChecker struct{ Client *loop.Client }

// CheckKey probes the key's scopes without changing anything in Loop.
func (c LoopKeyChecker) CheckKey(ctx context.Context, apiKey string) loop.KeyReport {
	return c.Client.WithKey(apiKey).CheckKey(ctx)
}

var (
	// ErrKeyRefused: Loop refused the key for every scope.
	ErrKeyRefused = errors.New("Loop refused this API key: check that it was copied whole and has not been revoked")
	// ErrLoopUnreachable: Loop could not be asked; the admin may save anyway.
	ErrLoopUnreachable = errors.New("Loop could not be reached to check the key; try again, or save anyway")
)

// KeyCheckError carries the report behind ErrKeyRefused or ErrLoopUnreachable.
type KeyCheckError struct {
	Err    error
	Report loop.KeyReport
}

func (e *KeyCheckError) Error() string { return e.Err.Error() }
func (e *KeyCheckError) Unwrap() error { return e.Err }

// SaveOutcome is what saving the returns settings did.
type SaveOutcome struct {
	*SaveResult
	Report   *loop.KeyReport // set when a new Loop key was checked
	Warnings []string        // what will not work with the key's scopes
}

// SaveReturns is the one way returns settings change, from the settings
// page and the API alike. A new Loop key is checked against Loop first
// (Klaviyo does not; we do): refused outright when Loop rejects it for
// every scope, held back when Loop cannot be reached unless saveAnyway,
// and saved with a per-scope report otherwise.
func (s *Store) SaveReturns(ctx context.Context, shopID int64, rc ReturnsConfig, checker KeyChecker, saveAnyway bool, actor audit.Actor) (*SaveOutcome, error) {
	state, err := s.Load(ctx, shopID)
	if err != nil {
		return nil, err
	}
	cfg := state.Draft
	rc.KeyCheck = nil
	rc.LoopKeyLast4 = ""
	cfg.Returns = rc
	out := &SaveOutcome{}
	if rc.Provider == ProviderLoop && rc.LoopAPIKey != "" && rc.LoopAPIKey != state.Draft.Returns.LoopAPIKey {
		// Validate the form before spending a call on Loop.
		probe := cfg
		if err := probe.Validate(); err != nil {
			return nil, err
		}
		report := checker.CheckKey(ctx, rc.LoopAPIKey)
		out.Report = &report
		switch {
		case report.Invalid():
			return nil, &KeyCheckError{Err: ErrKeyRefused, Report: report}
		case report.Unreachable() && !saveAnyway:
			return nil, &KeyCheckError{Err: ErrLoopUnreachable, Report: report}
		}
		cfg.Returns.KeyCheck = &KeyCheck{CheckedAt: report.CheckedAt, Orders: string(report.Orders.Status),
			Returns: string(report.Returns.Status), DeveloperTools: string(report.DeveloperTools.Status)}
		if cfg.Returns.KeyCheck.CheckedAt.IsZero() {
			cfg.Returns.KeyCheck.CheckedAt = time.Now().UTC()
		}
	}
	// Only the Returns tab changes: another admin's General save made
	// meanwhile stays (Update re-reads the draft under a lock).
	var saved ReturnsConfig
	res, err := s.Update(ctx, shopID, actor, func(c *Config) error {
		next := cfg.Returns
		if next.LoopAPIKey == "" {
			next.LoopAPIKey, next.KeyCheck = c.Returns.LoopAPIKey, c.Returns.KeyCheck
		}
		c.Returns = next
		saved = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.SaveResult = res
	if saved.Provider == ProviderLoop {
		out.Warnings = ScopeWarnings(saved.KeyCheck)
	}
	return out, nil
}

// ScopeWarnings says, for people, what breaks without each missing scope.
func ScopeWarnings(kc *KeyCheck) []string {
	if kc == nil {
		return nil
	}
	var w []string
	switch kc.Orders {
	case string(loop.ScopeDenied):
		w = append(w, "The key lacks the Orders scope: Start a return, Initiate return links and QR codes will fail.")
	case string(loop.ScopeUnknown):
		w = append(w, "The Orders scope could not be checked (Loop did not answer): return links may fail.")
	}
	switch kc.Returns {
	case string(loop.ScopeDenied):
		w = append(w, "The key lacks the Returns scope: return statuses cannot be fetched, so agents see only what webhooks deliver.")
	case string(loop.ScopeUnknown):
		w = append(w, "The Returns scope could not be checked (Loop did not answer): return statuses may fail.")
	}
	if kc.DeveloperTools == string(loop.ScopeDenied) {
		w = append(w, "The key lacks Developer Tools: Loop's webhooks cannot be registered automatically for this key.")
	}
	return w
}
