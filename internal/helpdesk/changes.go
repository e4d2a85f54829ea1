package helpdesk

import "context"

// Change names what happened to a ticket, for pages showing it live.
type Change string

const (
	ChangeCreated  Change = "created"
	ChangeMessage  Change = "message" // a reply or the shopper's message
	ChangeNote     Change = "note"
	ChangeStatus   Change = "status"
	ChangeAssignee Change = "assignee"
	ChangeTags     Change = "tags"
	ChangeMerged   Change = "merged" // told for both tickets
	ChangeSpam     Change = "spam"
)

// Changes is told about every ticket change once its transaction has
// committed (never for one rolled back), so a listener that reads the
// ticket again sees the change. Implementations must not block: they run
// on the request that made the change. live.Bus implements it: it
// delivers to this process's live pages, and to other processes' through
// PostgreSQL NOTIFY.
type Changes interface {
	TicketChanged(ctx context.Context, shopID, ticketID int64, what Change)
}
