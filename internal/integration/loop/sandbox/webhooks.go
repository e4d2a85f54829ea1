package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/loop"
)

type subscription struct {
	ID      int64  `json:"id"`
	ShopID  int64  `json:"shop_id"`
	Topic   string `json:"topic"`
	Trigger string `json:"trigger"`
	URL     string `json:"url"`
	Status  string `json:"status"`
}

// triggerTopic maps each trigger to the only topic it belongs to; a
// subscription pairing them otherwise is refused (README.md).
var triggerTopic = map[string]string{
	"return.created":           "return",
	"return.updated":           "return",
	"return.closed":            "return",
	"label.created":            "label",
	"label.updated":            "label",
	"return.processing.failed": "return.processing",
	"restock.requested":        "restock",
	"label.request.issued":     "label.request",
	"label.request.cancelled":  "label.request",
	"giftcard.requested":       "giftcard",
	"shipment.processed":       "happy.returns.shipment",
}

var topics = []string{"return", "label", "return.processing", "restock", "label.request", "giftcard", "happy.returns.shipment"}

type webhookInput struct {
	Topic   string `json:"topic"`
	Trigger string `json:"trigger"`
	URL     string `json:"url"`
	Status  string `json:"status"`
}

// validate returns Laravel-style field errors; requireAll is for PUT.
func (in webhookInput) validate() (string, string, bool) {
	switch {
	case in.Topic == "":
		return "topic", "The topic field is required.", false
	case !slices.Contains(topics, in.Topic):
		return "topic", "Must be one of the following values:" + strings.Join(topics, ","), false
	case in.Trigger == "":
		return "trigger", "The trigger field is required.", false
	case triggerTopic[in.Trigger] == "":
		return "trigger", "Must be one of the following values:" + strings.Join(sortedKeys(triggerTopic), ","), false
	case triggerTopic[in.Trigger] != in.Topic:
		return "trigger", fmt.Sprintf("The trigger %s does not belong to the topic %s.", in.Trigger, in.Topic), false
	case in.URL == "":
		return "url", "The url field is required.", false
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "url", "The url format is invalid.", false
	}
	if in.Status != "" && in.Status != "active" && in.Status != "inactive" {
		return "status", "Must be one of the following values:active,inactive", false
	}
	return "", "", true
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

func (s *Sandbox) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	list := make([]subscription, 0, len(s.hooks))
	for _, h := range s.hooks {
		list = append(list, *h)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, obj{"webhooks": list})
}

func (s *Sandbox) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhookInput
	if err := readBody(r, &in); err != nil {
		invalid(w, "topic", "The request body is not valid JSON.")
		return
	}
	if field, msg, ok := in.validate(); !ok {
		invalid(w, field, msg)
		return
	}
	if in.Status == "" {
		in.Status = "inactive" // Loop's documented default
	}
	s.mu.Lock()
	h := &subscription{ID: 12000 + s.allocID(), ShopID: s.opts.ShopID, Topic: in.Topic, Trigger: in.Trigger, URL: in.URL, Status: in.Status}
	s.hooks = append(s.hooks, h)
	out := *h
	s.mu.Unlock()
	// Loop answers 201 Created (loop.md, Corrections and additions).
	writeJSON(w, http.StatusCreated, out)
}

func (s *Sandbox) hookByIDLocked(raw string) (int, bool) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, false
	}
	for i, h := range s.hooks {
		if h.ID == id {
			return i, true
		}
	}
	return 0, false
}

func notFoundWebhook(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, obj{"errors": obj{"code": "NOT_FOUND"}})
}

