package staff

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/user"
)

// How long links stay usable.
const (
	InvitationLifetime = 7 * 24 * time.Hour
	ResetLifetime      = time.Hour
)

// ErrMailNotConfigured means this server sends no email
// (HUBDESK_SMTP_URL is not set), so a link can only be handed over by
// someone who sees it.
var ErrMailNotConfigured = errors.New("email is not set up on this server")

// Enqueuer adds a job inside a transaction; *jobs.Queue is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *database.Tx, args jobs.Args, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Team runs the use cases that bring people in and let them back in:
// invitations, password reset links (asked for by the person, or made by
// an Owner or Admin) and their redemption. Links are mailed by a job
// enqueued in the same transaction as the link's row; the job's arguments
// hold the token sealed with the secret box, never in clear.
type Team struct {
	db      database.Querier
	users   *user.Store
	audit   *audit.Log
	queue   Enqueuer
	box     *secret.Box
	baseURL string
	mailOn  bool
	now     func() time.Time
}

// TeamOptions are what Team needs.
type TeamOptions struct {
	DB    database.Querier
	Users *user.Store
	Audit *audit.Log
	Queue Enqueuer
	Box   *secret.Box
	// BaseURL is hubdesk's public URL, which links start with.
	BaseURL string
	// MailConfigured says whether mail goes out; without it no mail job
	// is enqueued and the desk says so.
	MailConfigured bool
	Now            func() time.Time // time.Now when nil
}

// NewTeam returns the team use cases.
func NewTeam(o TeamOptions) *Team {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	return &Team{db: o.DB, users: o.Users, audit: o.Audit, queue: o.Queue, box: o.Box,
		baseURL: strings.TrimRight(o.BaseURL, "/"), mailOn: o.MailConfigured, now: now}
}

// MailConfigured reports whether links are also emailed.
func (t *Team) MailConfigured() bool { return t.mailOn }

// InvitationURL is the link that opens an invitation.
func (t *Team) InvitationURL(token string) string { return invitationURL(t.baseURL, token) }

// ResetURL is the link that opens a password reset.
func (t *Team) ResetURL(token string) string { return resetURL(t.baseURL, token) }

func invitationURL(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + InvitationPath + token
}

func resetURL(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + ResetPath + token
}

// The paths links open, followed by their token.
const (
	InvitationPath = "/invite/"
	ResetPath      = "/reset/"
)

// Link is a link made for someone, shown once to the person who made it.
type Link struct {
	URL string
	// Mailed says a mail with the link is on its way.
	Mailed bool
}

// Invite invites email to join actor's shop with role, under
// user.CanGrant. The link is returned (to be shown once) and, when mail
// is set up, mailed by a job enqueued in the same transaction.
func (t *Team) Invite(ctx context.Context, actor *user.User, email, name string, role user.Role) (*user.Invitation, Link, error) {
	if err := user.CanGrant(actor, role); err != nil {
		return nil, Link{}, err
	}
	var inv *user.Invitation
	var token string
	err := t.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		inv, token, err = t.users.With(tx).CreateInvitation(ctx, user.NewInvitation{ShopID: actor.ShopID, Email: email, Name: name,
			Role: role, InvitedBy: actor.ID, Now: t.now(), TTL: InvitationLifetime})
		if err != nil {
			return err
		}
		if err := t.audit.With(tx).Record(ctx, actor.ShopID, audit.Entry{Actor: audit.UserActor(actor), Action: audit.ActionUserInvited,
			Subject: inv.Email, Outcome: audit.OutcomeOK, Details: map[string]any{"role": string(role), "via": t.via()}}); err != nil {
			return err
		}
		return t.mail(ctx, tx, MailArgs{ShopID: actor.ShopID, Mail: MailInvitation, InvitationID: inv.ID}, token)
	})
	if err != nil {
		return nil, Link{}, err
	}
	return inv, Link{URL: t.InvitationURL(token), Mailed: t.mailOn}, nil
}

