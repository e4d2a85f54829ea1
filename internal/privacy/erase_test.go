package privacy_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// person is a shopper the test seeds everywhere hubdesk keeps shoppers.
type person struct {
	id, email, first, last, phone, street, message, orderID string
}

var (
	ada = person{id: "7001", email: "ada.lovelace@example.com", first: "Ada", last: "Lovelace", phone: "+44 20 7946 0001",
		street: "12 Analytical Engine Row", message: "my difference engine parcel never came", orderID: "9000000000001"}
	bob = person{id: "7002", email: "bob.babbage@example.com", first: "Bob", last: "Babbage", phone: "+44 20 7946 0002",
		street: "3 Calculating Lane", message: "where are my punch cards", orderID: "9000000000002"}
)

// needles are what must be gone once the person is erased.
func (p person) needles() []string {
	return []string{p.email, p.first + " " + p.last, p.last, p.phone, p.street, p.message}
}

type world struct {
	t   *testing.T
	app *testapp.App
	tn  *testapp.Tenant
	db  *database.DB
	n   int
}

func (w *world) deliver(topic, body string) {
	w.t.Helper()
	w.n++
	req, _ := http.NewRequest(http.MethodPost, w.app.URL+"/webhooks/shopify", strings.NewReader(body))
	req.Header.Set(shopify.HeaderShopDomain, w.tn.Shop.Domain)
	req.Header.Set(shopify.HeaderTopic, topic)
	req.Header.Set(shopify.HeaderWebhookID, fmt.Sprint("w-", w.n))
	req.Header.Set(shopify.HeaderEventID, fmt.Sprint("e-", w.n))
	req.Header.Set(shopify.HeaderHmac, shopify.SignWebhook([]byte(body), w.tn.Shop.Name+"-client-secret"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		w.t.Fatalf("%s: %d", topic, resp.StatusCode)
	}
	jobstest.Eventually(w.t, topic+" processed", func() bool {
		var n int
		w.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM webhook_events WHERE provider = 'shopify' AND processed_at IS NULL AND error = ''`).Scan(&n)
		return n == 0
	})
	var failed string
	w.db.QueryRow(context.Background(), `SELECT COALESCE(MAX(error), '') FROM webhook_events WHERE provider = 'shopify'`).Scan(&failed)
	if failed != "" {
		w.t.Fatalf("%s failed: %s", topic, failed)
	}
}

func (w *world) api(method, path, body string, user any) string {
	w.t.Helper()
	code, out, _ := w.app.Do(nil, method, path, w.app.Token(w.tn.Agent), body)
	if code >= 300 {
		w.t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
	return out
}

// seed puts p in every place a shopper's data lands: the platform's
// customer and order (by webhook, so the events keep their bodies), a
// conversation with a reply and a note, a return, an audit entry, the
// block list, and a data request's export.
func (w *world) seed(p person) {
	ctx := context.Background()
	w.deliver(shopify.TopicOrdersCreate, `{"id":`+p.orderID+`,"admin_graphql_api_id":"gid://shopify/Order/`+p.orderID+`","name":"#`+p.orderID[len(p.orderID)-4:]+`",
		"email":"`+p.email+`","phone":"`+p.phone+`","created_at":"2026-11-30T09:00:00Z","updated_at":"2026-11-30T09:00:00Z","currency":"GBP",
		"total_price":"20.00","shipping_address":{"first_name":"`+p.first+`","last_name":"`+p.last+`","address1":"`+p.street+`","city":"London","phone":"`+p.phone+`"},
		"customer":{"id":`+p.id+`,"admin_graphql_api_id":"gid://shopify/Customer/`+p.id+`","email":"`+p.email+`","first_name":"`+p.first+`","last_name":"`+p.last+`",
		 "phone":"`+p.phone+`","updated_at":"2026-11-30T09:00:00Z","default_address":{"first_name":"`+p.first+`","last_name":"`+p.last+`","address1":"`+p.street+`","phone":"`+p.phone+`"}},
		"line_items":[{"id":1`+p.id+`,"title":"Punched card","quantity":1,"price":"20.00"}]}`)
	o, err := w.app.Server.Commerce.OrderByExternalID(ctx, w.tn.Shop.ID, p.orderID)
	if err != nil {
		w.t.Fatal(err)
	}
	ticket := w.api(http.MethodPost, "/api/v1/tickets", `{"subject":"Parcel for `+p.first+` `+p.last+`","customer_email":"`+p.email+`","body":"`+p.message+`"}`, nil)
	id := ticketID(w.t, ticket)
	w.api(http.MethodPost, fmt.Sprintf("/api/v1/tickets/%d/messages", id), `{"kind":"reply","body":"Sorry `+p.first+` `+p.last+`, we are sending it to `+p.street+` again."}`, nil)
	w.api(http.MethodPost, fmt.Sprintf("/api/v1/tickets/%d/messages", id), `{"kind":"note","body":"Called `+p.phone+`"}`, nil)
	if _, err := w.app.Server.Returns.Upsert(ctx, w.tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop, ExternalID: "r-" + p.id,
		OrderName: o.Name, OrderExternalID: p.orderID, State: returns.StateOpen, Carrier: "Royal Mail", TrackingNumber: "RM" + p.id,
		CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		w.t.Fatal(err)
	}
	if err := w.app.Server.Audit.Record(ctx, w.tn.Shop.ID, audit.Entry{Actor: audit.ShopperActor(p.id, p.email), Action: audit.ActionReturnLink,
		Subject: o.Name, Outcome: audit.OutcomeOK, Details: map[string]any{"shopper": p.first + " " + p.last}}); err != nil {
		w.t.Fatal(err)
	}
	code, _, _ := w.app.Do(w.app.LoginAs(w.tn.Agent), http.MethodPost, fmt.Sprintf("/tickets/%d/block", id), "", "")
	if code != http.StatusSeeOther {
		w.t.Fatalf("block sender: %d", code)
	}
	w.deliver(shopify.TopicCustomersDataRequest, `{"shop_id":1,"shop_domain":"`+w.tn.Shop.Domain+`","orders_requested":[`+p.orderID+`],
		"customer":{"id":`+p.id+`,"email":"`+p.email+`","phone":"`+p.phone+`"},"data_request":{"id":99`+p.id+`}}`)
}

func ticketID(t *testing.T, body string) int64 {
	var id int64
	if _, err := fmt.Sscanf(body[strings.Index(body, `"id":`)+5:], "%d", &id); err != nil {
		t.Fatalf("ticket id in %s: %v", body, err)
	}
	return id
}

// textColumns lists every table's text columns (and, on PostgreSQL, the
// search index's tsvector as text).
func textColumns(t *testing.T, db *database.DB) map[string][]string {
	ctx := context.Background()
	out := map[string][]string{}
	if db.Dialect == database.Postgres {
		rows, err := db.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'tsvector', 'jsonb', 'json', 'bytea')`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var table, column string
			rows.Scan(&table, &column)
			out[table] = append(out[table], column)
		}
		return out
	}
	rows, err := db.Query(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	for _, table := range tables {
		cols, err := db.Query(ctx, `SELECT name, type FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for cols.Next() {
			var name, typ string
			cols.Scan(&name, &typ)
			typ = strings.ToUpper(typ)
			if typ == "" || strings.Contains(typ, "TEXT") || strings.Contains(typ, "CHAR") || strings.Contains(typ, "BLOB") {
				out[table] = append(out[table], name)
			}
		}
		cols.Close()
	}
	return out
}

// findAnywhere returns where any of needles is still stored, in any text
// column of any table (compared in lower case).
func findAnywhere(t *testing.T, db *database.DB, needles []string) []string {
	ctx := context.Background()
	var found []string
	for table, columns := range textColumns(t, db) {
		for _, column := range columns {
			expr := `LOWER(CAST("` + column + `" AS TEXT))`
			if db.Dialect == database.Postgres {
				expr = `LOWER("` + column + `"::text)`
			}
			for _, n := range needles {
				like := "%" + strings.ToLower(n) + "%"
				if db.Dialect == database.Postgres && strings.HasPrefix(table, "ticket_search") {
					// The search document holds lexemes: the words alone.
					like = "%" + strings.ToLower(strings.Fields(n)[len(strings.Fields(n))-1]) + "%"
				}
				var c int
				if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM "`+table+`" WHERE `+expr+` LIKE ?`, like).Scan(&c); err != nil {
					t.Fatalf("search %s.%s: %v", table, column, err)
				}
				if c > 0 {
					found = append(found, fmt.Sprintf("%s.%s holds %q", table, column, n))
				}
			}
		}
	}
	return found
}

