// Package locale holds the words, dates and money of every HTML surface:
// one JSON catalogue per language and surface under catalogues/, the
// language negotiation, and locale-aware dates, numbers, money and country
// names. Templates only name keys; a missing key shows as the key and the
// catalogue tests keep that from shipping.
package locale

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/hubdesk/hubdesk/internal/commerce"
)

//go:embed catalogues
var catalogueFiles embed.FS

// Default is the language used when neither the request nor the shop
// names a supported one.
const Default = "en"

// Catalogues of the two surfaces. Adding a language is a new file under
// catalogues/<surface>/, its name here, and its entry in formats.
var (
	// Hub is the shoppers' Customer Hub, in five languages.
	Hub = mustLoad("hub", "en", "de", "es", "fr", "nl")
	// Desk is the staff pages; English only for now, through the same
	// mechanism so that a translation is a new file.
	Desk = mustLoad("desk", "en")
)

// Catalogue is one surface's messages in each of its languages.
type Catalogue struct {
	// Languages are the supported languages, the default first.
	Languages []string
	byLang    map[string]*Locale
}

func mustLoad(surface string, langs ...string) *Catalogue {
	c, err := load(catalogueFiles, surface, langs)
	if err != nil {
		panic(err)
	}
	return c
}

func load(files fs.FS, surface string, langs []string) (*Catalogue, error) {
	c := &Catalogue{Languages: langs, byLang: map[string]*Locale{}}
	for _, lang := range langs {
		raw, err := fs.ReadFile(files, path.Join("catalogues", surface, lang+".json"))
		if err != nil {
			return nil, fmt.Errorf("locale: %s catalogue %s: %w", surface, lang, err)
		}
		msgs := map[string]string{}
		if err := json.Unmarshal(raw, &msgs); err != nil {
			return nil, fmt.Errorf("locale: %s catalogue %s: %w", surface, lang, err)
		}
		f, ok := formats[lang]
		if !ok {
			return nil, fmt.Errorf("locale: no number and date format for %s", lang)
		}
		c.byLang[lang] = &Locale{Lang: lang, messages: msgs, format: f, zone: time.UTC}
	}
	return c, nil
}

// For returns the catalogue of lang ("de", "de-AT", "fr_CA"), or of the
// default language when lang is not supported.
func (c *Catalogue) For(lang string) *Locale {
	if l := c.Lookup(lang); l != nil {
		return l
	}
	return c.byLang[c.Languages[0]]
}

// Lookup returns the catalogue of lang, or nil when it is not supported.
func (c *Catalogue) Lookup(lang string) *Locale {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	return c.byLang[lang]
}

// Negotiate picks a visitor's language: the explicit parameter (for the
// hub, what the storefront is showing), then the browser's
// Accept-Language, then the fallback (the shop's default).
func (c *Catalogue) Negotiate(param, acceptLanguage, fallback string) *Locale {
	if l := c.Lookup(param); l != nil {
		return l
	}
	if l := c.fromAcceptLanguage(acceptLanguage); l != nil {
		return l
	}
	return c.For(fallback)
}

