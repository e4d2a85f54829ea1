package sandbox

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// The operations hubdesk sends, one resolver per root field. Requested
// costs follow Shopify's rules: an object 1 point, a connection 2 +
// first × its node's cost, a mutation 10; the actual cost counts what was
// returned, and the difference goes back into the bucket.

// orderCost is one order node with 20 line items, 5 fulfillments of 10
// fulfillment line items each, as the client asks.
const orderCost = 1 + (2 + 20) + 5*(1+(2+10))

// estimate is a root field's requested cost.
func (c *gqlCall) estimate(field string) float64 {
	if c.op.kind == "mutation" {
		return 10
	}
	switch field {
	case "customer":
		if strings.Contains(c.query, "orders(") {
			return 1 + 2 + float64(c.num("first", 10))*orderCost
		}
		return 2
	case "order":
		return orderCost
	case "webhookSubscriptions":
		return 2 + 100
	}
	return 1
}

// actualOrderCost is what one returned order cost.
func actualOrderCost(o *shopify.Order) float64 {
	cost := 1.0 + 2 + float64(len(o.LineItems.Nodes))
	for _, f := range o.Fulfillments {
		cost += 1 + 2 + float64(len(f.FulfillmentLineItems.Nodes))
	}
	return cost
}

// resolve answers one root field.
func (c *gqlCall) resolve(field string) (resolved, *graphQLError) {
	s := c.s
	switch field {
	case "shop":
		return resolved{value: s.shopObject(), cost: 1}, nil
	case "currentAppInstallation":
		scopes := make([]map[string]string, 0, len(c.scopes))
		for _, sc := range c.scopes {
			scopes = append(scopes, map[string]string{"handle": sc})
		}
		return resolved{value: map[string]any{"id": "gid://shopify/AppInstallation/1", "accessScopes": scopes}, cost: 1}, nil
	case "customer":
		if !c.hasScope("read_customers") {
			return resolved{}, accessDenied(field, "read_customers")
		}
		return c.customer()
	case "order":
		if !c.hasScope("read_orders") {
			return resolved{}, accessDenied(field, "read_orders")
		}
		id, ok := legacy(c.str("id"), "Order")
		if !ok {
			return resolved{value: nil, cost: 1}, nil
		}
		s.dmu.Lock()
		o := s.data.orderByID(id)
		s.dmu.Unlock()
		if o == nil {
			return resolved{value: nil, cost: 1}, nil
		}
		return resolved{value: o, cost: actualOrderCost(o)}, nil
	case "bulkOperationRunQuery":
		if !c.hasScope("read_orders") {
			return resolved{}, accessDenied(field, "read_orders")
		}
		return c.bulkRun()
	case "currentBulkOperation":
		s.dmu.Lock()
		defer s.dmu.Unlock()
		if s.data.bulk == nil {
			return resolved{value: nil, cost: 1}, nil
		}
		return resolved{value: s.data.bulk.object(), cost: 1}, nil
	case "node":
		return c.node()
	case "bulkOperationCancel":
		return c.bulkCancel()
	}
	if res, gerr, ok := c.resolveSubscriptions(field); ok {
		return res, gerr
	}
	if res, gerr, ok := c.resolveSubscriptions(field); ok {
		return res, gerr
	}
	return resolved{}, &graphQLError{Message: fmt.Sprintf("Field '%s' doesn't exist on type '%s'", field, rootType(c.op.kind)),
		Extensions: map[string]any{"code": "undefinedField", "typeName": rootType(c.op.kind), "fieldName": field}}
}

// legacy reads the numeric id of a gid of the given type.
func legacy(gid, typ string) (int64, bool) {
	rest, ok := strings.CutPrefix(gid, "gid://shopify/"+typ+"/")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil
}

// customer answers customer(id:), with its orders page when asked.
func (c *gqlCall) customer() (resolved, *graphQLError) {
	s := c.s
	id, ok := legacy(c.str("id"), "Customer")
	if !ok {
		return resolved{value: nil, cost: 1}, nil
	}
	s.dmu.Lock()
	defer s.dmu.Unlock()
	cust := s.data.customerByID(id)
	if cust == nil {
		return resolved{value: nil, cost: 1}, nil
	}
	out := map[string]any{}
	mergeJSON(out, cust)
	cost := 1.0
	if strings.Contains(c.query, "orders(") {
		if !c.hasScope("read_orders") {
			return resolved{}, accessDenied("orders", "read_orders")
		}
		first := c.num("first", 10)
		if first < 1 || first > 250 {
			return resolved{}, &graphQLError{Message: "first must be between 1 and 250", Extensions: map[string]any{"code": "BAD_REQUEST"}}
		}
		ids := s.data.customerOrderIDs(id)
		start := 0
		if after := c.str("after"); after != "" {
			last, ok := decodeCursor(after)
			if !ok {
				return resolved{}, &graphQLError{Message: "Invalid cursor for current pagination.", Extensions: map[string]any{"code": "BAD_REQUEST"}}
			}
			for i, oid := range ids {
				if oid == last {
					start = i + 1
					break
				}
			}
		}
		end := min(start+first, len(ids))
		nodes := make([]*shopify.Order, 0, end-start)
		cost += 2
		for _, oid := range ids[start:end] {
			o := s.data.orderByID(oid)
			nodes = append(nodes, o)
			cost += actualOrderCost(o)
		}
		pi := map[string]any{"hasNextPage": end < len(ids), "endCursor": nil}
		if end > start {
			pi["endCursor"] = encodeCursor(ids[end-1])
		}
		out["orders"] = map[string]any{"pageInfo": pi, "nodes": nodes}
	}
	return resolved{value: out, cost: cost}, nil
}

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"last_id":` + strconv.FormatInt(id, 10) + `}`))
}

func decodeCursor(cur string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(b), `{"last_id":`)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(s, "}"), 10, 64)
	return n, err == nil
}

// node answers node(id:) for the object kinds hubdesk asks about.
func (c *gqlCall) node() (resolved, *graphQLError) {
	s := c.s
	gid := c.str("id")
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if b := s.data.bulk; b != nil && b.id == gid {
		return resolved{value: b.object(), cost: 1}, nil
	}
	for _, old := range s.bulkHistory {
		if old.id == gid {
			return resolved{value: old.object(), cost: 1}, nil
		}
	}
	if id, ok := legacy(gid, "Order"); ok {
		if o := s.data.orderByID(id); o != nil {
			return resolved{value: o, cost: actualOrderCost(o)}, nil
		}
	}
	return resolved{value: nil, cost: 1}, nil
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
	own := s.StorefrontDomains()
	for _, d := range own {
		domains = append(domains, map[string]any{"host": d})
	}
	if len(own) > 0 {
		primary = own[0]
	}
	return map[string]any{
		"id": "gid://shopify/Shop/1", "name": s.opts.ShopName, "myshopifyDomain": s.opts.Shop,
		"primaryDomain": map[string]any{"host": primary}, "domains": domains,
		"currencyCode": "USD",
	}
}

// StorefrontDomains are the shop's own domains beyond its myshopify.com
// one, the primary first.
func (s *Sandbox) StorefrontDomains() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.opts.StorefrontDomains)
}

// SetStorefrontDomains changes the shop's own domains (the first is
// primary; none: the myshopify.com domain is), as a merchant adding or
// removing a domain would. Shopify would send shop/update; the sandbox
// leaves that to SendWebhook, so a test can check the periodic repair.
func (s *Sandbox) SetStorefrontDomains(domains ...string) {
	s.mu.Lock()
	s.opts.StorefrontDomains = slices.Clone(domains)
	s.mu.Unlock()
}
