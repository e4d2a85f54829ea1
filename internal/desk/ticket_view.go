package desk

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/live"
	"github.com/hubdesk/hubdesk/internal/mailhtml"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// The data of the ticket view and of the new-ticket form.
type (
	ticketPage struct {
		// now is when the page is written, for ages and return windows.
		now      time.Time
		Helpdesk helpdeskNotice
		Ticket   *ticket.Ticket
		Statuses []ticket.Status
		Messages []messageView
		Customer *commerce.Customer
		Order    *orderview.Order // the order the ticket is about, if any
		// Orders are the customer's latest orders (the ticket's own first).
		Orders      []orderview.Order
		OrdersCount int
		// LiveSince is when the page began reading what it shows
		// (live.Stamp): its event stream asks for what happened since.
		LiveSince string
		// published is the configuration the orders were viewed with,
		// for Initiate return's button (never rendered: it holds the key).
		published returns.Config
		Tags      []ticket.Tag
		AllTags   []ticket.Tag
		Assignee  *user.User
		Staff     []*user.User // whom a Manager may assign
		Me        *user.User
		CanAssign bool // the signed-in user may assign anyone
		// MergeTargets are the customer's other tickets this one can be
		// merged into.
		MergeTargets  []*ticket.Ticket
		FirstResponse string // "" until answered
		Resolution    string // "" until closed
		Blocked       bool   // the sender is blocked
		Error         string
		Draft         string
		// MacroPicker fills the reply box with a saved reply.
		MacroPicker macroPicker

		// ReturnsHealth is how calls to the returns platform fare: the
		// notice on the first order card while they fail.
		ReturnsHealth returns.SyncHealth
	}
	// messageView is one message of the conversation, its text split
	// into what is shown and the quoted history folded behind a toggle.
	messageView struct {
		ticket.Message
		Type   ticket.ConversationKind
		Shown  []string
		Quoted []string
		// HTML is a shopper's mail's HTML, sanitised again here, remote
		// images held back and the quoted history folded; shown instead
		// of the text when the mail had HTML.
		HTML  mailhtml.Rendered
		Files []attachment.Attachment
		// Delivery is the mail that carried a reply to the shopper; nil
		// when the reply was not mailed.
		Delivery *ticket.Mail
	}
	newTicketPage struct {
		Email, Name, Subject, Body string
		OrderID                    int64
		Order                      *commerce.Order
		Error                      string
	}
)

// Card is an order card's returns section beside this ticket.
func (v ticketPage) Card(o orderview.Order) orderCard {
	c := orderCard{Order: o, Initiate: orderview.CanInitiate(v.published, o), Ticket: v.Ticket.ID}
	if len(v.Orders) > 0 && v.Orders[0].ID == o.ID {
		c.Health = v.ReturnsHealth // once, on the first card
	}
	return c
}

// Show is one ticket: the conversation with the reply box, the controls
// that work it, and the customer's profile and orders beside it. Opening
// it reads it.
func (p *TicketPages) Show(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		p.NotFound(w, r)
		return
	}
	p.showTicket(w, r, http.StatusOK, id, true, "", "")
}

