package sandbox

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Webhook subscriptions the app made through the Admin API
// (webhookSubscriptions, webhookSubscriptionCreate,
// webhookSubscriptionDelete). The sandbox keeps them so hubdesk's
// registration and repair can be checked, and so that webhooks it sends
// can go where the app asked.

// WebhookTopics are the subscription topics the sandbox accepts (the ones
// hubdesk uses; Shopify has many more).
var WebhookTopics = []string{
	"APP_UNINSTALLED", "BULK_OPERATIONS_FINISH", "CUSTOMERS_CREATE", "CUSTOMERS_UPDATE",
	"FULFILLMENTS_CREATE", "FULFILLMENTS_UPDATE", "FULFILLMENT_EVENTS_CREATE",
	"ORDERS_CANCELLED", "ORDERS_CREATE", "ORDERS_FULFILLED", "ORDERS_PAID", "ORDERS_UPDATED", "REFUNDS_CREATE",
}

// Subscription is one webhook subscription held by the sandbox.
type Subscription struct {
	ID    string // gid://shopify/WebhookSubscription/N
	Topic string // GraphQL enum value, e.g. ORDERS_CREATE
	URI   string
}

type subscriptionState struct {
	next int
	byID map[string]Subscription
}

// WebhookSubscriptions lists the subscriptions, oldest first.
func (s *Sandbox) WebhookSubscriptions() []Subscription {
	s.amu.Lock()
	defer s.amu.Unlock()
	out := make([]Subscription, 0, len(s.subs.byID))
	for _, sub := range s.subs.byID {
		out = append(out, sub)
	}
	sort.Slice(out, func(i, j int) bool { return subNumber(out[i].ID) < subNumber(out[j].ID) })
	return out
}

// DropWebhookSubscription removes a subscription as if it had been
// deleted behind the app's back (tests of the repair).
func (s *Sandbox) DropWebhookSubscription(id string) {
	s.amu.Lock()
	delete(s.subs.byID, id)
	s.amu.Unlock()
}

func subNumber(id string) int {
	n, _ := strconv.Atoi(id[strings.LastIndex(id, "/")+1:])
	return n
}

// resolveSubscriptions answers the subscription fields; ok is false for
// any other field.
func (c *gqlCall) resolveSubscriptions(field string) (res resolved, gerr *graphQLError, ok bool) {
	s := c.s
	cost := c.estimate(field)
	switch field {
	case "webhookSubscriptions":
		subs := s.WebhookSubscriptions()
		nodes := make([]map[string]any, 0, len(subs))
		for _, sub := range subs {
			nodes = append(nodes, subscriptionObject(sub))
		}
		return resolved{value: map[string]any{"nodes": nodes, "pageInfo": map[string]any{"hasNextPage": false, "endCursor": nil}}, cost: cost}, nil, true
	case "webhookSubscriptionCreate":
		topic := c.str("topic")
		in, _ := c.vars["webhookSubscription"].(map[string]any)
		uri, _ := in["uri"].(string)
		if uri == "" {
			uri, _ = in["callbackUrl"].(string)
		}
		var userErrors []map[string]any
		u, err := url.Parse(uri)
		switch {
		case !slices.Contains(WebhookTopics, topic):
			return resolved{}, &graphQLError{Message: fmt.Sprintf("Variable $topic of type WebhookSubscriptionTopic! was provided invalid value %q", topic),
				Extensions: map[string]any{"code": "INVALID_VARIABLE"}}, true
		case uri == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			userErrors = append(userErrors, map[string]any{"field": []string{"webhookSubscription", "uri"}, "message": "Address is invalid"})
		}
		s.amu.Lock()
		for _, sub := range s.subs.byID {
			if userErrors == nil && sub.Topic == topic && sub.URI == uri {
				userErrors = append(userErrors, map[string]any{"field": []string{"webhookSubscription", "uri"}, "message": "Address for this topic has already been taken"})
			}
		}
		var created any
		if userErrors == nil {
			s.subs.next++
			sub := Subscription{ID: "gid://shopify/WebhookSubscription/" + strconv.Itoa(s.subs.next), Topic: topic, URI: uri}
			s.subs.byID[sub.ID] = sub
			created = subscriptionObject(sub)
		}
		s.amu.Unlock()
		if userErrors == nil {
			userErrors = []map[string]any{}
		}
		return resolved{value: map[string]any{"webhookSubscription": created, "userErrors": userErrors}, cost: cost}, nil, true
	case "webhookSubscriptionDelete":
		id := c.str("id")
		s.amu.Lock()
		_, found := s.subs.byID[id]
		delete(s.subs.byID, id)
		s.amu.Unlock()
		if !found {
			return resolved{value: map[string]any{"deletedWebhookSubscriptionId": nil,
				"userErrors": []map[string]any{{"field": []string{"id"}, "message": "Webhook subscription does not exist"}}}, cost: cost}, nil, true
		}
		return resolved{value: map[string]any{"deletedWebhookSubscriptionId": id, "userErrors": []map[string]any{}}, cost: cost}, nil, true
	}
	return resolved{}, nil, false
}

func subscriptionObject(sub Subscription) map[string]any {
	return map[string]any{"id": sub.ID, "topic": sub.Topic, "uri": sub.URI, "format": "JSON"}
}
