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
	"github.com/hubdesk/hubdesk/internal/ttlcache"
)

// User is a desk account.
type User struct {
	ID        int64
	ShopID    int64
	Email     string
	Name      string
	Role      Role
	CreatedAt time.Time
	// DisabledAt is when the user was disabled; nil for an active user.
	DisabledAt *time.Time
	// LastLoginAt is the last successful sign-in; nil if never (or before
	// it was recorded).
	LastLoginAt *time.Time
}

// AuditIdentity names the user in the audit log.
func (u *User) AuditIdentity() (int64, string) { return u.ID, u.Email }

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
	// ErrDisabled is told only to someone who gave the right password.
	ErrDisabled = errors.New("this account is disabled")
	// ErrSelf: nobody disables (or re-enables) their own account, so a shop
	// always keeps the person who acts.
	ErrSelf = errors.New("you cannot disable or enable your own account")
	// ErrOwnerOnly: an admin cannot lock out the shop's owner.
	ErrOwnerOnly = errors.New("only an owner can disable or enable an owner")
)

// SessionLifetime is how long a desk login lasts.
const SessionLifetime = 14 * 24 * time.Hour

// Store reads and writes users, sessions and API tokens. It writes no
// other domain's tables: auditing who may reach the shop (tokens issued
// and revoked, users disabled) is the staff use case's, which binds this
// store to its transaction with With.
type Store struct {
	db database.Querier
	// staff holds each shop's users as ReadAllCached read them, for
	// CacheTTL; the stores With returns share it, and a change to a user
	// through any of them drops the shop's entry once it commits.
	staff *ttlcache.Cache[int64, []*User]
}

// CacheTTL bounds how long a process shows a shop's staff as they were
// before a change another process made; a change made through this
// process shows at once.
const CacheTTL = 2 * time.Second

// CachedShops is how many shops' staff a process keeps in its cache.
const CachedShops = 1024

// NewStore returns a user store over db (the database or a transaction).
func NewStore(db database.Querier) *Store {
	return &Store{db: db, staff: ttlcache.NewBounded[int64, []*User](CacheTTL, CachedShops, nil)}
}

// With returns the store running on q, typically a use case's transaction.
func (s *Store) With(q database.Querier) *Store { return &Store{db: q, staff: s.staff} }

// changed drops the shop's cached staff once the change q makes commits.
func (s *Store) changed(q database.Querier, shopID int64) { s.staff.ForgetOnCommit(q, shopID) }

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
	s.changed(s.db, u.ShopID)
	return u, nil
}

// userColumns are read from "users u".
const userColumns = `u.id, u.shop_id, u.email, u.name, u.role, u.created_at, u.disabled_at, u.last_login_at`

func scanUser(row interface{ Scan(...any) error }, extra ...any) (*User, error) {
	var u User
	var role string
	dest := append([]any{&u.ID, &u.ShopID, &u.Email, &u.Name, &role, (*database.Time)(&u.CreatedAt),
		database.ScanOptionalTime(&u.DisabledAt), database.ScanOptionalTime(&u.LastLoginAt)}, extra...)
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
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.shop_id = ? AND u.id = ?`, shopID, id))
}

// GetByEmail finds a user by email across shops (emails are unique), for
// the command line.
func (s *Store) GetByEmail(ctx context.Context, email string) (*User, error) {
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE u.email = ?`, strings.ToLower(strings.TrimSpace(email))))
}

