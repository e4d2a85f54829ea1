package staff_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/staff"
	"github.com/hubdesk/hubdesk/internal/user"
)

// recordingQueue keeps what the use cases enqueue, as stored.
type recordingQueue struct{ args []jobs.Args }

func (q *recordingQueue) Enqueue(_ context.Context, _ *database.Tx, args jobs.Args, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	q.args = append(q.args, args)
	return &rivertype.JobInsertResult{}, nil
}

// teamWorld is a shop with a person of each role and the team use cases
// on a clock the test steps.
type teamWorld struct {
	ctx    context.Context
	db     *database.DB
	users  *user.Store
	log    *audit.Log
	access *staff.Access
	team   *staff.Team
	queue  *recordingQueue
	now    time.Time
	shop   int64
	people map[user.Role]*user.User
	n      int
}

func newTeamWorld(t *testing.T, db *database.DB, mailOn bool) *teamWorld {
	w := &teamWorld{ctx: context.Background(), db: db, users: user.NewStore(db), log: audit.New(db), queue: &recordingQueue{},
		now: time.Now().UTC(), shop: newShop(t, db, "team"), people: map[user.Role]*user.User{}}
	w.access = staff.New(db, w.users, w.log)
	w.team = staff.NewTeam(staff.TeamOptions{DB: db, Users: w.users, Audit: w.log, Queue: w.queue, Box: fixtures.Box(t),
		BaseURL: "https://desk.example.com/", MailConfigured: mailOn, Now: func() time.Time { return w.now }})
	for _, r := range []user.Role{user.RoleOwner, user.RoleAdmin, user.RoleManager, user.RoleAgent} {
		w.people[r] = w.person(t, r)
	}
	return w
}

func (w *teamWorld) person(t *testing.T, role user.Role) *user.User {
	t.Helper()
	w.n++
	u, err := w.users.Create(w.ctx, user.NewUser{ShopID: w.shop, Email: fmt.Sprintf("%s%d@team.test", role, w.n), Role: role, Password: "long enough"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func tokenOf(t *testing.T, link staff.Link, path string) string {
	t.Helper()
	token, ok := strings.CutPrefix(link.URL, "https://desk.example.com"+path)
	if !ok || token == "" {
		t.Fatalf("link %q does not open %s", link.URL, path)
	}
	return token
}

// TestRoleRules is the rule for giving roles, by invitation and by role
// change: nobody gives a role above their own, only an owner makes owners
// or changes an owner's role.
func TestRoleRules(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newTeamWorld(t, db, false)
		var none error
		for _, c := range []struct {
			actor, target, to user.Role
			want              error
		}{
			{user.RoleOwner, user.RoleAgent, user.RoleOwner, none},
			{user.RoleOwner, user.RoleAdmin, user.RoleAgent, none},
			{user.RoleAdmin, user.RoleAgent, user.RoleAdmin, none},
			{user.RoleAdmin, user.RoleManager, user.RoleAgent, none},
			{user.RoleAdmin, user.RoleAgent, user.RoleOwner, user.ErrOwnerMakesOwners},
			{user.RoleAdmin, user.RoleOwner, user.RoleAgent, user.ErrOwnerOnly},
			{user.RoleAdmin, user.RoleAdmin, user.RoleManager, none},
			{user.RoleManager, user.RoleAgent, user.RoleManager, user.ErrAdminsOnly},
			{user.RoleManager, user.RoleAgent, user.RoleAdmin, user.ErrAdminsOnly},
			{user.RoleAgent, user.RoleAgent, user.RoleManager, user.ErrAdminsOnly},
		} {
			name := fmt.Sprintf("%s makes a %s %s", c.actor, c.target, c.to)
			actor, target := w.people[c.actor], w.person(t, c.target)
			err := w.access.ChangeRole(w.ctx, actor, target.ID, c.to)
			if !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", name, err, c.want)
			}
			got, _ := w.users.Get(w.ctx, w.shop, target.ID)
			if changed := got.Role == c.to; changed != (c.want == nil) {
				t.Errorf("%s: role is now %s", name, got.Role)
			}
			if c.target == c.to {
				continue
			}
			_, _, err = w.team.Invite(w.ctx, actor, fmt.Sprintf("invite%d@team.test", w.n), "", c.to)
			if wantInvite := user.CanGrant(actor, c.to); !errors.Is(err, wantInvite) {
				t.Errorf("%s invites a %s: %v, want %v", c.actor, c.to, err, wantInvite)
			}
		}
		// Another shop's person is not found.
		other := fixtures.Shop(t, db, "other")
		stranger, _ := w.users.Create(w.ctx, user.NewUser{ShopID: other.ID, Email: "x@other.test", Role: user.RoleAgent, Password: "long enough"})
		if err := w.access.ChangeRole(w.ctx, w.people[user.RoleOwner], stranger.ID, user.RoleAdmin); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("another shop's person: %v", err)
		}
		entries, _, _ := w.log.List(w.ctx, w.shop, audit.Filter{Action: audit.ActionRoleChanged}, database.Page{Limit: 50})
		if len(entries) != 5 || entries[0].Details["previous_role"] == nil || entries[0].Details["role"] == nil {
			t.Errorf("role changes audited: %+v", entries)
		}
	})
}

