package desk_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// TestAgentWorksATicketInTheDesk goes through the real server: an agent
// opens a ticket for a customer, replies, notes, sets it pending, and
// each form answers 303 back to the ticket (a reload posts nothing).
func TestAgentWorksATicketInTheDesk(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		order := app.Order(tn, "1001", "ada@example.com")
		agent := app.LoginAs(tn.Agent)

		status, form, _ := app.Do(agent, "GET", fmt.Sprintf("/tickets/new?order=%d", order.ID), "", "")
		if status != http.StatusOK || !strings.Contains(form, `value="ada@example.com"`) || !strings.Contains(form, `name="order_id" value="`+fmt.Sprint(order.ID)+`"`) {
			t.Fatalf("new ticket form: %d\n%s", status, form)
		}
		status, _, h := post(t, app, agent, "/tickets", url.Values{"customer_email": {"ADA@example.com"}, "subject": {"Your order #1001"},
			"body": {"Hello Ada,\nyour parcel is delayed."}, "order_id": {fmt.Sprint(order.ID)}})
		if status != http.StatusSeeOther || !regexp.MustCompile(`^/tickets/\d+$`).MatchString(h.Get("Location")) {
			t.Fatalf("open ticket: %d %q", status, h.Get("Location"))
		}
		page := h.Get("Location")
		var id int64
		fmt.Sscanf(page, "/tickets/%d", &id)
		tk, err := app.Server.Tickets.Get(context.Background(), tn.Shop.ID, id)
		if err != nil || tk.CustomerID != order.CustomerID || tk.OrderID != order.ID || tk.AssigneeID != tn.Agent.ID || tk.Channel != ticket.ChannelDesk {
			t.Fatalf("the ticket opened = %+v, %v", tk, err)
		}

		// The shopper answers with the history quoted below.
		if _, err := app.Server.Helpdesk.CustomerMessage(context.Background(), tn.Shop.ID, id, helpdesk.Sender{CustomerID: order.CustomerID},
			"Thanks <b>for</b> telling me.\n\nOn Monday, Shop wrote:\n> Hello Ada"); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			path string
			form url.Values
		}{
			{page + "/note", url.Values{"body": {"Warehouse says Friday."}}},
			{page + "/reply", url.Values{"body": {"It leaves on Friday."}}},
			{page + "/status", url.Values{"status": {"pending"}}},
			{page + "/tags", url.Values{"tags": {""}}},
		} {
			status, body, h := post(t, app, agent, step.path, step.form)
			if status != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), page) {
				t.Fatalf("POST %s: %d %q\n%.500s", step.path, status, h.Get("Location"), body)
			}
		}
		_, view, _ := app.Do(agent, "GET", page, "", "")
		for _, want := range []string{
			"Hello Ada,<br>your parcel is delayed.",
			"Thanks &lt;b&gt;for&lt;/b&gt; telling me.", // plain text, never markup
			`<details class="quoted"><summary>Show quoted text</summary>`,
			"&gt; Hello Ada",
			"Warehouse says Friday.", "It leaves on Friday.",
			"message--note", "message--inbound", "message--reply",
			`<option value="pending" selected>Pending</option>`,
			`id="unassign-me"`,
			`id="first-response"`,
			"Orders</dt><dd>1</dd>",
			"ada@example.com",
			`aria-label="Order #1001"`,
		} {
			if !strings.Contains(view, want) {
				t.Errorf("the ticket view lacks %q", want)
			}
		}
		if strings.Contains(view, "<b>for</b>") {
			t.Error("the shopper's text was rendered as HTML")
		}
	})
}

