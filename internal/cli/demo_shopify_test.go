package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The demo shop is connected to the in-process Shopify sandbox's Admin
// API: settings show the connection with its scopes and subscriptions,
// and opening the shopper's hub refreshes her from the sandbox (the
// default address, which the seed leaves out, comes from there). A demo
// restarted on its data is connected to its new sandbox again.
func TestDemoIsConnectedToTheShopifySandbox(t *testing.T) {
	isolate(t)
	dir := filepath.Join(t.TempDir(), "demo")
	for run := range 2 {
		d := start(t, "demo", "--addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0", "--data", dir)
		d.waitFor(t, "the banner", func() bool { return strings.Contains(d.stdout.String(), "Press Ctrl+C") })
		banner := d.stdout.String()
		api := regexp.MustCompile(`Bearer (\S+)' (http://\S+)/api/v1/customers`).FindStringSubmatch(banner)
		store := regexp.MustCompile(`Storefront\s+(http://\S+)/\s`).FindStringSubmatch(banner)
		// The demo shopper's line opens her hub through the storefront
		// (logged in there), and names her record in the desk.
		shopper := regexp.MustCompile(`Demo shopper\s+(http://\S+/account/login-as\?customer=\d+&return_to=/apps/hub)\s.*/customers/(\d+)\)`).FindStringSubmatch(banner)
		if api == nil || store == nil || shopper == nil || !strings.Contains(banner, "/settings/shopify") {
			t.Fatalf("run %d: the banner lacks the API, the storefront, the shopper or the Shopify connection:\n%s", run, banner)
		}
		apiGet := func(path string, into any) {
			t.Helper()
			req, _ := http.NewRequest("GET", api[2]+path, nil)
			req.Header.Set("Authorization", "Bearer "+api[1])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
			}
			if err := json.Unmarshal(body, into); err != nil {
				t.Fatalf("GET %s: %v: %s", path, err, body)
			}
		}
		var st struct {
			Connected bool   `json:"connected"`
			Method    string `json:"method"`
			Missing   []any  `json:"missing_required_scopes"`
			Webhooks  struct {
				Healthy bool `json:"healthy"`
			} `json:"webhooks"`
		}
		d.waitFor(t, "healthy webhook subscriptions", func() bool {
			apiGet("/api/v1/settings/shopify", &st)
			return st.Webhooks.Healthy
		})
		if !st.Connected || st.Method != "admin_token" || len(st.Missing) != 0 {
			t.Fatalf("run %d: Shopify settings %+v, want connected with an admin token and every required scope", run, st)
		}
		if run == 1 {
			break // the address was refreshed on the first run already
		}
		var cust struct {
			Address struct {
				City string `json:"city"`
			} `json:"default_address"`
		}
		apiGet("/api/v1/customers/"+shopper[2], &cust)
		if cust.Address.City != "" {
			t.Fatalf("the seed has a default address already (%q): nothing would show the refresh", cust.Address.City)
		}
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar}
		if !strings.HasPrefix(shopper[1], store[1]+"/") {
			t.Fatalf("the demo shopper's link %s is not on the storefront %s", shopper[1], store[1])
		}
		resp, err := browser.Get(shopper[1])
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/apps/hub") || !strings.Contains(string(page), "/apps/hub/account") {
			t.Fatalf("the demo shopper's link did not open her hub through the storefront: %d %s\n%.500s", resp.StatusCode, resp.Request.URL, page)
		}
		d.waitFor(t, "the shopper refreshed from the sandbox", func() bool {
			apiGet("/api/v1/customers/"+shopper[2], &cust)
			return cust.Address.City == "Portland"
		})
		if code := d.wait(t); code != 0 {
			t.Fatalf("demo exited %d; stderr:\n%s", code, d.stderr.String())
		}
	}
}