// showTicket renders the ticket view with status, an error message and
// the text the agent was writing (kept when a change was refused); when
// markRead, the agent has read the ticket.
func (p *TicketPages) showTicket(w http.ResponseWriter, r *http.Request, status int, id int64, markRead bool, message, draft string) {
	ctx := r.Context()
	me := auth.UserFrom(ctx)
	since := time.Now()
	tv, err := p.Viewer.Open(ctx, me, id, markRead)
	if errors.Is(err, ticket.ErrNotFound) {
		p.NotFound(w, r)
		return
	}
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	t := tv.Ticket
	v := ticketPage{now: p.now(), Helpdesk: p.helpdeskOff(r), Ticket: t, Statuses: ticketStatuses, Me: me, CanAssign: me.Role.AtLeast(user.RoleManager),
		Error: message, Draft: draft, Tags: tv.Tags, AllTags: tv.AllTags, Blocked: tv.Blocked, Customer: tv.Customer,
		OrdersCount: tv.OrdersCount, Orders: tv.Orders, Order: tv.Order, published: tv.Returns, LiveSince: live.Stamp(since)}
	if len(tv.Orders) > 0 {
		// The cards render whatever the platform's health; a failed read
		// only leaves the notice out.
		if v.ReturnsHealth, err = p.OrderView.SyncHealth(ctx, me.ShopID, tv.Returns); err != nil {
			p.Logger.WarnContext(ctx, "desk: returns platform health", "ticket", t.ID, "err", err)
		}
	}
	v.Messages = make([]messageView, 0, len(tv.Messages))
	for _, m := range tv.Messages {
		files := tv.Files[m.ID]
		mv := messageView{Message: m, Type: m.ConversationKind(), Files: files, Delivery: tv.Deliveries[m.ID]}
		if m.BodyHTML != "" {
			mv.HTML = mailhtml.Render(m.BodyHTML, inlineImages(t.ID, files))
		}
		if mv.HTML.Shown == "" {
			mv.Shown, mv.Quoted = splitQuoted(m.Body)
		}
		v.Messages = append(v.Messages, mv)
	}
	v.MacroPicker = newMacroPicker(t.ID, tv.Macros, "reply-body")
	for _, u := range tv.People {
		if u.ID == t.AssigneeID {
			v.Assignee = u
		}
		if u.DisabledAt == nil {
			v.Staff = append(v.Staff, u)
		}
	}
	if tv.Customer != nil {
		v.MergeTargets = tv.Related
	}
	if d, ok := t.FirstResponseTime(); ok {
		v.FirstResponse = humanDuration(d)
	}
	if d, ok := t.ResolutionTime(); ok {
		v.Resolution = humanDuration(d)
	}
	p.pageIn(w, r, status, "ticket", t.Subject, v, &frame{Shop: tv.Shop, Notifications: tv.Notifications})
	// The page rendered from the store; now its orders' returns and the
	// customer's orders may be refreshed, and a refresh that changes
	// something tells the page, which swaps its cards.
	var customerID int64
	if p.CustomerFreshness != nil && tv.Customer != nil && tv.Customer.FromPlatform() {
		customerID = tv.Customer.ID
	}
	if (p.Freshness != nil && len(tv.Orders) > 0) || customerID != 0 {
		p.freshenLater(ctx, me.ShopID, t.ID, tv.Orders, customerID)
	}
}

// humanDuration says how long something took, to the minute.
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d days %d h", int(d.Hours())/24, int(d.Hours())%24)
}

// inlineImages maps the Content-IDs of a mail's inline images to their
// addresses, for the cid: references of its HTML.
func inlineImages(ticketID int64, files []attachment.Attachment) map[string]string {
	out := map[string]string{}
	for _, f := range files {
		if f.ContentID != "" && f.Inline() {
			out[f.ContentID] = fmt.Sprintf("/tickets/%d/attachments/%d?inline=1", ticketID, f.ID)
		}
	}
	return out
}

// splitQuoted separates a plain-text body into what is shown and the
// quoted history folded behind a toggle (mailhtml.SplitText: the hub
// folds with the same rule).
var splitQuoted = mailhtml.SplitText

