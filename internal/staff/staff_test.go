package staff_test

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
	"github.com/hubdesk/hubdesk/internal/staff"
	"github.com/hubdesk/hubdesk/internal/user"
)

func newShop(t *testing.T, db *database.DB, name string) int64 {
	t.Helper()
	return fixtures.Shop(t, db, name).ID
}

func TestOffboarding(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := user.NewStore(db)
		log := audit.New(db)
		access := staff.New(db, s, log)
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
		token, err := access.CreateAPIToken(ctx, agent, "ci")
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
		if err := access.SetDisabled(ctx, admin, agent.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APITokenUser(ctx, token); err != nil {
			t.Errorf("re-enabled user's token: %v", err)
		}

		// Disabling through the store ends the sessions at once.
		session, _ = s.CreateSession(ctx, agent)
		if err := access.SetDisabled(ctx, admin, agent.ID, true); err != nil {
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
			if err := access.SetDisabled(ctx, c.actor, c.target, true); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if err := access.SetDisabled(ctx, owner, admin.ID, true); err != nil {
			t.Errorf("owner disables an admin: %v", err)
		}
		if u, _ := s.Get(ctx, shopB, other.ID); u.DisabledAt != nil {
			t.Error("another shop's user was disabled")
		}

		// Owners and admins revoke anyone's tokens in their own shop only.
		access.SetDisabled(ctx, owner, admin.ID, false)
		otherToken, _ := access.CreateAPIToken(ctx, other, "b")
		otherList, _ := s.APITokens(ctx, other)
		if err := access.RevokeShopAPIToken(ctx, admin, otherList[0].ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("revoking another shop's token: %v", err)
		}
		if _, err := s.APITokenUser(ctx, otherToken); err != nil {
			t.Errorf("another shop's token was revoked: %v", err)
		}
		agentList, _ := s.ShopAPITokens(ctx, shopA)
		if len(agentList) != 1 || agentList[0].UserID != agent.ID {
			t.Fatalf("shop tokens: %+v", agentList)
		}
		if err := access.RevokeAPIToken(ctx, owner, agentList[0].ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("the own-token revoke reached another user's token: %v", err)
		}
		if err := access.RevokeShopAPIToken(ctx, admin, agentList[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := access.RevokeShopAPIToken(ctx, admin, agentList[0].ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("revoking twice: %v", err)
		}

		// A password reset ends sessions and tokens.
		adminToken, _ := access.CreateAPIToken(ctx, admin, "sync")
		adminSession, _ := s.CreateSession(ctx, admin)
		if err := access.ResetPassword(ctx, admin.ID, "a brand new one"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.APITokenUser(ctx, adminToken); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("token survived a password reset: %v", err)
		}
		if _, err := s.SessionUser(ctx, adminSession); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("session survived a password reset: %v", err)
		}
		if err := access.ResetPassword(ctx, 999999, "a brand new one"); !errors.Is(err, user.ErrNotFound) {
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

// Each staff change and its audit entry are one transaction: when the
// audit entry cannot be written, the change is not made either.
func TestNoChangeWithoutItsAuditEntry(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		users := user.NewStore(db)
		access := staff.New(db, users, audit.New(db))
		shopID := newShop(t, db, "a")
		admin, err := users.Create(ctx, user.NewUser{ShopID: shopID, Email: "admin@a.test", Role: user.RoleAdmin, Password: "long enough"})
		if err != nil {
			t.Fatal(err)
		}
		agent, err := users.Create(ctx, user.NewUser{ShopID: shopID, Email: "agent@a.test", Role: user.RoleAgent, Password: "long enough"})
		if err != nil {
			t.Fatal(err)
		}
		token, err := access.CreateAPIToken(ctx, agent, "ci")
		if err != nil {
			t.Fatal(err)
		}
		session, err := users.CreateSession(ctx, agent)
		if err != nil {
			t.Fatal(err)
		}
		tokens, _ := users.APITokens(ctx, agent)

		dbtest.BreakTable(t, db, "audit_log")
		if _, err := access.CreateAPIToken(ctx, agent, "second"); err == nil {
			t.Error("a token was issued without its audit entry")
		}
		if list, _ := users.APITokens(ctx, agent); len(list) != 1 {
			t.Errorf("the unaudited token was kept: %+v", list)
		}
		if err := access.RevokeShopAPIToken(ctx, admin, tokens[0].ID); err == nil {
			t.Error("a token was revoked without its audit entry")
		}
		if err := access.RevokeAPIToken(ctx, agent, tokens[0].ID); err == nil {
			t.Error("an own token was revoked without its audit entry")
		}
		if _, err := users.APITokenUser(ctx, token); err != nil {
			t.Errorf("the token was revoked although the revocation failed: %v", err)
		}
		if err := access.SetDisabled(ctx, admin, agent.ID, true); err == nil {
			t.Error("a person was disabled without the audit entry")
		}
		if u, _ := users.Get(ctx, shopID, agent.ID); u.DisabledAt != nil {
			t.Error("the person stayed disabled although the change failed")
		}
		if _, err := users.SessionUser(ctx, session); err != nil {
			t.Errorf("the session was ended although disabling failed: %v", err)
		}
		if err := access.ResetPassword(ctx, agent.ID, "a brand new one"); err == nil {
			t.Error("a password reset revoked tokens without audit entries")
		}
		if _, err := users.Authenticate(ctx, agent.Email, "long enough"); err != nil {
			t.Errorf("the old password stopped working although the reset failed: %v", err)
		}
		if _, err := users.APITokenUser(ctx, token); err != nil {
			t.Errorf("the token was revoked although the reset failed: %v", err)
		}
	})
}
