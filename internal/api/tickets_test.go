package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// TestTicketsAPI: an agent's token opens a ticket for a known customer,
// replies and notes, changes status, assignee and tags, lists and
// searches — every answer validated against openapi.json.
func TestTicketsAPI(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		agentID := f.tenants["a"].Agent.ID
		res := f.do(t, request{method: "POST", url: "/api/v1/tickets", user: "a",
			body: `{"subject":"Your order #1001","customer_email":"ADA@example.com","body":"Hello Ada","order_id":"{o-1001}"}`})
		if res.status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		f.check(t, res.body, map[string]string{"customer_id": "{c-ada}", "order_id": "{o-1001}", "status": "open", "channel": "api",
			"assignee_id": fmt.Sprint(agentID), "requester_email": "ada@example.com", "preview": "Hello Ada", "tags.#": "0", "waiting_since": "<nil>"})
		f.ids["t1"] = int64(get(t, res.body, "id").(float64))

		res = f.do(t, request{method: "POST", url: "/api/v1/tickets/{t1}/messages", user: "a", body: `{"kind":"note","body":"VIP customer"}`})
		if res.status != http.StatusCreated {
			t.Fatalf("note: %d %s", res.status, res.body)
		}
		f.check(t, res.body, map[string]string{"kind": "note", "author_user_id": fmt.Sprint(agentID), "ticket_id": "{t1}"})
		res = f.do(t, request{method: "POST", url: "/api/v1/tickets/{t1}/messages", user: "a", body: `{"kind":"reply","body":"Shipped today"}`})
		if res.status != http.StatusCreated {
			t.Fatalf("reply: %d %s", res.status, res.body)
		}
		res = f.do(t, request{method: "GET", url: "/api/v1/tickets/{t1}/messages?limit=2", user: "a"})
		f.check(t, res.body, map[string]string{"items.#": "2", "items.0.kind": "reply", "items.0.body": "Hello Ada", "items.1.kind": "note"})
		next := get(t, res.body, "next_cursor").(string)
		res = f.do(t, request{method: "GET", url: "/api/v1/tickets/{t1}/messages?cursor=" + next, user: "a"})
		f.check(t, res.body, map[string]string{"items.#": "1", "items.0.body": "Shipped today", "next_cursor": ""})

		// The agent (no tag creation) sets status and gives the ticket up;
		// the manager tags it (creating the tag).
		res = f.do(t, request{method: "PATCH", url: "/api/v1/tickets/{t1}", user: "a", body: `{"status":"pending","assignee_id":null}`})
		if res.status != http.StatusOK {
			t.Fatalf("patch: %d %s", res.status, res.body)
		}
		f.check(t, res.body, map[string]string{"status": "pending", "assignee_id": "<nil>"})
		res = f.do(t, request{method: "PATCH", url: "/api/v1/tickets/{t1}", user: "a-manager", body: `{"tags":["Delivery","vip"]}`})
		f.check(t, res.body, map[string]string{"tags.#": "2", "tags.0": "delivery", "tags.1": "vip", "status": "pending"})

		res = f.do(t, request{method: "GET", url: "/api/v1/tickets/{t1}", user: "a"})
		f.check(t, res.body, map[string]string{"id": "{t1}", "preview": "Shipped today", "tags.1": "vip"})
		if get(t, res.body, "first_response_at") == nil {
			t.Error("first_response_at is not set after the reply")
		}

		res = f.do(t, request{method: "POST", url: "/api/v1/tickets", user: "a", body: `{"subject":"Sizes","customer_email":"new@example.com","body":"Which size?"}`})
		if res.status != http.StatusCreated {
			t.Fatalf("create 2: %d %s", res.status, res.body)
		}
		for _, c := range []struct {
			query string
			count string
		}{
			{"", "2"}, {"?status=pending", "1"}, {"?status=open", "1"}, {"?q=SIZES", "1"}, {"?q=ada@", "1"}, {"?q=nothing-like-it", "0"},
		} {
			res = f.do(t, request{method: "GET", url: "/api/v1/tickets" + c.query, user: "a"})
			if res.status != http.StatusOK || fmt.Sprint(get(t, res.body, "items.#")) != c.count {
				t.Errorf("GET /api/v1/tickets%s: %d, %v items, want %s", c.query, res.status, get(t, res.body, "items.#"), c.count)
			}
		}
		res = f.do(t, request{method: "GET", url: "/api/v1/tickets?limit=1", user: "a"})
		f.check(t, res.body, map[string]string{"items.#": "1", "items.0.subject": "Sizes"})
		if get(t, res.body, "next_cursor") == "" {
			t.Error("no next page after the first of two")
		}

		// An integration brings in a shopper's own message: it waits in the
		// inbox, unassigned, and its first message is the shopper's.
		res = f.do(t, request{method: "POST", url: "/api/v1/tickets", user: "a",
			body: `{"subject":"Broken zip","customer_email":"grace@example.com","customer_name":"Grace Hopper","body":"The zip broke","from":"customer"}`})
		if res.status != http.StatusCreated {
			t.Fatalf("create from the customer: %d %s", res.status, res.body)
		}
		f.check(t, res.body, map[string]string{"assignee_id": "<nil>", "first_response_at": "<nil>", "requester_name": "Grace Hopper"})
		if get(t, res.body, "waiting_since") == nil {
			t.Error("a shopper's ticket from the API is not waiting")
		}
		f.ids["t3"] = int64(get(t, res.body, "id").(float64))
		res = f.do(t, request{method: "GET", url: "/api/v1/tickets/{t3}/messages", user: "a"})
		f.check(t, res.body, map[string]string{"items.#": "1", "items.0.kind": "inbound", "items.0.author_user_id": "<nil>"})
		res = f.do(t, request{method: "POST", url: "/api/v1/tickets", user: "a",
			body: `{"subject":"x","customer_email":"grace@example.com","body":"x","from":"robot"}`})
		if res.status != http.StatusBadRequest {
			t.Errorf("from robot: %d %s", res.status, res.body)
		}
	})
}