// fromAcceptLanguage returns the supported language the browser prefers
// most (highest q, then listed first).
func (c *Catalogue) fromAcceptLanguage(header string) *Locale {
	var best *Locale
	bestQ := 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		l := c.Lookup(tag)
		if l == nil || q <= 0 {
			continue
		}
		if best == nil || q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

// numberFormat holds a language's conventions. Dates and money are
// formatted by hand from this small table instead of golang.org/x/text:
// x/text has no date formatting at all and its currency formatter does not
// place the symbol per locale ("12,34 €" in German, "€ 12,34" in Dutch), so
// it would still need a table like this one, plus a larger binary.
type numberFormat struct {
	decimal, group string
	// minGroup is the smallest number of integer digits that gets
	// grouped: Spanish writes 1234 but 12.345.
	minGroup int
	// moneyPattern places the symbol: "¤n" ($1.00), "n ¤" (1,00 €),
	// "¤ n" (€ 1,00).
	moneyPattern string
	// symbols are this language's currency symbols, beside defaultSymbols.
	symbols map[string]string
	months  [12]string
	// datePattern uses {d} {m} {y}.
	datePattern string
}

const nbsp, nnbsp = "\u00a0", "\u202f"

var defaultSymbols = map[string]string{"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "CHF": "CHF", "SEK": "kr", "DKK": "kr.", "NOK": "kr", "PLN": "zł"}

var formats = map[string]*numberFormat{
	"en": {decimal: ".", group: ",", minGroup: 1, moneyPattern: "¤n", datePattern: "{m} {d}, {y}",
		months: [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}},
	"de": {decimal: ",", group: ".", minGroup: 1, moneyPattern: "n" + nbsp + "¤", datePattern: "{d}. {m} {y}",
		months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}},
	"es": {decimal: ",", group: ".", minGroup: 2, moneyPattern: "n" + nbsp + "¤", datePattern: "{d} de {m} de {y}",
		symbols: map[string]string{"USD": "US$"},
		months:  [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}},
	"fr": {decimal: ",", group: nnbsp, minGroup: 1, moneyPattern: "n" + nbsp + "¤", datePattern: "{d} {m} {y}",
		symbols: map[string]string{"USD": "$US", "CAD": "$CA", "AUD": "$AU"},
		months:  [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}},
	"nl": {decimal: ",", group: ".", minGroup: 1, moneyPattern: "¤" + nbsp + "n", datePattern: "{d} {m} {y}",
		symbols: map[string]string{"USD": "US$", "CAD": "C$", "AUD": "AU$"},
		months:  [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"}},
}

// Locale is one language's catalogue and formatters. Templates call its
// methods: {{.L.T "orders.title"}}, {{.L.Money .TotalMinor .Currency}}.
type Locale struct {
	Lang     string
	messages map[string]string
	format   *numberFormat
	// zone is where dates are shown; UTC unless In says otherwise.
	zone *time.Location
}

// In returns a copy of l that shows dates in zone.
func (l *Locale) In(zone *time.Location) *Locale {
	c := *l
	c.zone = zone
	return &c
}

// T returns the message for key with {name} placeholders filled from
// args given as name, value pairs. A missing key renders as the key, so a
// gap is visible; the catalogue tests keep that from shipping.
func (l *Locale) T(key string, args ...any) string {
	msg, ok := l.messages[key]
	if !ok {
		return key
	}
	if len(args) < 2 || strings.IndexByte(msg, '{') < 0 {
		return msg
	}
	var b strings.Builder
	b.Grow(len(msg) + 16)
	for {
		i := strings.IndexByte(msg, '{')
		j := strings.IndexByte(msg[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(msg)
			return b.String()
		}
		j += i
		b.WriteString(msg[:i])
		name, found := msg[i+1:j], false
		for k := 0; k+1 < len(args); k += 2 {
			if n, _ := args[k].(string); n == name {
				b.WriteString(argString(args[k+1]))
				found = true
				break
			}
		}
		if !found {
			b.WriteString(msg[i : j+1])
		}
		msg = msg[j+1:]
	}
}

func argString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprint(v)
}

// N picks the plural form of key (key.one or key.other) for n and fills
// {n}. French counts 0 as singular; the other languages only 1.
func (l *Locale) N(key string, n int) string {
	form := ".other"
	if n == 1 || (l.Lang == "fr" && n == 0) {
		form = ".one"
	}
	return l.T(key+form, "n", l.Number(int64(n)))
}

// Has reports whether the catalogue defines key.
func (l *Locale) Has(key string) bool { _, ok := l.messages[key]; return ok }

// Keys lists the catalogue's keys, sorted.
func (l *Locale) Keys() []string {
	keys := make([]string, 0, len(l.messages))
	for k := range l.messages {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Date formats a day in the language's long form ("2. März 2026"), in
// the locale's zone (UTC for the hub: the shop's time zone is not known
// yet).
func (l *Locale) Date(t time.Time) string {
	t = t.In(l.zone)
	f := l.format
	p := f.datePattern
	var b strings.Builder
	b.Grow(len(p) + 12)
	for len(p) > 0 {
		switch {
		case strings.HasPrefix(p, "{d}"):
			b.WriteString(strconv.Itoa(t.Day()))
			p = p[3:]
		case strings.HasPrefix(p, "{m}"):
			b.WriteString(f.months[t.Month()-1])
			p = p[3:]
		case strings.HasPrefix(p, "{y}"):
			b.WriteString(strconv.Itoa(t.Year()))
			p = p[3:]
		default:
			b.WriteByte(p[0])
			p = p[1:]
		}
	}
	return b.String()
}

// DatePtr is Date for optional times; nil gives "".
func (l *Locale) DatePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return l.Date(*t)
}

// DateTime is Date with the time of day on a 24-hour clock
// ("March 2, 2026, 14:05"), a form every supported language reads.
func (l *Locale) DateTime(t time.Time) string {
	return l.Date(t) + ", " + t.In(l.zone).Format("15:04")
}

// ISODate is the machine-readable form for <time datetime>.
func (l *Locale) ISODate(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Number formats an integer with the language's digit grouping.
func (l *Locale) Number(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	s = l.group(s)
	if neg {
		return "-" + s
	}
	return s
}

func (l *Locale) group(digits string) string {
	f := l.format
	if len(digits) <= 3 || len(digits) < 3+f.minGroup {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(f.group)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Money formats an amount in minor units of currency, e.g. "$1,234.50",
// "1.234,50 €", "€ 1.234,50".
func (l *Locale) Money(minor int64, currency string) string {
	f := l.format
	currency = strings.ToUpper(currency)
	exp := commerce.CurrencyExponent(currency)
	neg := minor < 0
	if neg {
		minor = -minor
	}
	plain := commerce.FormatAmount(minor, currency)
	whole, frac, _ := strings.Cut(plain, ".")
	n := l.group(whole)
	if exp > 0 {
		n += f.decimal + frac
	}
	sym, ok := f.symbols[currency]
	if !ok {
		if sym, ok = defaultSymbols[currency]; !ok {
			sym = currency
		}
	}
	// An ISO code as symbol is always spaced from the number.
	pattern := f.moneyPattern
	if sym == currency && pattern == "¤n" {
		pattern = "¤" + nbsp + "n"
	}
	sign := ""
	if neg {
		sign = "-"
	}
	var b strings.Builder
	b.Grow(len(n) + len(sym) + 4)
	if neg && strings.HasPrefix(pattern, "¤n") {
		b.WriteString(sign) // -$1.00
		sign = ""
	}
	for _, r := range pattern {
		switch r {
		case '¤':
			b.WriteString(sym)
		case 'n':
			b.WriteString(sign)
			b.WriteString(n)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Country names an ISO 3166 country code in the locale's language
// ("DE" → "Deutschland" in German), or returns the code when unknown.
// The names come from CLDR through golang.org/x/text.
func (l *Locale) Country(code string) string {
	region, err := language.ParseRegion(strings.TrimSpace(code))
	if err != nil || code == "" {
		return code
	}
	if name := display.Regions(language.Make(l.Lang)).Name(region); name != "" {
		return name
	}
	return code
}
