package ticket

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Limits on what a search reads from the user's words. A helpdesk search
// is a few words; the rest of a pasted page would only make the index's
// query longer without narrowing it.
const (
	MaxSearchWords      = 16
	MaxSearchTokenRunes = 64
)

// searchQuery is the user's words, split the way both engines' tokenizers
// split text: each word into its runs of letters and digits (so
// "ada@example.com" is ada, example, com and "#1001" is 1001). Nothing
// else of the input survives, so quotes, *, :, -, NEAR, OR and parentheses
// are never query syntax.
type searchQuery [][]string

// parseSearch reads q into words of tokens. Words without a letter or a
// digit, and tokens longer than any the index keeps usefully, are dropped.
func parseSearch(q string) searchQuery {
	var out searchQuery
	for _, word := range strings.Fields(q) {
		var tokens []string
		for _, tok := range strings.FieldsFunc(word, func(r rune) bool { return !isTokenRune(r) }) {
			if utf8.RuneCountInString(tok) <= MaxSearchTokenRunes {
				tokens = append(tokens, tok)
			}
		}
		if len(tokens) > 0 {
			out = append(out, tokens)
		}
		if len(out) == MaxSearchWords {
			break
		}
	}
	return out
}

// isTokenRune says which characters words are made of, as SQLite's
// unicode61 tokenizer decides (letters, digits, marks).
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r)
}

// fts5 is the query for SQLite's FTS5: each word a quoted phrase of its
// tokens, all words required, the last word's last token a prefix (search
// as you type). Tokens hold only letters, digits and marks, so the quotes
// cannot be broken out of.
func (q searchQuery) fts5() string {
	var b strings.Builder
	for i, word := range q {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.Join(word, " "))
		b.WriteByte('"')
		if i == len(q)-1 {
			b.WriteString(" *")
		}
	}
	return b.String()
}

// tsquery is the same query for PostgreSQL's to_tsquery: a word's tokens
// follow each other (<->), words are joined by &, the last token is a
// prefix (:*). Each token is quoted; it holds no quote or backslash.
func (q searchQuery) tsquery() string {
	var b strings.Builder
	for i, word := range q {
		if i > 0 {
			b.WriteString(" & ")
		}
		for j, tok := range word {
			if j > 0 {
				b.WriteString(" <-> ")
			}
			b.WriteByte('\'')
			b.WriteString(tok)
			b.WriteByte('\'')
		}
		if i == len(q)-1 {
			b.WriteString(":*")
		}
	}
	return b.String()
}

// SearchRankWindow is how many of the shop's matching tickets, newest
// first, a search ranks. Ranking reads every ranked document's word
// positions and lengths (about 3 µs each on SQLite), so a word found in
// nearly every ticket would cost tens of milliseconds a search on a busy
// shop; ranking the newest matches keeps every search within its budget,
// and a word that common ranks its tickets alike anyway. Rarer words,
// found in fewer tickets than this, are ranked over all their tickets.
const SearchRankWindow = 1_000

