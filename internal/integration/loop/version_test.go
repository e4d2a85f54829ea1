package loop_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/integration/loop/sandbox"
)

func TestSplitBaseURL(t *testing.T) {
	for _, c := range []struct {
		base, version string
		root, want    string
		legacy        bool
	}{
		{"", "", loop.DefaultBaseURL, "2026-07", false},
		{"https://api.loopreturns.com/api/v1", "", "https://api.loopreturns.com", "2026-07", true},
		{"https://api.loopreturns.com/api/v1/", "2026-10", "https://api.loopreturns.com", "2026-10", true},
		{"http://127.0.0.1:8089/api/2026-10", "", "http://127.0.0.1:8089", "2026-10", false},
		{"http://127.0.0.1:8089", "", "http://127.0.0.1:8089", "2026-07", false},
	} {
		root, v, legacy := loop.SplitBaseURL(c.base, c.version)
		if root != c.root || v != c.want || legacy != c.legacy {
			t.Errorf("SplitBaseURL(%q, %q) = %q %q %v, want %q %q %v", c.base, c.version, root, v, legacy, c.root, c.want, c.legacy)
		}
	}
	for v, ok := range map[string]bool{"2026-07": true, "2026-13": false, "v1": false, "2026-7": false} {
		if loop.IsDatedVersion(v) != ok {
			t.Errorf("IsDatedVersion(%q) != %v", v, ok)
		}
	}
}

// TestClientCallsPinnedVersion: a base URL still ending in /api/v1 calls
// the dated path, and the sandbox serves the dated path and the alias.
func TestClientCallsPinnedVersion(t *testing.T) {
	sb := sandbox.New(sandbox.Options{})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	defer sb.Close()
	c := loop.New(loop.Options{APIKey: sandbox.KeyFull, BaseURL: srv.URL + "/api/v1"})
	if c.APIVersion() != loop.DefaultAPIVersion {
		t.Fatalf("version %q", c.APIVersion())
	}
	if _, err := c.ListWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/2026-07/webhooks", "/api/v1/webhooks", "/api/2026-10/webhooks"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("X-Authorization", sandbox.KeyFull)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/2019-01/webhooks", nil)
	req.Header.Set("X-Authorization", sandbox.KeyFull)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown version: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestClientSendsDatedPath checks the path on the wire.
func TestClientSendsDatedPath(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.Path
		w.Write([]byte(`{"webhooks":[]}`))
	}))
	defer srv.Close()
	c := loop.New(loop.Options{APIKey: "k", BaseURL: srv.URL + "/api/v1/"})
	if _, err := c.ListWebhooks(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got != "/api/2026-07/webhooks" {
		t.Fatalf("path %q", got)
	}
	c = loop.New(loop.Options{APIKey: "k", BaseURL: srv.URL, APIVersion: "2026-10"})
	if _, err := c.ListWebhooks(context.Background()); err != nil || !strings.HasPrefix(got, "/api/2026-10/") {
		t.Fatalf("path %q %v", got, err)
	}
}

func TestParseWebhookNAAndProcessing(t *testing.T) {
	ev, err := loop.ParseWebhook([]byte(`{"topic":"label","trigger":"label.updated","shop_id":"9876","id":12345,"provider_order_id":1029384756,"carrier":"USPS","tracking_number":"N\/A","label_status":"N\/A","label_updated_at":"N\/A"}`))
	if err != nil || ev.Label == nil || !ev.Label.LabelUpdatedAt.IsZero() || ev.Label.ID != "12345" || ev.Label.Tracking() != "" {
		t.Fatalf("label with N/A: %+v %v", ev.Label, err)
	}
	ev, err = loop.ParseWebhook([]byte(`{"topic":"return.processing","trigger":"return.processing.failed","return_id":48210095,"return_state":"open","message":null,"source":null}`))
	if err != nil || ev.Processing == nil || ev.Processing.ReturnID != "48210095" || ev.Processing.Message != "" {
		t.Fatalf("processing: %+v %v", ev.Processing, err)
	}
}
