package returns

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
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

// Storefront domains go through the draft/published flow like every
// General field, and a change is audited by name.
func TestStorefrontDomainsDraftPublishedAndAudited(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		db, shopID := withShop(t, db)
		s, log := newStore(t, db)
		res, err := s.Update(ctx, shopID, admin, func(c *Config) error {
			c.General.StorefrontDomains = []string{"Shop.Example.com", "www.shop.example.com"}
			return nil
		})
		if err != nil || res.Published || !slices.Equal(res.Changed, []string{"general.storefront_domains"}) {
			t.Fatalf("save: %+v %v", res, err)
		}
		st, _ := s.Load(ctx, shopID)
		if want := []string{"shop.example.com", "www.shop.example.com"}; !slices.Equal(st.Draft.General.StorefrontDomains, want) {
			t.Fatalf("draft = %q, want %q", st.Draft.General.StorefrontDomains, want)
		}
		if pub, _ := s.Published(ctx, shopID); len(pub.General.StorefrontDomains) != 0 {
			t.Fatalf("a draft save published %q", pub.General.StorefrontDomains)
		}
		if err := s.SetLive(ctx, shopID, true, admin); err != nil {
			t.Fatal(err)
		}
		if pub, _ := s.Published(ctx, shopID); len(pub.General.StorefrontDomains) != 2 {
			t.Fatalf("going live published %q", pub.General.StorefrontDomains)
		}
		// Emptying the list is a change too, and leaves nothing behind.
		res, err = s.Update(ctx, shopID, admin, func(c *Config) error {
			c.General.StorefrontDomains = []string{""}
			return nil
		})
		if err != nil || !slices.Equal(res.Changed, []string{"general.storefront_domains"}) {
			t.Fatalf("emptying: %+v %v", res, err)
		}
		if st, _ := s.Load(ctx, shopID); st.Draft.General.StorefrontDomains != nil || st.Unpublished() {
			t.Fatalf("after emptying: draft %q, unpublished %v", st.Draft.General.StorefrontDomains, st.Unpublished())
		}
		// A refused list is not stored.
		_, err = s.Update(ctx, shopID, admin, func(c *Config) error {
			c.General.StorefrontDomains = []string{"https://evil.example/"}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "storefront_domains") {
			t.Fatalf("a bad domain: %v", err)
		}
		entries, _, _ := log.List(ctx, shopID, audit.Filter{Action: "settings."}, database.Page{Limit: 50})
		fields := 0
		for _, e := range entries {
			if fs, _ := e.Details["fields"].([]any); len(fs) == 1 && fs[0] == "general.storefront_domains" {
				fields++
			}
		}
		if fields != 2 {
			t.Fatalf("%d audit entries name general.storefront_domains, want 2 (%+v)", fields, entries)
		}
	})
}
