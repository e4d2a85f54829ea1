package web

import (
	"net/url"
	"path"
	"strings"
)

// LocalPath returns target made ready for a Location header when it is a
// path on this site, and ok=false otherwise. Redirects after a login take
// their destination from the request, so this is the one rule for them:
// the path must start with a single "/" and hold no "\" or control
// character, checked both as sent and percent-decoded, and is cleaned here
// (http.Redirect would clean it later, turning "/./\host" into "/\host",
// which browsers read as "//host", another site).
func LocalPath(target string) (string, bool) {
	if !strings.HasPrefix(target, "/") || strings.ContainsFunc(target, unsafeInPath) {
		return "", false
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	if strings.HasPrefix(u.Path, "//") || strings.ContainsFunc(u.Path, unsafeInPath) {
		return "", false
	}
	clean := path.Clean(u.EscapedPath())
	if strings.HasSuffix(u.Path, "/") && clean != "/" {
		clean += "/"
	}
	if !strings.HasPrefix(clean, "/") || strings.HasPrefix(clean, "//") {
		return "", false
	}
	if u.RawQuery != "" {
		clean += "?" + u.RawQuery
	}
	if u.Fragment != "" {
		clean += "#" + u.EscapedFragment()
	}
	return clean, true
}

// unsafeInPath is true for the backslash, which browsers read as "/", and
// for control characters, which they drop (so "/\t/host" becomes "//host").
func unsafeInPath(r rune) bool {
	return r == '\\' || r < 0x20 || r == 0x7f
}
