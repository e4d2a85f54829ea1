package hub

import "testing"

func TestSafeURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://cdn.example.com/a.png?x=1": "https://cdn.example.com/a.png?x=1",
		" http://127.0.0.1:8080/a.svg ":     "http://127.0.0.1:8080/a.svg",
		"https://example.com/a b":           "https://example.com/a%20b",
		`https://example.com/"onload=x`:     "https://example.com/%22onload=x",
		"javascript:alert(1)":               "",
		"JAVASCRIPT:alert(1)":               "",
		"data:text/html,hi":                 "",
		"//evil.example/x":                  "",
		"/relative":                         "",
		"https:///nohost":                   "",
		"ftp://example.com/file":            "",
		"":                                  "",
	} {
		if got := safeURL(raw); got != want {
			t.Errorf("safeURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestPostFromAllowedOrigin(t *testing.T) {
	allowed := postOrigins{hubdesk: "https://hubdesk.example.com", myshopify: "acme.myshopify.com", storefronts: []string{"shop.acme.example", "www.acme.example"}}
	origins := []struct{ name, origin string }{
		{"absent", ""},
		{"hubdesk", "https://hubdesk.example.com"},
		{"myshopify", "https://acme.myshopify.com"},
		{"custom storefront domain", "https://www.acme.example"},
		{"foreign", "https://evil.example"},
		{"null", "null"},
	}
	// want[Sec-Fetch-Site] lists the answer per origin above, in order.
	want := map[string][6]bool{
		"same-origin": {true, true, true, true, true, true},
		"none":        {true, true, true, true, true, true},
		"same-site":   {false, true, true, true, false, false},
		"cross-site":  {false, false, false, false, false, false},
		"":            {true, true, true, true, false, false},
		"unknown":     {false, true, true, true, false, false},
	}
	for site, answers := range want {
		for i, o := range origins {
			if got := postFromAllowedOrigin(site, o.origin, allowed); got != answers[i] {
				t.Errorf("Sec-Fetch-Site %q, Origin %s (%q): %v, want %v", site, o.name, o.origin, got, answers[i])
			}
		}
	}
	// Near misses of an allowed origin, with no Sec-Fetch-Site.
	for _, origin := range []string{
		"http://www.acme.example",       // storefronts are https
		"https://www.acme.example:8443", // another origin on the host
		"https://acme.example",          // the parent domain is not listed
		"https://www.acme.example.evil", // a suffix
		"https://evil.example/www.acme.example",
		"http://hubdesk.example.com",  // hubdesk is https here
		"https://other.myshopify.com", // another shop
	} {
		if postFromAllowedOrigin("", origin, allowed) {
			t.Errorf("Origin %q is allowed", origin)
		}
	}
	// Browsers write Origin in lower case; a client that does not is still
	// the same origin.
	if !postFromAllowedOrigin("", "HTTPS://WWW.ACME.EXAMPLE", allowed) {
		t.Error("an upper-case storefront origin is refused")
	}
	// Without a BaseURL only the storefronts are allowed.
	if postFromAllowedOrigin("", "", postOrigins{myshopify: "acme.myshopify.com"}) != true ||
		postFromAllowedOrigin("same-site", "https://hubdesk.example.com", postOrigins{myshopify: "acme.myshopify.com"}) {
		t.Error("an unset BaseURL changes the rule")
	}
}
