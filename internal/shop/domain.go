package shop

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidDomain wraps every reason ParseDomain refuses a domain, so
// callers can answer it as the caller's mistake.
var ErrInvalidDomain = errors.New("invalid shop domain")

// ParseDomain checks that s is a shop's host name — its x.myshopify.com
// domain or a plain host name such as shop.example.com — and returns it in
// lower case. It is the one rule for shop domains: App Proxy requests name
// their shop by this exact string, so a scheme, path, port or stray space
// would make a shop nobody can reach.
func ParseDomain(s string) (string, error) {
	domain := strings.ToLower(strings.TrimSpace(s))
	refuse := func(why string) (string, error) {
		return "", fmt.Errorf("%w %q: %s", ErrInvalidDomain, s, why)
	}
	switch {
	case domain == "":
		return refuse("want a host name such as your-store.myshopify.com")
	case strings.Contains(domain, "://"):
		return refuse("want the host name alone, without a scheme such as https://")
	case strings.ContainsAny(domain, "/?#"):
		return refuse("want the host name alone, without a path")
	case strings.Contains(domain, ":"):
		return refuse("want the host name alone, without a port")
	case strings.ContainsAny(domain, " \t\r\n"):
		return refuse("a host name has no spaces")
	case len(domain) > 253:
		return refuse("longer than 253 characters")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return refuse("want a full host name such as your-store.myshopify.com")
	}
	for _, label := range labels {
		if label == "" {
			return refuse("empty label (two dots in a row, or a dot at either end)")
		}
		if len(label) > 63 {
			return refuse("a label is longer than 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return refuse("a label starts or ends with a hyphen")
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return refuse(fmt.Sprintf("%q is not allowed in a host name", c))
			}
		}
	}
	if tld := labels[len(labels)-1]; strings.Trim(tld, "0123456789") == "" {
		return refuse("want a host name, not an IP address")
	}
	return domain, nil
}
