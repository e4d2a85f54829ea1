package commerce

import (
	"testing"
	"time"
)

func TestDeriveStatus(t *testing.T) {
	now := time.Now()
	delivered := Fulfillment{ExternalID: "d", Status: "success", ShipmentStatus: "delivered", DeliveredAt: &now}
	deliveredNoDate := Fulfillment{ExternalID: "d2", Status: "success", ShipmentStatus: "delivered"}
	transit := Fulfillment{ExternalID: "t", Status: "success", ShipmentStatus: "in_transit"}
	outFor := Fulfillment{ExternalID: "o", Status: "success", ShipmentStatus: "out_for_delivery"}
	labelOnly := Fulfillment{ExternalID: "l", Status: "success", ShipmentStatus: "label_printed"}
	cancelled := Fulfillment{ExternalID: "c", Status: "cancelled", ShipmentStatus: "in_transit"}

	cases := []struct {
		name    string
		order   Order
		returns ReturnProgress
		want    Status
	}{
		{"no fulfillments", Order{}, NoReturn, StatusProcessing},
		{"only a cancelled fulfillment", Order{Fulfillments: []Fulfillment{cancelled}}, NoReturn, StatusProcessing},
		{"cancelled order wins over everything", Order{CancelledAt: &now, Fulfillments: []Fulfillment{delivered}}, ReturnActive, StatusCancelled},
		{"label printed counts as shipped", Order{Fulfillments: []Fulfillment{labelOnly}}, NoReturn, StatusInTransit},
		{"in transit", Order{FulfillmentStatus: "fulfilled", Fulfillments: []Fulfillment{transit}}, NoReturn, StatusInTransit},
		{"partial order in transit", Order{FulfillmentStatus: "partial", Fulfillments: []Fulfillment{transit}}, NoReturn, StatusPartiallyShipped},
		{"out for delivery beats partial", Order{FulfillmentStatus: "partial", Fulfillments: []Fulfillment{transit, outFor}}, NoReturn, StatusOutForDelivery},
		{"one of two delivered", Order{FulfillmentStatus: "fulfilled", Fulfillments: []Fulfillment{delivered, transit}}, NoReturn, StatusInTransit},
		{"all delivered", Order{FulfillmentStatus: "fulfilled", Fulfillments: []Fulfillment{delivered, deliveredNoDate}}, NoReturn, StatusDelivered},
		{"delivered ignoring cancelled fulfillment", Order{FulfillmentStatus: "fulfilled", Fulfillments: []Fulfillment{delivered, cancelled}}, NoReturn, StatusDelivered},
		{"partial order whose shipments all arrived", Order{FulfillmentStatus: "partial", Fulfillments: []Fulfillment{delivered}}, NoReturn, StatusDelivered},
		{"return in progress", Order{Fulfillments: []Fulfillment{delivered}}, ReturnActive, StatusReturnInProgress},
		{"returned", Order{Fulfillments: []Fulfillment{delivered}}, ReturnCompleted, StatusReturned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DeriveStatus(&c.order, c.returns); got != c.want {
				t.Fatalf("DeriveStatus = %s, want %s", got, c.want)
			}
		})
	}
}

func TestDeliveredAt(t *testing.T) {
	a := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := a.Add(48 * time.Hour)
	o := Order{Fulfillments: []Fulfillment{
		{Status: "success", ShipmentStatus: "delivered", DeliveredAt: &b},
		{Status: "success", ShipmentStatus: "delivered", DeliveredAt: &a},
	}}
	if got := o.DeliveredAt(); got == nil || !got.Equal(b) {
		t.Fatalf("DeliveredAt = %v, want %v", got, b)
	}
	o.Fulfillments = append(o.Fulfillments, Fulfillment{Status: "success", ShipmentStatus: "in_transit"})
	if got := o.DeliveredAt(); got != nil {
		t.Fatalf("DeliveredAt with a parcel on its way = %v, want nil", got)
	}
}

func TestMoney(t *testing.T) {
	cases := []struct {
		in, currency string
		minor        int64
		out          string
	}{
		{"129.90", "USD", 12990, "129.90"},
		{"129.9", "EUR", 12990, "129.90"},
		{"5", "USD", 500, "5.00"},
		{"0.05", "USD", 5, "0.05"},
		{"1500", "JPY", 1500, "1500"},
		{"1.250", "KWD", 1250, "1.250"},
		{"-3.10", "USD", -310, "-3.10"},
	}
	for _, c := range cases {
		got, err := ParseAmount(c.in, c.currency)
		if err != nil || got != c.minor {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d", c.in, c.currency, got, err, c.minor)
		}
		if s := FormatAmount(c.minor, c.currency); s != c.out {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", c.minor, c.currency, s, c.out)
		}
	}
	for _, bad := range []string{"1.234", "abc", "1.2.3", "--1", "+5"} {
		if _, err := ParseAmount(bad, "USD"); err == nil {
			t.Errorf("ParseAmount(%q) should fail", bad)
		}
	}
}
