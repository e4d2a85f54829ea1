package mailhtml

import (
	"regexp"
	"strings"
)

// attribution is the "On Mon, 1 Oct 2026, Ada wrote:" line mail clients
// put above the history they quote.
var attribution = regexp.MustCompile(`^\s*On\s(?s:.+)\swrote:\s*$`)

// SplitText separates a plain-text body into what is shown and the
// quoted history at its end: the trailing lines quoted with ">" (blank
// lines among them) and the "On … wrote:" line above them, or everything
// from the last "On … wrote:" line on. Quotes inside the text, answered
// point by point, stay in place.
func SplitText(body string) (shown, quoted []string) {
	lines := strings.Split(strings.ReplaceAll(body, "\r\n", "\n"), "\n")
	cut := len(lines)
	sawQuote := false
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, ">") {
			sawQuote = sawQuote || l != ""
			cut = i
			continue
		}
		break
	}
	if !sawQuote {
		cut = len(lines)
	}
	for i := cut - 1; i >= 0; i-- {
		if attribution.MatchString(lines[i]) {
			cut = i
			break
		}
		if sawQuote && strings.TrimSpace(lines[i]) != "" {
			break // the attribution sits right above the quoted lines
		}
	}
	shown, quoted = lines[:cut], lines[cut:]
	for len(quoted) > 0 && strings.TrimSpace(quoted[0]) == "" {
		quoted = quoted[1:]
	}
	for len(shown) > 0 && strings.TrimSpace(shown[len(shown)-1]) == "" {
		shown = shown[:len(shown)-1]
	}
	switch {
	case len(shown) == 0:
		return quoted, nil // nothing but a quote: show it
	case len(quoted) == 0:
		return shown, nil
	}
	return shown, quoted
}
