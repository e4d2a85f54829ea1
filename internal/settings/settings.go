// Package settings holds the use cases that read and change a shop's hub
// settings (returns.Store keeps them, draft and published) and its Loop
// connections, API key and webhook secret (connection.Store): saving the
// General and Returns tabs and switching Live. Each runs the stores and the audit entry naming what
// changed in one transaction; a new Loop API key is checked with Loop,
// through the KeyChecker this package owns, before anything is written.
// The key is a connection, not a setting: it takes effect when saved,
// whether or not the hub is live, and every read here attaches it to the
// draft and the published settings alike. The settings page, the API, the
// hub and the demo all go through here.
package settings

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/secret"
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

// Editor runs the settings use cases.
type Editor struct {
	db          database.Querier
	settings    *returns.Store
	connections *connection.Store
	audit       *audit.Log
	checker     KeyChecker
	watcher     LoopKeyWatcher
	now         func() time.Time
}

// LoopKeyWatcher is told, inside the transaction that saves it, that a
// shop's Loop key changed or was removed (new is "" then), and whether the
// new key holds the Developer Tools scope: webhook subscriptions follow
// the key (loopsync).
type LoopKeyWatcher interface {
	LoopKeyChanged(ctx context.Context, tx *database.Tx, shopID int64, oldKey, newKey string, developerTools bool) error
}

// WatchLoopKey makes w hear of every change of a Loop key saved from now
// on.
func (e *Editor) WatchLoopKey(w LoopKeyWatcher) { e.watcher = w }

// New returns the settings use cases over db, which opens their
// transactions; checker asks Loop about new keys.
func New(db database.Querier, settings *returns.Store, connections *connection.Store, log *audit.Log, checker KeyChecker) *Editor {
	return &Editor{db: db, settings: settings, connections: connections, audit: log, checker: checker, now: time.Now}
}

// Load returns the shop's settings, draft and published, for the pages,
// each with the Loop connection in force. A Loop key or webhook secret
// this process cannot open (secret.ErrUnreadable) does not fail it: the
// settings come back flagged (LoopKeyUnreadable,
// LoopWebhookSecretUnreadable) so that an admin can enter it again.
func (e *Editor) Load(ctx context.Context, shopID int64) (*returns.State, error) {
	st, err := e.settings.Load(ctx, shopID)
	if err != nil {
		return nil, err
	}
	conns, err := e.loopConnections(ctx, e.connections, shopID)
	if err != nil {
		return nil, err
	}
	conns.attach(&st.Draft.Returns)
	conns.attach(&st.Published.Returns)
	return st, nil
}

// Published is what shoppers and agents get: the published settings with
// the Loop key in force. The webhook secret is left out: only the webhook
// intake needs it, and one this process cannot open must not close the hub.
func (e *Editor) Published(ctx context.Context, shopID int64) (returns.Config, error) {
	cfg, err := e.settings.Published(ctx, shopID)
	if err != nil {
		return returns.Config{}, err
	}
	key, err := optionalConnection(ctx, e.connections, shopID, connection.ProviderLoop)
	if err != nil {
		return returns.Config{}, err
	}
	loopConnections{key: key}.attach(&cfg.Returns)
	return cfg, nil
}

// loopConnections are the shop's two Loop connections, each nil when
// there is none: the API key and the webhook signing secret. A connection
// stored but sealed with a key this process lacks is nil and flagged
// unreadable.
type loopConnections struct {
	key, webhook                     *connection.Connection
	keyUnreadable, webhookUnreadable bool
}

// loopConnections reads the shop's Loop connections through store, for
// editing: one this process cannot open is flagged, not failed, so that
// the settings pages and the API stay open to enter it again.
func (e *Editor) loopConnections(ctx context.Context, store *connection.Store, shopID int64) (loopConnections, error) {
	var conns loopConnections
	var err error
	if conns.key, conns.keyUnreadable, err = editableConnection(ctx, store, shopID, connection.ProviderLoop); err != nil {
		return loopConnections{}, err
	}
	if conns.webhook, conns.webhookUnreadable, err = editableConnection(ctx, store, shopID, connection.ProviderLoopWebhook); err != nil {
		return loopConnections{}, err
	}
	return conns, nil
}

// editableConnection is optionalConnection that reports a connection this
// process cannot open as unreadable instead of failing.
func editableConnection(ctx context.Context, store *connection.Store, shopID int64, provider connection.Provider) (conn *connection.Connection, unreadable bool, err error) {
	conn, err = optionalConnection(ctx, store, shopID, provider)
	if errors.Is(err, secret.ErrUnreadable) {
		return nil, true, nil
	}
	return conn, false, err
}

