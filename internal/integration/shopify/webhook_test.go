package shopify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/integration/shopify"
)

const secret = "hubdesk-demo-secret"

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"id":820982911946154508,"name":"#1001","updated_at":"2026-12-01T10:00:00-05:00"}`)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	digest := mac.Sum(nil)
	std := base64.StdEncoding.EncodeToString(digest)
	if got := shopify.SignWebhook(body, secret); got != std {
		t.Fatalf("SignWebhook = %q, want %q", got, std)
	}
	// A digest whose URL-safe encoding differs from the standard one, to
	// tell the alphabets apart.
	urlBody, urlDigest := bodyWithURLSpecificDigest(t)
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] ^= 1
	for _, tc := range []struct {
		name   string
		body   []byte
		header string
		secret string
		want   error
	}{
		{"valid", body, std, secret, nil},
		{"valid with surrounding spaces", body, "  " + std + " ", secret, nil},
		{"valid without padding", body, strings.TrimRight(std, "="), secret, nil},
		{"tampered body", tampered, std, secret, shopify.ErrWebhookSignature},
		{"body with a trailing newline", append(append([]byte(nil), body...), '\n'), std, secret, shopify.ErrWebhookSignature},
		{"wrong secret", body, std, "another-secret", shopify.ErrWebhookSignature},
		{"empty secret", body, shopify.SignWebhook(body, ""), "", shopify.ErrWebhookSignature},
		{"missing header", body, "", secret, shopify.ErrWebhookUnsigned},
		{"blank header", body, "   ", secret, shopify.ErrWebhookUnsigned},
		{"hex instead of base64", body, hexOf(digest), secret, shopify.ErrWebhookSignature},
		{"truncated digest", body, base64.StdEncoding.EncodeToString(digest[:31]), secret, shopify.ErrWebhookSignature},
		{"digest with extra bytes", body, base64.StdEncoding.EncodeToString(append(digest, 0)), secret, shopify.ErrWebhookSignature},
		{"not base64", body, "!!!!", secret, shopify.ErrWebhookSignature},
		{"URL-safe alphabet", urlBody, base64.URLEncoding.EncodeToString(urlDigest), secret, shopify.ErrWebhookSignature},
		{"URL-safe alphabet unpadded", urlBody, base64.RawURLEncoding.EncodeToString(urlDigest), secret, shopify.ErrWebhookSignature},
		{"standard alphabet of the same digest", urlBody, base64.StdEncoding.EncodeToString(urlDigest), secret, nil},
		{"double padding", body, std + "=", secret, shopify.ErrWebhookSignature},
		{"empty body signed", []byte{}, shopify.SignWebhook(nil, secret), secret, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := shopify.VerifyWebhook(tc.body, tc.header, tc.secret)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("VerifyWebhook = %v, want %v", err, tc.want)
			}
		})
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// bodyWithURLSpecificDigest finds a body whose digest's base64 holds '+'
// or '/', so the URL-safe encoding is a different string.
func bodyWithURLSpecificDigest(t *testing.T) ([]byte, []byte) {
	for i := 0; i < 1000; i++ {
		body := []byte(`{"id":` + strings.Repeat("1", i%40+1) + `,"n":` + string(rune('0'+i%10)) + `}`)
		body = append(body, []byte(strings.Repeat(" ", i/10))...)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		d := mac.Sum(nil)
		if s := base64.StdEncoding.EncodeToString(d); strings.ContainsAny(s, "+/") {
			return body, d
		}
	}
	t.Fatal("no digest with + or / found")
	return nil, nil
}

func TestParseWebhookIDs(t *testing.T) {
	v, err := shopify.ParseWebhook(shopify.TopicOrdersUpdated, []byte(`{"id": 9007199254740993123, "name":"#1", "customer": {"id": "gid://shopify/Customer/42"},
		"line_items":[{"id":1,"variant_id":null,"title":"T","quantity":2,"price":"10.00"}], "updated_at":"2026-12-01T10:00:00-05:00", "cancelled_at": null}`))
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*shopify.WebhookOrder)
	if o.ID != "9007199254740993123" || o.Customer.ID != "42" || o.LineItems[0].VariantID != "" {
		t.Fatalf("ids read as %q, %q, %q", o.ID, o.Customer.ID, o.LineItems[0].VariantID)
	}
	if o.UpdatedAt.Format("15:04") != "15:00" || o.CancelledAt.Ptr() != nil {
		t.Fatalf("times read as %v, %v", o.UpdatedAt, o.CancelledAt)
	}
	for _, bad := range []string{``, `[]`, `{"id": 1.5}`, `{"name": "#1"}`, `{"id": 1, "updated_at": "yesterday"}`, `{"id": 1`, `null`} {
		if _, err := shopify.ParseWebhook(shopify.TopicOrdersCreate, []byte(bad)); !errors.Is(err, shopify.ErrWebhookPayload) {
			t.Errorf("ParseWebhook(%q) = %v, want ErrWebhookPayload", bad, err)
		}
	}
	if v, err := shopify.ParseWebhook("products/update", []byte(`not json`)); v != nil || err != nil {
		t.Errorf("a topic not applied = %v, %v; want nil, nil", v, err)
	}
}

// FuzzVerifyWebhook: whatever the body, header and secret, VerifyWebhook
// never panics, accepts exactly the digest SignWebhook makes for the
// body, and never a signature made with another secret.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add([]byte(`{"id":1}`), "", "s")
	f.Add([]byte(`{"id":1}`), shopify.SignWebhook([]byte(`{"id":1}`), "s"), "s")
	f.Add([]byte{}, "====", "")
	f.Add([]byte("\x00\xff"), "AAAA", "k")
	f.Fuzz(func(t *testing.T, body []byte, header, key string) {
		err := shopify.VerifyWebhook(body, header, key)
		if key == "" && err == nil {
			t.Fatal("an empty secret verified a webhook")
		}
		if key != "" {
			if err := shopify.VerifyWebhook(body, shopify.SignWebhook(body, key), key); err != nil {
				t.Fatalf("own signature refused: %v", err)
			}
			if err := shopify.VerifyWebhook(body, shopify.SignWebhook(body, key+"x"), key); err == nil {
				t.Fatal("a signature made with another secret verified")
			}
		}
		if err == nil && strings.TrimSpace(header) != shopify.SignWebhook(body, key) &&
			strings.TrimSpace(header) != strings.TrimRight(shopify.SignWebhook(body, key), "=") {
			t.Fatalf("header %q verified but is not the body's digest", header)
		}
	})
}

// FuzzShopifyWebhookPayload: no body makes ParseWebhook panic, and what it
// accepts for a topic names the id the topic is about.
func FuzzShopifyWebhookPayload(f *testing.F) {
	for _, topic := range shopify.WebhookTopics {
		f.Add(topic, []byte(`{"id": 1}`))
	}
	f.Add(shopify.TopicOrdersUpdated, []byte(`{"id":"gid://shopify/Order/7","line_items":[{"id":1,"quantity":-1,"price":12}],"fulfillments":[{"id":2,"line_items":[{"id":1,"quantity":1}]}]}`))
	f.Add(shopify.TopicFulfillmentEventsCreate, []byte(`{"fulfillment_id":3,"order_id":4,"status":"delivered","happened_at":"2026-12-01T10:00:00Z"}`))
	f.Add(shopify.TopicCustomersRedact, []byte(`{"customer":{"email":"a@example.com"},"orders_to_redact":[1,"2"]}`))
	f.Fuzz(func(t *testing.T, topic string, body []byte) {
		v, err := shopify.ParseWebhook(topic, body)
		if err != nil {
			if !errors.Is(err, shopify.ErrWebhookPayload) {
				t.Fatalf("error %v does not wrap ErrWebhookPayload", err)
			}
			return
		}
		if o, ok := v.(*shopify.WebhookOrder); ok && o.ID == "" {
			t.Fatal("an order without an id was accepted")
		}
	})
}
