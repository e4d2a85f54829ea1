package loop

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Webhook topics and triggers hubdesk subscribes to.
const (
	TopicReturn           = "return"
	TopicLabel            = "label"
	TopicReturnProcessing = "return.processing"

	TriggerReturnCreated = "return.created"
	TriggerReturnUpdated = "return.updated"
	TriggerReturnClosed  = "return.closed"
	TriggerLabelCreated  = "label.created"
	TriggerLabelUpdated  = "label.updated"

	TriggerReturnProcessingFailed = "return.processing.failed"
)

// Subscriptions are the topic and trigger pairs hubdesk subscribes a
// shop's webhook URL to.
var Subscriptions = []WebhookInput{
	{Topic: TopicReturn, Trigger: TriggerReturnCreated},
	{Topic: TopicReturn, Trigger: TriggerReturnUpdated},
	{Topic: TopicReturn, Trigger: TriggerReturnClosed},
	{Topic: TopicLabel, Trigger: TriggerLabelCreated},
	{Topic: TopicLabel, Trigger: TriggerLabelUpdated},
	{Topic: TopicReturnProcessing, Trigger: TriggerReturnProcessingFailed},
}

// Webhook subscription statuses.
const (
	WebhookActive   = "active"
	WebhookInactive = "inactive"
)

// Webhook is a subscription as Loop lists it.
type Webhook struct {
	ID      ID     `json:"id"`
	ShopID  ID     `json:"shop_id"`
	Topic   string `json:"topic"`
	Trigger string `json:"trigger"`
	URL     string `json:"url"`
	Status  string `json:"status"`
}

// WebhookInput creates or replaces a subscription. Status "" means active:
// Loop's own default is inactive, which is never what hubdesk wants.
type WebhookInput struct {
	Topic   string `json:"topic"`
	Trigger string `json:"trigger"`
	URL     string `json:"url"`
	Status  string `json:"status"`
}

func (in WebhookInput) withDefaults() WebhookInput {
	if in.Status == "" {
		in.Status = WebhookActive
	}
	return in
}

// ListWebhooks lists every subscription of the shop, including those made in
// Loop's admin (scope Developer Tools).
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	req := request{
		endpoint: "list_webhooks", op: "list webhooks", scope: ScopeDeveloperTools,
		method: http.MethodGet, path: "/webhooks", idempotent: true,
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var out struct {
		Webhooks []Webhook `json:"webhooks"`
	}
	if err := decode(req, resp, &out); err != nil {
		return nil, err
	}
	return out.Webhooks, nil
}

// CreateWebhook subscribes url to one topic and trigger. It is not retried on
// timeouts or 5xx, since Loop may have created the subscription already;
// callers reconcile with ListWebhooks.
func (c *Client) CreateWebhook(ctx context.Context, in WebhookInput) (Webhook, error) {
	in = in.withDefaults()
	req := request{
		endpoint: "create_webhook", op: fmt.Sprintf("create webhook %s/%s", in.Topic, in.Trigger), scope: ScopeDeveloperTools,
		method: http.MethodPost, path: "/webhooks", body: in,
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return Webhook{}, err
	}
	var out Webhook
	if len(bytes.TrimSpace(resp.body)) > 0 {
		if err := decode(req, resp, &out); err != nil {
			return Webhook{}, err
		}
	}
	return out, nil
}

// UpdateWebhook replaces a subscription (Loop answers 204).
func (c *Client) UpdateWebhook(ctx context.Context, id ID, in WebhookInput) error {
	in = in.withDefaults()
	req := request{
		endpoint: "update_webhook", op: "update webhook " + string(id), scope: ScopeDeveloperTools,
		method: http.MethodPut, path: "/webhooks/" + pathSegment(string(id)), body: in, idempotent: true,
	}
	_, err := c.do(ctx, req)
	return err
}

// DeleteWebhook removes a subscription (Loop answers 204; 404 is
// ErrNotFound, which callers cleaning up may ignore).
func (c *Client) DeleteWebhook(ctx context.Context, id ID) error {
	req := request{
		endpoint: "delete_webhook", op: "delete webhook " + string(id), scope: ScopeDeveloperTools,
		method: http.MethodDelete, path: "/webhooks/" + pathSegment(string(id)), idempotent: true,
	}
	_, err := c.do(ctx, req)
	return err
}

func pathSegment(s string) string {
	return strings.NewReplacer("/", "%2F", "?", "%3F", "#", "%23").Replace(s)
}

// SignatureHeader carries a webhook's signature.
const SignatureHeader = "X-Loop-Signature"

// Errors from webhook verification.
var (
	ErrSignatureMissing = errors.New("loop: webhook has no X-Loop-Signature")
	ErrSignatureInvalid = errors.New("loop: webhook signature does not match")
)