func newWorld(t *testing.T, db *database.DB) *world {
	app := testapp.New(t, db)
	w := &world{t: t, app: app, tn: app.NewTenant("shopa"), db: db}
	jobstest.Work(t, app.Server.Jobs)
	return w
}

// After customers/redact no table holds the customer's email, name,
// address, phone or messages — and the other customer's data is all
// still there.
func TestCustomersRedactLeavesNoTrace(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		w.seed(ada)
		w.seed(bob)
		if found := findAnywhere(t, db, ada.needles()); len(found) == 0 {
			t.Fatal("the seed left no trace to erase: the search finds nothing")
		}
		w.deliver(shopify.TopicCustomersRedact, `{"shop_id":1,"shop_domain":"`+w.tn.Shop.Domain+`",
			"customer":{"id":`+ada.id+`,"email":"`+ada.email+`","phone":"`+ada.phone+`"},"orders_to_redact":[`+ada.orderID+`]}`)
		if found := findAnywhere(t, db, ada.needles()); len(found) > 0 {
			t.Fatalf("after customers/redact:\n%s", strings.Join(found, "\n"))
		}
		for _, n := range bob.needles() {
			if found := findAnywhere(t, db, []string{n}); len(found) == 0 {
				t.Errorf("the other customer's %q is gone too", n)
			}
		}
		// The erasure is listed for admins, without the person.
		code, page, _ := w.app.Do(w.app.LoginAs(w.tn.Admin), http.MethodGet, "/settings/privacy", "", "")
		if code != 200 || !strings.Contains(page, "Customer erased") || strings.Contains(page, ada.email) {
			t.Fatalf("Settings → Privacy requests (%d) after the erasure", code)
		}
	})
}