// List returns the shop's users by name.
func (s *Store) List(ctx context.Context, shopID int64) ([]*User, error) {
	rows, err := s.db.Query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.shop_id = ? ORDER BY u.email`, shopID)
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

// Authenticate checks an email and password. A disabled account is
// ErrDisabled, but only after the right password: otherwise it is as
// unknown as a wrong guess.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*User, error) {
	var hash string
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+`, u.password_hash FROM users u WHERE u.email = ?`,
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
	if u.DisabledAt != nil {
		return nil, ErrDisabled
	}
	return u, nil
}

// SetPassword replaces a user's password and ends everything the old one
// may have handed out, since a reset is what follows a leak: their
// sessions and their API tokens, which it returns with the user's shop
// for the audit log.
func (s *Store) SetPassword(ctx context.Context, userID int64, password string) (shopID int64, revoked []RevokedToken, err error) {
	if err := ValidatePassword(password); err != nil {
		return 0, nil, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return 0, nil, err
	}
	err = s.db.InTx(ctx, func(tx *database.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE users SET password_hash = ? WHERE id = ? RETURNING shop_id`, hash, userID).Scan(&shopID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("set password of user %d: %w", userID, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE shop_id = ? AND user_id = ?`, shopID, userID); err != nil {
			return err
		}
		revoked, err = revokeTokens(ctx, tx, shopID, `t.user_id = ?`, userID)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return shopID, revoked, nil
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
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (token_hash, user_id, shop_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			hash, u.ID, u.ShopID, database.Time(now), database.Time(now.Add(SessionLifetime))); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE users SET last_login_at = ? WHERE shop_id = ? AND id = ?`, database.Time(now), u.ShopID, u.ID)
		s.changed(tx, u.ShopID)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create session: %w", err)
	}
	return token, nil
}

// SessionUser returns the user of a live session; a disabled user has none.
func (s *Store) SessionUser(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	return scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id AND u.shop_id = s.shop_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL`, hashToken(token), database.Time(time.Now())))
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

// CreateAPIToken issues a bearer token for the REST API and returns it
// with its id; only its hash is kept, so it is shown once.
func (s *Store) CreateAPIToken(ctx context.Context, u *User, name string) (token string, id int64, err error) {
	token, hash := newToken(APITokenPrefix)
	err = s.db.ExecReturning(ctx, `INSERT INTO api_tokens (shop_id, user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		u.ShopID, u.ID, name, hash, database.Time(time.Now())).Scan(&id)
	if err != nil {
		return "", 0, fmt.Errorf("create API token: %w", err)
	}
	return token, id, nil
}

// tokenUseInterval bounds the writes on the API's hot path: last_used_at
// answers "is this token still in use?" on the Staff page, for which a
// minute is precise enough.
const tokenUseInterval = time.Minute

// APITokenUser returns the owner of an API token; a disabled user's tokens
// are refused. It stamps the token's last use at most once a minute.
func (s *Store) APITokenUser(ctx context.Context, token string) (*User, error) {
	if !strings.HasPrefix(token, APITokenPrefix) {
		return nil, ErrNotFound
	}
	var tokenID int64
	var lastUsed *time.Time
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userColumns+`, t.id, t.last_used_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.shop_id = t.shop_id
		WHERE t.token_hash = ? AND u.disabled_at IS NULL`, hashToken(token)), &tokenID, database.ScanOptionalTime(&lastUsed))
	if err != nil {
		return nil, err
	}
	if now := time.Now(); lastUsed == nil || now.Sub(*lastUsed) >= tokenUseInterval {
		// The condition is repeated in SQL so concurrent requests, and other
		// processes, write once. A failed stamp must not refuse the call:
		// the token is valid, and the stamp is only a hint.
		s.db.Exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
			database.Time(now), tokenID, database.Time(now.Add(-tokenUseInterval)))
	}
	return u, nil
}

// APIToken describes an issued token; the token itself is never kept.
type APIToken struct {
	ID        int64
	UserID    int64
	Name      string
	CreatedAt time.Time
	// LastUsedAt is the last API call with the token, to the minute; nil
	// if never used.
	LastUsedAt *time.Time
}

// APITokens lists a user's tokens, newest first.
func (s *Store) APITokens(ctx context.Context, u *User) ([]APIToken, error) {
	return s.listTokens(ctx, `shop_id = ? AND user_id = ?`, u.ShopID, u.ID)
}

// ShopAPITokens lists the tokens of every user of the shop, newest first.
func (s *Store) ShopAPITokens(ctx context.Context, shopID int64) ([]APIToken, error) {
	return s.listTokens(ctx, `shop_id = ?`, shopID)
}