// TestLastOwner: a shop always keeps an active owner — not demoted, not
// disabled away, counting only owners who are not disabled.
func TestLastOwner(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newTeamWorld(t, db, false)
		owner := w.people[user.RoleOwner]
		if err := w.access.ChangeRole(w.ctx, owner, owner.ID, user.RoleAdmin); !errors.Is(err, user.ErrLastOwner) {
			t.Fatalf("the last owner demotes themselves: %v", err)
		}
		second := w.person(t, user.RoleOwner)
		if err := w.access.SetDisabled(w.ctx, owner, second.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := w.access.ChangeRole(w.ctx, owner, owner.ID, user.RoleAdmin); !errors.Is(err, user.ErrLastOwner) {
			t.Errorf("the last active owner (the other disabled) demotes themselves: %v", err)
		}
		if err := w.access.SetDisabled(w.ctx, owner, second.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := w.access.ChangeRole(w.ctx, second, owner.ID, user.RoleAdmin); err != nil {
			t.Errorf("an owner demotes another owner: %v", err)
		}
		if err := w.access.ChangeRole(w.ctx, second, second.ID, user.RoleAdmin); !errors.Is(err, user.ErrLastOwner) {
			t.Errorf("the remaining owner demotes themselves: %v", err)
		}
		n, _ := w.users.CountActiveOwners(w.ctx, w.shop)
		if n != 1 {
			t.Errorf("%d active owners, want 1", n)
		}
	})
}

