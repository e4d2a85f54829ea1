// Package audit records who did what and when: settings changes, return
// links and QR codes generated, failures shoppers met, API tokens issued
// and revoked, staff invited, disabled and enabled, roles changed and
// passwords reset. Entries never hold a secret's value — callers name the
// fields that changed, not their values.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Actions recorded in the log.
const (
	ActionSettingsChanged = "settings.changed"
	ActionHubPublished    = "settings.published"
	ActionReturnLink      = "return.link"
	ActionReturnQR        = "return.qr"
	// A return the platform reported with an order name several orders
	// carry, attached by a manager to one of them: the subject is the
	// name; details hold the platform's return id and the order's id.
	ActionReturnLinked = "return.linked"
	// Staff access: the subject is the email of the user concerned (the
	// token's owner); details name the token, never its value.
	ActionTokenCreated = "token.created"
	ActionTokenRevoked = "token.revoked"
	ActionUserDisabled = "user.disabled"
	ActionUserEnabled  = "user.enabled"
	// Team: the subject is the email of the person concerned; details
	// name the role (and the previous one for a change) and how a link
	// went out, never the link or a password.
	ActionUserInvited            = "user.invited"
	ActionInvitationResent       = "invitation.resent"
	ActionInvitationRevoked      = "invitation.revoked"
	ActionUserJoined             = "user.joined"
	ActionRoleChanged            = "user.role_changed"
	ActionPasswordResetRequested = "password.reset_requested"
	ActionPasswordReset          = "password.reset"
	// Saved replies: the subject is the macro's name (the new one after a
	// rename); details hold its id.
	ActionMacroCreated = "macro.created"
	ActionMacroUpdated = "macro.updated"
	ActionMacroDeleted = "macro.deleted"
	// The helpdesk: the subject is the ticket ("ticket 12") or, for a
	// blocked sender, the address; details hold the change.
	ActionTicketStatus   = "ticket.status"
	ActionTicketAssigned = "ticket.assigned"
	ActionTicketTags     = "ticket.tags"
	ActionTicketMerged   = "ticket.merged"
	ActionTicketSpam     = "ticket.spam"
	ActionSenderBlocked  = "sender.blocked"
)

// Outcomes of an action.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
)

// ActorKind says who acted.
type ActorKind string

const (
	ActorUser    ActorKind = "user"
	ActorShopper ActorKind = "shopper"
	ActorSystem  ActorKind = "system"
)

// Actor is who did it: a desk user, a shopper (customer id) or hubdesk.
type Actor struct {
	Kind  ActorKind `json:"kind"`
	ID    string    `json:"id"`
	Label string    `json:"label"`
}

// Person is a desk user as the log names them; *user.User is one. It is an
// interface so that the log does not depend on the user package.
type Person interface {
	AuditIdentity() (id int64, email string)
}

// UserActor names a desk user.
func UserActor(u Person) Actor {
	id, email := u.AuditIdentity()
	return Actor{Kind: ActorUser, ID: strconv.FormatInt(id, 10), Label: email}
}

// ShopperActor names a shopper by the store's customer id.
func ShopperActor(customerExternalID, email string) Actor {
	return Actor{Kind: ActorShopper, ID: customerExternalID, Label: email}
}

// Entry is one line of the log.
type Entry struct {
	ID       int64          `json:"id"`
	At       time.Time      `json:"at"`
	Actor    Actor          `json:"actor"`
	Action   string         `json:"action"`
	Subject  string         `json:"subject"`  // e.g. "#1001", "returns settings"
	Provider string         `json:"provider"` // returns provider involved, if any
	Outcome  string         `json:"outcome"`
	Details  map[string]any `json:"details"`
}

// Log writes and reads audit entries.
type Log struct{ db database.Querier }

// New returns the audit log over db (the database or a transaction).
func New(db database.Querier) *Log { return &Log{db: db} }

// With returns the log writing on q: a use case passes its transaction so
// that the entry commits or rolls back with the change it describes.
func (l *Log) With(q database.Querier) *Log { return &Log{db: q} }

// Record appends an entry. A failure to audit is returned so callers can
// decide; a use case treats it as part of its own transaction.
func (l *Log) Record(ctx context.Context, shopID int64, e Entry) error {
	return record(ctx, l.db, shopID, e)
}

func record(ctx context.Context, db database.Querier, shopID int64, e Entry) error {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	details, err := json.Marshal(e.Details)
	if err != nil {
		return fmt.Errorf("audit: details: %w", err)
	}
	_, err = db.Exec(ctx, `INSERT INTO audit_log (shop_id, at, actor_kind, actor_id, actor_label, action, subject, provider, outcome, details)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		shopID, database.Time(e.At), string(e.Actor.Kind), e.Actor.ID, e.Actor.Label, e.Action, e.Subject, e.Provider, e.Outcome, string(details))
	if err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// Filter narrows List.
type Filter struct {
	Action  string // exact action, or a prefix ending in "." ("return.")
	Actor   string // matches the actor's label or id
	Subject string // e.g. an order name
	Since   time.Time
	Until   time.Time
}

// List returns a page of entries newest first, and the cursor of the next
// page ("" at the end).
func (l *Log) List(ctx context.Context, shopID int64, f Filter, p database.Page) ([]Entry, string, error) {
	limit := p.Size()
	where := []string{"shop_id = ?"}
	args := []any{shopID}
	if a := strings.TrimSpace(f.Action); a != "" {
		if strings.HasSuffix(a, ".") {
			where = append(where, "action LIKE ?")
			args = append(args, a+"%")
		} else {
			where = append(where, "action = ?")
			args = append(args, a)
		}
	}
	if a := strings.TrimSpace(f.Actor); a != "" {
		where = append(where, "(actor_label = ? OR actor_id = ?)")
		args = append(args, strings.ToLower(a), a)
	}
	if s := strings.TrimSpace(f.Subject); s != "" {
		where = append(where, "subject = ?")
		args = append(args, s)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, database.Time(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "at < ?")
		args = append(args, database.Time(f.Until))
	}
	if p.After != nil {
		where = append(where, "id < ?")
		args = append(args, p.After.ID)
	}
	rows, err := l.db.Query(ctx, `SELECT id, at, actor_kind, actor_id, actor_label, action, subject, provider, outcome, details
		FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC`+database.Limit(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var kind, details string
		if err := rows.Scan(&e.ID, (*database.Time)(&e.At), &kind, &e.Actor.ID, &e.Actor.Label, &e.Action, &e.Subject,
			&e.Provider, &e.Outcome, &details); err != nil {
			return nil, "", err
		}
		e.Actor.Kind = ActorKind(kind)
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			e.Details = map[string]any{"unreadable": true}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = database.EncodeCursor(0, out[limit-1].ID)
	}
	return out, next, nil
}
