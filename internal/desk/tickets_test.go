package desk_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// TestTicketListSearches: the inbox's search box finds the shop's tickets by
// their words, keeps the status filter, pages with the words kept, and
// never fails on what would be query syntax.
func TestTicketListSearches(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn, other := app.NewTenant("shopa"), app.NewTenant("shopb")
		ctx := context.Background()
		create := func(shop int64, subject, body string) {
			t.Helper()
			if _, err := app.Server.Tickets.Create(ctx, shop, ticket.NewTicket{RequesterEmail: "ada@example.com", Subject: subject,
				Body: body, Channel: ticket.ChannelEmail}); err != nil {
				t.Fatal(err)
			}
		}
		create(tn.Shop.ID, "Refund for my shoes", "Money back please")
		create(tn.Shop.ID, "Where is my parcel", "Still waiting")
		create(other.Shop.ID, "Refund from the other shop", "Money back")
		for range 3 {
			create(tn.Shop.ID, "Wombat question", "wombat")
		}
		agent := app.LoginAs(tn.Agent)
		get := func(path string) string {
			t.Helper()
			status, body, _ := app.Do(agent, http.MethodGet, path, "", "")
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, status)
			}
			return body
		}

		body := get("/tickets?q=refu")
		if !strings.Contains(body, "Refund for my shoes") || strings.Contains(body, "Where is my parcel") || strings.Contains(body, "other shop") {
			t.Errorf("search refu:\n%s", body)
		}
		if !strings.Contains(body, `name="q" value="refu"`) || !strings.Contains(body, `href="/tickets?q=refu&amp;status=open"`) {
			t.Errorf("the search box or the status tabs lost the words:\n%s", body)
		}
		if body := get("/tickets?q=refund&status=closed"); strings.Contains(body, "Refund for my shoes") || !strings.Contains(body, "match “refund”") {
			t.Errorf("closed refunds:\n%s", body)
		}
		if body := get("/tickets?q=" + url.QueryEscape("  ")); !strings.Contains(body, "Where is my parcel") {
			t.Errorf("blank words list every ticket:\n%s", body)
		}
		for _, q := range []string{`"`, `*`, `a:b`, `NEAR(`, `-x`, `OR`, `'`, strings.Repeat("ä", 5_000)} {
			get("/tickets?q=" + url.QueryEscape(q))
		}

		body = get("/tickets?q=wombat&limit=2")
		next := strings.Index(body, `href="/tickets?cursor=`)
		if strings.Count(body, "Wombat question") != 2 || next < 0 {
			t.Fatalf("first page of wombats:\n%s", body)
		}
		link := body[next+len(`href="`):]
		link = strings.ReplaceAll(link[:strings.Index(link, `"`)], "&amp;", "&")
		if !strings.Contains(link, "q=wombat") {
			t.Fatalf("next page link %q lost the words", link)
		}
		if body := get(link); strings.Count(body, "Wombat question") != 1 {
			t.Errorf("second page of wombats:\n%s", body)
		}
	})
}
