package locale_test

import (
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/locale"
)

// An address reads as its country's post writes it, and the country is
// named in the reader's language.
func TestAddressLinesFollowTheCountry(t *testing.T) {
	en, de := locale.Hub.For("en"), locale.Hub.For("de")
	for _, tc := range []struct {
		l    *locale.Locale
		a    commerce.Address
		want string
	}{
		{en, commerce.Address{Name: "Ada Lovelace", Address1: "1 Main St", Address2: "Apt 4", City: "San Francisco", Province: "CA", Zip: "94103", CountryCode: "US"},
			"Ada Lovelace | 1 Main St | Apt 4 | San Francisco, CA 94103 | United States"},
		{en, commerce.Address{Name: "Ada Lovelace", Address1: "12 Upper St", City: "London", Zip: "N1 9GU", CountryCode: "gb"},
			"Ada Lovelace | 12 Upper St | London | N1 9GU | United Kingdom"},
		{en, commerce.Address{Name: "Jean Roy", Address1: "1 rue Sainte-Catherine", City: "Montréal", Province: "QC", Zip: "H2X 1Y4", CountryCode: "CA"},
			"Jean Roy | 1 rue Sainte-Catherine | Montréal QC H2X 1Y4 | Canada"},
		{en, commerce.Address{Name: "Max Muster", Address1: "Invalidenstraße 1", City: "Berlin", Zip: "10115", CountryCode: "DE"},
			"Max Muster | Invalidenstraße 1 | 10115 Berlin | Germany"},
		{de, commerce.Address{Name: "Max Muster", Address1: "Invalidenstraße 1", City: "Berlin", Zip: "10115", CountryCode: "DE"},
			"Max Muster | Invalidenstraße 1 | 10115 Berlin | Deutschland"},
		{en, commerce.Address{Address1: "Damrak 1", City: "Amsterdam", Zip: "1012 LG", CountryCode: "NL"},
			"Damrak 1 | 1012 LG Amsterdam | Netherlands"},
		{en, commerce.Address{City: "San Francisco", CountryCode: "US"}, "San Francisco | United States"},
		{en, commerce.Address{Zip: "10115"}, "10115"},
	} {
		if got := strings.Join(tc.l.AddressLines(tc.a), " | "); got != tc.want {
			t.Errorf("%+v in %s:\n got %s\nwant %s", tc.a, tc.l.Lang, got, tc.want)
		}
	}
}
