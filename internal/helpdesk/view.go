package helpdesk

import (
	"context"
	"fmt"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// SidebarOrders is how many of the customer's latest orders the ticket
// view shows beside the conversation (the ticket's own order comes on
// top of them).
const SidebarOrders = 5

// Viewer reads the ticket view: the agents' most opened page. The shop's
// own lists on it — the shop, its tags, macros and staff, the same for
// every ticket — come from the stores' caches in this process when they
// hold them (a change made here shows at once, one made by another
// process within a couple of seconds); what they miss joins the batch.
type Viewer struct {
	DB        database.Querier
	Tickets   *ticket.Store
	Shops     *shop.Store
	Macros    *macro.Macros
	Users     *user.Store
	OrderView *orderview.View
	// batched, when set, is shown each view's batch before it runs (tests
	// count its statements).
	batched func(*database.Batch)
}

// View is everything the ticket view shows, read at one moment.
type View struct {
	ticket.ViewReads
	Shop   *shop.Shop
	Files  map[int64][]attachment.Attachment // by message
	Macros []*macro.Macro
	People []*user.User // the shop's staff, disabled ones included
	// Customer is the ticket's customer, nil when it has none; Orders are
	// the ticket's own order first, then the customer's latest.
	Customer    *commerce.Customer
	OrdersCount int
	Orders      []orderview.Order
	Order       *orderview.Order // the ticket's own, if any
	// Returns is the published returns configuration the orders were
	// viewed with (zero when there are none).
	Returns returns.Config
}

// Open reads the ticket view for u in one batch — one round trip on
// PostgreSQL whatever the ticket holds — and, when markRead, records that
// u has read the ticket (a write only when there is something new to
// read). ticket.ErrNotFound when the shop has no such ticket.
func (v *Viewer) Open(ctx context.Context, u *user.User, ticketID int64, markRead bool) (*View, error) {
	shopID := u.ShopID
	out := &View{Files: map[int64][]attachment.Attachment{}}
	byOrder := map[int64][]returns.Return{}
	var b database.Batch
	cached := []func(error){
		v.Tickets.ReadView(&b, shopID, u.ID, ticketID, &out.ViewReads),
		v.Shops.ReadCached(&b, shopID, &out.Shop),
		v.Macros.ReadAllCached(&b, shopID, &out.Macros),
		v.Users.ReadAllCached(&b, shopID, &out.People),
	}
	attachment.ReadForTicket(&b, shopID, ticketID, out.Files)
	customer, args := ticket.CustomerOf(shopID, ticketID)
	commerce.ReadCustomer(&b, shopID, customer, args, &out.Customer)
	commerce.ReadOrderCount(&b, shopID, customer, args, &out.OrdersCount)
	page, args := ticket.OrdersOf(shopID, ticketID, SidebarOrders)
	orders := commerce.ReadOrders(&b, shopID, page, args, orderview.ReturnsInto(shopID, byOrder))
	if v.batched != nil {
		v.batched(&b)
	}
	err := v.DB.ReadBatch(ctx, &b)
	for _, done := range cached {
		done(err)
	}
	if err != nil {
		return nil, fmt.Errorf("helpdesk: read ticket %d: %w", ticketID, err)
	}
	t := out.Ticket
	if t == nil {
		return nil, ticket.ErrNotFound
	}
	if !isASCII(t.RequesterEmail) {
		// The batch compares addresses lower-cased by SQL, which folds
		// ASCII only; the store's own check folds the rest.
		blocked, err := v.Tickets.SenderBlocked(ctx, shopID, t.RequesterEmail)
		if err != nil {
			return nil, err
		}
		out.Blocked = blocked
	}
	if markRead && !out.ReadCurrent {
		if err := v.Tickets.RecordRead(ctx, shopID, u.ID, ticketID, out.TicketNotifications > 0); err != nil {
			return nil, err
		}
		out.Notifications -= out.TicketNotifications
		out.TicketNotifications, out.ReadCurrent = 0, true
	}
	if len(*orders) > 0 {
		viewed, cfg, err := v.OrderView.PublishedOf(ctx, shopID, ticketFirst(*orders, t.OrderID), byOrder)
		if err != nil {
			return nil, err
		}
		out.Orders, out.Returns = viewed, cfg
		if t.OrderID != 0 && viewed[0].ID == t.OrderID {
			out.Order = &out.Orders[0]
		}
	}
	return out, nil
}

// ticketFirst moves the ticket's own order (newest first among the
// customer's otherwise) to the top of the cards.
func ticketFirst(orders []*commerce.Order, orderID int64) []*commerce.Order {
	for i, o := range orders {
		if o.ID == orderID && i > 0 {
			out := append([]*commerce.Order{o}, orders[:i]...)
			return append(out, orders[i+1:]...)
		}
	}
	return orders
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
