package server

import (
	"net/http/httptest"
	"testing"
)

// Page reads wait their turn at the gate; streams, downloads, static
// files, health checks, Shopify's callback and every write do not.
func TestAdmittedReads(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		gated        bool
	}{
		{"GET", "/tickets", true},
		{"GET", "/tickets/42", true},
		{"HEAD", "/tickets/42", true},
		{"GET", "/hub/orders/7", true},
		{"GET", "/api/v1/tickets", true},
		{"POST", "/tickets/42/reply", false},
		{"POST", "/hub/orders/7/return", false},
		{"GET", "/events", false},
		{"GET", "/tickets/42/attachments/9", false},
		{"GET", "/settings/privacy/3/export", false},
		{"GET", "/api/v1/privacy/requests/3/export", false},
		{"GET", "/static/hub.css", false},
		{"GET", "/healthz", false},
		{"GET", "/readyz", false},
		{"GET", "/shopify/callback", false},
	} {
		if got := admittedRead(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.gated {
			t.Errorf("%s %s: gated %v, want %v", tc.method, tc.path, got, tc.gated)
		}
	}
}
