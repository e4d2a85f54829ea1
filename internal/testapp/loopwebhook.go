package testapp

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

// CheckLoopWebhookSecret fails t unless tn's Loop webhook secret is want:
// stored sealed (the raw row does not hold it), deliveries to
// /webhooks/loop/{shop} signed with it accepted, others refused.
func (a *App) CheckLoopWebhookSecret(t testing.TB, tn *Tenant, want string) {
	t.Helper()
	var sealed string
	err := a.DB.QueryRow(context.Background(), `SELECT credentials FROM connections WHERE shop_id = ? AND provider = ?`,
		tn.Shop.ID, string(connection.ProviderLoopWebhook)).Scan(&sealed)
	if err != nil {
		t.Fatalf("the Loop webhook secret is not stored: %v", err)
	}
	if strings.Contains(sealed, want) {
		t.Fatal("the Loop webhook secret is stored in the clear")
	}
	body := `{"topic":"return","trigger":"return.updated","shop_id":9876,"id":"77"}`
	if code := a.postLoopWebhook(t, tn.Shop.Domain, body, loop.Sign([]byte(body), want)); code != http.StatusOK {
		t.Fatalf("a delivery signed with the saved secret: %d, want 200", code)
	}
	if code := a.postLoopWebhook(t, tn.Shop.Domain, body, loop.Sign([]byte(body), want+"x")); code != http.StatusUnauthorized {
		t.Fatalf("a delivery signed with another secret: %d, want 401", code)
	}
}

// postLoopWebhook delivers body to domain's Loop webhook route with the
// given signature and returns the status.
func (a *App) postLoopWebhook(t testing.TB, domain, body, signature string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.URL+"/webhooks/loop/"+domain, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(loop.SignatureHeader, signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// CheckLoopWebhookSecretRemoved fails t unless tn has no Loop webhook
// secret: no row holds one, and a delivery signed with the removed
// secret is refused (401) and stores nothing.
func (a *App) CheckLoopWebhookSecretRemoved(t testing.TB, tn *Tenant, removed string) {
	t.Helper()
	ctx := context.Background()
	count := func(query string) int {
		t.Helper()
		var n int
		if err := a.DB.QueryRow(ctx, query, tn.Shop.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT COUNT(*) FROM connections WHERE shop_id = ? AND provider = '` + string(connection.ProviderLoopWebhook) + `'`); n != 0 {
		t.Fatal("a Loop webhook secret is still stored")
	}
	before := count(`SELECT COUNT(*) FROM webhook_events WHERE shop_id = ?`)
	body := `{"topic":"return","trigger":"return.updated","shop_id":9876,"id":"78"}`
	if code := a.postLoopWebhook(t, tn.Shop.Domain, body, loop.Sign([]byte(body), removed)); code != http.StatusUnauthorized {
		t.Fatalf("a delivery signed with the removed secret: %d, want 401", code)
	}
	if after := count(`SELECT COUNT(*) FROM webhook_events WHERE shop_id = ?`); after != before {
		t.Fatal("a delivery signed with the removed secret was stored")
	}
}
