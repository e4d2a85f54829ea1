package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/api/apitest"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

// TestReplyDeliveryInTheAPI: a ticket opened and a reply posted over the
// API are mailed to the shopper; the reply's message JSON carries the
// delivery — queued at first, sent with the relay's answer later; a note
// has none. Every answer matches openapi.json.
func TestReplyDeliveryInTheAPI(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		smtp := mailtest.Start(t)
		app := testapp.New(t, db, testapp.WithMail(smtp.URL()))
		tn := app.NewTenant("a")
		token := app.Token(tn.Agent)
		v := apitest.NewValidator(t)
		call := func(method, pattern, path, body string) map[string]any {
			t.Helper()
			req, _ := http.NewRequest(method, app.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode >= 300 {
				t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
			}
			v.ValidateResponse(t, pattern, res, raw)
			var out map[string]any
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
			return out
		}
		tk := call("POST", "POST /api/v1/tickets", "/api/v1/tickets", `{"subject":"Parcel","customer_email":"ada@example.com","body":"We are looking into it."}`)
		id := strconv.FormatInt(int64(tk["id"].(float64)), 10)
		reply := call("POST", "POST /api/v1/tickets/{id}/messages", "/api/v1/tickets/"+id+"/messages", `{"kind":"reply","body":"It left today."}`)
		if d, _ := reply["delivery"].(map[string]any); d == nil || d["state"] != "queued" || d["sent_at"] != nil {
			t.Errorf("a new reply's delivery: %v", reply["delivery"])
		}
		note := call("POST", "POST /api/v1/tickets/{id}/messages", "/api/v1/tickets/"+id+"/messages", `{"kind":"note","body":"VIP"}`)
		if note["delivery"] != nil {
			t.Errorf("a note's delivery: %v", note["delivery"])
		}
		jobstest.Work(t, app.Server.Jobs)
		smtp.WaitFor(t, "ada@example.com", 2)
		jobstest.Eventually(t, "the API shows the reply sent", func() bool {
			list := call("GET", "GET /api/v1/tickets/{id}/messages", "/api/v1/tickets/"+id+"/messages", "")
			for _, it := range list["items"].([]any) {
				m := it.(map[string]any)
				if m["body"] == "It left today." {
					d, _ := m["delivery"].(map[string]any)
					return d != nil && d["state"] == "sent" && d["sent_at"] != nil && d["attempts"] == float64(1) &&
						strings.HasPrefix(d["response"].(string), "2")
				}
			}
			return false
		})
	})
}
