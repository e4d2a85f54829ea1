package helpdesk_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// process is what one hubdesk process holds for the ticket view: the
// stores whose caches the view reads through, and the viewer.
type process struct {
	viewer *helpdesk.Viewer
	shops  *shop.Store
	users  *user.Store
	macros *macro.Macros
	// statements is how many the last view's batch ran.
	statements int
}

// process is a hubdesk process over w's database: the world's own ticket
// and user stores (through which its use cases change things), with a
// shop and a macro store of its own.
func (w *world) process() *process {
	p := &process{shops: shop.NewStore(w.db, fixtures.Box(w.t)), users: w.users,
		macros: macro.New(w.db, macro.NewStore(w.db, w.clock.Now), audit.New(w.db), w.tickets, w.commerce)}
	p.viewer = &helpdesk.Viewer{DB: w.db, Tickets: w.tickets, Shops: p.shops, Macros: p.macros, Users: p.users}
	p.viewer.OnBatch(func(b *database.Batch) { p.statements = batchReads(b) })
	return p
}

// batchReads counts the statements queued in b: what it will send the
// database (in one round trip on PostgreSQL).
func batchReads(b *database.Batch) int {
	return reflect.ValueOf(b).Elem().FieldByName("reads").Len()
}

func (p *process) open(t *testing.T, u *user.User, ticketID int64) *helpdesk.View {
	t.Helper()
	v, err := p.viewer.Open(context.Background(), u, ticketID, false)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestViewerCachesShopLists: the shop, its tags, macros and staff are the
// same on every ticket, so once read a view reads them no more — four
// statements fewer — until a change made in this process, which shows on
// the very next view; another process's change shows within the caches'
// TTL; and one shop's lists never show on another's tickets.
func TestViewerCachesShopLists(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		agent, manager := w.people["agent"], w.people["manager"]
		p := w.process()
		tk := w.fromShopper(w.ada, "Where is my parcel")

		cold := p.open(t, agent, tk.ID)
		coldStatements := p.statements
		warm := p.open(t, agent, tk.ID)
		if saved := coldStatements - p.statements; saved != 4 {
			t.Errorf("a warm view ran %d statements, a cold one %d: want 4 fewer", p.statements, coldStatements)
		}
		// The page's budget: each statement costs PostgreSQL about as
		// much again as the reading it does.
		if p.statements > 12 {
			t.Errorf("a warm view ran %d statements, budget 12", p.statements)
		}
		if warm.Shop.ID != w.shop || len(warm.People) != 6 || !reflect.DeepEqual(warm.People, cold.People) {
			t.Errorf("the warm view shows shop %d and %d people", warm.Shop.ID, len(warm.People))
		}
		warmStatements := p.statements

		// Tags made on a ticket: the next view lists them, and the
		// ticket's own come with its row.
		names := []string{`a "quoted" tag`, "vip", "zoë"}
		if _, err := w.hd.SetTags(ctx, manager, tk.ID, names); err != nil {
			t.Fatal(err)
		}
		v := p.open(t, agent, tk.ID)
		if len(v.AllTags) != 3 || v.AllTags[1].Name != "vip" {
			t.Errorf("after tags were made the view lists %v", v.AllTags)
		}
		if !reflect.DeepEqual(v.Tags, v.AllTags) {
			t.Errorf("the ticket's tags are %v, want %v", v.Tags, v.AllTags)
		}
		if p.open(t, agent, w.fromShopper(w.grace, "Untagged").ID).Tags != nil {
			t.Error("an untagged ticket shows tags")
		}

		// Macros made, renamed, deleted.
		m, err := p.macros.Create(ctx, manager, macro.Input{Name: "Thanks", Body: "Thank you!"})
		if err != nil {
			t.Fatal(err)
		}
		if v := p.open(t, agent, tk.ID); len(v.Macros) != 1 || v.Macros[0].Name != "Thanks" {
			t.Errorf("after a macro was made the view lists %v", v.Macros)
		}
		if _, err := p.macros.Update(ctx, manager, m.ID, macro.Input{Name: "Thank you", Body: "Thank you!"}); err != nil {
			t.Fatal(err)
		}
		if v := p.open(t, agent, tk.ID); len(v.Macros) != 1 || v.Macros[0].Name != "Thank you" {
			t.Errorf("after a macro was renamed the view lists %v", v.Macros)
		}
		if err := p.macros.Delete(ctx, manager, m.ID); err != nil {
			t.Fatal(err)
		}
		if v := p.open(t, agent, tk.ID); len(v.Macros) != 0 {
			t.Errorf("after a macro was deleted the view lists %v", v.Macros)
		}

		// Staff invited, disabled, given another role — in a use case's
		// transaction too.
		hire, err := w.users.Create(ctx, user.NewUser{ShopID: w.shop, Email: "hire@staff.test", Name: "Hire", Role: user.RoleAgent,
			Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		person := func(v *helpdesk.View, id int64) *user.User {
			for _, u := range v.People {
				if u.ID == id {
					return u
				}
			}
			return nil
		}
		if v := p.open(t, agent, tk.ID); person(v, hire.ID) == nil {
			t.Error("after an invitation the view does not list the new agent")
		}
		if err := db.InTx(ctx, func(tx *database.Tx) error {
			return w.users.With(tx).SetRole(ctx, w.shop, hire.ID, user.RoleManager)
		}); err != nil {
			t.Fatal(err)
		}
		if u := person(p.open(t, agent, tk.ID), hire.ID); u == nil || u.Role != user.RoleManager {
			t.Errorf("after a role change the view shows %+v", u)
		}
		if err := w.users.SetDisabled(ctx, w.shop, hire.ID, true); err != nil {
			t.Fatal(err)
		}
		if u := person(p.open(t, agent, tk.ID), hire.ID); u == nil || u.DisabledAt == nil {
			t.Errorf("after disabling the view shows %+v", u)
		}

		// The shop's storefront domains reported.
		if _, err := p.shops.SetStorefrontDomains(ctx, w.shop, "shop.example.com", nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		if v := p.open(t, agent, tk.ID); v.Shop.PrimaryDomain != "shop.example.com" {
			t.Errorf("after the domains were reported the view shows %+v", v.Shop)
		}

		// Changes that were not these lists' leave them cached.
		p.open(t, agent, tk.ID)
		if p.statements != warmStatements {
			t.Errorf("a warm view ran %d statements, %d before", p.statements, warmStatements)
		}

		// Another process's change (here written past this one's stores)
		// shows once the TTL has passed.
		if _, err := db.Exec(ctx, `UPDATE users SET name = 'Renamed' WHERE shop_id = ? AND id = ?`, w.shop, hire.ID); err != nil {
			t.Fatal(err)
		}
		if u := person(p.open(t, agent, tk.ID), hire.ID); u == nil || u.Name != "Hire" {
			t.Errorf("within the TTL the view read the staff again: %+v", u)
		}
		time.Sleep(user.CacheTTL)
		if u := person(p.open(t, agent, tk.ID), hire.ID); u == nil || u.Name != "Renamed" {
			t.Errorf("past the TTL the view shows %+v", u)
		}

		// Another shop's ticket, opened while this shop's lists are held,
		// shows that shop's own.
		foreign := w.people["foreign"]
		theirs, err := w.tickets.Create(ctx, w.other, ticket.NewTicket{RequesterEmail: "x@example.com", Subject: "Hi", Channel: ticket.ChannelHub,
			Author: ticket.AuthorCustomer, Body: "Hello"})
		if err != nil {
			t.Fatal(err)
		}
		p.open(t, agent, tk.ID)
		for range 2 { // cold, then warm
			v := p.open(t, foreign, theirs.ID)
			ids := []int64{}
			for _, u := range v.People {
				ids = append(ids, u.ID)
			}
			if v.Shop.ID != w.other || !slices.Equal(ids, []int64{foreign.ID}) || len(v.AllTags) != 0 || len(v.Macros) != 0 {
				t.Errorf("the other shop's view shows shop %d, people %v, tags %v, macros %v", v.Shop.ID, ids, v.AllTags, v.Macros)
			}
		}
		if _, err := p.viewer.Open(ctx, foreign, tk.ID, false); err == nil {
			t.Error("another shop's agent opened the ticket")
		}
	})
}
