package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mailin"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

func postMail(t *testing.T, address, contentType string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, address, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

var webhookAddress = regexp.MustCompile(`value="(http://[^"]+/webhooks/email/\d+\?token=[^"]+)"`)

// An admin makes the mail webhook's address in Settings; a provider posts
// raw mail to it; the mail becomes a ticket whose page shows the mail's
// HTML with every script and event handler gone and the tracking image
// not loaded. A wrong token, another content type or an oversized mail
// are refused, and nothing is stored; the token is sealed at rest.
func TestMailWebhookFilesMailAsTickets(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("a")
		jobstest.Work(t, app.Server.Jobs)
		admin := app.LoginAs(tn.Admin)

		if code, _, _ := app.Do(admin, http.MethodPost, "/settings/mail-webhook/token", "", ""); code != http.StatusSeeOther {
			t.Fatalf("make the address: %d", code)
		}
		_, page, _ := app.Do(admin, http.MethodGet, "/settings/mail-webhook", "", "")
		m := webhookAddress.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no address on the page: %s", page)
		}
		address := html.UnescapeString(m[1])
		token := address[strings.Index(address, "token=")+len("token="):]
		var sealed string
		if err := db.QueryRow(context.Background(), `SELECT credentials FROM connections WHERE shop_id = ? AND provider = ?`,
			tn.Shop.ID, string(connection.ProviderMailWebhook)).Scan(&sealed); err != nil || strings.Contains(sealed, token) {
			t.Fatalf("token not stored sealed (%v)", err)
		}

		raw, err := os.ReadFile(filepath.Join("..", "mailin", "testdata", "html_only.eml"))
		if err != nil {
			t.Fatal(err)
		}
		events := func() int { return count(t, db, `SELECT COUNT(*) FROM webhook_events`) }
		for _, c := range []struct {
			name, address, contentType string
			body                       []byte
			want                       int
		}{
			{"wrong token", strings.Replace(address, token, token[:len(token)-1]+"x", 1), "message/rfc822", raw, http.StatusUnauthorized},
			{"no token", address[:strings.Index(address, "?")], "message/rfc822", raw, http.StatusUnauthorized},
			{"unknown shop", strings.Replace(address, fmt.Sprintf("/%d?", tn.Shop.ID), "/999999?", 1), "message/rfc822", raw, http.StatusUnauthorized},
			{"JSON", address, "application/json", []byte(`{"mail":"x"}`), http.StatusUnsupportedMediaType},
			{"empty", address, "message/rfc822", nil, http.StatusBadRequest},
			{"over 30 MB", address, "message/rfc822", bytes.Repeat([]byte("x"), mailin.MaxMailBytes+1), http.StatusRequestEntityTooLarge},
		} {
			if code, body := postMail(t, c.address, c.contentType, c.body); code != c.want {
				t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
			}
		}
		if n := events(); n != 0 {
			t.Fatalf("refused deliveries stored %d events", n)
		}

		code, body := postMail(t, address, "message/rfc822", raw)
		if code != http.StatusOK {
			t.Fatalf("delivery: %d %s", code, body)
		}
		// By domain too, and the same mail again: stored once.
		byDomain := strings.Replace(address, fmt.Sprintf("/%d?", tn.Shop.ID), "/"+tn.Shop.Domain+"?", 1)
		if code, body := postMail(t, byDomain, "message/rfc822; charset=utf-8", raw); code != http.StatusOK || !strings.Contains(body, `"duplicate":true`) {
			t.Errorf("the same mail by domain: %d %s", code, body)
		}
		jobstest.Eventually(t, "the mail filed", func() bool {
			return count(t, db, `SELECT COUNT(*) FROM tickets WHERE channel = 'email'`) == 1
		})
		var ticketID int64
		if err := db.QueryRow(context.Background(), `SELECT id FROM tickets WHERE channel = 'email'`).Scan(&ticketID); err != nil {
			t.Fatal(err)
		}

		agent := app.LoginAs(tn.Agent)
		code, view, _ := app.Do(agent, http.MethodGet, fmt.Sprintf("/tickets/%d", ticketID), "", "")
		if code != http.StatusOK || !strings.Contains(view, "send back the <i>blue</i> jacket") {
			t.Fatalf("ticket view %d: %s", code, view)
		}
		conversation := view[strings.Index(view, `id="messages"`):strings.Index(view, `<form class="card reply-box"`)]
		for _, bad := range []string{"alert(", "onerror", "javascript:", "<iframe", "<form", ` src="https://tracker.example`} {
			if strings.Contains(conversation, bad) {
				t.Errorf("the conversation has %q", bad)
			}
		}
		if !strings.Contains(conversation, `data-remote-src="https://tracker.example/pixel.gif"`) || !strings.Contains(conversation, "data-show-images") {
			t.Error("the remote image is not held back behind Show images")
		}

		// The API lists the ticket (issue 12's interface).
		_, list, _ := app.Do(nil, http.MethodGet, "/api/v1/tickets", app.Token(tn.Agent), "")
		var got struct {
			Items []struct {
				ID      int64  `json:"id"`
				Channel string `json:"channel"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(list), &got); err != nil || len(got.Items) != 1 || got.Items[0].ID != ticketID {
			t.Errorf("API tickets %s (%v)", list, err)
		}

		// A new address: the old one stops working.
		app.Do(admin, http.MethodPost, "/settings/mail-webhook/token", "", "")
		if code, _ := postMail(t, address, "message/rfc822", raw); code != http.StatusUnauthorized {
			t.Errorf("the old address after a new one was made: %d", code)
		}
		// Agents and managers do not see the address.
		if code, _, _ := app.Do(app.LoginAs(tn.Manager), http.MethodGet, "/settings/mail-webhook", "", ""); code != http.StatusForbidden {
			t.Errorf("a manager opened the mail webhook page: %d", code)
		}
	})
}
