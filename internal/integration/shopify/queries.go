package shopify

import (
	"context"
	"strings"
)

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

// UserError is one entry of a mutation's userErrors.
type UserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code,omitempty"`
}

// userErrors turns a mutation's userErrors into an *Error (nil when none).
func userErrors(op string, errs []UserError) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Message
		if len(e.Field) > 0 {
			msgs[i] = strings.Join(e.Field, ".") + ": " + e.Message
		}
	}
	return &Error{Op: op, Kind: KindInvalid, Status: 200, Code: errs[0].Code, Message: strings.Join(msgs, "; ")}
}

// WebhookSubscription is one of the app's webhook subscriptions.
type WebhookSubscription struct {
	ID     string `json:"id"`
	Topic  string `json:"topic"` // enum form: ORDERS_CREATE
	URI    string `json:"uri"`
	Format string `json:"format"`
}

// WebhookTopic turns a REST topic ("orders/create") into the GraphQL enum
// ("ORDERS_CREATE").
func WebhookTopic(rest string) string {
	return strings.ToUpper(strings.NewReplacer("/", "_").Replace(rest))
}

const webhookSubscriptionsQuery = `query WebhookSubscriptions($after: String) {
	webhookSubscriptions(first: 100, after: $after) {
		pageInfo { hasNextPage endCursor }
		nodes { id topic uri format }
	}
}`

// WebhookSubscriptions lists every subscription of the app on the shop.
func (c *Client) WebhookSubscriptions(ctx context.Context) ([]WebhookSubscription, error) {
	var all []WebhookSubscription
	vars := map[string]any{}
	for {
		var out struct {
			WebhookSubscriptions struct {
				PageInfo PageInfo              `json:"pageInfo"`
				Nodes    []WebhookSubscription `json:"nodes"`
			} `json:"webhookSubscriptions"`
		}
		if err := c.Do(ctx, webhookSubscriptionsQuery, vars, &out); err != nil {
			return nil, err
		}
		all = append(all, out.WebhookSubscriptions.Nodes...)
		pi := out.WebhookSubscriptions.PageInfo
		if !pi.HasNextPage || pi.EndCursor == "" {
			return all, nil
		}
		vars["after"] = pi.EndCursor
	}
}

const webhookSubscriptionCreateMutation = `mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
	webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
		webhookSubscription { id topic uri format }
		userErrors { field message }
	}
}`

// CreateWebhookSubscription subscribes uri to a topic (REST form
// "orders/create" or enum form "ORDERS_CREATE"), JSON format.
func (c *Client) CreateWebhookSubscription(ctx context.Context, topic, uri string) (WebhookSubscription, error) {
	var out struct {
		Create struct {
			WebhookSubscription *WebhookSubscription `json:"webhookSubscription"`
			UserErrors          []UserError          `json:"userErrors"`
		} `json:"webhookSubscriptionCreate"`
	}
	vars := map[string]any{"topic": WebhookTopic(topic), "sub": map[string]any{"uri": uri, "format": "JSON"}}
	if err := c.Do(ctx, webhookSubscriptionCreateMutation, vars, &out); err != nil {
		return WebhookSubscription{}, err
	}
	if err := userErrors("mutation WebhookSubscriptionCreate", out.Create.UserErrors); err != nil {
		return WebhookSubscription{}, err
	}
	if out.Create.WebhookSubscription == nil {
		return WebhookSubscription{}, &Error{Op: "mutation WebhookSubscriptionCreate", Kind: KindUnavailable, Status: 200, Message: "no subscription in the answer"}
	}
	return *out.Create.WebhookSubscription, nil
}

const webhookSubscriptionDeleteMutation = `mutation WebhookSubscriptionDelete($id: ID!) {
	webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}`

// DeleteWebhookSubscription removes a subscription; one already gone is
// not an error.
func (c *Client) DeleteWebhookSubscription(ctx context.Context, id string) error {
	var out struct {
		Delete struct {
			Deleted    *string     `json:"deletedWebhookSubscriptionId"`
			UserErrors []UserError `json:"userErrors"`
		} `json:"webhookSubscriptionDelete"`
	}
	if err := c.Do(ctx, webhookSubscriptionDeleteMutation, map[string]any{"id": GID("WebhookSubscription", id)}, &out); err != nil {
		return err
	}
	for _, e := range out.Delete.UserErrors {
		if strings.Contains(strings.ToLower(e.Message), "does not exist") || strings.Contains(strings.ToLower(e.Message), "not found") {
			return nil
		}
	}
	return userErrors("mutation WebhookSubscriptionDelete", out.Delete.UserErrors)
}