// After shop/redact no shopper of the shop is left anywhere; its staff
// still sign in.
func TestShopRedactLeavesNoShopper(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		w.seed(ada)
		w.seed(bob)
		w.deliver(shopify.TopicShopRedact, `{"shop_id":1,"shop_domain":"`+w.tn.Shop.Domain+`"}`)
		if found := findAnywhere(t, db, append(ada.needles(), bob.needles()...)); len(found) > 0 {
			t.Fatalf("after shop/redact:\n%s", strings.Join(found, "\n"))
		}
		if code, _, _ := w.app.Do(w.app.LoginAs(w.tn.Admin), http.MethodGet, "/settings/privacy", "", ""); code != 200 {
			t.Fatalf("the shop's admin after shop/redact: %d", code)
		}
	})
}

// A data request becomes an export an admin downloads, audited; agents
// cannot.
func TestDataRequestExport(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newWorld(t, db)
		w.seed(ada)
		var id int64
		if err := db.QueryRow(context.Background(), `SELECT id FROM privacy_requests WHERE kind = 'customers/data_request'`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/settings/privacy/%d/export", id)
		if code, _, _ := w.app.Do(w.app.LoginAs(w.tn.Agent), http.MethodGet, path, "", ""); code != http.StatusForbidden && code != http.StatusNotFound {
			t.Fatalf("an agent downloading the export: %d", code)
		}
		code, doc, h := w.app.Do(w.app.LoginAs(w.tn.Admin), http.MethodGet, path, "", "")
		if code != 200 || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
			t.Fatalf("download: %d, %q", code, h.Get("Content-Disposition"))
		}
		for _, want := range []string{ada.email, ada.street, ada.message, "#0001"} {
			if !strings.Contains(doc, want) {
				t.Errorf("the export lacks %q", want)
			}
		}
		if strings.Contains(doc, "Called "+ada.phone) {
			t.Error("the export holds a staff note")
		}
		entries, _, err := w.app.Server.Audit.List(context.Background(), w.tn.Shop.ID, audit.Filter{Action: "privacy."}, database.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		if !strings.Contains(strings.Join(actions, " "), "privacy.export_downloaded") {
			t.Fatalf("audit: %v", actions)
		}
	})
}
