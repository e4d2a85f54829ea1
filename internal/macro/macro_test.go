package macro_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

func TestExpand(t *testing.T) {
	full := macro.MacroContext{CustomerFirstName: "Ada", OrderName: "#1001", OrderTrackingURL: "https://track.example/1?a=1&b=<2>", AgentFirstName: "Grace"}
	for _, c := range []struct {
		name, body string
		ctx        macro.MacroContext
		want       string
	}{
		{"every placeholder", "Hi {{customer.first_name}}, {{order.name}}: {{order.tracking_url}} — {{agent.first_name}}", full,
			"Hi Ada, #1001: https://track.example/1?a=1&b=<2> — Grace"},
		{"spaces inside the braces", "Hi {{ customer.first_name }}!", full, "Hi Ada!"},
		{"missing value", "Hi {{customer.first_name}}!", macro.MacroContext{}, "Hi !"},
		{"fallback when missing", "Hi {{customer.first_name|there}}!", macro.MacroContext{}, "Hi there!"},
		{"fallback with spaces", "Hi {{ customer.first_name | dear customer }}!", macro.MacroContext{}, "Hi dear customer!"},
		{"fallback unused when present", "Hi {{customer.first_name|there}}!", full, "Hi Ada!"},
		{"empty fallback", "Track: {{order.tracking_url|}}.", macro.MacroContext{}, "Track: ."},
		{"unknown name stays", "Hi {{customer.last_name}} {{customer.first_name}}", full, "Hi {{customer.last_name}} Ada"},
		{"unknown with fallback stays", "{{shop.name|us}}", full, "{{shop.name|us}}"},
		{"template dot stays", "{{.}} {{ . }}", full, "{{.}} {{ . }}"},
		{"template functions stay", `{{printf "%s" .}} {{template "x"}} {{range .}}{{end}} {{call .F}}`, full,
			`{{printf "%s" .}} {{template "x"}} {{range .}}{{end}} {{call .F}}`},
		{"field syntax stays", "{{.Customer.FirstName}} {{customer.FirstName}}", full, "{{.Customer.FirstName}} {{customer.FirstName}}"},
		{"unclosed", "Hi {{customer.first_name", full, "Hi {{customer.first_name"},
		{"single braces", "Hi {customer.first_name}", full, "Hi {customer.first_name}"},
		{"across lines", "{{customer.\nfirst_name}} {{customer.first_name|a\nb}}", full, "{{customer.\nfirst_name}} {{customer.first_name|a\nb}}"},
		{"nested braces", "{{{customer.first_name}}}", full, "{Ada}"},
		{"value not expanded again", "Hi {{customer.first_name}}", macro.MacroContext{CustomerFirstName: "{{agent.first_name}}", AgentFirstName: "Grace"},
			"Hi {{agent.first_name}}"},
		{"fallback not expanded", "{{customer.first_name|{{agent.first_name}}}}", macro.MacroContext{AgentFirstName: "Grace"},
			"{{customer.first_name|Grace}}"},
		{"html inserted as text", "Hi {{customer.first_name}}", macro.MacroContext{CustomerFirstName: "<b>Ada</b>"}, "Hi <b>Ada</b>"},
		{"no placeholders", "Thanks!", full, "Thanks!"},
	} {
		if got := macro.Expand(c.body, c.ctx); got != c.want {
			t.Errorf("%s: Expand(%q) = %q, want %q", c.name, c.body, got, c.want)
		}
	}
}

func TestUnknownPlaceholders(t *testing.T) {
	got := macro.UnknownPlaceholders("{{customer.first_name}} {{customer.last_name}} {{shop.name|us}} {{customer.last_name}} {{.}}")
	if strings.Join(got, " ") != "{{customer.last_name}} {{shop.name|us}}" {
		t.Errorf("UnknownPlaceholders = %q", got)
	}
	for _, m := range macro.DefaultMacros() {
		if u := macro.UnknownPlaceholders(m.Body); len(u) != 0 || m.Name == "" {
			t.Errorf("default macro %q uses unknown placeholders %q", m.Name, u)
		}
	}
}

