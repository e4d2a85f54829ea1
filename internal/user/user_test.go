package user_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
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
		if err := s.SetPassword(ctx, u.ID, "short"); err == nil {
			t.Fatal("short password accepted")
		}
		if err := s.SetPassword(ctx, u.ID, "a brand new one"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, token); !errors.Is(err, user.ErrNotFound) {
			t.Fatal("session survived a password reset")
		}

		api, err := s.CreateAPIToken(ctx, u, "ci")
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

func TestOffboarding(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := user.NewStore(db)
		log := audit.New(db)
		shopA, shopB := newShop(t, db, "a"), newShop(t, db, "b")
		mk := func(shop int64, email string, role user.Role) *user.User {
			u, err := s.Create(ctx, user.NewUser{ShopID: shop, Email: email, Role: role, Password: "long enough"})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		owner, admin, agent := mk(shopA, "owner@a.test", user.RoleOwner), mk(shopA, "admin@a.test", user.RoleAdmin), mk(shopA, "agent@a.test", user.RoleAgent)
		other := mk(shopB, "agent@b.test", user.RoleAgent)

		session, _ := s.CreateSession(ctx, agent)
		token, err := s.CreateAPIToken(ctx, agent, "ci")
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, shopA, agent.ID); got.LastLoginAt == nil {
			t.Error("a session does not record the sign-in")
		}

		// Sessions and tokens are checked against the account on every use,
		// not only removed when it is disabled.
		if _, err := db.Exec(ctx, `UPDATE users SET disabled_at = ? WHERE id = ?`, database.Time(time.Now()), agent.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, session); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("a disabled user's session works: %v", err)
		}
		if _, err := s.APITokenUser(ctx, token); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("a disabled user's token works: %v", err)
		}
		if _, err := s.Authenticate(ctx, agent.Email, "long enough"); !errors.Is(err, user.ErrDisabled) {
			t.Errorf("a disabled user signs in: %v", err)
		}
		if _, err := s.Authenticate(ctx, agent.Email, "wrong"); !errors.Is(err, user.ErrInvalidCredentials) {
			t.Errorf("a wrong password for a disabled user: %v", err)
		}
		if err := s.SetDisabled(ctx, admin, agent.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APITokenUser(ctx, token); err != nil {
			t.Errorf("re-enabled user's token: %v", err)
		}

		// Disabling through the store ends the sessions at once.
		session, _ = s.CreateSession(ctx, agent)
		if err := s.SetDisabled(ctx, admin, agent.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, session); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("session after disable: %v", err)
		}
		if _, err := s.APITokenUser(ctx, token); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("token after disable: %v", err)
		}
		for _, c := range []struct {
			name   string
			actor  *user.User
			target int64
			want   error
		}{
			{"admin disables the owner", admin, owner.ID, user.ErrOwnerOnly},
			{"admin disables themselves", admin, admin.ID, user.ErrSelf},
			{"owner disables themselves", owner, owner.ID, user.ErrSelf},
			{"another shop's user", owner, other.ID, user.ErrNotFound},
		} {
			if err := s.SetDisabled(ctx, c.actor, c.target, true); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if err := s.SetDisabled(ctx, owner, admin.ID, true); err != nil {
			t.Errorf("owner disables an admin: %v", err)
		}
		if u, _ := s.Get(ctx, shopB, other.ID); u.DisabledAt != nil {
			t.Error("another shop's user was disabled")
		}

		// Owners and admins revoke anyone's tokens in their own shop only.
		s.SetDisabled(ctx, owner, admin.ID, false)
		otherToken, _ := s.CreateAPIToken(ctx, other, "b")
		otherList, _ := s.APITokens(ctx, other)
		if err := s.RevokeShopAPIToken(ctx, admin, otherList[0].ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("revoking another shop's token: %v", err)
		}
		if _, err := s.APITokenUser(ctx, otherToken); err != nil {
			t.Errorf("another shop's token was revoked: %v", err)
		}
		agentList, _ := s.ShopAPITokens(ctx, shopA)
		if len(agentList) != 1 || agentList[0].UserID != agent.ID {
			t.Fatalf("shop tokens: %+v", agentList)
		}
		if err := s.RevokeAPIToken(ctx, owner, agentList[0].ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("the own-token revoke reached another user's token: %v", err)
		}
		if err := s.RevokeShopAPIToken(ctx, admin, agentList[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeShopAPIToken(ctx, admin, agentList[0].ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("revoking twice: %v", err)
		}

		// A password reset ends sessions and tokens.
		adminToken, _ := s.CreateAPIToken(ctx, admin, "sync")
		adminSession, _ := s.CreateSession(ctx, admin)
		if err := s.SetPassword(ctx, admin.ID, "a brand new one"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APITokenUser(ctx, adminToken); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("token survived a password reset: %v", err)
		}
		if _, err := s.SessionUser(ctx, adminSession); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("session survived a password reset: %v", err)
		}
		if err := s.SetPassword(ctx, 999999, "a brand new one"); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}

		// All of it is in the audit log: who did it, whose token, never the token.
		entries, _, err := log.List(ctx, shopA, audit.Filter{}, database.Page{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Action+" "+e.Actor.Label+" → "+e.Subject)
			for _, secret := range []string{token, adminToken} {
				if strings.Contains(fmt.Sprint(e), secret) {
					t.Errorf("audit entry holds a token: %+v", e)
				}
			}
		}
		want := []string{
			"token.revoked password reset → admin@a.test",
			"token.created admin@a.test → admin@a.test",
			"token.revoked admin@a.test → agent@a.test",
			"user.enabled owner@a.test → admin@a.test",
			"user.disabled owner@a.test → admin@a.test",
			"user.disabled admin@a.test → agent@a.test",
			"user.enabled admin@a.test → agent@a.test",
			"token.created agent@a.test → agent@a.test",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("audit log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// last_used_at is written when a token is used, but at most once a minute,
// so the API's hot path does not write on every call.
func TestAPITokenLastUsedIsThrottled(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := user.NewStore(db)
		u, _ := s.Create(ctx, user.NewUser{ShopID: newShop(t, db, "a"), Email: "a@a.test", Role: user.RoleAgent, Password: "long enough"})
		token, _ := s.CreateAPIToken(ctx, u, "ci")
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