// TestTicketsAPIRefuses: validation answers 422 naming the field in the
// error envelope, role rules 403, another shop's ticket 404 — and nothing
// changes.
func TestTicketsAPIRefuses(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		res := f.do(t, request{method: "POST", url: "/api/v1/tickets", user: "a", body: `{"subject":"Hi","customer_email":"grace@example.com","body":"Hello"}`})
		if res.status != http.StatusCreated {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		f.ids["t1"] = int64(get(t, res.body, "id").(float64))
		res = f.do(t, request{method: "POST", url: "/api/v1/tickets", user: "b", body: `{"subject":"Hi","customer_email":"bob@example.com","body":"Hello"}`})
		f.ids["tb"] = int64(get(t, res.body, "id").(float64))
		managerB := f.tenants["a"].Manager.ID

		for _, c := range []struct {
			name, method, url, user, body string
			status                        int
			code, field                   string
		}{
			{"no email", "POST", "/api/v1/tickets", "a", `{"subject":"Hi","body":"x"}`, 422, "invalid_request", "customer_email"},
			{"no subject", "POST", "/api/v1/tickets", "a", `{"customer_email":"x@example.com","body":"x"}`, 422, "invalid_request", "subject"},
			{"no body", "POST", "/api/v1/tickets", "a", `{"customer_email":"x@example.com","subject":"x"}`, 422, "invalid_request", "body"},
			{"another shop's order", "POST", "/api/v1/tickets", "b", `{"customer_email":"x@example.com","subject":"x","body":"x","order_id":"{o-1001}"}`, 422, "invalid_request", "order_id"},
			{"unknown field", "POST", "/api/v1/tickets", "a", `{"customer_email":"x@example.com","subject":"x","body":"x","priority":1}`, 400, "invalid_request", "priority"},
			{"bad status", "PATCH", "/api/v1/tickets/{t1}", "a", `{"status":"solved"}`, 422, "invalid_request", "status"},
			{"assignee wrong type", "PATCH", "/api/v1/tickets/{t1}", "a", `{"assignee_id":"me"}`, 400, "invalid_request", "assignee_id"},
			{"agent assigns a colleague", "PATCH", "/api/v1/tickets/{t1}", "a", fmt.Sprintf(`{"assignee_id":%d}`, managerB), 403, "forbidden", ""},
			{"agent creates a tag", "PATCH", "/api/v1/tickets/{t1}", "a", `{"tags":["vip"]}`, 403, "forbidden", ""},
			{"assignee of another shop", "PATCH", "/api/v1/tickets/{t1}", "a-manager", fmt.Sprintf(`{"assignee_id":%d}`, f.tenants["b"].Agent.ID), 422, "invalid_request", "assignee_id"},
			{"bad kind", "POST", "/api/v1/tickets/{t1}/messages", "a", `{"kind":"inbound","body":"x"}`, 422, "invalid_request", "kind"},
			{"empty message", "POST", "/api/v1/tickets/{t1}/messages", "a", `{"kind":"reply","body":"  "}`, 422, "invalid_request", "body"},
			{"status filter", "GET", "/api/v1/tickets?status=solved", "a", "", 400, "invalid_request", "status"},
			{"another shop's ticket", "GET", "/api/v1/tickets/{tb}", "a", "", 404, "not_found", ""},
			{"another shop's messages", "GET", "/api/v1/tickets/{tb}/messages", "a", "", 404, "not_found", ""},
			{"patch another shop's", "PATCH", "/api/v1/tickets/{tb}", "a-manager", `{"status":"closed"}`, 404, "not_found", ""},
			{"write into another shop's", "POST", "/api/v1/tickets/{tb}/messages", "a", `{"kind":"note","body":"x"}`, 404, "not_found", ""},
			{"not an id", "GET", "/api/v1/tickets/abc", "a", "", 404, "not_found", ""},
		} {
			res := f.do(t, request{method: c.method, url: c.url, user: c.user, body: c.body})
			if res.status != c.status {
				t.Errorf("%s: %d, want %d\n%s", c.name, res.status, c.status, res.body)
				continue
			}
			f.check(t, res.body, map[string]string{"error.code": c.code})
			if c.field != "" {
				f.check(t, res.body, map[string]string{"error.field": c.field})
			}
		}
		res = f.do(t, request{method: "GET", url: "/api/v1/tickets/{t1}", user: "a"})
		f.check(t, res.body, map[string]string{"status": "open", "tags.#": "0"})
		res = f.do(t, request{method: "GET", url: "/api/v1/tickets/{t1}/messages", user: "a"})
		f.check(t, res.body, map[string]string{"items.#": "1"})
		res = f.do(t, request{method: "GET", url: "/api/v1/tickets/{tb}", user: "b"})
		f.check(t, res.body, map[string]string{"status": "open"})
		if strings.Contains(f.logs.String(), "level=ERROR") {
			t.Errorf("a refusal was logged as an error:\n%s", f.logs.String())
		}
	})
}
