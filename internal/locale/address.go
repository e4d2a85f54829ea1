package locale

import (
	"strings"

	"github.com/hubdesk/hubdesk/internal/commerce"
)

// AddressLines are a postal address's lines as the post of its country
// writes them: where the postal code goes (before the city in most of
// Europe, after the state in North America and Australia, on a line of
// its own in the United Kingdom), and the country's name in this locale's
// language on the last line. Empty parts leave no empty line.
func (l *Locale) AddressLines(a commerce.Address) []string {
	country := strings.ToUpper(strings.TrimSpace(a.CountryCode))
	var lines []string
	add := func(parts ...string) {
		var kept []string
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				kept = append(kept, p)
			}
		}
		if len(kept) > 0 {
			lines = append(lines, strings.Join(kept, " "))
		}
	}
	add(a.Name)
	add(a.Address1)
	add(a.Address2)
	switch addressStyle(country) {
	case cityStateZip:
		// San Francisco, CA 94103 / Toronto ON M5V 2T6
		city := strings.TrimSpace(a.City)
		if city != "" && country == "US" && (a.Province != "" || a.Zip != "") {
			city += ","
		}
		add(city, a.Province, a.Zip)
	case cityThenPostcode:
		// LONDON / N1 9GU
		add(a.City)
		add(a.Province)
		add(a.Zip)
	default:
		// 10115 Berlin
		add(a.Zip, a.City)
		add(a.Province)
	}
	if country != "" {
		add(l.Country(country))
	}
	return lines
}

// The ways a country places the city, the region and the postal code.
const (
	zipCity = iota
	cityStateZip
	cityThenPostcode
)

func addressStyle(country string) int {
	switch country {
	case "US", "CA", "AU", "NZ", "PR":
		return cityStateZip
	case "GB", "IE", "IM", "JE", "GG":
		return cityThenPostcode
	}
	return zipCity
}
