package returns

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestStorefrontDomainsAreNormalised(t *testing.T) {
	ok := []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"", "  "}, nil},
		{[]string{" Shop.Example.COM ", "shop.example.com", "www.shop.example.com.", "shop.example.com"}, []string{"shop.example.com", "www.shop.example.com"}},
		{[]string{"xn--bcher-kva.example"}, []string{"xn--bcher-kva.example"}},
	}
	for _, c := range ok {
		g := DefaultConfig()
		g.General.StorefrontDomains = c.in
		if err := g.Validate(); err != nil || !slices.Equal(g.General.StorefrontDomains, c.want) {
			t.Errorf("%q: got %q, %v; want %q", c.in, g.General.StorefrontDomains, err, c.want)
		}
	}
	tooMany := make([]string, MaxStorefrontDomains+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("shop%d.example.com", i)
	}
	bad := map[string][]string{
		"scheme":          {"https://shop.example.com"},
		"path":            {"shop.example.com/apps/hub"},
		"port":            {"shop.example.com:443"},
		"credentials":     {"me@shop.example.com"},
		"one label":       {"localhost"},
		"IP address":      {"192.0.2.1"},
		"space inside":    {"shop example.com"},
		"underscore":      {"shop_1.example.com"},
		"leading hyphen":  {"-shop.example.com"},
		"empty label":     {"shop..example.com"},
		"unicode":         {"bücher.example"},
		"wildcard":        {"*.example.com"},
		"too many":        tooMany,
		"one bad of many": {"shop.example.com", "https://www.shop.example.com/"},
	}
	for name, in := range bad {
		g := DefaultConfig()
		g.General.StorefrontDomains = in
		var fe *FieldError
		if err := g.Validate(); !errors.As(err, &fe) || fe.Field != "general.storefront_domains" {
			t.Errorf("%s %q: got %v, want a general.storefront_domains error", name, in, err)
		}
	}
}
