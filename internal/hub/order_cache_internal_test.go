package hub

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// orderPageSettings sorts every published setting: shown says whether the
// order page (its layout, Contact support, the Returns section) depends
// on it, so that orderPageKey must name it. A setting added later fails
// here until it is sorted.
var orderPageSettings = map[string]bool{
	"General.HubEnabled":                  true, // the help link, and the page at all
	"General.HelpdeskEnabled":             true, // Contact support, the Messages tab
	"General.ReturnWindowDays":            true,
	"General.HelpCentreURL":               true,
	"General.InTheme":                     true,
	"General.LogoURL":                     false, // mail only
	"General.StorefrontDomains":           false, // which origins may post
	"Returns.Provider":                    true,
	"Returns.LoopAPIKey":                  true, // whether Loop answers eligibility, and which key asked
	"Returns.LoopKeyLast4":                false,
	"Returns.LoopWebhookSecret":           false,
	"Returns.LoopWebhookSecretLast4":      false,
	"Returns.LoopPortalURL":               true,  // whether returns are on
	"Returns.LookupField":                 false, // used when a return starts
	"Returns.PortalURL":                   true,  // whether returns are on
	"Returns.PortalLookup":                false, // used when a return starts
	"Returns.Params":                      false, // used when a return starts
	"Returns.HideInitiateReturn":          false, // the desk's button
	"Returns.KeyCheck":                    false,
	"Returns.LoopKeyUnreadable":           false, // the hub answers 503 then
	"Returns.LoopWebhookSecretUnreadable": false,
}

// Every setting the order page shows is in its cache key: changing any one
// of them names another page.
func TestOrderPageKeyNamesEverySettingShown(t *testing.T) {
	base := returns.DefaultConfig()
	base.General.HelpCentreURL = "https://help.acme.example/"
	base.Returns.Provider = returns.ProviderLoop
	base.Returns.LoopAPIKey = "loop-key-1"
	base.Returns.LoopPortalURL = "https://acme.loopreturns.com/"
	base.Returns.PortalURL = "https://acme.returnscenter.com/"
	h := &Hub{}
	key := func(cfg returns.Config) string {
		s := &session{mode: viaProxy, shop: &shop.Shop{ID: 1, Domain: "acme.myshopify.com", Name: "Acme"},
			customer: &commerce.Customer{ID: 2}, loggedIn: true, cfg: cfg, loc: locale.Hub.For("en"), base: "/apps/hub", carry: url.Values{}}
		k, ok := h.orderPageKey(s, 3, false, 4)
		if !ok {
			t.Fatal("a shopper's order page is not kept")
		}
		return k
	}
	was := key(base)
	seen := map[string]bool{}
	for _, part := range []string{"General", "Returns"} {
		typ := reflect.ValueOf(base).FieldByName(part).Type()
		for i := range typ.NumField() {
			name := part + "." + typ.Field(i).Name
			seen[name] = true
			shown, sorted := orderPageSettings[name]
			if !sorted {
				t.Errorf("setting %s is new: say in orderPageSettings whether the order page shows it (then orderPageKey names it)", name)
				continue
			}
			if !shown {
				continue
			}
			cfg := base
			f := reflect.ValueOf(&cfg).Elem().FieldByName(part).Field(i)
			switch f.Kind() {
			case reflect.Bool:
				f.SetBool(!f.Bool())
			case reflect.String:
				f.SetString(f.String() + "-changed")
			case reflect.Int:
				f.SetInt(f.Int() + 1)
			default:
				t.Fatalf("setting %s: change a %s how?", name, f.Kind())
			}
			if key(cfg) == was {
				t.Errorf("changing %s leaves the order page's key as it was", name)
			}
		}
	}
	for name := range orderPageSettings {
		if !seen[name] {
			t.Errorf("orderPageSettings sorts %s, which is no setting", name)
		}
	}
}