// Sign returns the X-Loop-Signature value for body: base64 of
// HMAC-SHA256(body, secret). The sandbox signs with it; tests use it.
func Sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks signature against body with secret. body must be the
// exact bytes received: Loop's JSON escapes slashes as "\/", so decoding and
// re-encoding produces different bytes and a different HMAC. The comparison
// is constant-time. An empty secret verifies nothing.
func VerifyWebhook(body []byte, signature, secret string) error {
	signature = strings.TrimSpace(signature)
	if signature == "" {
		return ErrSignatureMissing
	}
	if secret == "" {
		return fmt.Errorf("%w: no webhook secret configured", ErrSignatureInvalid)
	}
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		// Tolerate unpadded or URL-safe base64 from proxies that rewrite it.
		if got, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(signature, "=")); err != nil {
			if got, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(signature, "=")); err != nil {
				return ErrSignatureInvalid
			}
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrSignatureInvalid
	}
	return nil
}

// MaxWebhookBody bounds what VerifyWebhookRequest reads.
const MaxWebhookBody = 1 << 20

// VerifyWebhookRequest reads r's body (up to MaxWebhookBody) and verifies its
// signature. It returns the raw body for ParseWebhook, so the bytes verified
// are the bytes parsed.
func VerifyWebhookRequest(r *http.Request, secret string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
	if err != nil {
		return nil, fmt.Errorf("loop: read webhook body: %w", err)
	}
	if len(body) > MaxWebhookBody {
		return nil, fmt.Errorf("loop: webhook body over %d bytes", MaxWebhookBody)
	}
	if err := VerifyWebhook(body, r.Header.Get(SignatureHeader), secret); err != nil {
		return nil, err
	}
	return body, nil
}

// Event is a decoded webhook. Exactly one of Return, Label and Processing
// is set for the topics hubdesk handles; other topics leave them nil and
// keep Raw.
type Event struct {
	Topic      string
	Trigger    string
	ShopID     ID
	Return     *ReturnEvent
	Label      *LabelEvent
	Processing *ProcessingEvent
	Raw        json.RawMessage
}

// ProcessingEvent is the payload of topic "return.processing": processing
// the return failed (trigger return.processing.failed) and it is stuck.
type ProcessingEvent struct {
	Topic       string `json:"topic"`
	Trigger     string `json:"trigger"`
	ReturnID    ID     `json:"return_id"` // an integer in this payload
	ReturnState State  `json:"return_state"`
	Message     string `json:"message"` // null decodes to ""
	Source      string `json:"source"`  // warehouse, admin, api or null
}

// ReturnEvent is the payload of topic "return": a return plus the
// shopper's details.
type ReturnEvent struct {
	Topic   string `json:"topic"`
	Trigger string `json:"trigger"`
	ShopID  ID     `json:"shop_id"` // an integer in this payload
	Return
	CustomerDetail map[string]any `json:"customer_detail,omitempty"`
	Address        map[string]any `json:"address,omitempty"`
}

// LabelEvent is the payload of topic "label". Its ID is the return's id.
type LabelEvent struct {
	Topic           string `json:"topic"`
	Trigger         string `json:"trigger"`
	ShopID          ID     `json:"shop_id"` // a string in this payload
	ID              ID     `json:"id"`
	OrderID         ID     `json:"order_id"`
	ProviderOrderID ID     `json:"provider_order_id"`
	Carrier         string `json:"carrier"`
	TrackingNumber  ID     `json:"tracking_number"`
	LabelStatus     string `json:"label_status"`
	LabelUpdatedAt  Time   `json:"label_updated_at"`
	ShipmentID      ID     `json:"shipment_id"`
}

// Tracking returns the tracking number, or "" while Loop says "N/A".
func (l LabelEvent) Tracking() string { return notNA(string(l.TrackingNumber)) }

// ParseWebhook decodes a verified webhook body. Unknown topics are not an
// error: Loop adds topics, and a receiver should acknowledge them.
func ParseWebhook(body []byte) (Event, error) {
	var head struct {
		Topic   string `json:"topic"`
		Trigger string `json:"trigger"`
		ShopID  ID     `json:"shop_id"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return Event{}, fmt.Errorf("loop: parse webhook: %w", err)
	}
	ev := Event{Topic: head.Topic, Trigger: head.Trigger, ShopID: head.ShopID, Raw: json.RawMessage(body)}
	switch head.Topic {
	case TopicReturn:
		var r ReturnEvent
		if err := json.Unmarshal(body, &r); err != nil {
			return Event{}, fmt.Errorf("loop: parse %s webhook: %w", head.Trigger, err)
		}
		ev.Return = &r
	case TopicLabel:
		var l LabelEvent
		if err := json.Unmarshal(body, &l); err != nil {
			return Event{}, fmt.Errorf("loop: parse %s webhook: %w", head.Trigger, err)
		}
		ev.Label = &l
	case TopicReturnProcessing:
		var p ProcessingEvent
		if err := json.Unmarshal(body, &p); err != nil {
			return Event{}, fmt.Errorf("loop: parse %s webhook: %w", head.Trigger, err)
		}
		ev.Processing = &p
	}
	return ev, nil
}
