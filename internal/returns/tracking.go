package returns

import (
	"net/url"
	"strings"
)

// carrierTracking maps a carrier, as returns platforms name it (lower
// case, spaces and dashes dropped), to its public tracking page; the
// number is appended query-escaped.
var carrierTracking = map[string]string{
	"usps":       "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
	"ups":        "https://www.ups.com/track?tracknum=",
	"fedex":      "https://www.fedex.com/fedextrack/?trknbr=",
	"dhl":        "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?tracking-id=",
	"dhlexpress": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id=",
	"canadapost": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=",
	"royalmail":  "https://www.royalmail.com/track-your-item#/tracking-results/",
	"dpd":        "https://track.dpd.co.uk/search?reference=",
	"postnl":     "https://jouw.postnl.nl/track-and-trace/",
}

// TrackingURLFor is where a return's tracking number leads: the carrier's
// tracking page for the carriers it knows, else the platform's label URL,
// else its status page; "" without a tracking number.
func TrackingURLFor(carrier, number, labelURL, statusPageURL string) string {
	number = strings.TrimSpace(number)
	if number == "" {
		return ""
	}
	key := strings.NewReplacer(" ", "", "-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(carrier)))
	if base, ok := carrierTracking[key]; ok {
		return base + url.QueryEscape(number)
	}
	for _, u := range []string{labelURL, statusPageURL} {
		if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			return u
		}
	}
	return ""
}
