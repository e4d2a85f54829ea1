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

// Order fields, shared by every order query. Sizes are chosen so that a
// page of ten orders stays under Shopify's 1000-point limit for one query.
const orderFields = `
	id name email createdAt updatedAt cancelledAt
	displayFinancialStatus displayFulfillmentStatus returnStatus currencyCode
	totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
	subtotalPriceSet { presentmentMoney { amount currencyCode } }
	totalShippingPriceSet { presentmentMoney { amount currencyCode } }
	totalTaxSet { presentmentMoney { amount currencyCode } }
	shippingAddress { name address1 address2 city province zip countryCodeV2 phone }
	customer { ` + customerFields + ` }
	lineItems(first: 20) {
		pageInfo { hasNextPage endCursor }
		nodes { id title variantTitle quantity currentQuantity sku
			originalUnitPriceSet { presentmentMoney { amount currencyCode } }
			image { url altText } variant { id legacyResourceId availableForSale } }
	}
	fulfillments(first: 5) {
		id status displayStatus createdAt updatedAt inTransitAt deliveredAt estimatedDeliveryAt
		trackingInfo(first: 3) { company number url }
		fulfillmentLineItems(first: 10) { nodes { id quantity lineItem { id } } }
	}`

const customerFields = `id firstName lastName phone createdAt updatedAt
	defaultEmailAddress { emailAddress }
	defaultAddress { name address1 address2 city province zip countryCodeV2 phone }`

const customerOrdersQuery = `query CustomerOrders($id: ID!, $first: Int!, $after: String) {
	customer(id: $id) {
		` + customerFields + `
		orders(first: $first, after: $after, sortKey: CREATED_AT, reverse: true) {
			pageInfo { hasNextPage endCursor }
			nodes { ` + orderFields + ` }
		}
	}
}`

// DefaultOrdersPage is how many orders one CustomerOrders call asks for.
const DefaultOrdersPage = 10

// CustomerOrdersPage is one page of a customer's orders, newest first.
type CustomerOrdersPage struct {
	Customer *Customer // nil when Shopify has no such customer
	Orders   []Order
	PageInfo PageInfo
}

// CustomerOrders reads one page of a customer's orders, newest first.
// customerID is a gid or a numeric id; after is the previous page's
// EndCursor ("" for the first page); first ≤ 0 means DefaultOrdersPage.
func (c *Client) CustomerOrders(ctx context.Context, customerID string, first int, after string) (CustomerOrdersPage, error) {
	if first <= 0 {
		first = DefaultOrdersPage
	}
	vars := map[string]any{"id": GID("Customer", customerID), "first": first}
	if after != "" {
		vars["after"] = after
	}
	var out struct {
		Customer *struct {
			Customer
			Orders struct {
				PageInfo PageInfo `json:"pageInfo"`
				Nodes    []Order  `json:"nodes"`
			} `json:"orders"`
		} `json:"customer"`
	}
	if err := c.Do(ctx, customerOrdersQuery, vars, &out); err != nil {
		return CustomerOrdersPage{}, err
	}
	if out.Customer == nil {
		return CustomerOrdersPage{}, nil
	}
	cust := out.Customer.Customer
	return CustomerOrdersPage{Customer: &cust, Orders: out.Customer.Orders.Nodes, PageInfo: out.Customer.Orders.PageInfo}, nil
}

// AllCustomerOrders follows the cursor through every page of a customer's
// orders, up to max orders (≤ 0: all), newest first.
func (c *Client) AllCustomerOrders(ctx context.Context, customerID string, max int) (*Customer, []Order, error) {
	var cust *Customer
	var orders []Order
	after := ""
	for {
		page, err := c.CustomerOrders(ctx, customerID, DefaultOrdersPage, after)
		if err != nil {
			return nil, nil, err
		}
		if page.Customer == nil {
			return nil, nil, nil
		}
		cust = page.Customer
		orders = append(orders, page.Orders...)
		if !page.PageInfo.HasNextPage || page.PageInfo.EndCursor == "" || (max > 0 && len(orders) >= max) {
			break
		}
		after = page.PageInfo.EndCursor
	}
	if max > 0 && len(orders) > max {
		orders = orders[:max]
	}
	return cust, orders, nil
}

const orderQuery = `query Order($id: ID!) { order(id: $id) { ` + orderFields + ` } }`

// Order reads one order by gid or numeric id; nil when there is none.
func (c *Client) Order(ctx context.Context, id string) (*Order, error) {
	var out struct {
		Order *Order `json:"order"`
	}
	if err := c.Do(ctx, orderQuery, map[string]any{"id": GID("Order", id)}, &out); err != nil {
		return nil, err
	}
	return out.Order, nil
}

const customerQuery = `query Customer($id: ID!) { customer(id: $id) { ` + customerFields + ` } }`

// Customer reads one customer by gid or numeric id; nil when there is none.
func (c *Client) Customer(ctx context.Context, id string) (*Customer, error) {
	var out struct {
		Customer *Customer `json:"customer"`
	}
	if err := c.Do(ctx, customerQuery, map[string]any{"id": GID("Customer", id)}, &out); err != nil {
		return nil, err
	}
	return out.Customer, nil
}
