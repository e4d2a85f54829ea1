package desk

import (
	"strings"
	"testing"
)

func TestSplitQuoted(t *testing.T) {
	for _, c := range []struct {
		name, body, shown, quoted string
	}{
		{"plain", "Hello\nthere", "Hello|there", ""},
		{"trailing quote", "Thanks!\n\n> Your parcel ships\n> tomorrow.", "Thanks!", "> Your parcel ships|> tomorrow."},
		{"attribution and quote", "Great.\n\nOn Mon, 1 Oct 2026, Shop <help@shop.test> wrote:\n> It ships\n>\n> Shop", "Great.",
			"On Mon, 1 Oct 2026, Shop <help@shop.test> wrote:|> It ships|>|> Shop"},
		{"attribution without markers", "Yes please\nOn Tuesday Ada wrote:\nold text\nmore", "Yes please", "On Tuesday Ada wrote:|old text|more"},
		{"inline answers stay", "> Which size?\nMedium.\n> Colour?\nBlue.", "> Which size?|Medium.|> Colour?|Blue.", ""},
		{"only a quote is shown", "> just this", "> just this", ""},
		{"windows line ends", "Ok\r\n\r\n> earlier", "Ok", "> earlier"},
	} {
		shown, quoted := splitQuoted(c.body)
		if got := strings.Join(shown, "|"); got != c.shown {
			t.Errorf("%s: shown %q, want %q", c.name, got, c.shown)
		}
		if got := strings.Join(quoted, "|"); got != c.quoted {
			t.Errorf("%s: quoted %q, want %q", c.name, got, c.quoted)
		}
	}
}