// ResendInvitation gives a pending invitation of actor's shop a new link
// and a new week (the old link stops working) and mails it again. Only
// someone who may grant its role resends it.
func (t *Team) ResendInvitation(ctx context.Context, actor *user.User, id int64) (*user.Invitation, Link, error) {
	var inv *user.Invitation
	var token string
	err := t.db.InTx(ctx, func(tx *database.Tx) error {
		users := t.users.With(tx)
		pending, err := users.PendingInvitation(ctx, actor.ShopID, id)
		if err != nil {
			return err
		}
		if err := user.CanGrant(actor, pending.Role); err != nil {
			return err
		}
		if inv, token, err = users.RenewInvitation(ctx, actor.ShopID, id, t.now(), InvitationLifetime); err != nil {
			return err
		}
		if err := t.audit.With(tx).Record(ctx, actor.ShopID, audit.Entry{Actor: audit.UserActor(actor), Action: audit.ActionInvitationResent,
			Subject: inv.Email, Outcome: audit.OutcomeOK, Details: map[string]any{"role": string(inv.Role), "via": t.via()}}); err != nil {
			return err
		}
		return t.mail(ctx, tx, MailArgs{ShopID: actor.ShopID, Mail: MailInvitation, InvitationID: inv.ID}, token)
	})
	if err != nil {
		return nil, Link{}, err
	}
	return inv, Link{URL: t.InvitationURL(token), Mailed: t.mailOn}, nil
}

// RevokeInvitation withdraws a pending invitation of actor's shop; its
// link stops working at once.
func (t *Team) RevokeInvitation(ctx context.Context, actor *user.User, id int64) error {
	return t.db.InTx(ctx, func(tx *database.Tx) error {
		inv, err := t.users.With(tx).RevokeInvitation(ctx, actor.ShopID, id, t.now())
		if err != nil {
			return err
		}
		return t.audit.With(tx).Record(ctx, actor.ShopID, audit.Entry{Actor: audit.UserActor(actor), Action: audit.ActionInvitationRevoked,
			Subject: inv.Email, Outcome: audit.OutcomeOK, Details: map[string]any{"role": string(inv.Role)}})
	})
}

// OpenInvitation returns the invitation a link opens, or
// user.ErrLinkInvalid: unknown, used, revoked, expired, or sent by someone
// who has since been disabled or may no longer grant its role.
func (t *Team) OpenInvitation(ctx context.Context, token string) (*user.Invitation, error) {
	return openInvitation(ctx, t.users, token, t.now())
}