// TestInvitation: a link works once, for a week, while it is neither
// revoked nor replaced by a resend, and while the person who sent it is
// active and may still give its role.
func TestInvitation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newTeamWorld(t, db, true)
		admin := w.people[user.RoleAdmin]
		inv, link, err := w.team.Invite(w.ctx, admin, " New@Team.test ", "Nell", user.RoleManager)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Email != "new@team.test" || !link.Mailed {
			t.Errorf("invitation %+v, link %+v", inv, link)
		}
		token := tokenOf(t, link, staff.InvitationPath)
		if _, _, err := w.team.Invite(w.ctx, admin, "new@team.test", "", user.RoleAgent); !errors.Is(err, user.ErrAlreadyInvited) {
			t.Errorf("a second invitation for the email: %v", err)
		}
		if _, _, err := w.team.Invite(w.ctx, admin, w.people[user.RoleAgent].Email, "", user.RoleAgent); !errors.Is(err, user.ErrEmailTaken) {
			t.Errorf("an invitation for someone with an account: %v", err)
		}

		// The mail job's arguments, as stored, hold the token sealed.
		if len(w.queue.args) != 1 {
			t.Fatalf("%d mail jobs, want 1", len(w.queue.args))
		}
		stored, _ := json.Marshal(w.queue.args[0])
		if strings.Contains(string(stored), token) || !strings.Contains(string(stored), "hdsec:") {
			t.Errorf("the mail job's arguments: %s", stored)
		}

		if _, err := w.team.AcceptInvitation(w.ctx, token, "", "short"); !errors.Is(err, user.ErrWeakPassword) {
			t.Errorf("a short password: %v", err)
		}
		// Resend replaces the link.
		_, resent, err := w.team.ResendInvitation(w.ctx, admin, inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.team.OpenInvitation(w.ctx, token); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("the link before the resend: %v", err)
		}
		token = tokenOf(t, resent, staff.InvitationPath)
		// Expiry: a week.
		w.now = w.now.Add(staff.InvitationLifetime)
		if _, err := w.team.AcceptInvitation(w.ctx, token, "", "a long password"); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("an expired link: %v", err)
		}
		w.now = w.now.Add(-time.Minute)
		u, err := w.team.AcceptInvitation(w.ctx, token, "", "a long password")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != user.RoleManager || u.Name != "Nell" || u.Email != "new@team.test" || u.ShopID != w.shop {
			t.Errorf("the new account: %+v", u)
		}
		if _, err := w.users.Authenticate(w.ctx, "new@team.test", "a long password"); err != nil {
			t.Errorf("sign in with the chosen password: %v", err)
		}
		// Single use.
		if _, err := w.team.AcceptInvitation(w.ctx, token, "", "another long password"); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("the link used twice: %v", err)
		}
		if pending, _ := w.users.PendingInvitations(w.ctx, w.shop); len(pending) != 0 {
			t.Errorf("pending after acceptance: %d", len(pending))
		}

		// Revoked.
		inv2, link2, _ := w.team.Invite(w.ctx, admin, "revoked@team.test", "", user.RoleAgent)
		if err := w.team.RevokeInvitation(w.ctx, admin, inv2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.team.AcceptInvitation(w.ctx, tokenOf(t, link2, staff.InvitationPath), "", "a long password"); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("a revoked link: %v", err)
		}
		if err := w.team.RevokeInvitation(w.ctx, admin, inv2.ID); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("revoked twice: %v", err)
		}

		// Sent by someone disabled since, or demoted below its role.
		_, link3, _ := w.team.Invite(w.ctx, admin, "disabled-sender@team.test", "", user.RoleAgent)
		_, link4, _ := w.team.Invite(w.ctx, admin, "demoted-sender@team.test", "", user.RoleAdmin)
		if err := w.access.SetDisabled(w.ctx, w.people[user.RoleOwner], admin.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := w.team.AcceptInvitation(w.ctx, tokenOf(t, link3, staff.InvitationPath), "", "a long password"); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("an invitation of a disabled admin: %v", err)
		}
		w.access.SetDisabled(w.ctx, w.people[user.RoleOwner], admin.ID, false)
		if err := w.access.ChangeRole(w.ctx, w.people[user.RoleOwner], admin.ID, user.RoleManager); err != nil {
			t.Fatal(err)
		}
		if _, err := w.team.AcceptInvitation(w.ctx, tokenOf(t, link4, staff.InvitationPath), "", "a long password"); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("an admin invitation of an admin demoted since: %v", err)
		}

		// Another shop's invitation is not found.
		other := fixtures.Shop(t, db, "other")
		stranger, _ := w.users.Create(w.ctx, user.NewUser{ShopID: other.ID, Email: "o@other.test", Role: user.RoleOwner, Password: "long enough"})
		if err := w.team.RevokeInvitation(w.ctx, stranger, inv2.ID+1); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("another shop's invitation: %v", err)
		}

		entries, _, _ := w.log.List(w.ctx, w.shop, audit.Filter{}, database.Page{Limit: 200})
		got := map[string]int{}
		for _, e := range entries {
			got[e.Action]++
			raw, _ := json.Marshal(e)
			for _, secret := range []string{token, "a long password"} {
				if strings.Contains(string(raw), secret) {
					t.Errorf("the audit log holds a secret: %s", raw)
				}
			}
		}
		for action, n := range map[string]int{audit.ActionUserInvited: 4, audit.ActionInvitationResent: 1, audit.ActionInvitationRevoked: 1, audit.ActionUserJoined: 1} {
			if got[action] != n {
				t.Errorf("%d %s entries, want %d", got[action], action, n)
			}
		}
	})
}