func TestContextFor(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	order := &commerce.Order{Name: "#1001", Fulfillments: []commerce.Fulfillment{
		{Status: "success", TrackingURL: "https://track.example/old", CreatedAt: day},
		{Status: "success", TrackingURL: "https://track.example/latest", CreatedAt: day.Add(48 * time.Hour)},
		{Status: "cancelled", TrackingURL: "https://track.example/cancelled", CreatedAt: day.Add(72 * time.Hour)},
		{Status: "success", CreatedAt: day.Add(96 * time.Hour)}, // no link yet
	}}
	got := macro.ContextFor(&commerce.Customer{FirstName: " Ada "}, "Someone Else", order, &user.User{Name: "Grace Hopper"})
	want := macro.MacroContext{CustomerFirstName: "Ada", OrderName: "#1001", OrderTrackingURL: "https://track.example/latest", AgentFirstName: "Grace"}
	if got != want {
		t.Errorf("ContextFor = %+v, want %+v", got, want)
	}
	if got := macro.ContextFor(nil, "Linus Torvalds", nil, &user.User{Email: "a@example.com"}); got != (macro.MacroContext{CustomerFirstName: "Linus"}) {
		t.Errorf("without customer, order and agent name: %+v", got)
	}
}

func TestStore(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		a, b := fixtures.Shop(t, db, "shopa"), fixtures.Shop(t, db, "shopb")
		store := macro.NewStore(db, nil)
		m, err := store.Create(ctx, a.ID, macro.Input{Name: "  Where   is my order ", Body: "\r\nHi {{customer.first_name}}\r\n"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Name != "Where is my order" || m.Body != "Hi {{customer.first_name}}" {
			t.Errorf("stored %q / %q", m.Name, m.Body)
		}
		if _, err := store.Create(ctx, b.ID, macro.Input{Name: "Where is my order", Body: "Hello"}); err != nil {
			t.Errorf("the same name in another shop: %v", err)
		}
		var invalid *macro.ValidationError
		for _, c := range []struct {
			in    macro.Input
			field string
		}{
			{macro.Input{Name: "Where is my order", Body: "Again"}, "name"},
			{macro.Input{Name: " ", Body: "x"}, "name"},
			{macro.Input{Name: strings.Repeat("n", macro.MaxNameRunes+1), Body: "x"}, "name"},
			{macro.Input{Name: "Empty", Body: " \n "}, "body"},
			{macro.Input{Name: "Long", Body: strings.Repeat("é", macro.MaxBodyRunes+1)}, "body"},
		} {
			if _, err := store.Create(ctx, a.ID, c.in); !errors.As(err, &invalid) || invalid.Field != c.field {
				t.Errorf("Create(%.40q): %v, want a refusal of %s", c.in.Name, err, c.field)
			}
		}
		if _, err := store.Create(ctx, a.ID, macro.Input{Name: "Longest", Body: strings.Repeat("é", macro.MaxBodyRunes)}); err != nil {
			t.Errorf("a body at the limit: %v", err)
		}
		other, err := store.Create(ctx, a.ID, macro.Input{Name: "Refund issued", Body: "Done"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Update(ctx, a.ID, other.ID, macro.Input{Name: "Where is my order", Body: "x"}); !errors.As(err, &invalid) || invalid.Field != "name" {
			t.Errorf("renaming onto a taken name: %v", err)
		}
		if _, err := store.Update(ctx, a.ID, other.ID, macro.Input{Name: "Refund sent", Body: "Sent"}); err != nil {
			t.Errorf("rename: %v", err)
		}

		for _, op := range []func() error{
			func() error { _, err := store.Get(ctx, b.ID, m.ID); return err },
			func() error {
				_, err := store.Update(ctx, b.ID, m.ID, macro.Input{Name: "Mine", Body: "x"})
				return err
			},
			func() error { _, err := store.Delete(ctx, b.ID, m.ID); return err },
		} {
			if err := op(); !errors.Is(err, macro.ErrNotFound) {
				t.Errorf("another shop reaches shop A's macro: %v", err)
			}
		}
		list, err := store.List(ctx, a.ID)
		if err != nil || len(list) != 3 || list[0].Name != "Longest" || list[2].Name != "Where is my order" {
			t.Errorf("List = %d macros, %v", len(list), err)
		}
		if _, err := store.Delete(ctx, a.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Get(ctx, a.ID, m.ID); !errors.Is(err, macro.ErrNotFound) {
			t.Errorf("deleted macro: %v", err)
		}
	})
}

// TestChangesNeedManagersAndAreAudited: agents may not change macros;
// every change by a manager is in the audit log with the macro's name, and
// a refused change records nothing.
func TestChangesNeedManagersAndAreAudited(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		sh := fixtures.Shop(t, db, "shopa")
		users := user.NewStore(db)
		person := func(role user.Role) *user.User {
			u, err := users.Create(ctx, user.NewUser{ShopID: sh.ID, Email: string(role) + "@shopa.test", Role: role, Password: "correct horse battery"})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		agent, manager, owner := person(user.RoleAgent), person(user.RoleManager), person(user.RoleOwner)
		log := audit.New(db)
		macros := macro.New(db, macro.NewStore(db, nil), log, ticket.NewStore(db, nil), commerce.NewStore(db))

		if _, err := macros.Create(ctx, agent, macro.Input{Name: "Mine", Body: "Hi"}); !errors.Is(err, macro.ErrForbidden) {
			t.Errorf("an agent creates a macro: %v", err)
		}
		m, err := macros.Create(ctx, manager, macro.Input{Name: "Where is my order", Body: "Hi"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := macros.Update(ctx, agent, m.ID, macro.Input{Name: "Mine", Body: "Hi"}); !errors.Is(err, macro.ErrForbidden) {
			t.Errorf("an agent edits a macro: %v", err)
		}
		if err := macros.Delete(ctx, agent, m.ID); !errors.Is(err, macro.ErrForbidden) {
			t.Errorf("an agent deletes a macro: %v", err)
		}
		if _, err := macros.Create(ctx, owner, macro.Input{Name: "Where is my order", Body: "Again"}); err == nil {
			t.Error("a taken name was accepted")
		}
		if _, err := macros.Update(ctx, owner, m.ID, macro.Input{Name: "Where is it", Body: "Hi there"}); err != nil {
			t.Fatal(err)
		}
		if err := macros.Delete(ctx, manager, m.ID); err != nil {
			t.Fatal(err)
		}
		if list, _ := macros.List(ctx, sh.ID); len(list) != 0 {
			t.Errorf("left after delete: %d", len(list))
		}

		entries, _, err := log.List(ctx, sh.ID, audit.Filter{Action: "macro."}, database.Page{})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct{ action, actor, subject string }{
			{audit.ActionMacroDeleted, manager.Email, "Where is it"},
			{audit.ActionMacroUpdated, owner.Email, "Where is it"},
			{audit.ActionMacroCreated, manager.Email, "Where is my order"},
		}
		if len(entries) != len(want) {
			t.Fatalf("%d audit entries, want %d: %+v", len(entries), len(want), entries)
		}
		for i, w := range want {
			e := entries[i]
			if e.Action != w.action || e.Actor.Label != w.actor || e.Subject != w.subject || e.Details["macro_id"] != float64(m.ID) {
				t.Errorf("entry %d = %s by %s on %q %v, want %s by %s on %q", i, e.Action, e.Actor.Label, e.Subject, e.Details, w.action, w.actor, w.subject)
			}
		}
	})
}