func (s *Store) listTokens(ctx context.Context, where string, args ...any) ([]APIToken, error) {
	rows, err := s.db.Query(ctx, `SELECT id, user_id, name, created_at, last_used_at FROM api_tokens WHERE `+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, (*database.Time)(&t.CreatedAt), database.ScanOptionalTime(&t.LastUsedAt)); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokedToken names a deleted API token and its owner, for the audit log.
type RevokedToken struct {
	ID         int64
	Name       string
	OwnerEmail string
}

// RevokeAPIToken deletes one of the user's own tokens; another user's
// token id is ErrNotFound.
func (s *Store) RevokeAPIToken(ctx context.Context, u *User, id int64) (*RevokedToken, error) {
	return s.revokeOne(ctx, u.ShopID, `t.user_id = ? AND t.id = ?`, u.ID, id)
}

// RevokeShopAPIToken deletes any token of the shop (an Owner or Admin
// offboarding someone); another shop's token id is ErrNotFound.
func (s *Store) RevokeShopAPIToken(ctx context.Context, shopID, id int64) (*RevokedToken, error) {
	return s.revokeOne(ctx, shopID, `t.id = ?`, id)
}

func (s *Store) revokeOne(ctx context.Context, shopID int64, where string, args ...any) (*RevokedToken, error) {
	var revoked []RevokedToken
	err := s.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		revoked, err = revokeTokens(ctx, tx, shopID, where, args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("revoke API token: %w", err)
	}
	if len(revoked) == 0 {
		return nil, ErrNotFound
	}
	return &revoked[0], nil
}

// revokeTokens deletes the shop's tokens matching where (over "api_tokens
// t") and returns them with their owners.
func revokeTokens(ctx context.Context, tx *database.Tx, shopID int64, where string, args ...any) ([]RevokedToken, error) {
	rows, err := tx.Query(ctx, `SELECT t.id, t.name, u.email FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.shop_id = ? AND `+where, append([]any{shopID}, args...)...)
	if err != nil {
		return nil, err
	}
	var list []RevokedToken
	for rows.Next() {
		var r RevokedToken
		if err := rows.Scan(&r.ID, &r.Name, &r.OwnerEmail); err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range list {
		if _, err := tx.Exec(ctx, `DELETE FROM api_tokens WHERE shop_id = ? AND id = ?`, shopID, r.ID); err != nil {
			return nil, err
		}
	}
	return list, nil
}

// CanChangeStatus is the rule for disabling and enabling staff, for the
// Staff page's buttons and the staff use case's SetDisabled alike: never yourself, and an owner
// only by an owner.
func CanChangeStatus(actor, target *User) error {
	if actor.ID == target.ID {
		return ErrSelf
	}
	if target.Role == RoleOwner && actor.Role != RoleOwner {
		return ErrOwnerOnly
	}
	return nil
}

// SetDisabled disables or re-enables a user of the shop. Disabling ends
// their sessions at once; their API tokens are kept but refused while the
// user is disabled (checked on every request), so re-enabling restores
// their integrations — revoke the tokens to end them for good. Who may do
// it (CanChangeStatus) is the caller's rule.
func (s *Store) SetDisabled(ctx context.Context, shopID, userID int64, disabled bool) error {
	var disabledAt any
	if disabled {
		disabledAt = database.Time(time.Now())
	}
	return s.db.InTx(ctx, func(tx *database.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE users SET disabled_at = ? WHERE shop_id = ? AND id = ?`, disabledAt, shopID, userID)
		if err != nil {
			return fmt.Errorf("set user %d disabled: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		s.changed(tx, shopID)
		if disabled {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE shop_id = ? AND user_id = ?`, shopID, userID); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadAllCached is ReadAll through the process's cache (CacheTTL): when it
// holds the shop's users it sets *into and queues nothing. Call the done
// it returns once b has run, with b's error; it keeps what b read. The
// users may be shared with other callers: read them, don't change them.
func (s *Store) ReadAllCached(b *database.Batch, shopID int64, into *[]*User) (done func(error)) {
	return s.staff.ReadInto(shopID, into, func() { ReadAll(b, shopID, into) })
}

// ReadAll queues into b the read of the shop's people, in List's order.
func ReadAll(b *database.Batch, shopID int64, into *[]*User) {
	b.Read(`SELECT `+userColumns+` FROM users u WHERE u.shop_id = ? ORDER BY u.email`, []any{shopID}, func(row database.RowScanner) error {
		u, err := scanUser(row)
		*into = append(*into, u)
		return err
	})
}