func (s *Sandbox) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i, ok := s.hookByIDLocked(r.PathValue("id"))
	s.mu.Unlock()
	if !ok {
		notFoundWebhook(w)
		return
	}
	var in webhookInput
	if err := readBody(r, &in); err != nil {
		invalid(w, "topic", "The request body is not valid JSON.")
		return
	}
	if field, msg, ok := in.validate(); !ok {
		invalid(w, field, msg)
		return
	}
	s.mu.Lock()
	if i, ok = s.hookByIDLocked(r.PathValue("id")); ok {
		h := s.hooks[i]
		h.Topic, h.Trigger, h.URL = in.Topic, in.Trigger, in.URL
		if in.Status != "" {
			h.Status = in.Status
		}
	}
	s.mu.Unlock()
	if !ok {
		notFoundWebhook(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Sandbox) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	i, ok := s.hookByIDLocked(r.PathValue("id"))
	if ok {
		s.hooks = append(s.hooks[:i], s.hooks[i+1:]...)
	}
	s.mu.Unlock()
	if !ok {
		notFoundWebhook(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// event is one webhook to send: the payload is encoded once, so every
// subscriber gets the same bytes.
type event struct {
	topic   string
	trigger string
	body    []byte
}

// returnPayload is the "return" topic body as Loop's current docs type
// it: shop_id, id, order_id and provider_order_id are integers, and the
// return's times are created_at and edited_at — no updated_at.
type returnPayload struct {
	Topic           string         `json:"topic"`
	Trigger         string         `json:"trigger"`
	ShopID          int64          `json:"shop_id"`
	ID              int64          `json:"id"`
	State           loop.State     `json:"state"`
	CreatedAt       string         `json:"created_at"`
	EditedAt        string         `json:"edited_at"`
	OrderID         int64          `json:"order_id"`
	OrderName       string         `json:"order_name"`
	ProviderOrderID int64          `json:"provider_order_id"`
	Customer        string         `json:"customer"`
	CustomerDetail  map[string]any `json:"customer_detail"`
	Address         map[string]any `json:"address"`
	Currency        string         `json:"currency"`
	Outcome         string         `json:"outcome"`
	Total           string         `json:"total"`
	Refund          string         `json:"refund"`
	HandlingFee     string         `json:"handling_fee"`
	ReturnTotal     string         `json:"return_total"`
	ExchangeTotal   string         `json:"exchange_total"`
	StatusPageURL   string         `json:"status_page_url"`
	LineItems       []listLineItem `json:"line_items"`
	Carrier         string         `json:"carrier"`
	TrackingNumber  string         `json:"tracking_number"`
	LabelStatus     string         `json:"label_status"`
}

// labelPayload is the "label" topic body: shop_id is a string here (Loop's
// documented example); id, order_id and provider_order_id are integers.
type labelPayload struct {
	Topic           string `json:"topic"`
	Trigger         string `json:"trigger"`
	ShopID          string `json:"shop_id"`
	ID              int64  `json:"id"`
	OrderID         int64  `json:"order_id"`
	ProviderOrderID int64  `json:"provider_order_id"`
	Carrier         string `json:"carrier"`
	TrackingNumber  string `json:"tracking_number"`
	LabelStatus     string `json:"label_status"`
	LabelUpdatedAt  string `json:"label_updated_at"`
	ShipmentID      string `json:"shipment_id"`
}

func (s *Sandbox) webhookBaseLocked() string {
	if s.baseURL != "" {
		return s.baseURL
	}
	return "http://127.0.0.1"
}

func (s *Sandbox) returnEventLocked(r *ret, trigger string) event {
	base := s.webhookBaseLocked()
	lv := s.listView(r, base)
	o := r.order
	p := returnPayload{
		Topic: loop.TopicReturn, Trigger: trigger, ShopID: s.opts.ShopID,
		ID: r.id, State: r.state, CreatedAt: lv.CreatedAt, EditedAt: lv.EditedAt,
		OrderID: o.ID, OrderName: o.Name, ProviderOrderID: o.ProviderOrderID,
		Customer: o.Email,
		CustomerDetail: map[string]any{
			"first_name": o.FirstName, "last_name": o.LastName, "email": o.Email, "phone": o.Phone,
		},
		Address: map[string]any{
			"name": strings.TrimSpace(o.FirstName + " " + o.LastName), "address1": "1 Sandbox Way", "address2": nil,
			"city": "Sandbox City", "zip": o.Zip, "country_code": "US",
		},
		Currency: o.Currency, Outcome: r.outcome,
		Total: lv.Total, Refund: lv.Refund, HandlingFee: lv.HandlingFee, ReturnTotal: lv.ReturnTotal, ExchangeTotal: lv.ExchangeTotal,
		StatusPageURL: lv.StatusPageURL, LineItems: lv.LineItems,
		Carrier: lv.Carrier, TrackingNumber: lv.TrackingNumber, LabelStatus: lv.LabelStatus,
	}
	body, err := phpJSON(p)
	if err != nil {
		panic(err) // only plain values: cannot fail
	}
	return event{topic: loop.TopicReturn, trigger: trigger, body: body}
}

func (s *Sandbox) labelEventLocked(r *ret, trigger string) event {
	p := labelPayload{
		Topic: loop.TopicLabel, Trigger: trigger, ShopID: strconv.FormatInt(s.opts.ShopID, 10),
		ID: r.id, OrderID: r.order.ID, ProviderOrderID: r.order.ProviderOrderID,
		Carrier: na(r.carrier), TrackingNumber: na(r.tracking), LabelStatus: na(r.label),
		LabelUpdatedAt: iso(r.labelAt), ShipmentID: strconv.FormatInt(r.shipmentID, 10),
	}
	body, err := phpJSON(p)
	if err != nil {
		panic(err)
	}
	return event{topic: loop.TopicLabel, trigger: trigger, body: body}
}

// processingPayload is the "return.processing" topic body.
type processingPayload struct {
	Topic       string     `json:"topic"`
	Trigger     string     `json:"trigger"`
	ReturnID    int64      `json:"return_id"`
	ReturnState loop.State `json:"return_state"`
	Message     *string    `json:"message"`
	Source      *string    `json:"source"`
}

func (s *Sandbox) processingEventLocked(r *ret, message string) event {
	src := "warehouse"
	p := processingPayload{Topic: loop.TopicReturnProcessing, Trigger: loop.TriggerReturnProcessingFailed,
		ReturnID: r.id, ReturnState: r.state, Source: &src}
	if message != "" {
		p.Message = &message
	}
	body, err := phpJSON(p)
	if err != nil {
		panic(err)
	}
	return event{topic: loop.TopicReturnProcessing, trigger: loop.TriggerReturnProcessingFailed, body: body}
}

// FailProcessing reports that processing an open or review return failed,
// sending return.processing.failed with message ("" sends null).
func (s *Sandbox) FailProcessing(id int64, message string) (ReturnInfo, error) {
	s.mu.Lock()
	r := s.returnByIDLocked(id)
	if r == nil {
		s.mu.Unlock()
		return ReturnInfo{}, fmt.Errorf("%w %d", ErrUnknownReturn, id)
	}
	if !r.state.Active() {
		s.mu.Unlock()
		return ReturnInfo{}, fmt.Errorf("%w: return %d is %s", ErrFinalState, id, r.state)
	}
	ev := s.processingEventLocked(r, message)
	info := r.info()
	s.mu.Unlock()
	s.dispatch([]event{ev})
	return info, nil
}

// Delivery is one webhook delivery attempt, for the admin log and tests.
type Delivery struct {
	SubscriptionID int64     `json:"subscription_id"`
	URL            string    `json:"url"`
	Topic          string    `json:"topic"`
	Trigger        string    `json:"trigger"`
	Attempt        int       `json:"attempt"`
	Status         int       `json:"status"` // 0: no answer
	Error          string    `json:"error,omitempty"`
	Delivered      bool      `json:"delivered"`
	At             time.Time `json:"at"`
}

// Deliveries returns the last delivery attempts, oldest first.
func (s *Sandbox) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveryLog...)
}

func (s *Sandbox) logDelivery(d Delivery) {
	s.mu.Lock()
	if len(s.deliveryLog) >= 500 {
		s.deliveryLog = s.deliveryLog[1:]
	}
	s.deliveryLog = append(s.deliveryLog, d)
	s.mu.Unlock()
}

// dispatch sends each event to every active subscription of its topic and
// trigger, in the background.
func (s *Sandbox) dispatch(events []event) {
	if len(events) == 0 {
		return
	}
	s.mu.Lock()
	type job struct {
		sub subscription
		ev  event
	}
	var jobs []job
	for _, ev := range events {
		for _, h := range s.hooks {
			if h.Status == "active" && h.Topic == ev.topic && h.Trigger == ev.trigger {
				jobs = append(jobs, job{*h, ev})
			}
		}
	}
	s.mu.Unlock()
	for _, j := range jobs {
		s.deliveries.Add(1)
		go func() {
			defer s.deliveries.Done()
			s.deliver(j.sub, j.ev)
		}()
	}
}

// sign is X-Loop-Signature: base64(HMAC-SHA256(body, secret)). Written here
// rather than borrowed from the client, so a bug in one is caught by the
// other.
func sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// deliver POSTs one event, retrying non-2xx answers and failures like Loop:
// up to WebhookRetries more times, exponential backoff with jitter, a
// Retry-After of up to 30 minutes honoured.
func (s *Sandbox) deliver(sub subscription, ev event) {
	sig := sign(ev.body, s.opts.WebhookSecret)
	backoff := s.opts.WebhookBackoff
	for attempt := 1; attempt <= s.opts.WebhookRetries+1; attempt++ {
		d := Delivery{SubscriptionID: sub.ID, URL: sub.URL, Topic: ev.topic, Trigger: ev.trigger, Attempt: attempt, At: s.now()}
		ctx, cancel := context.WithTimeout(s.ctx, s.opts.WebhookTimeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(ev.body))
		if err != nil {
			cancel()
			d.Error = err.Error()
			s.logDelivery(d)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Loop-Webhooks (hubdesk sandbox)")
		req.Header.Set("X-Loop-Signature", sig)
		resp, err := s.opts.HTTPClient.Do(req)
		var retryAfter time.Duration
		if err != nil {
			d.Error = err.Error()
		} else {
			d.Status = resp.StatusCode
			d.Delivered = resp.StatusCode >= 200 && resp.StatusCode < 300
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
				retryAfter = min(time.Duration(secs)*time.Second, 30*time.Minute)
			}
			resp.Body.Close()
		}
		cancel()
		s.logDelivery(d)
		if d.Delivered || s.ctx.Err() != nil {
			return
		}
		s.log.Debug("loop sandbox: webhook delivery failed", "url", sub.URL, "attempt", attempt, "status", d.Status, "error", d.Error)
		if attempt > s.opts.WebhookRetries {
			return
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		if retryAfter > 0 {
			wait = retryAfter
		}
		if !sleepCtx(s.ctx, wait) {
			return
		}
		backoff *= 2
	}
}
