package shopify

import "context"

// The operations hubdesk sends, typed by hand (Shopify's schema cannot be
// fetched here, so nothing is generated). Every argument goes in variables.

// ShopInfo is the shop's identity and its storefront domains.
type ShopInfo struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	MyshopifyDomain string `json:"myshopifyDomain"`
	PrimaryDomain   struct {
		Host string `json:"host"`
	} `json:"primaryDomain"`
	Domains []struct {
		Host string `json:"host"`
	} `json:"domains"`
	CurrencyCode string `json:"currencyCode"`
}

// StorefrontHosts are the shop's domains, primary first, without repeats.
func (s ShopInfo) StorefrontHosts() []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range append([]string{s.PrimaryDomain.Host}, hosts(s.Domains)...) {
		if h != "" && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

func hosts(ds []struct {
	Host string `json:"host"`
}) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Host
	}
	return out
}

const shopQuery = `query Shop { shop { id name myshopifyDomain primaryDomain { host } domains { host } currencyCode } }`

// Shop reads the shop's name and domains.
func (c *Client) Shop(ctx context.Context) (ShopInfo, error) {
	var out struct {
		Shop ShopInfo `json:"shop"`
	}
	err := c.Do(ctx, shopQuery, nil, &out)
	return out.Shop, err
}

const accessScopesQuery = `query AccessScopes { currentAppInstallation { accessScopes { handle } } }`

// AccessScopes are the scopes the token was granted: the cheap query a
// connection is checked with on save.
func (c *Client) AccessScopes(ctx context.Context) ([]string, error) {
	var out struct {
		CurrentAppInstallation struct {
			AccessScopes []struct {
				Handle string `json:"handle"`
			} `json:"accessScopes"`
		} `json:"currentAppInstallation"`
	}
	if err := c.Do(ctx, accessScopesQuery, nil, &out); err != nil {
		return nil, err
	}
	scopes := make([]string, 0, len(out.CurrentAppInstallation.AccessScopes))
	for _, s := range out.CurrentAppInstallation.AccessScopes {
		scopes = append(scopes, s.Handle)
	}
	return scopes, nil
}
