package returns

import (
	"net/url"
	"testing"
)

// FuzzPortalURL: whatever order number or email a shopper's order carries,
// the link to the returns portal goes to the merchant's portal and nowhere
// else — same scheme, host and path as the configured URL — and carries
// the values unchanged.
func FuzzPortalURL(f *testing.F) {
	f.Add("https://returns.example.com/portal?lang=en", "order_number", "#1001", "email", "olivia@example.com")
	f.Add("https://returns.example.com/", "order", "//evil.example/", "email", "a@b?c#d")
	f.Add("https://returns.example.com/p?order=1&order=2", "order", "3", "x", "")
	f.Add("http://127.0.0.1:9000/a%2Fb?x=%zz", "x", "%2F..%2F", "y", "\x00")
	f.Add("https://returns.example.com/#/start", "email", "é@example.com", "order", "1001 ")
	f.Fuzz(func(t *testing.T, base, name1, value1, name2, value2 string) {
		base, err := ValidatePortalURL(base)
		if err != nil {
			return // refused on save: never used
		}
		out, err := PortalURL(base, [2]string{name1, value1}, [2]string{name2, value2})
		if err != nil {
			t.Fatalf("PortalURL(%q) = %v for a URL the settings accepted", base, err)
		}
		b, _ := url.Parse(base)
		o, err := url.Parse(out)
		if err != nil {
			t.Fatalf("the link %q does not parse: %v", out, err)
		}
		if o.Scheme != b.Scheme || o.Host != b.Host || o.EscapedPath() != b.EscapedPath() || o.Fragment != b.Fragment {
			t.Fatalf("the link left the portal: %q from %q", out, base)
		}
		if _, err := url.ParseQuery(b.RawQuery); err != nil {
			return // the merchant's own query is kept as it is, unreadable or not
		}
		got, err := url.ParseQuery(o.RawQuery)
		if err != nil {
			t.Fatalf("our parameters made the query unreadable: %q", out)
		}
		last := map[string]string{}
		for _, p := range [][2]string{{name1, value1}, {name2, value2}} {
			if p[0] != "" && p[1] != "" {
				last[p[0]] = p[1]
			}
		}
		for name, value := range last {
			if got.Get(name) != value {
				t.Fatalf("%s = %q in %q, want %q", name, got.Get(name), out, value)
			}
		}
	})
}
