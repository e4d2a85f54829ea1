package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Links people open without a session: an invitation to join a shop's
// staff and a password reset. Each is a random token shown (or mailed)
// once; only its SHA-256 is stored, it works once and it expires.

var (
	// ErrLinkInvalid is the one answer for a link that is unknown, used,
	// revoked or expired, so a link cannot be probed for which it is.
	ErrLinkInvalid = errors.New("this link is not valid any more")
	// ErrAlreadyInvited: a pending invitation for the email exists; resend
	// it instead.
	ErrAlreadyInvited = errors.New("this email already has a pending invitation")
)

// Invitation is an offer to join a shop's staff with a role.
type Invitation struct {
	ID        int64
	ShopID    int64
	Email     string
	Name      string
	Role      Role
	InvitedBy int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Expired reports whether the invitation can no longer be accepted at now.
func (i *Invitation) Expired(now time.Time) bool { return !now.Before(i.ExpiresAt) }

// NewInvitation is what CreateInvitation needs.
type NewInvitation struct {
	ShopID    int64
	Email     string
	Name      string
	Role      Role
	InvitedBy int64
	Now       time.Time
	TTL       time.Duration
}

// CreateInvitation stores a pending invitation and returns its token. An
// email that already has an account (in any shop: emails are unique) is
// ErrEmailTaken; one with a pending invitation of this shop is
// ErrAlreadyInvited.
func (s *Store) CreateInvitation(ctx context.Context, in NewInvitation) (*Invitation, string, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, "", err
	}
	if _, err := ParseRole(string(in.Role)); err != nil {
		return nil, "", err
	}
	inv := &Invitation{ShopID: in.ShopID, Email: email, Name: strings.TrimSpace(in.Name), Role: in.Role, InvitedBy: in.InvitedBy,
		CreatedAt: in.Now.UTC(), ExpiresAt: in.Now.Add(in.TTL).UTC()}
	token, hash := newToken("")
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE email = ?`, email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrEmailTaken
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM invitations WHERE shop_id = ? AND email = ? AND accepted_at IS NULL AND revoked_at IS NULL`,
			in.ShopID, email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrAlreadyInvited
		}
		return tx.ExecReturning(ctx, `INSERT INTO invitations (shop_id, email, name, role, token_hash, invited_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, inv.ShopID, inv.Email, inv.Name, string(inv.Role), hash, inv.InvitedBy,
			database.Time(inv.CreatedAt), database.Time(inv.ExpiresAt)).Scan(&inv.ID)
	})
	if err != nil {
		return nil, "", err
	}
	return inv, token, nil
}

const invitationColumns = `i.id, i.shop_id, i.email, i.name, i.role, i.invited_by, i.created_at, i.expires_at`

func scanInvitation(row interface{ Scan(...any) error }) (*Invitation, error) {
	var i Invitation
	var role string
	err := row.Scan(&i.ID, &i.ShopID, &i.Email, &i.Name, &role, &i.InvitedBy, (*database.Time)(&i.CreatedAt), (*database.Time)(&i.ExpiresAt))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	i.Role = Role(role)
	return &i, nil
}

// PendingInvitations lists the shop's invitations neither accepted nor
// revoked, expired ones included (a resend renews them), newest first.
func (s *Store) PendingInvitations(ctx context.Context, shopID int64) ([]*Invitation, error) {
	rows, err := s.db.Query(ctx, `SELECT `+invitationColumns+` FROM invitations i
		WHERE i.shop_id = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL ORDER BY i.id DESC`, shopID)
	if err != nil {
		return nil, fmt.Errorf("list invitations: %w", err)
	}
	defer rows.Close()
	var out []*Invitation
	for rows.Next() {
		i, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// PendingInvitation returns one pending invitation of the shop.
func (s *Store) PendingInvitation(ctx context.Context, shopID, id int64) (*Invitation, error) {
	return scanInvitation(s.db.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations i
		WHERE i.shop_id = ? AND i.id = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL`, shopID, id))
}

// RenewInvitation gives a pending invitation a new token and expiry; the
// old link stops working.
func (s *Store) RenewInvitation(ctx context.Context, shopID, id int64, now time.Time, ttl time.Duration) (*Invitation, string, error) {
	token, hash := newToken("")
	res, err := s.db.Exec(ctx, `UPDATE invitations SET token_hash = ?, expires_at = ?
		WHERE shop_id = ? AND id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, hash, database.Time(now.Add(ttl)), shopID, id)
	if err != nil {
		return nil, "", fmt.Errorf("renew invitation %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, "", ErrNotFound
	}
	inv, err := s.PendingInvitation(ctx, shopID, id)
	if err != nil {
		return nil, "", err
	}
	return inv, token, nil
}

// RevokeInvitation withdraws a pending invitation.
func (s *Store) RevokeInvitation(ctx context.Context, shopID, id int64, now time.Time) (*Invitation, error) {
	inv, err := s.PendingInvitation(ctx, shopID, id)
	if err != nil {
		return nil, err
	}
	res, err := s.db.Exec(ctx, `UPDATE invitations SET revoked_at = ? WHERE shop_id = ? AND id = ? AND accepted_at IS NULL AND revoked_at IS NULL`,
		database.Time(now), shopID, id)
	if err != nil {
		return nil, fmt.Errorf("revoke invitation %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, ErrNotFound
	}
	return inv, nil
}

// InvitationByToken returns the invitation a link opens while it can be
// accepted, with the person who sent it (whose account must still be
// active): anything else is ErrLinkInvalid.
func (s *Store) InvitationByToken(ctx context.Context, token string, now time.Time) (*Invitation, *User, error) {
	if token == "" {
		return nil, nil, ErrLinkInvalid
	}
	inv, err := scanInvitation(s.db.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations i
		WHERE i.token_hash = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?`, hashToken(token), database.Time(now)))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, nil, err
	}
	inviter, err := s.Get(ctx, inv.ShopID, inv.InvitedBy)
	if errors.Is(err, ErrNotFound) || (err == nil && inviter.DisabledAt != nil) {
		return nil, nil, ErrLinkInvalid
	}
	if err != nil {
		return nil, nil, err
	}
	return inv, inviter, nil
}

