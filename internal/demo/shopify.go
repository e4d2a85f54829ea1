package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/web"
)

// AdminToken is the Admin API access token the demo's Shopify sandbox
// accepts and the demo shop is connected with, as an admin-created custom
// app's pasted token would be. Demo only.
const AdminToken = "shpat_hubdesk_demo_admin_token"

// ShopifyConnector connects the demo shop to the Shopify sandbox's Admin
// API (shopifyconnect.Connector).
type ShopifyConnector interface {
	Status(ctx context.Context, shopID int64) (*shopifyconnect.Status, error)
	ConnectCustomApp(ctx context.Context, shopID int64, actor audit.Actor, in shopifyconnect.CustomApp) (*shopifyconnect.Status, error)
	Recheck(ctx context.Context, shopID int64, actor audit.Actor) (*shopifyconnect.Status, error)
}

// DemoActor is the demo's own setup, as the audit log names it.
var DemoActor = audit.Actor{Kind: audit.ActorSystem, ID: "demo", Label: "Demo setup"}

// ConnectShopify connects the demo shop to the Shopify sandbox as a
// merchant connecting an admin-created custom app would: the token and
// client secret are checked against the sandbox's Admin API (its granted
// scopes), saved sealed, and the webhook subscriptions made there. The
// sandbox must be serving. A demo restarted on its data directory,
// already connected, is checked again (the scopes, and the subscriptions
// of this run's sandbox, which starts empty).
func ConnectShopify(ctx context.Context, c ShopifyConnector, shopID int64) (*shopifyconnect.Status, error) {
	st, err := c.Status(ctx, shopID)
	if err != nil {
		return nil, fmt.Errorf("demo: Shopify status: %w", err)
	}
	if st.Connected && st.Method == connection.ShopifyAdminToken && !st.Unreadable {
		if st, err = c.Recheck(ctx, shopID, DemoActor); err == nil {
			return st, nil
		}
		// Another token (a merchant's own): connect the demo's again.
	}
	st, err = c.ConnectCustomApp(ctx, shopID, DemoActor, shopifyconnect.CustomApp{
		Method: connection.ShopifyAdminToken, AccessToken: AdminToken, ClientSecret: ClientSecret})
	if err != nil {
		return nil, fmt.Errorf("demo: connect the Shopify sandbox: %w", err)
	}
	return st, nil
}

// sandboxAddress is the person's address as Shopify's Admin API gives it.
func sandboxAddress(p person) *shopify.MailingAddress {
	return &shopify.MailingAddress{Name: p.first + " " + p.last, Address1: p.addr.Address1, City: p.addr.City, Province: p.addr.Province,
		Zip: p.addr.Zip, CountryCodeV2: p.addr.CountryCode, Phone: p.phone}
}

// NextOrderNumber is the number the Shopify sandbox gives the first order
// created in it: past every order the demo holds (seeded, or created in
// an earlier run's sandbox), so no two orders share a name or an id.
func NextOrderNumber(res *Result) int {
	next := 1001
	for _, o := range res.Orders {
		if n, err := strconv.Atoi(strings.TrimPrefix(o.Name, "#")); err == nil && n >= next {
			next = n + 1
		}
	}
	return next
}

// SandboxImageURL gives the Shopify sandbox's products images the demo
// serves (the hub shows them; the sandbox's default CDN resolves
// nowhere): the demo image its title names, or the mug's.
func SandboxImageURL(baseURL string) func(sku, title string) string {
	return func(_, title string) string {
		img := "mug"
		t := strings.ToLower(title)
		for _, p := range products {
			if strings.Contains(t, p.image) {
				img = p.image
				break
			}
		}
		return baseURL + web.DefaultAssets.URL("demo/"+img+".svg")
	}
}
