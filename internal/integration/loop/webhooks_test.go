package loop

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

// A body as Loop sends it: slashes escaped. Re-encoding it changes the bytes
// and so the signature.
const loopBody = `{"topic":"return","trigger":"return.updated","shop_id":9876,"id":"48210001","state":"open","status_page_url":"https:\/\/shop.loopreturns.com\/#\/return\/abc","order_name":"#1001"}`

func TestVerifyWebhook(t *testing.T) {
	body := []byte(loopBody)
	sig := Sign(body, "s3cret")
	cases := []struct {
		name   string
		body   []byte
		sig    string
		secret string
		want   error
	}{
		{"valid", body, sig, "s3cret", nil},
		{"valid unpadded", body, strings.TrimRight(sig, "="), "s3cret", nil},
		{"valid with spaces", body, " " + sig + " ", "s3cret", nil},
		{"tampered body", bytes.Replace(body, []byte("open"), []byte("shut"), 1), sig, "s3cret", ErrSignatureInvalid},
		{"re-encoded body", bytes.ReplaceAll(body, []byte(`\/`), []byte(`/`)), sig, "s3cret", ErrSignatureInvalid},
		{"wrong secret", body, sig, "other", ErrSignatureInvalid},
		{"missing header", body, "", "s3cret", ErrSignatureMissing},
		{"not base64", body, "%%%", "s3cret", ErrSignatureInvalid},
		{"hex instead of base64", body, "deadbeef", "s3cret", ErrSignatureInvalid},
		{"no secret configured", body, Sign(body, ""), "", ErrSignatureInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := VerifyWebhook(c.body, c.sig, c.secret)
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestVerifyWebhookRequestAndParse(t *testing.T) {
	r := httptest.NewRequest("POST", "/hooks/loop", strings.NewReader(loopBody))
	r.Header.Set(SignatureHeader, Sign([]byte(loopBody), "s3cret"))
	body, err := VerifyWebhookRequest(r, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Return == nil || ev.Return.ID != "48210001" || ev.ShopID != "9876" || ev.Return.StatusPageURL != "https://shop.loopreturns.com/#/return/abc" {
		t.Fatalf("parsed %+v %+v", ev, ev.Return)
	}
	label := `{"topic":"label","trigger":"label.updated","shop_id":"9876","id":"12345","order_id":"77","provider_order_id":1029384756,"carrier":"USPS","tracking_number":"9400","label_status":"in_transit","label_updated_at":"2023-08-22 14:08:31","shipment_id":"5"}`
	ev, err = ParseWebhook([]byte(label))
	if err != nil || ev.Label == nil || ev.Label.ProviderOrderID != "1029384756" || ev.Label.LabelUpdatedAt.IsZero() || ev.ShopID != "9876" {
		t.Fatalf("label: %v %+v", err, ev.Label)
	}
	ev, err = ParseWebhook([]byte(`{"topic":"giftcard","trigger":"giftcard.requested","shop_id":1,"amount":5}`))
	if err != nil || ev.Return != nil || ev.Label != nil || ev.Topic != "giftcard" {
		t.Fatalf("unknown topic: %v %+v", err, ev)
	}

	big := httptest.NewRequest("POST", "/", bytes.NewReader(make([]byte, MaxWebhookBody+10)))
	if _, err := VerifyWebhookRequest(big, "s3cret"); err == nil {
		t.Fatal("oversized body accepted")
	}
}

// FuzzVerifyWebhook: a body verifies with its own signature and secret, and
// never with a signature of different bytes or another secret.
func FuzzVerifyWebhook(f *testing.F) {
	f.Add([]byte(loopBody), "s3cret", []byte("x"))
	f.Add([]byte(""), "k", []byte{0})
	f.Add([]byte(`{"a":"\u00e9\/"}`), "ünïcode", []byte(`{"a":"é/"}`))
	f.Fuzz(func(t *testing.T, body []byte, secret string, other []byte) {
		if secret == "" {
			secret = "k"
		}
		sig := Sign(body, secret)
		if err := VerifyWebhook(body, sig, secret); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		if !bytes.Equal(body, other) {
			if VerifyWebhook(other, sig, secret) == nil {
				t.Fatal("signature accepted for different bytes")
			}
		}
		if VerifyWebhook(body, sig, secret+"x") == nil {
			t.Fatal("signature accepted with the wrong secret")
		}
		// Arbitrary header values never panic.
		_ = VerifyWebhook(body, string(other), secret)
		_ = VerifyWebhook(body, base64.StdEncoding.EncodeToString(other), secret)
	})
}

// FuzzParseWebhook: any verified body parses or is refused with an error,
// never a panic; a parsed event carries the body and at most the one
// event its topic names.
func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(loopBody))
	f.Add([]byte(`{"topic":"label","trigger":"label.updated","shop_id":"9876","id":"12345","provider_order_id":1029384756,"tracking_number":"N/A","label_updated_at":"2023-08-22 14:08:31"}`))
	f.Add([]byte(`{"topic":"return.processing","trigger":"return.processing.failed","shop_id":1,"return_id":7,"error":"x"}`))
	f.Add([]byte(`{"topic":"return","shop_id":{"nested":true},"id":[1]}`))
	f.Add([]byte(`{"topic":"return","line_items":[{"price":"1e400"}],"created_at":"not a date"}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"topic":"giftcard"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseWebhook(body)
		if err != nil {
			return
		}
		n := 0
		for _, set := range []bool{ev.Return != nil, ev.Label != nil, ev.Processing != nil} {
			if set {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("one body parsed as %d events", n)
		}
		if !bytes.Equal(ev.Raw, body) {
			t.Fatal("the event does not carry the body it came from")
		}
	})
}
