package desk

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// TicketPages are the helpdesk's ticket list and ticket view: for now the
// tickets shoppers open from the hub's contact form, read-only. They share
// the desk's shell (layout, navigation, errors).
type TicketPages struct {
	*Desk
	Tickets *ticket.Store
	Logger  *slog.Logger
}

// The data of the ticket list and the ticket view.
type (
	ticketsPage struct {
		Helpdesk helpdeskNotice
		Query    string // the search's words; empty lists by activity
		Status   ticket.Status
		Statuses []ticket.Status
		Tickets  []*ticket.Ticket
		Next     string
	}
	ticketPage struct {
		Helpdesk helpdeskNotice
		Ticket   *ticket.Ticket
		Messages []ticket.Message
		Customer *commerce.Customer
		Order    *orderview.Order
	}
)

// ticketStatuses are the list's filter tabs.
var ticketStatuses = []ticket.Status{ticket.StatusOpen, ticket.StatusPending, ticket.StatusClosed}

// List shows the shop's tickets, most recent activity first, optionally
// filtered by status; with ?q= it shows those matching the words instead,
// best match first (ticket.Store.Search).
func (p *TicketPages) List(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	q := r.URL.Query()
	status := ticket.Status(q.Get("status"))
	if status != "" && !status.Valid() {
		status = ""
	}
	query := strings.TrimSpace(q.Get("q"))
	page, ok := p.listPage(w, r)
	if !ok {
		return
	}
	find := p.Tickets.List
	if query != "" {
		find = func(ctx context.Context, shopID int64, f ticket.Filter, page database.Page) ([]*ticket.Ticket, string, error) {
			return p.Tickets.Search(ctx, shopID, query, f, page)
		}
	}
	found, next, err := find(r.Context(), u.ShopID, ticket.Filter{Status: status}, page)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	p.page(w, r, http.StatusOK, "tickets", "Tickets", ticketsPage{p.helpdeskOff(r), query, status, ticketStatuses, found, next})
}

// Show is one ticket: the conversation, and the customer and order it is
// linked to.
func (p *TicketPages) Show(w http.ResponseWriter, r *http.Request) {
	u := auth.UserFrom(r.Context())
	t, ok := loadByID(p.Desk, w, r, p.Tickets.Get)
	if !ok {
		return
	}
	msgs, err := p.Tickets.Messages(r.Context(), u.ShopID, t.ID)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	var c *commerce.Customer
	var o *orderview.Order
	if t.CustomerID != 0 {
		c, _ = p.Commerce.Customer(r.Context(), u.ShopID, t.CustomerID)
	}
	if t.OrderID != 0 {
		if order, err := p.Commerce.Order(r.Context(), u.ShopID, t.OrderID); err == nil {
			rows, err := p.OrderView.Published(r.Context(), u.ShopID, []*commerce.Order{order})
			if err != nil {
				p.serverError(w, r, err)
				return
			}
			o = &rows[0]
		}
	}
	p.page(w, r, http.StatusOK, "ticket", t.Subject, ticketPage{p.helpdeskOff(r), t, msgs, c, o})
}

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
