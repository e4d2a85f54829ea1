package loop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ID is an identifier Loop sends as a JSON string on one endpoint and as a
// number on another (a return's id is "12345678" in the list and 12345678 in
// the details). It keeps the decimal text, so nothing is lost to float64.
type ID string

func (id *ID) UnmarshalJSON(b []byte) error {
	s, err := flexText(b)
	if err != nil {
		return fmt.Errorf("loop: id: %w", err)
	}
	*id = ID(s)
	return nil
}

func (id ID) String() string { return string(id) }

// Int64 parses the id as a number, for the endpoints that want one.
func (id ID) Int64() (int64, error) { return strconv.ParseInt(string(id), 10, 64) }

// Money is a decimal amount exactly as Loop wrote it ("63.30"). Loop sends
// money as strings, but a number is accepted too. Kept as text so that no
// amount is ever rounded through float64.
type Money string

func (m *Money) UnmarshalJSON(b []byte) error {
	s, err := flexText(b)
	if err != nil {
		return fmt.Errorf("loop: money: %w", err)
	}
	*m = Money(s)
	return nil
}

func (m Money) String() string { return string(m) }

// flexText decodes a JSON string, number or null into its text. Booleans and
// structures are an error: they mean the field is not what we think it is.
func flexText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return "", nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return "", fmt.Errorf("want string or number, got %.20s", b)
	}
	return n.String(), nil
}

// Time is a timestamp in either of Loop's formats: ISO 8601
// ("2023-01-01T22:27:15.000Z", the list and webhooks) or
// "2023-08-22 14:08:31" (return details). The second carries no zone; it is
// read as UTC, which is what Loop's API servers use. Empty and null decode to
// the zero Time; a Unix timestamp in seconds is accepted too.
type Time struct{ time.Time }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func (t *Time) UnmarshalJSON(b []byte) error {
	s, err := flexText(b)
	if err != nil {
		return fmt.Errorf("loop: time: %w", err)
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// MarshalJSON writes ISO 8601 with milliseconds, Loop's list format.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(isoMillis))
}

const isoMillis = "2006-01-02T15:04:05.000Z07:00"

// ParseTime reads any timestamp format Loop uses; see Time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	// Loop writes "N/A" where a time is not known yet (label_updated_at
	// before a label exists): no time, not a broken event.
	if s == "" || strings.EqualFold(s, "N/A") {
		return time.Time{}, nil
	}
	if isNumeric(s) {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return time.Unix(sec, 0).UTC(), nil
		}
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("loop: unrecognised timestamp %q", s)
}

// Bool accepts true/false, 1/0 and "true"/"false"/"1"/"0": PHP backends are
// not consistent about booleans.
type Bool bool

func (v *Bool) UnmarshalJSON(b []byte) error {
	s, err := flexText(b)
	if err != nil {
		var bb bool
		if json.Unmarshal(b, &bb) == nil {
			*v = Bool(bb)
			return nil
		}
		return fmt.Errorf("loop: bool: %w", err)
	}
	switch strings.ToLower(s) {
	case "1", "true", "yes":
		*v = true
	default:
		*v = false
	}
	return nil
}

// State is a return's lifecycle state.
type State string

const (
	StateOpen      State = "open"
	StateReview    State = "review"
	StateClosed    State = "closed"
	StateCancelled State = "cancelled"
	StateExpired   State = "expired"
)

// States lists every state, in the order hubdesk shows them.
var States = []State{StateOpen, StateReview, StateClosed, StateCancelled, StateExpired}

// Active reports whether the return still blocks a new one for the same
// order: Loop lets a shopper start another return only once the previous one
// is no longer open or under review.
func (s State) Active() bool { return s == StateOpen || s == StateReview }

// Valid reports whether s is one of Loop's documented states.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Return is a return as Loop's detailed returns list, return details and the
// return webhook describe it. The three disagree on types (string vs integer
// ids, ISO vs "Y-m-d H:i:s" dates); the field types here accept all of them.
// Fields Loop adds later are ignored.
type Return struct {
	ID              ID     `json:"id"`
	State           State  `json:"state"`
	Outcome         string `json:"outcome"`
	OrderID         ID     `json:"order_id"`
	OrderName       string `json:"order_name"`
	OrderNumber     ID     `json:"order_number"`
	ProviderOrderID ID     `json:"provider_order_id"`
	Customer        string `json:"customer"` // the shopper's email
	Currency        string `json:"currency"`

	Total                 Money `json:"total"`
	Refund                Money `json:"refund"`
	HandlingFee           Money `json:"handling_fee"`
	ReturnProductTotal    Money `json:"return_product_total"`
	ReturnDiscountTotal   Money `json:"return_discount_total"`
	ReturnTaxTotal        Money `json:"return_tax_total"`
	ReturnTotal           Money `json:"return_total"`
	ReturnCreditTotal     Money `json:"return_credit_total"`
	ExchangeProductTotal  Money `json:"exchange_product_total"`
	ExchangeDiscountTotal Money `json:"exchange_discount_total"`
	ExchangeTaxTotal      Money `json:"exchange_tax_total"`
	ExchangeTotal         Money `json:"exchange_total"`
	ExchangeCreditTotal   Money `json:"exchange_credit_total"`
	GiftCard              Money `json:"gift_card"`

	Carrier        string `json:"carrier"`
	TrackingNumber ID     `json:"tracking_number"` // "N/A" until a label exists; see Tracking
	LabelStatus    string `json:"label_status"`    // open-ended: pre_transit, in_transit, delivered, N/A, ...
	LabelURL       string `json:"label_url"`
	LabelRate      Money  `json:"label_rate"`
	ReturnMethod   string `json:"return_method"`
	DestinationID  ID     `json:"destination_id"`
	StatusPageURL  string `json:"status_page_url"`

	CreatedAt Time `json:"created_at"`
	UpdatedAt Time `json:"updated_at"`
	EditedAt  Time `json:"edited_at"`

	LineItems []LineItem      `json:"line_items"`
	Exchanges json.RawMessage `json:"exchanges,omitempty"` // kept raw: hubdesk only counts them
}

// Tracking returns the return shipment's tracking number, or "" while Loop
// still says "N/A" (no label yet).
func (r Return) Tracking() string { return notNA(string(r.TrackingNumber)) }

// CarrierName returns the return carrier, or "" while Loop says "N/A".
func (r Return) CarrierName() string { return notNA(r.Carrier) }

// Label returns the label status, or "" when Loop has none ("N/A").
func (r Return) Label() string { return notNA(r.LabelStatus) }

// notNA maps Loop's "N/A" placeholder (no label yet) to "".
func notNA(s string) string {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "N/A") {
		return ""
	}
	return s
}

// LineItem is one item being returned.
type LineItem struct {
	LineItemID         ID     `json:"line_item_id"`
	ProviderLineItemID ID     `json:"provider_line_item_id"`
	ProductID          ID     `json:"product_id"`
	VariantID          ID     `json:"variant_id"`
	SKU                string `json:"sku"`
	Title              string `json:"title"`
	VariantTitle       string `json:"variant_title"`
	// Quantity is absent where Loop lists one line per unit: then 1.
	Quantity           ID     `json:"quantity"`
	Price              Money  `json:"price"`
	ReturnReason       string `json:"return_reason"`
	ParentReturnReason string `json:"parent_return_reason"`
	Outcome            string `json:"outcome"`
}
