package desk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// TestExpandedMacroForTicket: the reply box's JSON gets the macro filled
// for the ticket — its customer, its order's name and latest tracking
// link, the agent asking — and never another shop's macro or ticket.
func TestExpandedMacroForTicket(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		app := testapp.New(t, db)
		a, b := app.NewTenant("shopa"), app.NewTenant("shopb")
		shipped := time.Now().UTC().Truncate(time.Second).Add(-72 * time.Hour)
		order := app.Ingest(a.Shop.ID, commerce.Order{ExternalID: "1001", Name: "#1001", Currency: "EUR", TotalMinor: 4900, CreatedAt: shipped, UpdatedAt: shipped,
			Fulfillments: []commerce.Fulfillment{
				{ExternalID: "f1", Status: "success", TrackingURL: "https://track.example/first", CreatedAt: shipped, UpdatedAt: shipped},
				{ExternalID: "f2", Status: "success", TrackingURL: "https://track.example/second?id=2&x=<y>", CreatedAt: shipped.Add(time.Hour), UpdatedAt: shipped.Add(time.Hour)},
			}}, &commerce.Customer{ExternalID: "c-1", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"})
		withOrder, err := app.Server.Tickets.Create(ctx, a.Shop.ID, ticket.NewTicket{CustomerID: order.CustomerID, OrderID: order.ID,
			Subject: "Where is it?", Channel: ticket.ChannelHub, Body: "Still waiting."})
		if err != nil {
			t.Fatal(err)
		}
		bare, err := app.Server.Tickets.Create(ctx, a.Shop.ID, ticket.NewTicket{RequesterEmail: "x@example.com", Subject: "Hello", Channel: ticket.ChannelEmail, Body: "Hi"})
		if err != nil {
			t.Fatal(err)
		}
		foreignTicket, err := app.Server.Tickets.Create(ctx, b.Shop.ID, ticket.NewTicket{Subject: "Hello", Channel: ticket.ChannelHub, Body: "Hi"})
		if err != nil {
			t.Fatal(err)
		}
		agent, err := app.Server.Users.Create(ctx, user.NewUser{ShopID: a.Shop.ID, Email: "grace@shopa.test", Name: "Grace Hopper", Role: user.RoleAgent, Password: testapp.Password})
		if err != nil {
			t.Fatal(err)
		}
		body := "Hi {{customer.first_name|there}}, {{order.name}} ships: {{order.tracking_url|soon}}. {{agent.first_name}} {{.}} {{printf \"%v\" .}} {{customer.email}}"
		m, err := app.Server.Macros.Create(ctx, a.Manager, macro.Input{Name: "Where is my order", Body: body})
		if err != nil {
			t.Fatal(err)
		}
		foreignMacro, err := app.Server.Macros.Create(ctx, b.Manager, macro.Input{Name: "Where is my order", Body: "Theirs"})
		if err != nil {
			t.Fatal(err)
		}
		client := app.LoginAs(agent)
		for _, c := range []struct {
			name     string
			ticket   int64
			macro    int64
			status   int
			expanded string
		}{
			{"customer, order, shipment", withOrder.ID, m.ID, 200,
				"Hi Ada, #1001 ships: https://track.example/second?id=2&x=<y>. Grace {{.}} {{printf \"%v\" .}} {{customer.email}}"},
			{"no customer, no order", bare.ID, m.ID, 200, "Hi there,  ships: soon. Grace {{.}} {{printf \"%v\" .}} {{customer.email}}"},
			{"another shop's macro", withOrder.ID, foreignMacro.ID, 404, ""},
			{"another shop's ticket", foreignTicket.ID, m.ID, 404, ""},
			{"no such macro", withOrder.ID, m.ID + 1000, 404, ""},
		} {
			status, raw, h := app.Do(client, "GET", fmt.Sprintf("/tickets/%d/macros/%d/expanded", c.ticket, c.macro), "", "")
			if status != c.status {
				t.Errorf("%s: %d, want %d: %s", c.name, status, c.status, raw)
				continue
			}
			if c.status != 200 {
				continue
			}
			var got struct {
				Body string `json:"body"`
			}
			if err := json.Unmarshal([]byte(raw), &got); err != nil || h.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %v, %s: %s", c.name, err, h.Get("Content-Type"), raw)
			}
			if got.Body != c.expanded {
				t.Errorf("%s:\n got %q\nwant %q", c.name, got.Body, c.expanded)
			}
		}
	})
}

// TestMacroSettingsPages: a manager creates, edits and deletes macros on
// Settings → Macros; a taken name is refused with the form kept; an agent
// may not open the page.
func TestMacroSettingsPages(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		manager := app.LoginAs(tn.Manager)
		post := func(path string, form url.Values) (int, string) {
			resp, err := manager.PostForm(app.URL+path, form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			// A redirect is judged by where it goes, a page by its text.
			return resp.StatusCode, resp.Header.Get("Location") + string(body)
		}
		status, loc := post("/settings/macros", url.Values{"name": {"Where is my order"}, "body": {"Hi {{customer.first_name|there}} {{shop.name}}"}})
		if status != http.StatusSeeOther || loc != "/settings/macros?saved=1" {
			t.Fatalf("create: %d %s", status, loc)
		}
		status, page, _ := app.Do(manager, "GET", "/settings/macros?saved=1", "", "")
		if status != 200 || !strings.Contains(page, "Where is my order") || !strings.Contains(page, "Macro saved.") ||
			!strings.Contains(page, "<code>{{shop.name}}</code>") || !strings.Contains(page, "<code>{{customer.first_name}}</code>") {
			t.Errorf("list after create: %d\n%s", status, page)
		}
		status, page = post("/settings/macros", url.Values{"name": {"Where is my order"}, "body": {"Twice"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, "The name is already used by another macro.") || !strings.Contains(page, ">Twice</textarea>") {
			t.Errorf("a taken name: %d\n%s", status, page)
		}
		list, err := app.Server.Macros.List(context.Background(), tn.Shop.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("macros: %d, %v", len(list), err)
		}
		id := list[0].ID
		if status, page, _ := app.Do(manager, "GET", fmt.Sprintf("/settings/macros/%d", id), "", ""); status != 200 ||
			!strings.Contains(page, fmt.Sprintf(`action="/settings/macros/%d"`, id)) {
			t.Errorf("edit form: %d", status)
		}
		if status, _ := post(fmt.Sprintf("/settings/macros/%d", id), url.Values{"name": {"Where is it"}, "body": {"Hello"}}); status != http.StatusSeeOther {
			t.Errorf("update: %d", status)
		}
		if m, _ := app.Server.Macros.Get(context.Background(), tn.Shop.ID, id); m == nil || m.Name != "Where is it" || m.Body != "Hello" {
			t.Errorf("after update: %+v", m)
		}
		if status, loc := post(fmt.Sprintf("/settings/macros/%d/delete", id), nil); status != http.StatusSeeOther || loc != "/settings/macros?deleted=1" {
			t.Errorf("delete: %d %s", status, loc)
		}
		if status, _ := post(fmt.Sprintf("/settings/macros/%d/delete", id), nil); status != http.StatusNotFound {
			t.Errorf("delete again: %d, want 404", status)
		}
		if status, _, _ := app.Do(app.LoginAs(tn.Agent), "GET", "/settings/macros", "", ""); status != http.StatusForbidden {
			t.Errorf("an agent opens Settings → Macros: %d", status)
		}
	})
}
