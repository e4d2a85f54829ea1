// Package user holds the desk's people: accounts with roles, argon2id
// passwords, browser sessions and API tokens. Every user belongs to one
// shop, and everything a user reaches is scoped by that shop.
package user

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
)

// User is a desk account.
type User struct {
	ID        int64
	ShopID    int64
	Email     string
	Name      string
	Role      Role
	CreatedAt time.Time
}

// DisplayName is the name, or the email when no name is set.
func (u *User) DisplayName() string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

var (
	// ErrNotFound means no such user in this shop.
	ErrNotFound = database.ErrNotFound
	// ErrInvalidCredentials is the one answer for an unknown email and a
	// wrong password alike, so logins cannot probe which accounts exist.
	ErrInvalidCredentials = errors.New("email or password is incorrect")
	// ErrEmailTaken means another account already uses the email.
	ErrEmailTaken = errors.New("an account with this email already exists")
)

// SessionLifetime is how long a desk login lasts.
const SessionLifetime = 14 * 24 * time.Hour

// Store reads and writes users, sessions and API tokens.
type Store struct{ db *database.DB }

// NewStore returns a user store.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// NewUser is what Create needs.
type NewUser struct {
	ShopID   int64
	Email    string
	Name     string
	Role     Role
	Password string
}

// NormalizeEmail trims and lower-cases an address after checking its form.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s {
		return "", fmt.Errorf("%q is not an email address", s)
	}
	return strings.ToLower(s), nil
}

// Create adds a user. Password strength is the caller's policy
// (ValidatePassword for people; the demo seeds its published password).
func (s *Store) Create(ctx context.Context, in NewUser) (*User, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if _, err := ParseRole(string(in.Role)); err != nil {
		return nil, err
	}
	hash, err := HashPassword(in.Password)
	if err != nil {
		return nil, err
	}
	u := &User{ShopID: in.ShopID, Email: email, Name: strings.TrimSpace(in.Name), Role: in.Role, CreatedAt: time.Now().UTC()}
	err = s.db.ExecReturning(ctx,
		`INSERT INTO users (shop_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		u.ShopID, u.Email, u.Name, string(u.Role), hash, database.Time(u.CreatedAt)).Scan(&u.ID)
	if database.IsUniqueViolation(err) {
		return nil, ErrEmailTaken
	}
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", email, err)
	}
	return u, nil
}

const userColumns = `id, shop_id, email, name, role, created_at`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (*User, error) {
	var u User
	var role string
	dest := append([]any{&u.ID, &u.ShopID, &u.Email, &u.Name, &role, (*database.Time)(&u.CreatedAt)}, extra...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	u.Role = Role(role)
	return &u, nil
}

// Get returns a user of the shop by id.
func (s *Store) Get(ctx context.Context, shopID, id int64) (*User, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE shop_id = ? AND id = ?`, shopID, id))
}

// GetByEmail finds a user by email across shops (emails are unique), for
// the command line.
func (s *Store) GetByEmail(ctx context.Context, email string) (*User, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))))
}

// List returns the shop's users by name.
func (s *Store) List(ctx context.Context, shopID int64) ([]*User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+userColumns+` FROM users WHERE shop_id = ? ORDER BY email`, shopID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Authenticate checks an email and password.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*User, error) {
	var hash string
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = ?`,
		strings.ToLower(strings.TrimSpace(email))), &hash)
	if errors.Is(err, ErrNotFound) {
		CheckPassword(dummyHash, password)
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := CheckPassword(hash, password)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", u.ID, err)
	}
	if !ok {
		return nil, ErrInvalidCredentials
	}
	return u, nil
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, userID int64, password string) error {
	if err := ValidatePassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return err
	})
}

// newToken returns a random token and the hash stored in its place, so a
// leaked database does not leak usable sessions or API tokens.
func newToken(prefix string) (token, hash string) {
	buf := make([]byte, 32)
	rand.Read(buf)
	token = prefix + base64.RawURLEncoding.EncodeToString(buf)
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a browser session and returns its cookie value.
func (s *Store) CreateSession(ctx context.Context, u *User) (string, error) {
	token, hash := newToken("")
	now := time.Now().UTC()
	_, err := s.db.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, shop_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		hash, u.ID, u.ShopID, database.Time(now), database.Time(now.Add(SessionLifetime)))
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionUser returns the user of a live session.
func (s *Store) SessionUser(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	return scanUser(s.db.QueryRow(ctx, `SELECT u.id, u.shop_id, u.email, u.name, u.role, u.created_at
		FROM sessions s JOIN users u ON u.id = s.user_id AND u.shop_id = s.shop_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, hashToken(token), database.Time(time.Now())))
}

// DeleteSession ends a session (logout).
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hashToken(token))
	return err
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.db.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, database.Time(time.Now()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// APITokenPrefix starts every API token so secret scanners recognise them.
const APITokenPrefix = "hd_"

// CreateAPIToken issues a bearer token for the REST API; only its hash is
// kept, so it is shown once.
func (s *Store) CreateAPIToken(ctx context.Context, u *User, name string) (string, error) {
	token, hash := newToken(APITokenPrefix)
	_, err := s.db.Exec(ctx, `INSERT INTO api_tokens (shop_id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		u.ShopID, u.ID, name, hash, database.Time(time.Now()))
	if err != nil {
		return "", fmt.Errorf("create API token: %w", err)
	}
	return token, nil
}

// APITokenUser returns the owner of an API token.
func (s *Store) APITokenUser(ctx context.Context, token string) (*User, error) {
	if !strings.HasPrefix(token, APITokenPrefix) {
		return nil, ErrNotFound
	}
	return scanUser(s.db.QueryRow(ctx, `SELECT u.id, u.shop_id, u.email, u.name, u.role, u.created_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.shop_id = t.shop_id
		WHERE t.token_hash = ?`, hashToken(token)))
}

// APIToken describes an issued token; the token itself is never kept.
type APIToken struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// APITokens lists a user's tokens, newest first.
func (s *Store) APITokens(ctx context.Context, u *User) ([]APIToken, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, created_at FROM api_tokens WHERE shop_id = ? AND user_id = ? ORDER BY id DESC`, u.ShopID, u.ID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		if err := rows.Scan(&t.ID, &t.Name, (*database.Time)(&t.CreatedAt)); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken deletes one of the user's tokens; another user's token id
// is ErrNotFound.
func (s *Store) RevokeAPIToken(ctx context.Context, u *User, id int64) error {
	res, err := s.db.Exec(ctx, `DELETE FROM api_tokens WHERE shop_id = ? AND user_id = ? AND id = ?`, u.ShopID, u.ID, id)
	if err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
