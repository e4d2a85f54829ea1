package webhook_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
)

// loopReturnEvent is a "return" topic body as Loop sends it (the shape
// of the Loop sandbox's webhooks): slashes escaped, shop_id an integer,
// provider_order_id the platform's order id, as an integer (loop.md:
// accept both).
func loopReturnEvent(trigger, state, editedAt, carrier, tracking, label string) string {
	return fmt.Sprintf(`{"topic":"return","trigger":%q,"shop_id":9876,"id":"880001","state":%q,`+
		`"created_at":"2026-11-02T10:00:00.000Z","edited_at":%q,"order_id":"4455","order_name":"#1001",`+
		`"provider_order_id":5002,"customer":"ada@example.com","currency":"USD","outcome":"refund","total":"19.99",`+
		`"status_page_url":"https:\/\/returns.example.com\/status\/880001","line_items":[],`+
		`"carrier":%q,"tracking_number":%q,"label_status":%q}`, trigger, state, editedAt, carrier, tracking, label)
}

// Loop's return events change the stored return: a signed delivery is
// processed by its job and the API and the desk show the new state; the
// return belongs to the order Loop names by its platform id, not to the
// other order carrying the same name; a late delivery of an older state
// changes nothing; the same delivery twice, or the same state in other
// bytes, leaves one return; a topic hubdesk does not apply is acknowledged
// and processed without storing anything.
func TestLoopReturnEventsUpdateTheStoredReturn(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app, tn := newApp(t, db)
		namesake := app.NamedOrder(tn, "5001", "#1001", "grace@example.com")
		order := app.NamedOrder(tn, "5002", "#1001", "ada@example.com")
		token := app.Token(tn.Agent)
		agent := app.LoginAs(tn.Agent)

		delivered := 0
		deliver := func(body string) {
			t.Helper()
			if code := post(t, app, tn.Shop.Domain, body, loop.Sign([]byte(body), secret)); code != http.StatusOK {
				t.Fatalf("signed delivery: %d, want 200", code)
			}
			delivered = count(t, db, `SELECT COUNT(*) FROM webhook_events`)
			jobstest.Eventually(t, "every event processed", func() bool {
				return count(t, db, `SELECT COUNT(*) FROM webhook_events WHERE processed_at IS NOT NULL`) == delivered
			})
		}
		eligibility := func(o int64) string {
			t.Helper()
			status, body, _ := app.Do(nil, "GET", "/api/v1/orders/"+strconv.FormatInt(o, 10), token, "")
			if status != http.StatusOK {
				t.Fatalf("API order: %d %s", status, body)
			}
			i := strings.Index(body, `"return_eligibility"`)
			return body[i:]
		}
		deskShows := func(want ...string) {
			t.Helper()
			status, body, _ := app.Do(agent, "GET", "/orders/"+strconv.FormatInt(order.ID, 10), "", "")
			if status != http.StatusOK {
				t.Fatalf("desk order: %d", status)
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("the desk's order page does not show %q", w)
				}
			}
		}
		returnsStored := func() int {
			return count(t, db, `SELECT COUNT(*) FROM returns WHERE external_id = '880001'`)
		}

		deliver(loopReturnEvent("return.created", "open", "2026-11-02T10:00:00.000Z", "N/A", "N/A", "N/A"))
		if got := eligibility(order.ID); !strings.Contains(got, `"reason":"return_open"`) {
			t.Fatalf("after return.created the API says %s, want return_open", got)
		}
		if got := eligibility(namesake.ID); strings.Contains(got, "return_open") {
			t.Fatalf("the return was attached to the other order named #1001: %s", got)
		}
		deskShows("badge--return-open", "880001")

		closed := loopReturnEvent("return.closed", "closed", "2026-11-04T09:30:00.000Z", "USPS", "9400136105440512280610", "delivered")
		deliver(closed)
		if got := eligibility(order.ID); !strings.Contains(got, `"reason":"returned"`) {
			t.Fatalf("after return.closed the API says %s, want returned", got)
		}
		deskShows("badge--return-closed", "9400136105440512280610", "USPS")

		// Loop delivers an older state late: it changes nothing.
		deliver(loopReturnEvent("return.updated", "review", "2026-11-03T12:00:00.000Z", "USPS", "9400136105440512280610", "in_transit"))
		if got := eligibility(order.ID); !strings.Contains(got, `"reason":"returned"`) {
			t.Fatalf("an older delivery overwrote the newer state: %s", got)
		}
		deskShows("badge--return-closed")

		// The same delivery again is stored once; the same state in other
		// bytes is a new event, applied to the same return.
		deliver(closed)
		deliver(closed + " ")
		if n := returnsStored(); n != 1 {
			t.Fatalf("%d returns stored for one Loop return, want 1", n)
		}
		if n := count(t, db, `SELECT COUNT(*) FROM returns WHERE external_id = '880001' AND state = 'closed' AND label_status = 'delivered'`); n != 1 {
			t.Fatal("the stored return is not the newest state")
		}

		// A topic hubdesk does not apply, and a return event that cannot
		// be applied, are processed and store nothing.
		deliver(`{"topic":"giftcard","trigger":"giftcard.requested","shop_id":9876,"id":"31"}`)
		deliver(returnUpdated)
		if n := count(t, db, `SELECT COUNT(*) FROM returns`); n != 1 {
			t.Fatalf("%d returns stored, want 1", n)
		}
		jobstest.Eventually(t, "every processing job completed, none left to retry", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_event_process' AND state <> 'completed'`) == 0
		})
	})
}
