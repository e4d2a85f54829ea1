package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

// Signed webhooks, as Shopify delivers them (contract §3): every change
// (mutate.go) goes to each subscription of its topic (subscriptions.go)
// and to Options.WebhookURL, POSTed with X-Shopify-Topic,
// X-Shopify-Hmac-Sha256 (base64 HMAC-SHA256 of the body with the client
// secret), X-Shopify-Shop-Domain, X-Shopify-API-Version,
// X-Shopify-Webhook-Id (one per delivery), X-Shopify-Event-Id (one per
// event: the same on retries and duplicates) and X-Shopify-Triggered-At.
// A delivery that is not answered 2xx within 5 s is retried with the
// original body, with backoff, up to WebhookAttempts times. On request,
// every delivery is sent twice (WebhookDuplicates) and deliveries are
// held and sent newest first in small groups (WebhookReorder).

// Webhook defaults.
const (
	DefaultWebhookAttempts = 8
	DefaultWebhookBackoff  = time.Second
	webhookTimeout         = 5 * time.Second
)

type delivery struct {
	url, topic, eventID string
	body                []byte
	triggered           time.Time
	attempt             int
}

type webhookSender struct {
	s       *Sandbox
	client  *http.Client
	mu      sync.Mutex
	queue   []delivery
	wake    chan struct{}
	started bool
	sent    int
}

func (s *Sandbox) sender() *webhookSender {
	s.whOnce.Do(func() {
		s.wh = &webhookSender{s: s, client: &http.Client{Timeout: webhookTimeout}, wake: make(chan struct{}, 1)}
	})
	return s.wh
}

// deliverChange queues the change for every target of its topic.
func (s *Sandbox) deliverChange(topic string, payload []byte) {
	var targets []string
	if s.opts.WebhookURL != "" {
		targets = append(targets, s.opts.WebhookURL)
	}
	enum := strings.ToUpper(strings.NewReplacer("/", "_").Replace(topic))
	for _, sub := range s.WebhookSubscriptions() {
		if sub.Topic == enum && sub.URI != s.opts.WebhookURL {
			targets = append(targets, sub.URI)
		}
	}
	if len(targets) == 0 {
		return
	}
	eventID := newUUID()
	now := s.opts.Now().UTC()
	w := s.sender()
	w.mu.Lock()
	for _, t := range targets {
		d := delivery{url: t, topic: topic, eventID: eventID, body: payload, triggered: now}
		w.queue = append(w.queue, d)
		if s.opts.WebhookDuplicates {
			w.queue = append(w.queue, d)
		}
	}
	if !w.started {
		w.started = true
		go w.run()
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run sends queued deliveries until the sandbox is closed.
func (w *webhookSender) run() {
	for {
		select {
		case <-w.s.closed:
			return
		case <-w.wake:
		}
		if w.s.opts.WebhookReorder {
			// Let a few changes gather so there is something to reorder.
			time.Sleep(50 * time.Millisecond)
		}
		for {
			w.mu.Lock()
			batch := w.queue
			w.queue = nil
			w.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			if w.s.opts.WebhookReorder {
				for i, j := 0, len(batch)-1; i < j; i, j = i+1, j-1 {
					batch[i], batch[j] = batch[j], batch[i]
				}
			}
			for _, d := range batch {
				w.send(d)
			}
		}
	}
}

// send makes one attempt; a failure is queued again after its backoff.
func (w *webhookSender) send(d delivery) {
	s := w.s
	d.attempt++
	req, err := http.NewRequest(http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return
	}
	mac := hmac.New(sha256.New, []byte(s.opts.ClientSecret))
	mac.Write(d.body)
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", d.topic)
	h.Set("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("X-Shopify-Shop-Domain", s.opts.Shop)
	h.Set("X-Shopify-API-Version", shopify.DefaultAPIVersion)
	h.Set("X-Shopify-Webhook-Id", newUUID())
	h.Set("X-Shopify-Event-Id", d.eventID)
	h.Set("X-Shopify-Triggered-At", d.triggered.Format(time.RFC3339Nano))
	res, err := w.client.Do(req)
	ok := err == nil && res.StatusCode >= 200 && res.StatusCode < 300
	if res != nil {
		res.Body.Close()
	}
	status := 0
	if res != nil {
		status = res.StatusCode
	}
	s.log.Info("shopify sandbox: webhook", "topic", d.topic, "url", d.url, "attempt", d.attempt, "status", status, "err", err)
	w.mu.Lock()
	if ok {
		w.sent++
	}
	w.mu.Unlock()
	attempts := s.opts.WebhookAttempts
	if attempts <= 0 {
		attempts = DefaultWebhookAttempts
	}
	if ok || d.attempt >= attempts {
		return
	}
	backoff := s.opts.WebhookBackoff
	if backoff <= 0 {
		backoff = DefaultWebhookBackoff
	}
	wait := backoff << (d.attempt - 1)
	go func() {
		select {
		case <-s.closed:
			return
		case <-time.After(wait):
		}
		w.mu.Lock()
		w.queue = append(w.queue, d)
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}()
}

// WebhooksDelivered counts deliveries answered 2xx (tests).
func (s *Sandbox) WebhooksDelivered() int {
	w := s.sender()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent
}

// SendWebhook delivers a topic and body as a change would (tests and the
// admin page: app/uninstalled, privacy requests).
func (s *Sandbox) SendWebhook(topic string, payload []byte) {
	s.emit(topic, payload)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// stopWebhooks ends the sender (Close).
func (s *Sandbox) stopWebhooks(context.Context) {
	s.closeOnce.Do(func() { close(s.closed) })
}