// The two engines' searches. Each matches the user's words and the shop's
// token in the index, takes the newest SearchRankWindow matching tickets
// (PostgreSQL in one index scan; SQLite's bm25 must be computed in the
// query that matches, so it matches twice: once for the window's first
// ticket id, once for the documents from it on), ranks them, keeps the
// shop's tickets by joining tickets on id (the index's shop token already
// did; the join is the rule every query follows), and orders by an integer
// score, so the keyset cursor (score, id) compares exactly. Scores are the engine's rank times a million: bm25
// with the subject counting ten times and the related five times a
// message's words (the shop's token not at all) on SQLite; ts_rank of the
// user's words with the weights A (subject) 1.0, B (related) 0.4, C
// (messages) 0.2 on PostgreSQL.
var (
	searchSQLite = `SELECT s.score, t.` + ticketSearchColumns + ` FROM (
		SELECT rowid AS ticket_id, CAST(round(-bm25(ticket_search, 10.0, 5.0, 1.0, 0.0) * 1000000) AS INTEGER) AS score
		FROM ticket_search WHERE ticket_search MATCH ? AND rowid >= coalesce((SELECT min(rowid) FROM (
			SELECT rowid FROM ticket_search WHERE ticket_search MATCH ? ORDER BY rowid DESC LIMIT ?)), 0)) s
		JOIN tickets t ON t.id = s.ticket_id`
	searchPostgres = `SELECT s.score, t.` + ticketSearchColumns + ` FROM (
		SELECT ticket_id, round(ts_rank(document, to_tsquery('simple', ?)) * 1000000)::bigint AS score
		FROM (SELECT ticket_id, document FROM ticket_search WHERE document @@ (to_tsquery('simple', ?) && ?::tsquery)
			ORDER BY ticket_id DESC LIMIT ?) newest) s
		JOIN tickets t ON t.id = s.ticket_id`
)

// ticketSearchColumns are ticketColumns read from the tickets alias t.
var ticketSearchColumns = func() string {
	cols := strings.Split(ticketColumns, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	return strings.Join(cols, ", t.")
}()

// Search finds the shop's tickets whose subject, requester (email, name,
// and the linked customer's email and names) or messages — staff notes
// included: this is the staff's search — hold every word of q, the last
// word also as the beginning of a longer one. The best match comes first;
// f narrows as it does List. A q without any letter or digit finds
// nothing. It returns the cursor of the next page ("" on the last).
func (s *Store) Search(ctx context.Context, shopID int64, q string, f Filter, page database.Page) ([]*Ticket, string, error) {
	query, args, limit := s.searchStatement(shopID, q, f, page)
	if query == "" {
		return nil, "", nil
	}
	rows, err := s.db.Query(ctx, query, database.PlanEachCall(s.db, args)...)
	if err != nil {
		return nil, "", fmt.Errorf("ticket: search: %w", err)
	}
	defer rows.Close()
	var out []*Ticket
	var scores []int64
	for rows.Next() {
		var score int64
		t, err := scanTicket(scoredRow{rows, &score})
		if err != nil {
			return nil, "", err
		}
		out, scores = append(out, t), append(scores, score)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("ticket: search: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = database.EncodeCursor(scores[limit-1], out[limit-1].ID)
	}
	return out, next, nil
}

// scoredRow reads a search row's score before the ticket's columns, so
// scanTicket stays the one reader of a ticket.
type scoredRow struct {
	row   interface{ Scan(...any) error }
	score *int64
}

func (r scoredRow) Scan(dest ...any) error { return r.row.Scan(append([]any{r.score}, dest...)...) }

// searchStatement builds Search's query and its arguments on the store's
// engine, and the page's size; an empty query when q has no words.
func (s *Store) searchStatement(shopID int64, q string, f Filter, page database.Page) (string, []any, int) {
	words := parseSearch(q)
	if len(words) == 0 {
		return "", nil, 0
	}
	var base string
	var args []any
	if s.db.Engine() == database.Postgres {
		tsquery, shop := words.tsquery(), fmt.Sprintf("'#%d'", shopID)
		base, args = searchPostgres, []any{tsquery, tsquery, shop, s.rankWindow}
	} else {
		match := fmt.Sprintf(`shop : "s%d" AND {subject related body} : (%s)`, shopID, words.fts5())
		base, args = searchSQLite, []any{match, match, s.rankWindow}
	}
	where, filterArgs := f.where("t.", shopID)
	args = append(args, filterArgs...)
	if c := page.After; c != nil {
		where = append(where, "(s.score < ? OR (s.score = ? AND t.id < ?))")
		args = append(args, c.Key, c.Key, c.ID)
	}
	limit := page.Size()
	args = append(args, limit+1)
	return base + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY s.score DESC, t.id DESC LIMIT ?`, args, limit
}
