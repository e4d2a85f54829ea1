package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The owner disables the agent on the Staff page: the agent's open session
// is sent to the login page and the agent's API token is refused at once.
func TestOwnerDisablesAnAgent(t *testing.T) {
	demo := StartDemo(t)
	const agentEmail = "agent@demo.hubdesk.dev"
	agent := NewBrowser(t)
	LoginAs(t, agent, demo.BaseURL, agentEmail, "demo")
	err := chromedp.Do(agent,
		chromedp.Navigate(demo.BaseURL+"/account/tokens"),
		chromedp.SendKeys(chromedp.ID("token-name"), "Helpdesk sync"),
		chromedp.Submit(chromedp.ID("token-name")),
		chromedp.WaitVisible(chromedp.ID("new-token")),
	)
	if err != nil {
		t.Fatalf("the agent creates a token: %v", err)
	}
	token, err := chromedp.Run(agent, chromedp.Text(chromedp.ID("new-token")))
	if err != nil || !strings.HasPrefix(token, "hd_") {
		t.Fatalf("the agent creates a token: %q %v", token, err)
	}
	if status := apiStatus(t, demo.BaseURL, token); status != http.StatusOK {
		t.Fatalf("the agent's new token: %d", status)
	}

	owner := NewBrowser(t)
	LoginAs(t, owner, demo.BaseURL, "owner@demo.hubdesk.dev", "demo")
	agentRow := `#staff tr[data-email="` + agentEmail + `"]`
	err = chromedp.Do(owner,
		chromedp.Navigate(demo.BaseURL+"/settings/staff"),
		chromedp.WaitVisible(chromedp.CSS(agentRow+` button.disable`)),
		chromedp.Click(chromedp.CSS(agentRow+` button.disable`)),
		chromedp.WaitVisible(chromedp.CSS(agentRow+` .badge--account-disabled`)),
	)
	if err != nil {
		t.Fatalf("disable the agent: %v", err)
	}
	row, _ := chromedp.Run(owner, chromedp.Text(chromedp.CSS(agentRow)))
	if !strings.Contains(row, "Disabled") || !strings.Contains(row, "Enable") {
		t.Errorf("the agent's row after disabling: %q", row)
	}
	self, _ := chromedp.Run(owner, chromedp.Text(chromedp.CSS(`#staff tr[data-email="owner@demo.hubdesk.dev"]`)))
	if !strings.Contains(self, "You cannot disable yourself.") {
		t.Errorf("the owner's own row: %q", self)
	}
	tokens, _ := chromedp.Run(owner, chromedp.Text(chromedp.CSS("#staff-tokens")))
	if !strings.Contains(tokens, "Helpdesk sync") || strings.Contains(tokens, token) {
		t.Errorf("the tokens table: %q", tokens)
	}
	Screenshot(t, owner, "desk-staff")

	// The agent's open page, reloaded, lands on the login form.
	err = chromedp.Do(agent,
		chromedp.Navigate(demo.BaseURL+"/orders"),
		chromedp.WaitVisible(chromedp.ID("password")),
	)
	location, _ := chromedp.Run(agent, chromedp.Location())
	if err != nil || !strings.Contains(location, "/login") {
		t.Fatalf("the disabled agent's session: %q %v", location, err)
	}
	if status := apiStatus(t, demo.BaseURL, token); status != http.StatusUnauthorized {
		t.Fatalf("the disabled agent's token: %d, want 401", status)
	}
}

func apiStatus(t *testing.T, baseURL, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", baseURL+"/api/v1/orders", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
