package auth

import (
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer, xff, want string
	}{
		{"direct client", "203.0.113.5:4000", "", "203.0.113.5"},
		{"direct client cannot choose its address", "203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},
		{"behind a trusted proxy", "10.1.2.3:4000", "198.51.100.1", "198.51.100.1"},
		{"spoofed hop before the proxy's own", "10.1.2.3:4000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"two trusted hops", "192.0.2.7:4000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"garbage header", "10.1.2.3:4000", "not-an-ip", "10.1.2.3"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := proxies.ClientIP(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if _, err := ParseProxies("10.0.0.0/99"); err == nil {
		t.Error("bad CIDR accepted")
	}
	if got := Proxies(nil).ClientIP(httptest.NewRequest("GET", "/", nil)); got != "192.0.2.1" {
		t.Errorf("no proxies: %s", got)
	}
}

// Behind a forwarder the request's signature vouches for (Shopify's App
// Proxy), the client is the hop it appended, past the operator's own
// proxies; what the client wrote before it counts for nothing.
func TestClientIPBehindForwarder(t *testing.T) {
	proxies, err := ParseProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer, xff, want string
	}{
		{"forwarder is the peer", "23.227.38.1:4000", "198.51.100.1", "198.51.100.1"},
		{"client's own hop before the forwarder's", "23.227.38.1:4000", "1.1.1.1, 198.51.100.1", "198.51.100.1"},
		{"forwarder behind the operator's proxy", "10.1.2.3:4000", "1.1.1.1, 198.51.100.1, 23.227.38.1", "198.51.100.1"},
		{"no header: the peer", "23.227.38.1:4000", "", "23.227.38.1"},
		{"garbage header: the peer", "23.227.38.1:4000", "not-an-ip", "23.227.38.1"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/hub/guest", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := proxies.ClientIPBehindForwarder(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
