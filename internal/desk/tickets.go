package desk

import (
	"log/slog"
	"net/http"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// TicketPages are the helpdesk's ticket list, the ticket view where agents
// work a ticket, and the form that opens one for a shopper. Reads go to
// the ticket store; every change goes through the helpdesk use cases.
// They share the desk's shell (layout, navigation, errors).
type TicketPages struct {
	*Desk
	Tickets  *ticket.Store
	Helpdesk *helpdesk.Tickets
	// Viewer reads the ticket view.
	Viewer *helpdesk.Viewer
	// Attachments lists each message's files; Macros fill the reply box's
	// picker.
	Attachments *attachment.Store
	Macros      *macro.Macros
	Logger      *slog.Logger
}

// ticketStatuses are the inbox's status filters.
var ticketStatuses = []ticket.Status{ticket.StatusOpen, ticket.StatusPending, ticket.StatusClosed}

// helpdeskNotice tells staff on the ticket pages that the shop's helpdesk
// is switched off — shoppers see no contact form, so no new hub tickets
// come — and who can switch it back on.
type helpdeskNotice struct {
	Off       bool
	CanSwitch bool // the user may open Settings → General
}

// helpdeskOff reads the published settings, the ones the hub follows.
// The notice is an aside: when the settings cannot be read the tickets
// are still shown, without it.
func (p *TicketPages) helpdeskOff(r *http.Request) helpdeskNotice {
	u := auth.UserFrom(r.Context())
	cfg, err := p.Settings.Published(r.Context(), u.ShopID)
	if err != nil {
		p.Logger.Warn("tickets: read the helpdesk switch", "shop", u.ShopID, "err", err)
		return helpdeskNotice{}
	}
	return helpdeskNotice{Off: !cfg.General.HelpdeskEnabled, CanSwitch: u.Role.AtLeast(user.RoleManager)}
}