// ticketAction is the common shape of the ticket view's forms: load the
// ticket named by the path, run one use case, then go back to the ticket
// (303, so a reload does not post again) — or show the refusal on the
// ticket view.
func (p *TicketPages) ticketAction(w http.ResponseWriter, r *http.Request, run func(me *user.User, t *ticket.Ticket) (string, error)) {
	t, ok := loadByID(p.Desk, w, r, p.Tickets.Get)
	if !ok {
		return
	}
	me := auth.UserFrom(r.Context())
	next, err := run(me, t)
	var ve *ticket.ValidationError
	var fileErr *attachment.ValidationError
	switch {
	case err == nil:
		if next == "" {
			next = fmt.Sprintf("/tickets/%d", t.ID)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	case errors.Is(err, ticket.ErrNotFound):
		p.NotFound(w, r)
		return
	case errors.As(err, &ve):
		p.refused(w, r, t, http.StatusUnprocessableEntity, validationMessage(ve))
	case errors.As(err, &fileErr):
		p.refused(w, r, t, http.StatusUnprocessableEntity, fileMessage(fileErr))
	case errors.Is(err, helpdesk.ErrNotAllowed):
		p.refused(w, r, t, http.StatusForbidden, notAllowedMessage(err))
	case errors.Is(err, helpdesk.ErrDifferentCustomers):
		p.refused(w, r, t, http.StatusConflict, "Only tickets of the same customer can be merged.")
	case errors.Is(err, helpdesk.ErrMerged):
		p.refused(w, r, t, http.StatusConflict, "One of these tickets was already merged into another.")
	default:
		p.serverError(w, r, err)
	}
}

// refused shows the ticket again (as it is now) with why the change was
// refused, keeping what the agent wrote.
func (p *TicketPages) refused(w http.ResponseWriter, r *http.Request, t *ticket.Ticket, status int, message string) {
	p.showTicket(w, r, status, t.ID, false, message, r.PostFormValue("body"))
}

// validationMessage words a refused input for staff.
func validationMessage(ve *ticket.ValidationError) string {
	switch ve.Field {
	case "body":
		if strings.Contains(ve.Problem, "longer") {
			return fmt.Sprintf("The message is too long: at most %d characters.", ticket.MaxBodyRunes)
		}
		return "Write a message first."
	case "subject":
		return "Give the ticket a subject."
	case "customer_email":
		return "Enter the customer's email address."
	case "order_id":
		return "That order is not one of this shop's."
	case "status":
		return "Choose open, pending or closed."
	case "assignee_id":
		return "That person cannot be assigned: they are not an active member of this shop."
	case "tags":
		return fmt.Sprintf("Tag names must be 1 to %d characters.", ticket.MaxTagRunes)
	case "target":
		return "Choose another ticket of this customer to merge into."
	case "email":
		return "This ticket's sender has no email address to block."
	}
	return "That was not accepted: " + ve.Error()
}

// fileMessage words a refused file for staff; the files have to be chosen
// again (a browser never refills a file input), the text is kept.
func fileMessage(e *attachment.ValidationError) string {
	if e.Filename == "" {
		return "The files were not accepted: " + e.Problem + ". Choose them again."
	}
	return fmt.Sprintf("The file %q %s. Choose the files again.", e.Filename, e.Problem)
}

// notAllowedMessage explains a refusal by role.
func notAllowedMessage(err error) string {
	if strings.Contains(err.Error(), "tag") {
		return "That tag does not exist yet, and only managers create tags. Choose an existing tag."
	}
	return "Your role does not allow this: only managers assign tickets to others or take them from colleagues."
}

// formID reads a numeric form field; a missing or malformed one is 0.
func formID(r *http.Request, field string) int64 {
	id, err := strconv.ParseInt(strings.TrimSpace(r.PostFormValue(field)), 10, 64)
	if err != nil || id < 0 {
		return 0
	}
	return id
}

// Reply sends the agent's message to the shopper, with the files of the
// form's "files" field.
func (p *TicketPages) Reply(w http.ResponseWriter, r *http.Request) {
	p.ticketAction(w, r, func(me *user.User, t *ticket.Ticket) (string, error) {
		files, err := attachment.ParseUploads(r, "files")
		if err != nil {
			return "", err
		}
		m, err := p.Helpdesk.Reply(r.Context(), me, t.ID, r.PostFormValue("body"), files...)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("/tickets/%d#m%d", t.ID, m.ID), nil
	})
}

// Note adds an internal note, with the files of the form's "files" field.
func (p *TicketPages) Note(w http.ResponseWriter, r *http.Request) {
	p.ticketAction(w, r, func(me *user.User, t *ticket.Ticket) (string, error) {
		files, err := attachment.ParseUploads(r, "files")
		if err != nil {
			return "", err
		}
		m, err := p.Helpdesk.Note(r.Context(), me, t.ID, r.PostFormValue("body"), files...)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("/tickets/%d#m%d", t.ID, m.ID), nil
	})
}

// SetStatus opens, sets pending or closes the ticket.
func (p *TicketPages) SetStatus(w http.ResponseWriter, r *http.Request) {
	p.ticketAction(w, r, func(me *user.User, t *ticket.Ticket) (string, error) {
		return "", p.Helpdesk.SetStatus(r.Context(), me, t.ID, ticket.Status(r.PostFormValue("status")))
	})
}

// Assign sets the assignee ("assignee" = a user id, empty or 0 unassigns).
func (p *TicketPages) Assign(w http.ResponseWriter, r *http.Request) {
	p.ticketAction(w, r, func(me *user.User, t *ticket.Ticket) (string, error) {
		return "", p.Helpdesk.Assign(r.Context(), me, t.ID, formID(r, "assignee"))
	})
}

// SetTags replaces the tags with the comma-separated names in "tags".
func (p *TicketPages) SetTags(w http.ResponseWriter, r *http.Request) {
	p.ticketAction(w, r, func(me *user.User, t *ticket.Ticket) (string, error) {
		var names []string
		for _, n := range strings.Split(r.PostFormValue("tags"), ",") {
			if strings.TrimSpace(n) != "" {
				names = append(names, n)
			}
		}
		_, err := p.Helpdesk.SetTags(r.Context(), me, t.ID, names)
		return "", err
	})
}

// Merge moves this ticket into the one named by "target", then shows that
// one.
func (p *TicketPages) Merge(w http.ResponseWriter, r *http.Request) {
	p.ticketAction(w, r, func(me *user.User, t *ticket.Ticket) (string, error) {
		target := formID(r, "target")
		if err := p.Helpdesk.Merge(r.Context(), me, t.ID, target); err != nil {
			return "", err
		}
		return fmt.Sprintf("/tickets/%d", target), nil
	})
}

// MarkSpam takes the ticket out of the inbox and goes back to it.
func (p *TicketPages) MarkSpam(w http.ResponseWriter, r *http.Request) {
	p.ticketAction(w, r, func(me *user.User, t *ticket.Ticket) (string, error) {
		return "", p.Helpdesk.MarkSpam(r.Context(), me, t.ID)
	})
}

// BlockSender refuses the sender's later messages.
func (p *TicketPages) BlockSender(w http.ResponseWriter, r *http.Request) {
	p.ticketAction(w, r, func(me *user.User, t *ticket.Ticket) (string, error) {
		_, err := p.Helpdesk.BlockSender(r.Context(), me, t.ID)
		return "", err
	})
}

// New is the form that opens a ticket for a shopper: ?customer= fills in
// their email and name, ?order= links an order (and its customer).
func (p *TicketPages) New(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	me := auth.UserFrom(ctx)
	v := newTicketPage{}
	q := r.URL.Query()
	if id, err := strconv.ParseInt(q.Get("order"), 10, 64); err == nil {
		if o, err := p.Commerce.Order(ctx, me.ShopID, id); err == nil {
			v.Order, v.OrderID, v.Email = o, o.ID, o.Email
			if v.Subject == "" {
				v.Subject = "Order " + o.Name
			}
			if c, err := p.Commerce.Customer(ctx, me.ShopID, o.CustomerID); err == nil {
				v.Email, v.Name = c.Email, c.Name()
			}
		}
	}
	if id, err := strconv.ParseInt(q.Get("customer"), 10, 64); err == nil {
		if c, err := p.Commerce.Customer(ctx, me.ShopID, id); err == nil {
			v.Email, v.Name = c.Email, c.Name()
		}
	}
	p.page(w, r, http.StatusOK, "ticket_new", "New ticket", v)
}

// Create opens the ticket and goes to it.
func (p *TicketPages) Create(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	me := auth.UserFrom(ctx)
	v := newTicketPage{Email: r.PostFormValue("customer_email"), Name: r.PostFormValue("customer_name"),
		Subject: r.PostFormValue("subject"), Body: r.PostFormValue("body"), OrderID: formID(r, "order_id")}
	if v.OrderID != 0 {
		v.Order, _ = p.Commerce.Order(ctx, me.ShopID, v.OrderID)
	}
	t, err := p.Helpdesk.Create(ctx, me, helpdesk.NewTicket{Subject: v.Subject, CustomerEmail: v.Email, CustomerName: v.Name,
		Body: v.Body, OrderID: v.OrderID, Channel: ticket.ChannelDesk})
	var ve *ticket.ValidationError
	var cve *commerce.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, fmt.Sprintf("/tickets/%d", t.ID), http.StatusSeeOther)
	case errors.As(err, &ve):
		v.Error = validationMessage(ve)
		p.page(w, r, http.StatusUnprocessableEntity, "ticket_new", "New ticket", v)
	case errors.As(err, &cve):
		v.Error = validationMessage(&ticket.ValidationError{Field: "customer_email"})
		p.page(w, r, http.StatusUnprocessableEntity, "ticket_new", "New ticket", v)
	default:
		p.serverError(w, r, err)
	}
}
