// Package staff holds the use cases that change who may reach a shop:
// issuing and revoking API tokens, disabling and enabling people,
// resetting a password. Each runs the user store and its audit entry in
// one transaction, so the log never misses a change and never records one
// that did not happen. Surfaces (desk, API, command line) call these, not
// the user store's writes.
package staff

import (
	"context"
	"fmt"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/user"
)

// Access runs the staff use cases.
type Access struct {
	db    database.Querier
	users *user.Store
	audit *audit.Log
}

// New returns the staff use cases over db, which opens their transactions.
func New(db database.Querier, users *user.Store, log *audit.Log) *Access {
	return &Access{db: db, users: users, audit: log}
}

// passwordResetActor is who revokes the tokens of a user whose password
// is reset (from the command line, where there is no signed-in user).
var passwordResetActor = audit.Actor{Kind: audit.ActorSystem, Label: "password reset"}

// inTx runs fn with the user store and the audit log bound to one
// transaction.
func (a *Access) inTx(ctx context.Context, fn func(users *user.Store, log *audit.Log) error) error {
	return a.db.InTx(ctx, func(tx *database.Tx) error {
		return fn(a.users.With(tx), a.audit.With(tx))
	})
}

// CreateAPIToken issues a bearer token for u and returns it; it is shown
// once. The audit log names the token, never its value.
func (a *Access) CreateAPIToken(ctx context.Context, u *user.User, name string) (string, error) {
	var token string
	err := a.inTx(ctx, func(users *user.Store, log *audit.Log) error {
		var id int64
		var err error
		if token, id, err = users.CreateAPIToken(ctx, u, name); err != nil {
			return err
		}
		return log.Record(ctx, u.ShopID, audit.Entry{Actor: audit.UserActor(u), Action: audit.ActionTokenCreated,
			Subject: u.Email, Outcome: audit.OutcomeOK, Details: tokenDetails(id, name)})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// RevokeAPIToken deletes one of u's own tokens; another user's token id is
// user.ErrNotFound.
func (a *Access) RevokeAPIToken(ctx context.Context, u *user.User, id int64) error {
	return a.inTx(ctx, func(users *user.Store, log *audit.Log) error {
		t, err := users.RevokeAPIToken(ctx, u, id)
		if err != nil {
			return err
		}
		return recordRevoked(ctx, log, u.ShopID, audit.UserActor(u), *t)
	})
}

// RevokeShopAPIToken deletes any token of actor's shop (an Owner or Admin
// offboarding someone); another shop's token id is user.ErrNotFound.
func (a *Access) RevokeShopAPIToken(ctx context.Context, actor *user.User, id int64) error {
	return a.inTx(ctx, func(users *user.Store, log *audit.Log) error {
		t, err := users.RevokeShopAPIToken(ctx, actor.ShopID, id)
		if err != nil {
			return err
		}
		return recordRevoked(ctx, log, actor.ShopID, audit.UserActor(actor), *t)
	})
}

// SetDisabled disables or re-enables a person of actor's shop, under
// user.CanChangeStatus (never yourself, an owner only by an owner).
// Asking for the state the person is already in changes and records
// nothing.
func (a *Access) SetDisabled(ctx context.Context, actor *user.User, userID int64, disabled bool) error {
	return a.inTxLocked(ctx, actor.ShopID, func(tx *database.Tx, users *user.Store, log *audit.Log) error {
		target, err := users.Get(ctx, actor.ShopID, userID)
		if err != nil {
			return err
		}
		if err := user.CanChangeStatus(actor, target); err != nil {
			return err
		}
		if (target.DisabledAt != nil) == disabled {
			return nil
		}
		if disabled && target.Role == user.RoleOwner {
			if err := keepsAnOwner(ctx, users, actor.ShopID); err != nil {
				return err
			}
		}
		if err := users.SetDisabled(ctx, actor.ShopID, userID, disabled); err != nil {
			return err
		}
		action := audit.ActionUserEnabled
		if disabled {
			action = audit.ActionUserDisabled
		}
		return log.Record(ctx, actor.ShopID, audit.Entry{Actor: audit.UserActor(actor), Action: action,
			Subject: target.Email, Outcome: audit.OutcomeOK, Details: map[string]any{"role": string(target.Role)}})
	})
}

// ChangeRole gives a person of actor's shop another role, under
// user.CanChangeRole (nobody gives a role above their own, only an owner
// makes owners or changes an owner's role), keeping the shop an active
// owner. Asking for the role the person has changes and records nothing.
func (a *Access) ChangeRole(ctx context.Context, actor *user.User, userID int64, role user.Role) error {
	return a.inTxLocked(ctx, actor.ShopID, func(tx *database.Tx, users *user.Store, log *audit.Log) error {
		target, err := users.Get(ctx, actor.ShopID, userID)
		if err != nil {
			return err
		}
		if err := user.CanChangeRole(actor, target, role); err != nil {
			return err
		}
		if target.Role == role {
			return nil
		}
		if target.Role == user.RoleOwner && target.DisabledAt == nil {
			if err := keepsAnOwner(ctx, users, actor.ShopID); err != nil {
				return err
			}
		}
		if err := users.SetRole(ctx, actor.ShopID, userID, role); err != nil {
			return err
		}
		return log.Record(ctx, actor.ShopID, audit.Entry{Actor: audit.UserActor(actor), Action: audit.ActionRoleChanged,
			Subject: target.Email, Outcome: audit.OutcomeOK, Details: map[string]any{"role": string(role), "previous_role": string(target.Role)}})
	})
}

// staffLockSpace keeps the advisory lock of one shop's staff changes
// apart from other advisory locks.
const staffLockSpace = 0x73746166 << 32 // "staf"

// inTxLocked is inTx holding the shop's staff lock: SQLite's write
// transactions run one at a time already, PostgreSQL takes a
// transaction-scoped advisory lock. Two owners demoting each other at
// once would otherwise both see the other still an owner.
func (a *Access) inTxLocked(ctx context.Context, shopID int64, fn func(tx *database.Tx, users *user.Store, log *audit.Log) error) error {
	return a.db.InTx(ctx, func(tx *database.Tx) error {
		if tx.Engine() == database.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, staffLockSpace^shopID); err != nil {
				return fmt.Errorf("lock staff of shop %d: %w", shopID, err)
			}
		}
		return fn(tx, a.users.With(tx), a.audit.With(tx))
	})
}

// keepsAnOwner refuses a change that would leave the shop without an
// active owner, where the change takes one away (the owner being demoted
// or disabled is still counted).
func keepsAnOwner(ctx context.Context, users *user.Store, shopID int64) error {
	n, err := users.CountActiveOwners(ctx, shopID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return user.ErrLastOwner
	}
	return nil
}

// ResetPassword replaces a user's password, which ends their sessions and
// revokes their API tokens (see user.Store.SetPassword); each revocation
// is audited.
func (a *Access) ResetPassword(ctx context.Context, userID int64, password string) error {
	return a.inTx(ctx, func(users *user.Store, log *audit.Log) error {
		shopID, revoked, err := users.SetPassword(ctx, userID, password)
		if err != nil {
			return err
		}
		for _, t := range revoked {
			if err := recordRevoked(ctx, log, shopID, passwordResetActor, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// recordRevoked audits a revoked token, with its owner as the subject.
func recordRevoked(ctx context.Context, log *audit.Log, shopID int64, actor audit.Actor, t user.RevokedToken) error {
	err := log.Record(ctx, shopID, audit.Entry{Actor: actor, Action: audit.ActionTokenRevoked, Subject: t.OwnerEmail,
		Outcome: audit.OutcomeOK, Details: tokenDetails(t.ID, t.Name)})
	if err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	return nil
}

// tokenDetails names a token in the audit log: its id and name, never
// its value.
func tokenDetails(id int64, name string) map[string]any {
	return map[string]any{"token_id": id, "token_name": name}
}

// SetNotificationMail turns on or off, for u themselves, the emails that
// tell them of a ticket assigned to them or a shopper's reply on their
// ticket. A personal preference, not access: it is not audited.
func (a *Access) SetNotificationMail(ctx context.Context, u *user.User, on bool) error {
	return a.users.SetNotificationMail(ctx, u.ShopID, u.ID, on, time.Now())
}

// SetMailSignature keeps the signature that ends u's replies in mail to
// shoppers (user.MaxSignatureRunes at most; "" for none). Only the person
// themselves sets it: it speaks in their name.
func (a *Access) SetMailSignature(ctx context.Context, u *user.User, signature string) error {
	return a.users.SetMailSignature(ctx, u.ShopID, u.ID, signature)
}
