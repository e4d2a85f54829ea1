package desk

import (
	"net/url"

	"github.com/hubdesk/hubdesk/internal/locale"
)

// A sortable list names its sort in its URL (?sort=name&dir=asc), so that
// a sorted page can be bookmarked, shared and paged through: the pager's
// link keeps the sort, and the cursor holds the sort's value.

// sortColumn is a column a list can be sorted by.
type sortColumn struct {
	// Key is the column's name in the URL's sort parameter.
	Key string
	// LabelKey names the column's header in the catalogue.
	LabelKey string
	// Ascending is the order a first click sorts in: A to Z for names,
	// newest or largest first for dates and amounts.
	Ascending bool
	Num       bool
}

// listSort is the sort a list page was asked for.
type listSort struct {
	Key       string
	Ascending bool
}

// parseListSort reads ?sort= and ?dir= against the list's columns: an
// unknown column is the first (the default), a missing direction the
// column's own.
func parseListSort(q url.Values, cols []sortColumn) listSort {
	col := cols[0]
	for _, c := range cols {
		if c.Key == q.Get("sort") {
			col = c
		}
	}
	s := listSort{Key: col.Key, Ascending: col.Ascending}
	switch q.Get("dir") {
	case "asc":
		s.Ascending = true
	case "desc":
		s.Ascending = false
	}
	return s
}

// Dir is the direction's name in the URL.
func (s listSort) Dir() string {
	if s.Ascending {
		return "asc"
	}
	return "desc"
}

// sortHeader is one sortable column's header: a link that sorts the list
// by it (or reverses the order when the list is sorted by it already),
// and the aria-sort that tells a screen reader the list's order.
type sortHeader struct {
	Label, URL string
	// AriaSort is "ascending" or "descending" on the column the list is
	// sorted by, "" on the others.
	AriaSort string
	Num      bool
}

// sortHeaders are the headers of a list at path sorted by s, each link
// carrying the list's search (the first page: a cursor belongs to one
// sort).
func sortHeaders(l *locale.Locale, path, search string, s listSort, cols []sortColumn) map[string]sortHeader {
	out := make(map[string]sortHeader, len(cols))
	for _, c := range cols {
		next := listSort{Key: c.Key, Ascending: c.Ascending}
		h := sortHeader{Label: l.T(c.LabelKey), Num: c.Num}
		if c.Key == s.Key {
			next.Ascending = !s.Ascending
			h.AriaSort = "descending"
			if s.Ascending {
				h.AriaSort = "ascending"
			}
		}
		q := url.Values{}
		if search != "" {
			q.Set("q", search)
		}
		q.Set("sort", next.Key)
		q.Set("dir", next.Dir())
		h.URL = path + "?" + q.Encode()
		out[c.Key] = h
	}
	return out
}
