package sandbox

import "fmt"

// The operations hubdesk sends, one resolver per root field. Costs follow
// Shopify's rules of thumb: an object 1 point, a connection 2 + first ×
// the cost of a node; a mutation 10.

// estimate is a root field's requested cost.
func (c *gqlCall) estimate(field string) float64 {
	switch field {
	case "shop", "currentAppInstallation":
		return 1
	}
	if c.op.kind == "mutation" {
		return 10
	}
	return 1
}

// resolve answers one root field.
func (c *gqlCall) resolve(field string) (resolved, *graphQLError) {
	cost := c.estimate(field)
	switch field {
	case "shop":
		return resolved{value: c.s.shopObject(), cost: cost}, nil
	case "currentAppInstallation":
		scopes := make([]map[string]string, 0, len(c.scopes))
		for _, sc := range c.scopes {
			scopes = append(scopes, map[string]string{"handle": sc})
		}
		return resolved{value: map[string]any{"id": "gid://shopify/AppInstallation/1", "accessScopes": scopes}, cost: cost}, nil
	}
	if res, gerr, ok := c.resolveSubscriptions(field); ok {
		return res, gerr
	}
	return resolved{}, &graphQLError{Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", field, rootType(c.op.kind)),
		Extensions: map[string]any{"code": "undefinedField", "typeName": rootType(c.op.kind), "fieldName": field}}
}

func rootType(kind string) string {
	if kind == "mutation" {
		return "Mutation"
	}
	return "QueryRoot"
}

// shopObject is the shop as `shop { … }` answers it.
func (s *Sandbox) shopObject() map[string]any {
	primary := s.opts.Shop
	domains := []map[string]any{{"host": s.opts.Shop}}
	for _, d := range s.opts.StorefrontDomains {
		domains = append(domains, map[string]any{"host": d})
	}
	if len(s.opts.StorefrontDomains) > 0 {
		primary = s.opts.StorefrontDomains[0]
	}
	return map[string]any{
		"id": "gid://shopify/Shop/1", "name": s.opts.ShopName, "myshopifyDomain": s.opts.Shop,
		"primaryDomain": map[string]any{"host": primary}, "domains": domains,
		"currencyCode": "USD",
	}
}