// optionalConnection reads the shop's connection to provider through
// store; nil when there is none.
func optionalConnection(ctx context.Context, store *connection.Store, shopID int64, provider connection.Provider) (*connection.Connection, error) {
	conn, err := store.Get(ctx, shopID, provider)
	if errors.Is(err, connection.ErrNotFound) {
		return nil, nil
	}
	return conn, err
}

// attach puts the Loop connections into the Returns tab the pages, the
// API and the resolver read: the key, its last four characters and its
// check, and the webhook secret and its last four characters.
func (conns loopConnections) attach(rc *returns.ReturnsConfig) {
	rc.LoopKeyUnreadable, rc.LoopWebhookSecretUnreadable = conns.keyUnreadable, conns.webhookUnreadable
	rc.LoopWebhookSecret, rc.LoopWebhookSecretLast4 = "", ""
	if conns.webhook != nil {
		rc.LoopWebhookSecret, rc.LoopWebhookSecretLast4 = conns.webhook.Credentials, returns.MaskKey(conns.webhook.Credentials)
	}
	rc.LoopAPIKey, rc.LoopKeyLast4, rc.KeyCheck = "", "", nil
	conn := conns.key
	if conn == nil {
		return
	}
	rc.LoopAPIKey, rc.LoopKeyLast4 = conn.Credentials, returns.MaskKey(conn.Credentials)
	if conn.CheckedAt != nil {
		rc.KeyCheck = &returns.KeyCheck{CheckedAt: *conn.CheckedAt, Orders: conn.Scopes["orders"],
			Returns: conn.Scopes["returns"], DeveloperTools: conn.Scopes["developer_tools"]}
	}
}

// devTools reports whether the key may hold the Developer Tools scope
// as it was checked: granted, or not known because its probe got no
// useful answer (a timeout, a 5xx, a 429). The subscribe job then finds
// out, and stops quietly on a key without the scope; skipping it on a
// doubt would leave the shop without webhooks for good — a probe that
// timed out on a loaded machine did exactly that.
func devTools(rc returns.ReturnsConfig) bool {
	if rc.KeyCheck == nil {
		return false
	}
	switch loop.ScopeStatus(rc.KeyCheck.DeveloperTools) {
	case loop.ScopeGranted, loop.ScopeUnknown:
		return true
	}
	return false
}

// loopConnectionOf is the connection a saved Returns tab asks for.
func loopConnectionOf(rc returns.ReturnsConfig) *connection.Connection {
	conn := &connection.Connection{Provider: connection.ProviderLoop, Credentials: rc.LoopAPIKey, Status: connection.StatusUnverified}
	if kc := rc.KeyCheck; kc != nil {
		checkedAt := kc.CheckedAt.UTC()
		conn.CheckedAt = &checkedAt
		conn.Scopes = map[string]string{"orders": kc.Orders, "returns": kc.Returns, "developer_tools": kc.DeveloperTools}
		for _, status := range conn.Scopes {
			if status == string(loop.ScopeGranted) {
				conn.Status = connection.StatusConnected
			}
		}
	}
	return conn
}

// loopKeyField and loopWebhookSecretField name a changed Loop key or
// webhook secret in the audit log (never their values).
const (
	loopKeyField           = "returns.loop_api_key"
	loopWebhookSecretField = "returns.loop_webhook_secret"
)

// subject names the settings in the audit log.
const subject = "hub settings"

