package shopify

import (
	"context"
	"strings"
)

// Webhook subscriptions through the Admin API (webhookSubscriptions,
// webhookSubscriptionCreate, webhookSubscriptionDelete). Topics are
// GraphQL enum values (ORDERS_CREATE); TopicName gives the REST-style name
// Shopify sends in X-Shopify-Topic (orders/create).

// WebhookSubscription is one of the app's subscriptions on the shop.
type WebhookSubscription struct {
	ID    string `json:"id"`
	Topic string `json:"topic"`
	URI   string `json:"uri"`
}

// TopicName is the X-Shopify-Topic form of a GraphQL topic:
// FULFILLMENT_EVENTS_CREATE → fulfillment_events/create.
func TopicName(topic string) string {
	t := strings.ToLower(topic)
	i := strings.LastIndex(t, "_")
	if i < 0 {
		return t
	}
	return t[:i] + "/" + t[i+1:]
}

const webhookSubscriptionsQuery = `query WebhookSubscriptions($after: String) {
  webhookSubscriptions(first: 100, after: $after) { nodes { id topic uri } pageInfo { hasNextPage endCursor } }
}`

// WebhookSubscriptions lists every subscription the app has on the shop.
func (c *Client) WebhookSubscriptions(ctx context.Context) ([]WebhookSubscription, error) {
	var all []WebhookSubscription
	vars := map[string]any{}
	for {
		var out struct {
			WebhookSubscriptions struct {
				Nodes    []WebhookSubscription `json:"nodes"`
				PageInfo struct {
					HasNextPage bool   `json:"hasNextPage"`
					EndCursor   string `json:"endCursor"`
				} `json:"pageInfo"`
			} `json:"webhookSubscriptions"`
		}
		if err := c.Do(ctx, webhookSubscriptionsQuery, vars, &out); err != nil {
			return nil, err
		}
		all = append(all, out.WebhookSubscriptions.Nodes...)
		if !out.WebhookSubscriptions.PageInfo.HasNextPage || out.WebhookSubscriptions.PageInfo.EndCursor == "" {
			return all, nil
		}
		vars["after"] = out.WebhookSubscriptions.PageInfo.EndCursor
	}
}

// UserError is a mutation's refusal of its input.
type UserError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

func userErrors(op string, errs []UserError) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Message
	}
	return &Error{Op: op, Kind: KindInvalid, Status: 200, Message: strings.Join(msgs, "; ")}
}

const webhookSubscriptionCreateMutation = `mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}`

// CreateWebhookSubscription subscribes uri to topic, in JSON.
func (c *Client) CreateWebhookSubscription(ctx context.Context, topic, uri string) (WebhookSubscription, error) {
	var out struct {
		WebhookSubscriptionCreate struct {
			WebhookSubscription *WebhookSubscription `json:"webhookSubscription"`
			UserErrors          []UserError          `json:"userErrors"`
		} `json:"webhookSubscriptionCreate"`
	}
	err := c.Do(ctx, webhookSubscriptionCreateMutation, map[string]any{"topic": topic,
		"webhookSubscription": map[string]any{"uri": uri, "format": "JSON"}}, &out)
	if err != nil {
		return WebhookSubscription{}, err
	}
	if err := userErrors("mutation WebhookSubscriptionCreate", out.WebhookSubscriptionCreate.UserErrors); err != nil {
		return WebhookSubscription{}, err
	}
	if out.WebhookSubscriptionCreate.WebhookSubscription == nil {
		return WebhookSubscription{}, &Error{Op: "mutation WebhookSubscriptionCreate", Kind: KindInvalid, Status: 200, Message: "no subscription in the answer"}
	}
	return *out.WebhookSubscriptionCreate.WebhookSubscription, nil
}

const webhookSubscriptionDeleteMutation = `mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}`

// DeleteWebhookSubscription removes one subscription.
func (c *Client) DeleteWebhookSubscription(ctx context.Context, id string) error {
	var out struct {
		WebhookSubscriptionDelete struct {
			UserErrors []UserError `json:"userErrors"`
		} `json:"webhookSubscriptionDelete"`
	}
	if err := c.Do(ctx, webhookSubscriptionDeleteMutation, map[string]any{"id": id}, &out); err != nil {
		return err
	}
	return userErrors("mutation WebhookSubscriptionDelete", out.WebhookSubscriptionDelete.UserErrors)
}
