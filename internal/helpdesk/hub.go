package helpdesk

import (
	"context"
	"errors"
	"strings"

	"github.com/hubdesk/hubdesk/internal/ticket"
)

// HubContact is a shopper's message from the hub's contact form.
type HubContact struct {
	CustomerID int64 // the verified shopper; required unless Guest
	// Guest: a shopper who opened one order with a guest link (no
	// account, or none verified). Their ticket is the order email's
	// customer, matched or created by that address as for mail.
	Guest   bool
	OrderID int64 // the order it is about; 0: none
	Email   string
	Name    string
	Subject string // of a new ticket
	Body    string
	// Lang is the language the shopper sees the hub in; a new ticket's
	// acknowledgement is written in it.
	Lang string
}

// HubOutcome says where a shopper's hub message went.
type HubOutcome struct {
	Ticket *ticket.Ticket // the ticket the message is on
	// Joined: added to a ticket that already existed; false: a new ticket.
	Joined bool
	// Repeated: the same text was already there; nothing was written.
	Repeated bool
}

// ContactFromHub takes in a message from the hub's contact form. While the
// shopper has an open or pending ticket about the same order (or, for a
// message about no order, one about no order), the message joins it as
// their next message, like CustomerMessage (the wait starts, the assignee
// is told, listeners hear of it); otherwise — none, or only closed ones —
// it opens a new ticket. The hub's checks run first in the same
// transaction (ticket.Store.GateHubMessage): blocked senders, repeats,
// the contact limits, counted in messages so joining does not escape them.
func (h *Tickets) ContactFromHub(ctx context.Context, shopID int64, in HubContact) (HubOutcome, error) {
	if in.CustomerID == 0 && !in.Guest {
		return HubOutcome{}, &ticket.ValidationError{Field: "customer_id", Problem: "is required"}
	}
	in.Body = strings.TrimSpace(in.Body)
	if in.Body == "" {
		return HubOutcome{}, &ticket.ValidationError{Field: "body", Problem: "is required"}
	}
	var out HubOutcome
	err := h.inTx(ctx, func(w *work) error {
		if in.CustomerID == 0 {
			first, last := splitName(in.Name)
			c, _, err := w.commerce.CustomerForEmail(ctx, shopID, in.Email, first, last)
			if err != nil {
				return err
			}
			in.CustomerID = c.ID
			if in.Name == "" {
				in.Name = c.Name()
			}
		}
		open, err := w.tickets.OpenTicketFor(ctx, shopID, in.CustomerID, in.OrderID)
		if err != nil && !errors.Is(err, ticket.ErrNotFound) {
			return err
		}
		emails := []string{in.Email}
		if open != nil {
			emails = append(emails, open.RequesterEmail)
		}
		repeat, err := w.tickets.GateHubMessage(ctx, shopID, ticket.HubMessage{CustomerID: in.CustomerID, OrderID: in.OrderID,
			Emails: emails, Body: in.Body})
		if err != nil || repeat != nil {
			out = HubOutcome{Ticket: repeat, Joined: true, Repeated: repeat != nil}
			return err
		}
		if open != nil {
			if open, err = w.tickets.GetForUpdate(ctx, shopID, open.ID); err != nil {
				return err
			}
		}
		// Closed by an agent between the read and the lock: a new ticket.
		if open != nil && open.Status != ticket.StatusClosed {
			out = HubOutcome{Ticket: open, Joined: true}
			return h.addCustomerMessage(ctx, w, shopID, open, Sender{CustomerID: in.CustomerID, Email: in.Email, Name: in.Name}, in.Body, nil)
		}
		out.Ticket, err = h.openFromHub(ctx, w, shopID, in)
		return err
	})
	if err != nil {
		return HubOutcome{}, err
	}
	return out, nil
}

// AnswerFromHub takes in a shopper's answer on one of their conversations
// in the hub. Another shopper's ticket, a spam one or one merged away is
// ErrNotFound. An open or pending ticket, or one closed within
// ticket.ReopenWindow, takes the answer (and reopens); a ticket closed
// longer ago starts a new ticket about the same order with the same
// subject, so an old thread is not revived for what is a new question.
// The hub's checks (GateHubMessage) run first, as for the contact form.
func (h *Tickets) AnswerFromHub(ctx context.Context, shopID, ticketID int64, from Sender, body string) (HubOutcome, error) {
	body = strings.TrimSpace(body)
	if from.CustomerID == 0 {
		return HubOutcome{}, ticket.ErrNotFound
	}
	if body == "" {
		return HubOutcome{}, &ticket.ValidationError{Field: "body", Problem: "is required"}
	}
	var out HubOutcome
	err := h.inTx(ctx, func(w *work) error {
		t, err := w.tickets.ShopperTicket(ctx, shopID, from.CustomerID, ticketID)
		if err != nil {
			return err
		}
		repeat, err := w.tickets.GateHubMessage(ctx, shopID, ticket.HubMessage{CustomerID: from.CustomerID, TicketID: t.ID,
			Emails: []string{from.Email, t.RequesterEmail}, Body: body})
		if err != nil || repeat != nil {
			out = HubOutcome{Ticket: repeat, Joined: true, Repeated: repeat != nil}
			return err
		}
		if t, err = w.tickets.GetForUpdate(ctx, shopID, t.ID); err != nil {
			return err
		}
		if t.Reopens(w.tickets.Now()) {
			out = HubOutcome{Ticket: t, Joined: true}
			return h.addCustomerMessage(ctx, w, shopID, t, from, body, nil)
		}
		out.Ticket, err = h.openFromHub(ctx, w, shopID, HubContact{CustomerID: from.CustomerID, OrderID: t.OrderID,
			Email: from.Email, Name: from.Name, Subject: t.Subject, Body: body})
		return err
	})
	if err != nil {
		return HubOutcome{}, err
	}
	return out, nil
}

// openFromHub opens a hub ticket with the shopper's first message.
func (h *Tickets) openFromHub(ctx context.Context, w *work, shopID int64, in HubContact) (*ticket.Ticket, error) {
	t, err := w.tickets.Create(ctx, shopID, ticket.NewTicket{CustomerID: in.CustomerID, OrderID: in.OrderID,
		RequesterEmail: in.Email, RequesterName: in.Name, Subject: in.Subject, Channel: ticket.ChannelHub,
		Author: ticket.AuthorCustomer, Body: in.Body})
	if err != nil {
		return nil, err
	}
	// The hub promises an answer by email: the acknowledgement says the
	// message arrived and gives its reference.
	if err := h.acknowledge(ctx, w, shopID, t, in.Lang); err != nil {
		return nil, err
	}
	h.publish(ctx, w, shopID, t.ID, ChangeCreated)
	return t, nil
}