// TestPasswordReset: asking never tells whether the email exists; a link
// works once, for an hour, and not for a disabled person; using it ends
// the person's sessions and API tokens.
func TestPasswordReset(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newTeamWorld(t, db, true)
		agent := w.people[user.RoleAgent]
		for _, email := range []string{"nobody@team.test", "not an email"} {
			if err := w.team.RequestPasswordReset(w.ctx, email); err != nil {
				t.Errorf("asking for %q: %v", email, err)
			}
		}
		disabled := w.person(t, user.RoleAgent)
		w.access.SetDisabled(w.ctx, w.people[user.RoleOwner], disabled.ID, true)
		if err := w.team.RequestPasswordReset(w.ctx, disabled.Email); err != nil {
			t.Errorf("asking for a disabled person: %v", err)
		}
		if len(w.queue.args) != 0 {
			t.Fatalf("mail for unknown or disabled people: %d", len(w.queue.args))
		}
		if err := w.team.RequestPasswordReset(w.ctx, strings.ToUpper(agent.Email)); err != nil {
			t.Fatal(err)
		}
		if len(w.queue.args) != 1 {
			t.Fatalf("%d mail jobs, want 1", len(w.queue.args))
		}
		args := w.queue.args[0].(staff.MailArgs)
		token, err := fixtures.Box(t).Open(args.SealedToken)
		if err != nil || args.Mail != staff.MailPasswordReset || args.ShopID != w.shop {
			t.Fatalf("mail job %+v: %v", args, err)
		}

		session, _ := w.users.CreateSession(w.ctx, agent)
		apiToken, _ := w.access.CreateAPIToken(w.ctx, agent, "ci")
		w.now = w.now.Add(staff.ResetLifetime)
		if _, err := w.team.ResetPassword(w.ctx, token, "a new long password"); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("an expired reset link: %v", err)
		}
		w.now = w.now.Add(-time.Minute)
		u, err := w.team.ResetPassword(w.ctx, token, "a new long password")
		if err != nil || u.ID != agent.ID {
			t.Fatalf("reset: %v", err)
		}
		if _, err := w.users.SessionUser(w.ctx, session); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("a session from before the reset: %v", err)
		}
		if _, err := w.users.APITokenUser(w.ctx, apiToken); !errors.Is(err, user.ErrNotFound) {
			t.Errorf("an API token from before the reset: %v", err)
		}
		if _, err := w.users.Authenticate(w.ctx, agent.Email, "a new long password"); err != nil {
			t.Errorf("sign in with the new password: %v", err)
		}
		if _, err := w.team.ResetPassword(w.ctx, token, "yet another password"); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("a reset link used twice: %v", err)
		}

		// Made by an Owner or Admin: shown, not mailed; not for yourself,
		// an owner's only by an owner, never for someone disabled — and a
		// link made before the person was disabled stops working.
		admin, owner := w.people[user.RoleAdmin], w.people[user.RoleOwner]
		for _, c := range []struct {
			actor, target *user.User
			want          error
		}{
			{admin, admin, user.ErrSelf},
			{admin, owner, user.ErrOwnerOnly},
			{admin, disabled, user.ErrDisabled},
			{owner, admin, nil},
		} {
			if _, _, err := w.team.MakeResetLink(w.ctx, c.actor, c.target.ID); !errors.Is(err, c.want) {
				t.Errorf("%s makes a reset link for %s: %v, want %v", c.actor.Role, c.target.Email, err, c.want)
			}
		}
		_, link, err := w.team.MakeResetLink(w.ctx, admin, agent.ID)
		if err != nil || link.Mailed {
			t.Fatalf("reset link: %+v %v", link, err)
		}
		if len(w.queue.args) != 1 {
			t.Errorf("a reset link made by staff was mailed")
		}
		w.access.SetDisabled(w.ctx, owner, agent.ID, true)
		if _, err := w.team.ResetPassword(w.ctx, tokenOf(t, link, staff.ResetPath), "a third long password"); !errors.Is(err, user.ErrLinkInvalid) {
			t.Errorf("a disabled person's reset link: %v", err)
		}

		entries, _, _ := w.log.List(w.ctx, w.shop, audit.Filter{Action: "password."}, database.Page{Limit: 50})
		got := map[string]int{}
		for _, e := range entries {
			got[e.Action]++
			raw, _ := json.Marshal(e)
			if strings.Contains(string(raw), token) || strings.Contains(string(raw), "long password") {
				t.Errorf("the audit log holds a secret: %s", raw)
			}
		}
		if got[audit.ActionPasswordResetRequested] != 3 || got[audit.ActionPasswordReset] != 1 {
			t.Errorf("reset entries: %v", got)
		}
	})
}

// TestNoMailWithoutMailServer: without mail, nothing is enqueued and
// asking for a reset says mail is not set up.
func TestNoMailWithoutMailServer(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newTeamWorld(t, db, false)
		_, link, err := w.team.Invite(w.ctx, w.people[user.RoleOwner], "new@team.test", "", user.RoleAgent)
		if err != nil || link.Mailed || link.URL == "" {
			t.Fatalf("invite: %+v %v", link, err)
		}
		if err := w.team.RequestPasswordReset(w.ctx, w.people[user.RoleAgent].Email); !errors.Is(err, staff.ErrMailNotConfigured) {
			t.Errorf("asking for a reset: %v", err)
		}
		if len(w.queue.args) != 0 {
			t.Errorf("%d mail jobs without a mail server", len(w.queue.args))
		}
	})
}
