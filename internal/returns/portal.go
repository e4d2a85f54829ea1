package returns

import (
	"net/url"
	"strings"
)

// PortalURL sets query parameters on a merchant's portal URL. The
// merchant's own query is kept in its order (a parameter of the same name is
// replaced in place), values are encoded ("#1001" → "%231001"), and only the
// query changes: scheme, host and path come from the configured URL alone,
// so nothing a shopper sends can change where the redirect goes. Empty
// names or values are skipped.
func PortalURL(base string, params ...[2]string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	var pairs []string
	if u.RawQuery != "" {
		pairs = strings.Split(u.RawQuery, "&")
	}
	for _, p := range params {
		name, value := p[0], p[1]
		if name == "" || value == "" {
			continue
		}
		encoded := url.QueryEscape(name) + "=" + url.QueryEscape(value)
		replaced := false
		for i, pair := range pairs {
			k, _, _ := strings.Cut(pair, "=")
			if uk, err := url.QueryUnescape(k); err == nil && uk == name {
				pairs[i], replaced = encoded, true
				break
			}
		}
		if !replaced {
			pairs = append(pairs, encoded)
		}
	}
	u.RawQuery = strings.Join(pairs, "&")
	return u.String(), nil
}
