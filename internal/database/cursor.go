package database

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Page asks a store for one page of a list, newest first: at most Limit
// rows after the previous page's last row. Every list — customers, orders,
// tickets, the audit log — takes it, so sizes and cursors behave the same
// in the desk, the hub and the API.
type Page struct {
	Limit int     // 0 means DefaultPageSize; more than MaxPageSize is cut to it
	After *Cursor // where the previous page ended; nil for the first page
}

// The size of a page when none is asked for, and the largest one served.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Size is the number of rows the page holds at most.
func (p Page) Size() int {
	switch {
	case p.Limit <= 0:
		return DefaultPageSize
	case p.Limit > MaxPageSize:
		return MaxPageSize
	}
	return p.Limit
}

// Cursor is the position of keyset pagination: the sort value of the last
// row of a page and the id that breaks ties (lists sorted by id alone
// leave Key zero).
type Cursor struct {
	Key, ID int64
	// Text is the sort value of a list sorted by text (a name), when
	// IsText; Key is zero then.
	Text   string
	IsText bool
}

// ErrBadCursor means a list cursor was not made by this server.
var ErrBadCursor = errors.New("cursor is malformed")

// EncodeCursor makes the opaque cursor of the next page from the last row
// of this one.
func EncodeCursor(sortKey, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(sortKey, 10) + ":" + strconv.FormatInt(id, 10)))
}

// EncodeTextCursor makes the cursor of the next page of a list sorted by
// text from the last row of this one.
func EncodeTextCursor(sortKey string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t" + strconv.FormatInt(id, 10) + ":" + sortKey))
}

// Encode is the opaque form of the cursor, as EncodeCursor or
// EncodeTextCursor made it.
func (c Cursor) Encode() string {
	if c.IsText {
		return EncodeTextCursor(c.Text, c.ID)
	}
	return EncodeCursor(c.Key, c.ID)
}

// DecodeCursor reads a cursor made by EncodeCursor or EncodeTextCursor.
func DecodeCursor(c string) (*Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, ErrBadCursor
	}
	if rest, ok := strings.CutPrefix(string(raw), "t"); ok {
		id, text, ok := strings.Cut(rest, ":")
		cur := Cursor{Text: text, IsText: true}
		if cur.ID, err = strconv.ParseInt(id, 10, 64); !ok || err != nil || cur.ID <= 0 || !utf8.ValidString(text) || strings.IndexByte(text, 0) >= 0 {
			return nil, ErrBadCursor
		}
		return &cur, nil
	}
	a, b, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, ErrBadCursor
	}
	var cur Cursor
	if cur.Key, err = strconv.ParseInt(a, 10, 64); err != nil {
		return nil, ErrBadCursor
	}
	if cur.ID, err = strconv.ParseInt(b, 10, 64); err != nil || cur.ID <= 0 {
		return nil, ErrBadCursor
	}
	return &cur, nil
}
