package database

import "testing"

func TestStorableText(t *testing.T) {
	for s, want := range map[string]bool{
		"":                       true,
		"Grüße, 東京":              true,
		"line one\n\tline two\r": true,
		"\x01\x1f\x7f":           true,
		"nul\x00":                false,
		"latin-1 Gr\xfc\xdfe":    false,
		"cut \xe6\x9d":           false,
	} {
		if got := StorableText(s); got != want {
			t.Errorf("StorableText(%q) = %v, want %v", s, got, want)
		}
	}
}
