package returns

import (
	"net/url"
	"strings"
)

// carrierTracking are the public tracking pages of the carriers return
// labels are usually made with, keyed by the carrier's name folded to
// lower-case letters and digits; %s is the escaped tracking number.
var carrierTracking = map[string]string{
	"usps":                      "https://tools.usps.com/go/TrackConfirmAction?tLabels=%s",
	"ups":                       "https://www.ups.com/track?tracknum=%s",
	"fedex":                     "https://www.fedex.com/fedextrack/?trknbr=%s",
	"dhl":                       "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=%s",
	"dhlexpress":                "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=%s",
	"canadapost":                "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=%s",
	"royalmail":                 "https://www.royalmail.com/track-your-item#/tracking-results/%s",
	"dpd":                       "https://tracking.dpd.de/status/en_US/parcel/%s",
	"postnl":                    "https://jouw.postnl.nl/track-and-trace/%s",
	"unitedstatespostalservice": "https://tools.usps.com/go/TrackConfirmAction?tLabels=%s",
}

// HasTracking reports whether a tracking number is a real one: Loop sends
// "N/A" until a label exists.
func HasTracking(number string) bool {
	n := strings.TrimSpace(number)
	return n != "" && !strings.EqualFold(n, "N/A")
}

// TrackingURL is where an agent follows a return shipment: the carrier's
// own tracking page for the carriers hubdesk knows by name, else the
// platform's label or status page (Loop's label URL, then its status
// page). "" when there is no tracking number or nowhere to send it.
func TrackingURL(carrier, number, labelURL, statusPageURL string) string {
	if !HasTracking(number) {
		return ""
	}
	if pattern, ok := carrierTracking[foldCarrier(carrier)]; ok {
		return strings.Replace(pattern, "%s", url.QueryEscape(strings.TrimSpace(number)), 1)
	}
	if safeLink(labelURL) {
		return labelURL
	}
	if safeLink(statusPageURL) {
		return statusPageURL
	}
	return ""
}

// LabelLink is the return label's URL when the platform made one and it is
// a web link agents may share.
func (r Return) LabelLink() string {
	if safeLink(r.LabelURL) {
		return r.LabelURL
	}
	return ""
}

// Tracking is the return's tracking link (see TrackingURL).
func (r Return) Tracking() string {
	return TrackingURL(r.Carrier, r.TrackingNumber, r.LabelURL, r.StatusPageURL)
}

// foldCarrier reduces a carrier name to lower-case letters and digits, so
// "Canada Post", "canada_post" and "CANADAPOST" are one carrier.
func foldCarrier(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// safeLink accepts only http(s) URLs: a platform's value ends up in an
// href, and javascript: or data: must never get there.
func safeLink(raw string) bool {
	if raw == "" || strings.EqualFold(strings.TrimSpace(raw), "N/A") {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// HasTrackingNumber reports whether the platform gave a tracking number.
func (r Return) HasTrackingNumber() bool { return HasTracking(r.TrackingNumber) }