// TestTicketFormsRefuse: what the rules refuse comes back on the ticket
// view with the reason (and the agent's text), nothing changes; another
// shop's ticket is a 404 for every form.
func TestTicketFormsRefuse(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn, other := app.NewTenant("shopa"), app.NewTenant("shopb")
		ctx := context.Background()
		ada := app.Order(tn, "1001", "ada@example.com")
		grace := app.Order(tn, "1002", "grace@example.com")
		open := func(customerID int64, subject string) int64 {
			tk, err := app.Server.Tickets.Create(ctx, tn.Shop.ID, ticket.NewTicket{CustomerID: customerID, Subject: subject, Channel: ticket.ChannelHub, Body: "Hi"})
			if err != nil {
				t.Fatal(err)
			}
			return tk.ID
		}
		adas, graces := open(ada.CustomerID, "Ada's"), open(grace.CustomerID, "Grace's")
		agent, manager := app.LoginAs(tn.Agent), app.LoginAs(tn.Manager)
		page := fmt.Sprintf("/tickets/%d", adas)
		for _, c := range []struct {
			name   string
			client *http.Client
			path   string
			form   url.Values
			status int
			says   string
		}{
			{"empty reply", agent, page + "/reply", url.Values{"body": {"  "}}, 422, "Write a message first."},
			{"agent assigns a colleague", agent, page + "/assign", url.Values{"assignee": {fmt.Sprint(tn.Manager.ID)}}, 403, "only managers assign"},
			{"agent invents a tag", agent, page + "/tags", url.Values{"tags": {"vip"}, "body": {"kept"}}, 403, "only managers create tags"},
			{"merge across customers", agent, page + "/merge", url.Values{"target": {fmt.Sprint(graces)}}, 409, "same customer"},
			{"bad status", manager, page + "/status", url.Values{"status": {"solved"}}, 422, "Choose open, pending or closed."},
			{"disabled assignee", manager, page + "/assign", url.Values{"assignee": {"999999"}}, 422, "cannot be assigned"},
		} {
			status, body, _ := post(t, app, c.client, c.path, c.form)
			if status != c.status || !strings.Contains(body, c.says) || !strings.Contains(body, `id="reply-body"`) {
				t.Errorf("%s: %d, want %d saying %q\n%.300s", c.name, status, c.status, c.says, body)
			}
		}
		tk, _ := app.Server.Tickets.Get(ctx, tn.Shop.ID, adas)
		if tk.AssigneeID != 0 || tk.Status != ticket.StatusOpen {
			t.Errorf("refused changes changed the ticket: %+v", tk)
		}
		foreign := app.LoginAs(other.Owner)
		for _, action := range []string{"reply", "note", "status", "assign", "tags", "merge", "spam", "block"} {
			if status, _, _ := post(t, app, foreign, page+"/"+action, url.Values{"body": {"x"}, "status": {"closed"}}); status != http.StatusNotFound {
				t.Errorf("another shop's owner POST %s: %d", action, status)
			}
		}
		// Merging into another shop's ticket names no ticket of this shop.
		theirs, err := app.Server.Tickets.Create(ctx, other.Shop.ID, ticket.NewTicket{Subject: "Theirs", Channel: ticket.ChannelHub, Body: "Hi"})
		if err != nil {
			t.Fatal(err)
		}
		if status, _, _ := post(t, app, manager, page+"/merge", url.Values{"target": {fmt.Sprint(theirs.ID)}}); status != http.StatusUnprocessableEntity {
			t.Errorf("merge into another shop's ticket: %d", status)
		}
	})
}

// TestAgentTakesAndManagerAssigns: the assignee controls each role sees.
func TestAgentTakesAndManagerAssigns(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		ada := app.Order(tn, "1001", "ada@example.com")
		tk, err := app.Server.Tickets.Create(context.Background(), tn.Shop.ID, ticket.NewTicket{CustomerID: ada.CustomerID, Subject: "Help", Channel: ticket.ChannelHub, Body: "Hi"})
		if err != nil {
			t.Fatal(err)
		}
		page := fmt.Sprintf("/tickets/%d", tk.ID)
		agent, manager := app.LoginAs(tn.Agent), app.LoginAs(tn.Manager)
		_, view, _ := app.Do(agent, "GET", page, "", "")
		if !strings.Contains(view, `id="take-it"`) || strings.Contains(view, `id="assignee-select"`) {
			t.Error("an agent should see Take it and no assignee list")
		}
		if status, _, _ := post(t, app, agent, page+"/assign", url.Values{"assignee": {fmt.Sprint(tn.Agent.ID)}}); status != http.StatusSeeOther {
			t.Fatalf("take it: %d", status)
		}
		_, view, _ = app.Do(agent, "GET", page, "", "")
		if !strings.Contains(view, `id="unassign-me"`) || !strings.Contains(view, tn.Agent.Email) {
			t.Error("after taking it the agent should see Unassign me and their name")
		}
		_, view, _ = app.Do(manager, "GET", page, "", "")
		if !strings.Contains(view, `id="assignee-select"`) || !strings.Contains(view, fmt.Sprintf(`<option value="%d" selected>`, tn.Agent.ID)) {
			t.Error("a manager should see the assignee list with the agent chosen")
		}
		if status, _, _ := post(t, app, manager, page+"/assign", url.Values{"assignee": {fmt.Sprint(tn.Admin.ID)}}); status != http.StatusSeeOther {
			t.Fatalf("manager assigns: %d", status)
		}
		if got, _ := app.Server.Tickets.Get(context.Background(), tn.Shop.ID, tk.ID); got.AssigneeID != tn.Admin.ID {
			t.Errorf("assignee = %d, want the admin", got.AssigneeID)
		}
	})
}
