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
