package database

import (
	"strings"
	"unicode/utf8"
)

// StorableText reports whether s can be stored as text on both engines.
// PostgreSQL refuses a NUL character and bytes that are not UTF-8 (the
// query fails), while SQLite stores them; input is checked against this
// before it reaches a store so both engines keep the same data and a
// client gets a clear 400 instead of a failed query. Other control
// characters (tabs, newlines) are ordinary text.
func StorableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
