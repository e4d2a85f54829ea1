package shop

import (
	"errors"
	"testing"
)

func TestParseDomain(t *testing.T) {
	valid := map[string]string{
		"acme.myshopify.com":       "acme.myshopify.com",
		"  Acme-2.MyShopify.com  ": "acme-2.myshopify.com",
		"shop.example.co.uk":       "shop.example.co.uk",
	}
	for in, want := range valid {
		if got, err := ParseDomain(in); err != nil || got != want {
			t.Errorf("ParseDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "   ", "acme", "https://acme.myshopify.com", "acme.myshopify.com/admin", "acme.myshopify.com:443",
		"acme .myshopify.com", "acme..myshopify.com", ".acme.myshopify.com", "acme.myshopify.com.",
		"-acme.myshopify.com", "acme_shop.myshopify.com", "acme.myshopify.com?x=1", "10.0.0.1", "ac\u00e9me.myshopify.com",
	} {
		if got, err := ParseDomain(in); !errors.Is(err, ErrInvalidDomain) {
			t.Errorf("ParseDomain(%q) = %q, %v; want ErrInvalidDomain", in, got, err)
		}
	}
}
