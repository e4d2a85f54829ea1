package desk

import (
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/web"
)

// staffLocale is the desk's catalogue. The desk is English for now and
// shows times in the server's zone; its templates still only name
// catalogue keys, so a translation is a new catalogue file plus a locale
// per request.
var staffLocale = locale.Desk.For(locale.Default).In(time.Local)

// templateFuncs are the helpers staff templates use, bound to the desk's
// locale: every word, date and amount on a desk page comes through them.
func templateFuncs(assets *web.Assets, l *locale.Locale) template.FuncMap {
	return template.FuncMap{
		"asset":    assets.URL,
		"t":        l.T,
		"n":        l.N,
		"money":    l.Money,
		"date":     l.Date,
		"datetime": l.DateTime,
		"country":  l.Country,
		"address":  l.AddressLines,
		"label":    func(group string, value any) string { return label(l, group, value) },
		"badge":    func(kind string, value any) badge { return newBadge(l, kind, value) },
		"pager":    newPager,
		"details":  func(d map[string]any) string { return formatDetails(l, d) },
		"duration": func(d time.Duration, measured int) string { return duration(l, d, measured) },
		// ago is the age of stored data, against the server's clock.
		"ago": func(t time.Time) string { return ago(time.Now(), t) },
	}
}

// label names a stored value (a status, a channel, a role …) for people:
// the catalogue's "group.value". A value the catalogue does not know yet,
// such as a new state from a returns platform, is shown in words rather
// than as its code; TestCatalogueNamesEveryValue keeps the known ones
// named properly.
func label(l *locale.Locale, group string, value any) string {
	v := fmt.Sprint(value)
	if v == "" {
		return ""
	}
	if key := group + "." + v; l.Has(key) {
		return l.T(key)
	}
	words := strings.NewReplacer("_", " ", ".", " ", "-", " ").Replace(v)
	return strings.ToUpper(words[:1]) + words[1:]
}

// badgeGroups maps a badge kind to the catalogue group naming its values.
// Each kind has its own CSS namespace (.badge--ticket-closed,
// .badge--return-closed) so equal words of different things can differ in
// colour.
var badgeGroups = map[string]string{
	"order":    "order.status",
	"ticket":   "ticket.status",
	"return":   "return.state",
	"outcome":  "audit.outcome",
	"account":  "account",
	"scope":    "scope.status",
	"settings": "settings.state",
}

// badge is what the "badge" partial renders.
type badge struct {
	Class, Label string
}

func newBadge(l *locale.Locale, kind string, value any) badge {
	group, ok := badgeGroups[kind]
	if !ok {
		panic("desk: unknown badge kind " + kind) // a template bug, caught by the page tests
	}
	v := fmt.Sprint(value)
	return badge{Class: "badge--" + kind + "-" + strings.ReplaceAll(v, "_", "-"), Label: label(l, group, v)}
}

// pagerLink is what the "pager" partial renders: the link to the next
// page of a list, or nothing on the last page.
type pagerLink struct {
	URL, LabelKey string
}

// newPager links path with the list's query (name, value pairs) and the
// next page's cursor; no cursor means there is no next page.
func newPager(labelKey, path, cursor string, query ...string) pagerLink {
	if cursor == "" {
		return pagerLink{}
	}
	q := url.Values{}
	for i := 0; i+1 < len(query); i += 2 {
		if query[i+1] != "" {
			q.Set(query[i], query[i+1])
		}
	}
	q.Set("cursor", cursor)
	return pagerLink{URL: path + "?" + q.Encode(), LabelKey: labelKey}
}

// detailValueGroups name the catalogue group of audit details whose
// values are codes.
var detailValueGroups = map[string]string{
	"reason":          "audit.reason",
	"via":             "audit.via",
	"role":            "role",
	"previous_role":   "role",
	"fields":          "setting",
	"removed":         "setting",
	"status":          "ticket.status",
	"previous_status": "ticket.status",
	"reentered":       "setting",
}

// formatDetails renders an audit entry's details as "Label: value" pairs,
// sorted by key so entries read alike.
func formatDetails(l *locale.Locale, d map[string]any) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, label(l, "audit.detail", k)+": "+detailValue(l, detailValueGroups[k], d[k]))
	}
	return strings.Join(parts, ", ")
}

func detailValue(l *locale.Locale, group string, v any) string {
	switch v := v.(type) {
	case bool:
		return label(l, "bool", v)
	case float64: // JSON numbers read back from the log
		if v == float64(int64(v)) {
			return l.Number(int64(v))
		}
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = detailValue(l, group, e)
		}
		return strings.Join(parts, ", ")
	case []string:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = detailValue(l, group, e)
		}
		return strings.Join(parts, ", ")
	}
	if group == "" {
		return fmt.Sprint(v)
	}
	return label(l, group, v)
}
