package sandbox

import (
	"strings"
	"unicode"
)

// operation is what the sandbox needs to know of a GraphQL document to
// answer it: whether it is a query or a mutation and which root fields it
// selects. Arguments come in variables (hubdesk's client passes all of
// them that way); the sandbox answers each root field with its full shape
// and the client reads what it asked for. This is a matcher, not a GraphQL
// engine: enough for the operations hubdesk sends, not for arbitrary ones.
type operation struct {
	kind   string   // "query" or "mutation"
	fields []string // root field names, aliases resolved
	// inline holds literal arguments of root fields written in the
	// document (e.g. node(id: "gid://…")), by field, as raw text.
	inline map[string]string
}

// parseOperation scans a document's first operation.
func parseOperation(doc string) (operation, bool) {
	op := operation{kind: "query", inline: map[string]string{}}
	toks := tokenize(doc)
	i := 0
	if i < len(toks) && (toks[i] == "query" || toks[i] == "mutation" || toks[i] == "subscription") {
		op.kind = toks[i]
		i++
	}
	// Skip the name and variable definitions up to the selection set.
	for i < len(toks) && toks[i] != "{" {
		i++
	}
	if i >= len(toks) {
		return op, false
	}
	i++ // "{"
	depth := 1
	for i < len(toks) && depth > 0 {
		t := toks[i]
		switch t {
		case "{":
			depth++
			i++
			continue
		case "}":
			depth--
			i++
			continue
		case "(":
			// Arguments: skip to the matching ")".
			start := i
			pd := 0
			for ; i < len(toks); i++ {
				if toks[i] == "(" {
					pd++
				} else if toks[i] == ")" {
					pd--
					if pd == 0 {
						break
					}
				}
			}
			if depth == 1 && len(op.fields) > 0 {
				op.inline[op.fields[len(op.fields)-1]] = strings.Join(toks[start:i+1], " ")
			}
			i++
			continue
		}
		if depth == 1 && isName(t) {
			name := t
			if i+2 < len(toks) && toks[i+1] == ":" && isName(toks[i+2]) { // alias: field
				name = toks[i+2]
				i += 2
			}
			op.fields = append(op.fields, name)
		}
		i++
	}
	return op, len(op.fields) > 0
}

func isName(t string) bool {
	if t == "" {
		return false
	}
	for i, r := range t {
		if r == '_' || unicode.IsLetter(r) || (i > 0 && unicode.IsDigit(r)) {
			continue
		}
		return false
	}
	return true
}

// tokenize splits a GraphQL document into names, punctuators and string
// literals (kept quoted), dropping comments, commas and whitespace.
func tokenize(doc string) []string {
	var toks []string
	rs := []rune(doc)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r) || r == ',' || r == '\ufeff':
			i++
		case r == '#':
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
		case r == '"':
			j := i + 1
			if strings.HasPrefix(string(rs[i:min(i+3, len(rs))]), `"""`) {
				j = i + 3
				for j < len(rs) && !strings.HasPrefix(string(rs[j:min(j+3, len(rs))]), `"""`) {
					j++
				}
				j = min(j+3, len(rs))
			} else {
				for j < len(rs) && rs[j] != '"' {
					if rs[j] == '\\' {
						j++
					}
					j++
				}
				j = min(j+1, len(rs))
			}
			toks = append(toks, string(rs[i:j]))
			i = j
		case r == '.' && i+2 < len(rs) && rs[i+1] == '.' && rs[i+2] == '.':
			toks = append(toks, "...")
			i += 3
		case strings.ContainsRune("{}():[]!$=@|&", r):
			toks = append(toks, string(r))
			i++
		default:
			j := i
			for j < len(rs) && (rs[j] == '_' || rs[j] == '-' || rs[j] == '.' || unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j])) {
				j++
			}
			if j == i {
				j++
			}
			toks = append(toks, string(rs[i:j]))
			i = j
		}
	}
	return toks
}
