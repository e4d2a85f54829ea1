package ticket

import "github.com/hubdesk/hubdesk/internal/database"

// InboxSQL is the page read of an inbox view, for the benchmark's query
// plans.
func InboxSQL(shopID, userID int64, v InboxView, sort InboxSort, after *database.Cursor) (string, []any) {
	where, args, order := inboxWhere(shopID, userID, v, sort, after)
	return inboxSelect(where, args, order, userID, database.DefaultPageSize)
}

// NavCountSQL is the navigation's count read.
const NavCountSQL = navCountQuery

// InboxTagsSQL is the tag read of an inbox page.
func InboxTagsSQL(shopID, userID int64, v InboxView, sort InboxSort, after *database.Cursor) (string, []any) {
	where, args, order := inboxWhere(shopID, userID, v, sort, after)
	return inboxTagsSelect(where, args, order, shopID, database.DefaultPageSize)
}