// Update applies edit to the shop's draft (see returns.Store.Update), the
// Loop connections attached, and records the changed fields — never a
// secret's value — in the same transaction. A changed Loop key or check,
// or webhook secret, is saved to its connection at once, live or not. A save that changes
// nothing records nothing.
func (e *Editor) Update(ctx context.Context, shopID int64, actor audit.Actor, edit func(cfg *returns.Config) error) (*returns.SaveResult, error) {
	var res *returns.SaveResult
	err := e.db.InTx(ctx, func(tx *database.Tx) error {
		connections := e.connections.With(tx)
		before, err := e.loopConnections(ctx, connections, shopID)
		if err != nil {
			return err
		}
		var was returns.ReturnsConfig
		before.attach(&was)
		res, err = e.settings.With(tx).Update(ctx, shopID, func(cfg *returns.Config) error {
			before.attach(&cfg.Returns)
			return edit(cfg)
		})
		if err != nil {
			return err
		}
		if err := e.saveLoopConnection(ctx, connections, shopID, was, &res.Draft.Returns); err != nil {
			return err
		}
		if now := res.Draft.Returns; e.watcher != nil && (now.LoopAPIKey != was.LoopAPIKey || devTools(now) != devTools(was)) &&
			!(now.LoopAPIKey == "" && now.LoopKeyUnreadable) {
			if err := e.watcher.LoopKeyChanged(ctx, tx, shopID, was.LoopAPIKey, now.LoopAPIKey, devTools(now)); err != nil {
				return err
			}
		}
		if err := e.saveLoopWebhookSecret(ctx, connections, shopID, was, &res.Draft.Returns); err != nil {
			return err
		}
		saved := res.Draft.Returns
		// A credential saved before and not now was removed, one that
		// could not be read and now has a value was re-entered: the entry
		// says so, by name.
		var removed, reentered []string
		for _, c := range []struct {
			field               string
			was, now            string
			wasUnreadable, kept bool
		}{
			{loopKeyField, was.LoopAPIKey, saved.LoopAPIKey, was.LoopKeyUnreadable, saved.LoopKeyUnreadable},
			{loopWebhookSecretField, was.LoopWebhookSecret, saved.LoopWebhookSecret, was.LoopWebhookSecretUnreadable, saved.LoopWebhookSecretUnreadable},
		} {
			switch {
			case c.kept: // still the unreadable value, untouched
				continue
			case c.wasUnreadable && c.now != "":
				reentered = append(reentered, c.field)
			case c.wasUnreadable || (c.was != "" && c.now == ""):
				removed = append(removed, c.field)
			case c.was == c.now:
				continue
			}
			res.Changed = append(res.Changed, c.field)
		}
		sort.Strings(res.Changed)
		if len(res.Changed) == 0 {
			return nil
		}
		details := map[string]any{"fields": res.Changed, "published": res.Published}
		if len(removed) > 0 {
			details["removed"] = removed
		}
		if len(reentered) > 0 {
			details["reentered"] = reentered
		}
		return e.audit.With(tx).Record(ctx, shopID, audit.Entry{
			Actor: actor, Action: audit.ActionSettingsChanged, Subject: subject, Provider: string(res.Draft.Returns.Provider),
			Outcome: audit.OutcomeOK, Details: details,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// saveLoopConnection writes the Loop connection when the saved Returns tab
// changed its key or check (removing it when the key was cleared), and
// sets the key's last four characters on saved.
func (e *Editor) saveLoopConnection(ctx context.Context, connections *connection.Store, shopID int64, was returns.ReturnsConfig, saved *returns.ReturnsConfig) error {
	if saved.LoopAPIKey == "" {
		saved.LoopKeyLast4, saved.KeyCheck = "", nil
		if saved.LoopKeyUnreadable || (was.LoopAPIKey == "" && !was.LoopKeyUnreadable) {
			return nil
		}
		return connections.Delete(ctx, shopID, connection.ProviderLoop)
	}
	saved.LoopKeyLast4, saved.LoopKeyUnreadable = returns.MaskKey(saved.LoopAPIKey), false
	if saved.LoopAPIKey == was.LoopAPIKey && reflect.DeepEqual(saved.KeyCheck, was.KeyCheck) {
		return nil
	}
	return connections.Save(ctx, shopID, loopConnectionOf(*saved), e.now())
}

// saveLoopWebhookSecret writes the Loop webhook connection when the saved
// Returns tab changed the secret (removing it when the secret was
// cleared), and sets its last four characters on saved.
func (e *Editor) saveLoopWebhookSecret(ctx context.Context, connections *connection.Store, shopID int64, was returns.ReturnsConfig, saved *returns.ReturnsConfig) error {
	saved.LoopWebhookSecretLast4 = ""
	if saved.LoopWebhookSecret != "" {
		saved.LoopWebhookSecretLast4, saved.LoopWebhookSecretUnreadable = returns.MaskKey(saved.LoopWebhookSecret), false
	}
	switch {
	case saved.LoopWebhookSecretUnreadable:
		return nil
	case saved.LoopWebhookSecret == was.LoopWebhookSecret && !was.LoopWebhookSecretUnreadable:
		return nil
	case saved.LoopWebhookSecret == "":
		return connections.Delete(ctx, shopID, connection.ProviderLoopWebhook)
	}
	return connections.Save(ctx, shopID, &connection.Connection{Provider: connection.ProviderLoopWebhook,
		Credentials: saved.LoopWebhookSecret, Status: connection.StatusUnverified}, e.now())
}

// Save replaces the whole draft with cfg (see Update). An empty Loop key
// keeps the stored one and its check, and an empty webhook secret the
// stored one: the form never shows them. One this process cannot read
// is kept as stored, untouched.
func (e *Editor) Save(ctx context.Context, shopID int64, cfg returns.Config, actor audit.Actor) (*returns.SaveResult, error) {
	return e.Update(ctx, shopID, actor, func(c *returns.Config) error {
		cfg.Returns.LoopKeyUnreadable, cfg.Returns.LoopWebhookSecretUnreadable = false, false
		if cfg.Returns.LoopAPIKey == "" {
			cfg.Returns.LoopAPIKey, cfg.Returns.LoopKeyUnreadable = c.Returns.LoopAPIKey, c.Returns.LoopKeyUnreadable
			if cfg.Returns.KeyCheck == nil {
				cfg.Returns.KeyCheck = c.Returns.KeyCheck
			}
		}
		keepWebhookSecret(&cfg.Returns, c.Returns)
		*c = cfg
		return nil
	})
}

// keepWebhookSecret keeps the stored Loop webhook secret (or that it
// cannot be read) when next leaves it empty.
func keepWebhookSecret(next *returns.ReturnsConfig, stored returns.ReturnsConfig) {
	if next.LoopWebhookSecret == "" {
		next.LoopWebhookSecret, next.LoopWebhookSecretUnreadable = stored.LoopWebhookSecret, stored.LoopWebhookSecretUnreadable
	}
}

// kept is next as a Returns save leaves it: the stored Loop key and its
// check, and the stored webhook secret, where next leaves them empty and
// opts does not remove them — including that they cannot be read.
func kept(next, stored returns.ReturnsConfig, opts SaveOptions) returns.ReturnsConfig {
	next.LoopKeyUnreadable, next.LoopWebhookSecretUnreadable = false, false
	if next.LoopAPIKey == "" && !opts.RemoveLoopKey {
		next.LoopAPIKey, next.KeyCheck, next.LoopKeyUnreadable = stored.LoopAPIKey, stored.KeyCheck, stored.LoopKeyUnreadable
	}
	if !opts.RemoveLoopWebhookSecret {
		keepWebhookSecret(&next, stored)
	}
	return next
}

// refuseUnreadable refuses a Returns save that would keep a Loop key or
// webhook secret this process cannot open: kept, it would leave the hub
// answering "being set up" (the key) or Loop's deliveries refused (the
// secret) behind a save that looked fine. Entering it again or removing
// it mends the shop without the key that sealed it.
func refuseUnreadable(rc returns.ReturnsConfig) error {
	switch {
	case rc.LoopKeyUnreadable:
		return &returns.FieldError{Field: loopKeyField, Message: UnreadableLoopKeyMessage}
	case rc.LoopWebhookSecretUnreadable:
		return &returns.FieldError{Field: loopWebhookSecretField, Message: UnreadableLoopWebhookSecretMessage}
	}
	return nil
}

// What a refused save says beside the field whose saved value cannot be
// read (after the field's name).
const (
	UnreadableLoopKeyMessage = "cannot be read: the saved key was sealed with another secret key (HUBDESK_SECRET_KEY). " +
		"Enter it again, or remove it"
	UnreadableLoopWebhookSecretMessage = "cannot be read: the saved secret was sealed with another secret key (HUBDESK_SECRET_KEY). " +
		"Enter it again, or remove it"
)

// SaveGeneral replaces the General tab only: a Returns save made meanwhile
// by another admin stays.
func (e *Editor) SaveGeneral(ctx context.Context, shopID int64, general returns.General, actor audit.Actor) (*returns.SaveResult, error) {
	return e.Update(ctx, shopID, actor, func(c *returns.Config) error {
		c.General = general
		return nil
	})
}

// SetLive switches the hub's Live mode (switching it on publishes the
// draft) and records it; asking for the mode already set records nothing.
func (e *Editor) SetLive(ctx context.Context, shopID int64, live bool, actor audit.Actor) error {
	return e.db.InTx(ctx, func(tx *database.Tx) error {
		changed, err := e.settings.With(tx).SetLive(ctx, shopID, live)
		if err != nil || !changed {
			return err
		}
		action, details := audit.ActionSettingsChanged, map[string]any{"fields": []string{"general.live"}, "live": live}
		if live {
			action = audit.ActionHubPublished
		}
		return e.audit.With(tx).Record(ctx, shopID, audit.Entry{Actor: actor, Action: action, Subject: subject,
			Outcome: audit.OutcomeOK, Details: details})
	})
}

// SaveOptions are what an admin asked of a Returns save beyond the form's
// values.
type SaveOptions struct {
	// SaveAnyway saves a new Loop key that Loop could not be asked about.
	SaveAnyway bool
	// RemoveLoopKey and RemoveLoopWebhookSecret remove the saved Loop API
	// key or webhook secret. An empty field keeps the saved value (the
	// form never shows it), so removing needs its own explicit request;
	// it cannot be combined with a new value in the same field. Without
	// the webhook secret Loop's deliveries are refused (401, nothing
	// stored); without the key Loop cannot stay the returns provider.
	RemoveLoopKey           bool
	RemoveLoopWebhookSecret bool
}

// SaveOutcome is what saving the returns settings did.
type SaveOutcome struct {
	*returns.SaveResult
	Report   *loop.KeyReport // set when a new Loop key was checked
	Warnings []string        // what will not work with the key's scopes
}

// SaveReturns is the one way returns settings change, from the settings
// page and the API alike. A new Loop key is checked against Loop first
// (Klaviyo does not; we do): refused outright when Loop rejects it for
// every scope, held back when Loop cannot be reached unless saveAnyway,
// and saved with a per-scope report otherwise. Loop is asked before the
// transaction opens, so no write waits on a remote call.
func (e *Editor) SaveReturns(ctx context.Context, shopID int64, rc returns.ReturnsConfig, opts SaveOptions, actor audit.Actor) (*SaveOutcome, error) {
	switch {
	case opts.RemoveLoopKey && strings.TrimSpace(rc.LoopAPIKey) != "":
		return nil, &returns.FieldError{Field: loopKeyField, Message: "give a new key or remove the saved one, not both"}
	case opts.RemoveLoopWebhookSecret && strings.TrimSpace(rc.LoopWebhookSecret) != "":
		return nil, &returns.FieldError{Field: loopWebhookSecretField, Message: "give a new secret or remove the saved one, not both"}
	}
	state, err := e.Load(ctx, shopID)
	if err != nil {
		return nil, err
	}
	// Refused before Loop is asked about a new key; Update asks again
	// under the lock.
	if err := refuseUnreadable(kept(rc, state.Draft.Returns, opts)); err != nil {
		return nil, err
	}
	cfg := state.Draft
	rc.KeyCheck = nil
	rc.LoopKeyLast4, rc.LoopWebhookSecretLast4 = "", ""
	cfg.Returns = rc
	out := &SaveOutcome{}
	if rc.Provider == returns.ProviderLoop && rc.LoopAPIKey != "" && rc.LoopAPIKey != state.Draft.Returns.LoopAPIKey {
		// Validate the form before spending a call on Loop.
		probe := cfg
		if err := probe.Validate(); err != nil {
			return nil, err
		}
		report := e.checker.CheckKey(ctx, rc.LoopAPIKey)
		out.Report = &report
		switch {
		case report.Invalid():
			return nil, &KeyCheckError{Err: ErrKeyRefused, Report: report}
		case report.Unreachable() && !opts.SaveAnyway:
			return nil, &KeyCheckError{Err: ErrLoopUnreachable, Report: report}
		}
		cfg.Returns.KeyCheck = &returns.KeyCheck{CheckedAt: report.CheckedAt, Orders: string(report.Orders.Status),
			Returns: string(report.Returns.Status), DeveloperTools: string(report.DeveloperTools.Status)}
		if cfg.Returns.KeyCheck.CheckedAt.IsZero() {
			cfg.Returns.KeyCheck.CheckedAt = time.Now().UTC()
		}
	}
	// Only the Returns tab changes: another admin's General save made
	// meanwhile stays (Update re-reads the draft under a lock).
	res, err := e.Update(ctx, shopID, actor, func(c *returns.Config) error {
		next := kept(cfg.Returns, c.Returns, opts)
		if err := refuseUnreadable(next); err != nil {
			return err
		}
		c.Returns = next
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.SaveResult = res
	if saved := res.Draft.Returns; saved.Provider == returns.ProviderLoop {
		out.Warnings = returns.ScopeWarnings(saved.KeyCheck)
	}
	return out, nil
}
