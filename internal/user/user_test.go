package user_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/user"
)

func newShop(t *testing.T, db *database.DB, name string) int64 {
	return fixtures.Shop(t, db, name).ID
}

func TestUsersSessionsAndTokens(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := user.NewStore(db)
		shopA, shopB := newShop(t, db, "a"), newShop(t, db, "b")
		u, err := s.Create(ctx, user.NewUser{ShopID: shopA, Email: " Ann@Example.com ", Role: user.RoleAdmin, Password: "long enough"})
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ann@example.com" {
			t.Fatalf("email not normalised: %q", u.Email)
		}
		if _, err := s.Create(ctx, user.NewUser{ShopID: shopB, Email: "ann@example.com", Role: user.RoleAgent, Password: "x"}); !errors.Is(err, user.ErrEmailTaken) {
			t.Fatalf("duplicate email: %v", err)
		}
		if _, err := s.Create(ctx, user.NewUser{ShopID: shopA, Email: "not-an-email", Role: user.RoleAgent}); err == nil {
			t.Fatal("bad email accepted")
		}
		if _, err := s.Create(ctx, user.NewUser{ShopID: shopA, Email: "x@example.com", Role: "boss"}); err == nil {
			t.Fatal("bad role accepted")
		}
		if _, err := s.Get(ctx, shopB, u.ID); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("user visible from another shop: %v", err)
		}

		if _, err := s.Authenticate(ctx, "ann@example.com", "wrong"); !errors.Is(err, user.ErrInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := s.Authenticate(ctx, "nobody@example.com", "long enough"); !errors.Is(err, user.ErrInvalidCredentials) {
			t.Fatalf("unknown user: %v", err)
		}
		if got, err := s.Authenticate(ctx, "ANN@example.com", "long enough"); err != nil || got.ID != u.ID {
			t.Fatalf("good login: %v", err)
		}

		token, err := s.CreateSession(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.SessionUser(ctx, token); err != nil || got.ID != u.ID || got.Role != user.RoleAdmin {
			t.Fatalf("session user: %v %v", got, err)
		}
		// An expired session is no session.
		if _, err := db.Exec(ctx, `UPDATE sessions SET expires_at = ?`, database.Time(time.Now().Add(-time.Minute))); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, token); !errors.Is(err, user.ErrNotFound) {
			t.Fatalf("expired session accepted: %v", err)
		}
		if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 1 {
			t.Fatalf("cleanup removed %d (%v)", n, err)
		}

		// A password reset ends live sessions.
		token, _ = s.CreateSession(ctx, u)
		if _, _, err := s.SetPassword(ctx, u.ID, "short"); err == nil {
			t.Fatal("short password accepted")
		}
		if _, _, err := s.SetPassword(ctx, u.ID, "a brand new one"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, token); !errors.Is(err, user.ErrNotFound) {
			t.Fatal("session survived a password reset")
		}

		api, _, err := s.CreateAPIToken(ctx, u, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.APITokenUser(ctx, api); err != nil || got.ID != u.ID {
			t.Fatalf("API token user: %v", err)
		}
		for _, bad := range []string{"", "hd_", api + "x", token} {
			if _, err := s.APITokenUser(ctx, bad); !errors.Is(err, user.ErrNotFound) {
				t.Fatalf("token %q accepted", bad)
			}
		}
		var stored string
		db.QueryRow(ctx, `SELECT token_hash FROM api_tokens`).Scan(&stored)
		if stored == api {
			t.Fatal("API token stored in clear")
		}
	})
}

func TestRoles(t *testing.T) {
	if !user.RoleOwner.AtLeast(user.RoleAdmin) || !user.RoleAdmin.AtLeast(user.RoleAdmin) || user.RoleManager.AtLeast(user.RoleAdmin) {
		t.Fatal("the ranks are Owner > Admin > Manager")
	}
	if !user.RoleManager.AtLeast(user.RoleManager) || user.RoleAgent.AtLeast(user.RoleManager) || user.Role("").AtLeast(user.RoleAgent) {
		t.Fatal("Agent is below Manager, and no role is no rights")
	}
	if r, err := user.ParseRole("Manager"); err != nil || r != user.RoleManager {
		t.Fatal("ParseRole is case-insensitive")
	}
	if user.Role("").AtLeast(user.RoleAgent) {
		t.Fatal("an empty role has no rights")
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := user.HashPassword("s3cret!")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := user.CheckPassword(h, "s3cret!"); !ok || err != nil {
		t.Fatal("right password refused")
	}
	if ok, _ := user.CheckPassword(h, "s3cret"); ok {
		t.Fatal("wrong password accepted")
	}
	if _, err := user.CheckPassword("$bcrypt$nonsense", "x"); err == nil {
		t.Fatal("malformed hash accepted")
	}
}

// last_used_at is written when a token is used, but at most once a minute,
// so the API's hot path does not write on every call.
func TestAPITokenLastUsedIsThrottled(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := user.NewStore(db)
		u, _ := s.Create(ctx, user.NewUser{ShopID: newShop(t, db, "a"), Email: "a@a.test", Role: user.RoleAgent, Password: "long enough"})
		token, _, _ := s.CreateAPIToken(ctx, u, "ci")
		lastUsed := func() *time.Time {
			list, err := s.APITokens(ctx, u)
			if err != nil || len(list) != 1 {
				t.Fatalf("tokens: %v %v", list, err)
			}
			return list[0].LastUsedAt
		}
		if lastUsed() != nil {
			t.Fatal("a new token has been used")
		}
		before := time.Now().Add(-time.Second)
		s.APITokenUser(ctx, token)
		if at := lastUsed(); at == nil || at.Before(before) {
			t.Fatalf("first use not recorded: %v", at)
		}
		recent := time.Now().Add(-30 * time.Second).Truncate(time.Millisecond)
		db.Exec(ctx, `UPDATE api_tokens SET last_used_at = ?`, database.Time(recent))
		s.APITokenUser(ctx, token)
		if at := lastUsed(); at == nil || !at.Equal(recent) {
			t.Fatalf("a use within the minute wrote %v, want %v kept", at, recent)
		}
		db.Exec(ctx, `UPDATE api_tokens SET last_used_at = ?`, database.Time(time.Now().Add(-2*time.Minute)))
		s.APITokenUser(ctx, token)
		if at := lastUsed(); at == nil || at.Before(before) {
			t.Fatalf("a use after a minute was not recorded: %v", at)
		}
	})
}
