package database

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// ErrBadCursor means a list cursor was not made by this server.
var ErrBadCursor = errors.New("cursor is malformed")

// EncodeCursor makes the opaque cursor of keyset pagination: the sort value
// of the last row of a page and the id that breaks ties.
func EncodeCursor(sortKey, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(sortKey, 10) + ":" + strconv.FormatInt(id, 10)))
}

// DecodeCursor reads a cursor made by EncodeCursor.
func DecodeCursor(c string) (sortKey, id int64, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, 0, ErrBadCursor
	}
	a, b, ok := strings.Cut(string(raw), ":")
	if !ok {
		return 0, 0, ErrBadCursor
	}
	if sortKey, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, ErrBadCursor
	}
	if id, err = strconv.ParseInt(b, 10, 64); err != nil {
		return 0, 0, ErrBadCursor
	}
	return sortKey, id, nil
}
