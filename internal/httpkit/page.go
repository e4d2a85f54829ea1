package httpkit

import (
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/database"
)

// ParsePage reads the page a list request asks for from its query,
// ?limit=&cursor=, the same for the API and the desk. A limit outside 1 to
// database.MaxPageSize or a cursor this server did not issue is a 400
// naming the parameter; the store is never asked.
func ParsePage(r *http.Request) (database.Page, *Error) {
	q := r.URL.Query()
	var p database.Page
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > database.MaxPageSize {
			return p, BadRequest("limit", "limit must be a whole number from 1 to %d", database.MaxPageSize)
		}
		p.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		after, err := database.DecodeCursor(s)
		if err != nil {
			return p, BadRequest("cursor", "cursor is not one this server issued; start again without it")
		}
		p.After = after
	}
	return p, nil
}
