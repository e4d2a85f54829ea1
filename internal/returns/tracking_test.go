package returns

import "testing"

func TestTrackingURL(t *testing.T) {
	const label, status = "https://labels.loopreturns.com/l/123.pdf", "https://demo.loopreturns.com/#/status/9"
	for _, tc := range []struct {
		carrier, number, label, status, want string
	}{
		{"USPS", "9400111899223856925646", label, status, "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223856925646"},
		{"UPS", "1Z999AA10123456784", label, status, "https://www.ups.com/track?tracknum=1Z999AA10123456784"},
		{"FedEx", "794644790138", "", "", "https://www.fedex.com/fedextrack/?trknbr=794644790138"},
		{"DHL Express", "1234567890", "", "", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=1234567890"},
		{"dhl", "JJD0001", "", "", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=JJD0001"},
		{"Canada Post", "1234567890123456", "", "", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=1234567890123456"},
		{"canada_post", "1234567890123456", "", "", "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=1234567890123456"},
		{"Royal Mail", "AB123456789GB", "", "", "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB"},
		{"DPD", "01234567890123", "", "", "https://tracking.dpd.de/status/en_US/parcel/01234567890123"},
		{"PostNL", "3SABCD1234567", "", "", "https://jouw.postnl.nl/track-and-trace/3SABCD1234567"},
		// A number is escaped, never spliced in as markup or a second parameter.
		{"UPS", "1Z&x=<y>", "", "", "https://www.ups.com/track?tracknum=1Z%26x%3D%3Cy%3E"},
		// Unknown carriers: Loop's label, then its status page.
		{"Australia Post", "AP1", label, status, label},
		{"", "AP1", "", status, status},
		{"Happy Returns", "HR1", "javascript:alert(1)", "", ""},
		// No tracking yet.
		{"USPS", "N/A", label, status, ""},
		{"USPS", "", label, status, ""},
	} {
		if got := TrackingURL(tc.carrier, tc.number, tc.label, tc.status); got != tc.want {
			t.Errorf("TrackingURL(%q, %q): %q, want %q", tc.carrier, tc.number, got, tc.want)
		}
	}
}

func TestLabelLinkOnlyWebLinks(t *testing.T) {
	for raw, want := range map[string]string{
		"https://labels.example/l.pdf": "https://labels.example/l.pdf",
		"N/A":                          "",
		"":                             "",
		"javascript:alert(1)":          "",
		"data:text/html,hi":            "",
	} {
		if got := (Return{LabelURL: raw}).LabelLink(); got != want {
			t.Errorf("LabelLink(%q) = %q, want %q", raw, got, want)
		}
	}
}