func openInvitation(ctx context.Context, users *user.Store, token string, now time.Time) (*user.Invitation, error) {
	inv, inviter, err := users.InvitationByToken(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if user.CanGrant(inviter, inv.Role) != nil {
		return nil, user.ErrLinkInvalid
	}
	return inv, nil
}

// AcceptInvitation creates the invited person's account with the name and
// password they chose and uses up the link, in one transaction.
func (t *Team) AcceptInvitation(ctx context.Context, token, name, password string) (*user.User, error) {
	if err := user.ValidatePassword(password); err != nil {
		return nil, err
	}
	var u *user.User
	err := t.db.InTx(ctx, func(tx *database.Tx) error {
		users := t.users.With(tx)
		now := t.now()
		inv, err := openInvitation(ctx, users, token, now)
		if err != nil {
			return err
		}
		if strings.TrimSpace(name) == "" {
			name = inv.Name
		}
		if u, err = users.Create(ctx, user.NewUser{ShopID: inv.ShopID, Email: inv.Email, Name: name, Role: inv.Role, Password: password}); err != nil {
			return err
		}
		if err := users.AcceptInvitation(ctx, inv, u.ID, now); err != nil {
			return err
		}
		return t.audit.With(tx).Record(ctx, inv.ShopID, audit.Entry{Actor: audit.UserActor(u), Action: audit.ActionUserJoined,
			Subject: u.Email, Outcome: audit.OutcomeOK, Details: map[string]any{"role": string(u.Role)}})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// forgotPasswordActor is who asks for a reset through the login page's
// "Forgot your password?": anyone who knows the email.
var forgotPasswordActor = audit.Actor{Kind: audit.ActorSystem, Label: "forgot password form"}

// RequestPasswordReset mails a reset link to email if an active user has
// it. Whether one does is never told: an unknown or disabled email returns
// nil as well. ErrMailNotConfigured when no mail can go out.
func (t *Team) RequestPasswordReset(ctx context.Context, email string) error {
	if !t.mailOn {
		return ErrMailNotConfigured
	}
	u, err := t.users.GetByEmail(ctx, email)
	if errors.Is(err, user.ErrNotFound) || (err == nil && u.DisabledAt != nil) {
		return nil
	}
	if err != nil {
		return err
	}
	return t.db.InTx(ctx, func(tx *database.Tx) error {
		token, err := t.users.With(tx).CreatePasswordReset(ctx, u.ShopID, u.ID, 0, t.now(), ResetLifetime)
		if err != nil {
			return err
		}
		if err := t.audit.With(tx).Record(ctx, u.ShopID, audit.Entry{Actor: forgotPasswordActor, Action: audit.ActionPasswordResetRequested,
			Subject: u.Email, Outcome: audit.OutcomeOK, Details: map[string]any{"via": "email"}}); err != nil {
			return err
		}
		return t.mail(ctx, tx, MailArgs{ShopID: u.ShopID, Mail: MailPasswordReset}, token)
	})
}

// MakeResetLink makes a reset link for a person of actor's shop, to be
// handed over by actor (shown once, not mailed): never for yourself (sign
// out and use "Forgot your password?"), an owner's only by an owner, and
// never for a disabled person.
func (t *Team) MakeResetLink(ctx context.Context, actor *user.User, userID int64) (*user.User, Link, error) {
	var target *user.User
	var token string
	err := t.db.InTx(ctx, func(tx *database.Tx) error {
		users := t.users.With(tx)
		var err error
		if target, err = users.Get(ctx, actor.ShopID, userID); err != nil {
			return err
		}
		if err := user.CanChangeStatus(actor, target); err != nil {
			return err
		}
		if target.DisabledAt != nil {
			return user.ErrDisabled
		}
		if token, err = users.CreatePasswordReset(ctx, actor.ShopID, target.ID, actor.ID, t.now(), ResetLifetime); err != nil {
			return err
		}
		return t.audit.With(tx).Record(ctx, actor.ShopID, audit.Entry{Actor: audit.UserActor(actor), Action: audit.ActionPasswordResetRequested,
			Subject: target.Email, Outcome: audit.OutcomeOK, Details: map[string]any{"via": "link"}})
	})
	if err != nil {
		return nil, Link{}, err
	}
	return target, Link{URL: t.ResetURL(token)}, nil
}

// OpenPasswordReset returns the person a reset link is for, or
// user.ErrLinkInvalid (unknown, used, expired, or the person disabled).
func (t *Team) OpenPasswordReset(ctx context.Context, token string) (*user.User, error) {
	return t.users.PasswordResetUser(ctx, token, t.now())
}

// ResetPassword sets the password a reset link's person chose: the link
// (and any other unused one of theirs) is used up, their sessions end and
// their API tokens are revoked (user.Store.SetPassword), all audited.
func (t *Team) ResetPassword(ctx context.Context, token, password string) (*user.User, error) {
	if err := user.ValidatePassword(password); err != nil {
		return nil, err
	}
	var u *user.User
	err := t.db.InTx(ctx, func(tx *database.Tx) error {
		users, log := t.users.With(tx), t.audit.With(tx)
		now := t.now()
		var err error
		if u, err = users.PasswordResetUser(ctx, token, now); err != nil {
			return err
		}
		if err := users.UsePasswordReset(ctx, token, now); err != nil {
			return err
		}
		_, revoked, err := users.SetPassword(ctx, u.ID, password)
		if err != nil {
			return err
		}
		for _, tok := range revoked {
			if err := recordRevoked(ctx, log, u.ShopID, passwordResetActor, tok); err != nil {
				return err
			}
		}
		return log.Record(ctx, u.ShopID, audit.Entry{Actor: audit.UserActor(u), Action: audit.ActionPasswordReset,
			Subject: u.Email, Outcome: audit.OutcomeOK})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// via says how a link reaches its person, for the audit log.
func (t *Team) via() string {
	if t.mailOn {
		return "email"
	}
	return "link"
}

// mail enqueues the mail carrying token, sealed, inside tx; nothing when
// mail is not set up.
func (t *Team) mail(ctx context.Context, tx *database.Tx, args MailArgs, token string) error {
	if !t.mailOn {
		return nil
	}
	sealed, err := t.box.Seal(token)
	if err != nil {
		return fmt.Errorf("seal link: %w", err)
	}
	args.SealedToken = sealed
	_, err = t.queue.Enqueue(ctx, tx, args, &river.InsertOpts{MaxAttempts: MailMaxAttempts})
	return err
}