// AcceptInvitation marks the invitation accepted by the account created
// for it. The update only succeeds while the invitation is still pending,
// so of two redemptions at once one wins and the other is ErrLinkInvalid.
func (s *Store) AcceptInvitation(ctx context.Context, inv *Invitation, userID int64, now time.Time) error {
	res, err := s.db.Exec(ctx, `UPDATE invitations SET accepted_at = ?, user_id = ?
		WHERE shop_id = ? AND id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, database.Time(now), userID, inv.ShopID, inv.ID)
	if err != nil {
		return fmt.Errorf("accept invitation %d: %w", inv.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLinkInvalid
	}
	return nil
}

// CreatePasswordReset stores a reset link for an active user of the shop
// and returns its token; requestedBy is the Owner or Admin who made it,
// 0 when the person asked for it themselves.
func (s *Store) CreatePasswordReset(ctx context.Context, shopID, userID, requestedBy int64, now time.Time, ttl time.Duration) (string, error) {
	token, hash := newToken("")
	var by any
	if requestedBy != 0 {
		by = requestedBy
	}
	_, err := s.db.Exec(ctx, `INSERT INTO password_resets (shop_id, user_id, token_hash, requested_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, shopID, userID, hash, by, database.Time(now), database.Time(now.Add(ttl)))
	if err != nil {
		return "", fmt.Errorf("create password reset: %w", err)
	}
	return token, nil
}

// PasswordResetUser returns the active user a reset link is for while it
// can be used; anything else (unknown, used, expired, the user disabled)
// is ErrLinkInvalid.
func (s *Store) PasswordResetUser(ctx context.Context, token string, now time.Time) (*User, error) {
	if token == "" {
		return nil, ErrLinkInvalid
	}
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM password_resets r JOIN users u ON u.shop_id = r.shop_id AND u.id = r.user_id
		WHERE r.token_hash = ? AND r.used_at IS NULL AND r.expires_at > ? AND u.disabled_at IS NULL`, hashToken(token), database.Time(now)))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrLinkInvalid
	}
	return u, err
}

// UsePasswordReset marks a reset link used, and with it every other
// unused link of the same person: one reset ends them all. Only an unused,
// unexpired link is marked, so of two redemptions at once one wins.
func (s *Store) UsePasswordReset(ctx context.Context, token string, now time.Time) error {
	var shopID, userID int64
	err := s.db.QueryRow(ctx, `UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
		RETURNING shop_id, user_id`, database.Time(now), hashToken(token), database.Time(now)).Scan(&shopID, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrLinkInvalid
	}
	if err != nil {
		return fmt.Errorf("use password reset: %w", err)
	}
	_, err = s.db.Exec(ctx, `UPDATE password_resets SET used_at = ? WHERE shop_id = ? AND user_id = ? AND used_at IS NULL`,
		database.Time(now), shopID, userID)
	return err
}

// InvitationTokenMatches returns the pending invitation when token is the
// one whose hash is stored for it, so a mail job sends only a link that
// still works (a resend replaces the token, a revoke ends it).
func (s *Store) InvitationTokenMatches(ctx context.Context, shopID, id int64, token string, now time.Time) (*Invitation, bool, error) {
	inv, err := scanInvitation(s.db.QueryRow(ctx, `SELECT `+invitationColumns+` FROM invitations i
		WHERE i.shop_id = ? AND i.id = ? AND i.token_hash = ? AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > ?`,
		shopID, id, hashToken(token), database.Time(now)))
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return inv, err == nil, err
}

// CountActiveOwners counts the shop's owners who are not disabled, for
// the rule that a shop always keeps one.
func (s *Store) CountActiveOwners(ctx context.Context, shopID int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE shop_id = ? AND role = 'owner' AND disabled_at IS NULL`, shopID).Scan(&n)
	return n, err
}

// SetRole changes a user's role. Who may do it is the caller's rule
// (CanChangeRole).
func (s *Store) SetRole(ctx context.Context, shopID, userID int64, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	res, err := s.db.Exec(ctx, `UPDATE users SET role = ? WHERE shop_id = ? AND id = ?`, string(role), shopID, userID)
	if err != nil {
		return fmt.Errorf("set role of user %d: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	s.changed(s.db, shopID)
	return nil
}
