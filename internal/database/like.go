package database

import "strings"

// LikeContains is a LIKE pattern (with ESCAPE '\') matching text that
// contains s anywhere, s's own % and _ taken literally.
func LikeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}
