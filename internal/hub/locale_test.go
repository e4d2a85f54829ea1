package hub

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCataloguesHaveTheSameKeys fails when any language lacks a key
// another one has, or leaves one empty.
func TestCataloguesHaveTheSameKeys(t *testing.T) {
	all := map[string]bool{}
	for _, lang := range Locales {
		for _, k := range catalogues[lang].Keys() {
			all[k] = true
		}
	}
	for _, lang := range Locales {
		l := catalogues[lang]
		for k := range all {
			if !l.Has(k) {
				t.Errorf("%s.json lacks %q", lang, k)
			} else if strings.TrimSpace(l.messages[k]) == "" {
				t.Errorf("%s.json has an empty %q", lang, k)
			}
		}
	}
}

// TestPlaceholdersMatch: a translation uses the same {placeholders} as
// English, or a value would be missing from the sentence.
func TestPlaceholdersMatch(t *testing.T) {
	ph := regexp.MustCompile(`\{[a-z]+\}`)
	en := catalogues["en"]
	for _, lang := range Locales[1:] {
		for _, k := range en.Keys() {
			want := strings.Join(ph.FindAllString(en.messages[k], -1), " ")
			got := strings.Join(ph.FindAllString(catalogues[lang].messages[k], -1), " ")
			if len(want) != len(got) {
				t.Errorf("%s %q has placeholders %q, English has %q", lang, k, got, want)
			}
		}
	}
}

// TestTemplatesUseKnownKeys: every literal key a template asks for is in
// the catalogues, and every status, shipment and return state the code
// can produce has its text.
func TestTemplatesUseKnownKeys(t *testing.T) {
	key := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	err := fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(templateFiles, p)
		if err != nil {
			return err
		}
		for _, m := range key.FindAllStringSubmatch(string(raw), -1) {
			if !catalogues["en"].Has(m[1]) {
				t.Errorf("%s uses unknown key %q", p, m[1])
			}
		}
		// Shopper-facing words belong in the catalogues: a template's text
		// outside tags is only template actions, punctuation and names.
		text := regexp.MustCompile(`(?s)<[^>]*>|\{\{.*?\}\}`).ReplaceAllString(string(raw), " ")
		if words := regexp.MustCompile(`\p{L}{3,}`).FindAllString(text, -1); len(words) > 0 {
			t.Errorf("%s has literal text %v; use a catalogue key", p, words)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var dynamic []string
	for _, s := range []string{"cancelled", "processing", "partially_shipped", "in_transit", "out_for_delivery", "delivered", "return_in_progress", "returned"} {
		dynamic = append(dynamic, "status."+s)
	}
	for _, s := range []string{"placed", "shipped", "out_for_delivery", "delivered", "cancelled"} {
		dynamic = append(dynamic, "timeline."+s)
	}
	for _, s := range []string{"pending", "label_printed", "confirmed", "in_transit", "out_for_delivery", "attempted_delivery", "delivered", "failure"} {
		dynamic = append(dynamic, "shipment."+s)
	}
	for _, s := range []string{"open", "review", "closed", "cancelled", "expired"} {
		dynamic = append(dynamic, "return.state."+s)
	}
	for _, k := range dynamic {
		if !catalogues["en"].Has(k) {
			t.Errorf("no text for %q", k)
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
		if got := negotiate(c.param, c.accept, c.shop).Lang; got != c.want {
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
		l := LocaleFor(c.lang)
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
	en, de, nl := LocaleFor("en"), LocaleFor("de"), LocaleFor("nl")
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
		{LocaleFor("fr").N("orders.more_items", 0), "+0 autre article"},
		{en.T("order.title", "name", "#1001"), "Order #1001"},
		{en.T("no.such.key"), "no.such.key"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
