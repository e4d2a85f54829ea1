package web

import "testing"

func TestLocalPath(t *testing.T) {
	cases := []struct {
		in   string
		want string // "" means refused
	}{
		{"/", "/"},
		{"/orders", "/orders"},
		{"/orders?status=open&q=a+b", "/orders?status=open&q=a+b"},
		{"/settings/", "/settings/"},
		{"/apps/hub/orders/1001#top", "/apps/hub/orders/1001#top"},
		{"/a/./b/../c", "/a/c"},
		{"/../../orders", "/orders"},
		{"/.//evil.example", "/evil.example"},
		{"/%2e%2e/orders", "/%2e%2e/orders"},

		{"", ""},
		{"orders", ""},
		{"//evil.example", ""},
		{"///evil.example", ""},
		{`/\evil.example`, ""},
		{`/./\evil.example`, ""},
		{"/./%5Cevil.example", ""},
		{"/%5Cevil.example", ""},
		{"/%5cevil.example", ""},
		{"/%2F%2Fevil.example", ""},
		{"/%2f/evil.example", ""},
		{"https://evil.example", ""},
		{"https:/evil.example", ""},
		{"javascript:alert(1)", ""},
		{"/\t/evil.example", ""},
		{"/\n/evil.example", ""},
		{"/\r\n/evil.example", ""},
		{"/%09/evil.example", ""},
		{"/%0a/evil.example", ""},
		{"/%0D%0ALocation:%20https://evil.example", ""},
		{"/\x00/evil.example", ""},
		{"/%00", ""},
		{`/orders?next=\evil`, ""},
		{"/..\\evil.example", ""},
		{"/../\\evil.example", ""},
		{" /orders", ""},
	}
	for _, c := range cases {
		got, ok := LocalPath(c.in)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("LocalPath(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}
