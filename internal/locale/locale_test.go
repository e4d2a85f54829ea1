package locale

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

var surfaces = map[string]*Catalogue{"hub": Hub, "desk": Desk}

// TestCataloguesHaveTheSameKeys fails when any language of a surface
// lacks a key another one has, or leaves one empty.
func TestCataloguesHaveTheSameKeys(t *testing.T) {
	for surface, c := range surfaces {
		all := map[string]bool{}
		for _, lang := range c.Languages {
			for _, k := range c.For(lang).Keys() {
				all[k] = true
			}
		}
		for _, lang := range c.Languages {
			l := c.For(lang)
			for k := range all {
				if !l.Has(k) {
					t.Errorf("%s/%s.json lacks %q", surface, lang, k)
				} else if strings.TrimSpace(l.messages[k]) == "" {
					t.Errorf("%s/%s.json has an empty %q", surface, lang, k)
				}
			}
		}
	}
}

// TestPlaceholdersMatch: a translation uses the same {placeholders} as
// English, or a value would be missing from the sentence.
func TestPlaceholdersMatch(t *testing.T) {
	ph := regexp.MustCompile(`\{[a-z]+\}`)
	for surface, c := range surfaces {
		en := c.For("en")
		for _, lang := range c.Languages[1:] {
			for _, k := range en.Keys() {
				want := strings.Join(ph.FindAllString(en.messages[k], -1), " ")
				got := strings.Join(ph.FindAllString(c.For(lang).messages[k], -1), " ")
				if len(want) != len(got) {
					t.Errorf("%s/%s %q has placeholders %q, English has %q", surface, lang, k, got, want)
				}
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct{ param, accept, shop, want string }{
		{"de", "fr", "en", "de"},
		{"fr-CA", "", "en", "fr"},
		{"pt-BR", "nl-NL,nl;q=0.9", "en", "nl"}, // unsupported parameter: the browser decides
		{"", "pt-BR,es;q=0.8,de;q=0.9", "en", "de"},
		{"", "it", "es", "es"},
		{"", "", "", "en"},
		{"", "de;q=0", "fr", "fr"},
		{"", "*", "nl", "nl"},
		{"", "de;q=abc, es", "en", "es"},
	}
	for _, c := range cases {
		if got := Hub.Negotiate(c.param, c.accept, c.shop).Lang; got != c.want {
			t.Errorf("negotiate(%q, %q, %q) = %s, want %s", c.param, c.accept, c.shop, got, c.want)
		}
	}
}

func TestFormats(t *testing.T) {
	day := time.Date(2026, time.March, 2, 23, 30, 0, 0, time.UTC)
	cases := []struct {
		lang                   string
		date, eur, usd, big, n string
	}{
		{"en", "March 2, 2026", "€1,234.50", "$1,234.50", "€12,345,678.00", "1,234"},
		{"de", "2. März 2026", "1.234,50\u00a0€", "1.234,50\u00a0$", "12.345.678,00\u00a0€", "1.234"},
		{"es", "2 de marzo de 2026", "1234,50\u00a0€", "1234,50\u00a0US$", "12.345.678,00\u00a0€", "1234"},
		{"fr", "2 mars 2026", "1\u202f234,50\u00a0€", "1\u202f234,50\u00a0$US", "12\u202f345\u202f678,00\u00a0€", "1\u202f234"},
		{"nl", "2 maart 2026", "€\u00a01.234,50", "US$\u00a01.234,50", "€\u00a012.345.678,00", "1.234"},
	}
	for _, c := range cases {
		l := Hub.For(c.lang)
		if got := l.Date(day); got != c.date {
			t.Errorf("%s date = %q, want %q", c.lang, got, c.date)
		}
		if got := l.Money(123450, "EUR"); got != c.eur {
			t.Errorf("%s EUR = %q, want %q", c.lang, got, c.eur)
		}
		if got := l.Money(123450, "usd"); got != c.usd {
			t.Errorf("%s USD = %q, want %q", c.lang, got, c.usd)
		}
		if got := l.Money(1234567800, "EUR"); got != c.big {
			t.Errorf("%s big = %q, want %q", c.lang, got, c.big)
		}
		if got := l.Number(1234); got != c.n {
			t.Errorf("%s number = %q, want %q", c.lang, got, c.n)
		}
	}
	en, de, nl := Hub.For("en"), Hub.For("de"), Hub.For("nl")
	for _, c := range []struct{ got, want string }{
		{en.Money(-500, "USD"), "-$5.00"},
		{de.Money(-500, "EUR"), "-5,00\u00a0€"},
		{nl.Money(-500, "EUR"), "€\u00a0-5,00"},
		{en.Money(1500, "JPY"), "¥1,500"},
		{de.Money(1234, "KWD"), "1,234\u00a0KWD"},
		{en.Money(999, "XYZ"), "XYZ\u00a09.99"},
		{en.Money(5, "EUR"), "€0.05"},
		{en.N("orders.more_items", 1), "+1 more item"},
		{en.N("orders.more_items", 0), "+0 more items"},
		{Hub.For("fr").N("orders.more_items", 0), "+0 autre article"},
		{en.T("order.title", "name", "#1001"), "Order #1001"},
		{en.T("no.such.key"), "no.such.key"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestDateTimeInZone(t *testing.T) {
	at := time.Date(2026, time.March, 2, 23, 30, 0, 0, time.UTC)
	if got := Desk.For("en").DateTime(at); got != "March 2, 2026, 23:30" {
		t.Errorf("UTC = %q", got)
	}
	berlin := time.FixedZone("CET", 3600)
	if got := Desk.For("en").In(berlin).DateTime(at); got != "March 3, 2026, 00:30" {
		t.Errorf("CET = %q", got)
	}
}
