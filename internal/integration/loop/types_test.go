package loop

import (
	"encoding/json"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestFlexibleTypes(t *testing.T) {
	// The same return as the list (strings, ISO) and the details (integers,
	// "Y-m-d H:i:s") describe it, with a field Loop added later.
	list := `{"id":"48210001","order_id":"7300001","total":"63.30","created_at":"2023-08-22T14:08:31.000Z","tracking_number":"N/A","label_status":"N/A","brand_new_field":{"x":1}}`
	details := `{"id":48210001,"order_id":7300001,"total":63.3,"created_at":"2023-08-22 14:08:31","tracking_number":9400100,"label_status":"in_transit","line_items":[{"line_item_id":5,"price":"10.00"}]}`
	var a, b Return
	if err := json.Unmarshal([]byte(list), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(details), &b); err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.OrderID != b.OrderID || !a.CreatedAt.Equal(b.CreatedAt.Time) {
		t.Fatalf("list %+v vs details %+v", a, b)
	}
	if a.Total != "63.30" || b.Total != "63.3" {
		t.Fatalf("money text not kept: %q %q", a.Total, b.Total)
	}
	if a.Tracking() != "" || a.Label() != "" || b.Tracking() != "9400100" || b.LineItems[0].LineItemID != "5" {
		t.Fatal("tracking/label/line items")
	}
	if n, err := b.ID.Int64(); err != nil || n != 48210001 {
		t.Fatal("Int64")
	}
	var bad Return
	if err := json.Unmarshal([]byte(`{"id":{"nested":true}}`), &bad); err == nil {
		t.Fatal("object accepted as id")
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2023, 8, 22, 14, 8, 31, 0, time.UTC)
	for _, s := range []string{"2023-08-22T14:08:31.000Z", "2023-08-22T14:08:31Z", "2023-08-22 14:08:31", "2023-08-22T16:08:31+02:00", "2023-08-22T14:08:31.000000Z", "1692713311", "2023-08-22T14:08:31"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v", s, got, err)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("garbage accepted")
	}
	if tm, err := ParseTime(""); err != nil || !tm.IsZero() {
		t.Error("empty should be zero")
	}
	var v struct {
		T Time `json:"t"`
		B Bool `json:"b"`
		C Bool `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"t":null,"b":1,"c":"false"}`), &v); err != nil || !v.T.IsZero() || !bool(v.B) || bool(v.C) {
		t.Fatalf("%v %+v", err, v)
	}
	out, _ := json.Marshal(Time{want})
	if string(out) != `"2023-08-22T14:08:31.000Z"` {
		t.Fatalf("marshal %s", out)
	}
}
