package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// With returns the use cases running in q's transaction: a job that
// marks its own work done (the intake's) files a mail and marks the
// event processed in one commit.
func (h *Tickets) With(q database.Querier) *Tickets {
	c := *h
	c.db = q
	return &c
}

// MailIn is a shopper's mail, read (internal/mailin does the reading).
type MailIn struct {
	MessageID string // without angle brackets; "" when the mail had none
	// Thread is the Message-IDs the mail answers, most likely first.
	Thread    []string
	FromEmail string
	FromName  string
	Subject   string
	Body      string // the text, within ticket.MaxBodyRunes
	BodyHTML  string // sanitised; "" for none
	Files     []attachment.Upload
	// NotKept are notes on files the reader already left out (over the
	// attachment limits), added to the message's note on refused files.
	NotKept []string
	// Automated says why a machine sent the mail (auto-reply, bounce,
	// list); "" when a person did. Such mail writes nothing and is never
	// acknowledged: answering a machine starts mail loops.
	Automated string
}

// MailOutcome says what FromMail did with a mail.
type MailOutcome struct {
	Ticket  *ticket.Ticket  // nil when Skipped
	Message *ticket.Message // nil when Skipped
	// Created: the mail opened a new ticket; false: it joined one.
	Created bool
	// Acknowledge: a person's mail opened a new ticket, so the shopper
	// may be told it arrived. False for machines (they never get here),
	// duplicates, and mail that joined a ticket.
	Acknowledge bool
	// Skipped says why nothing was written — an auto-reply, a mail seen
	// before, our own mail come back, a blocked sender; "" when filed.
	Skipped string
}

// subjectTag finds the ticket reference replies carry in their subject,
// "[#123]".
var subjectTag = regexp.MustCompile(`\[#(\d{1,18})\]`)

// FromMail files a shopper's mail. Nothing is written for a machine's
// mail (in.Automated), a Message-ID the shop already has (a redelivery,
// or our own mail coming back), or a blocked sender. Otherwise the mail
// goes on:
//  1. the ticket of a mail it answers (In-Reply-To/References against the
//     shop's stored Message-IDs: our replies and earlier inbound mail);
//  2. else the ticket its subject names ("[#123]"), only when the sender
//     is that ticket's shopper — a stranger cannot write into another's
//     conversation by naming its number;
//  3. else the sender's open or pending ticket about the same order — the
//     one of theirs the subject names ("#1001"), or no order — as a hub
//     message from the same shopper joins theirs (ContactFromHub);
//  4. else a new ticket on the email channel about that order, for the
//     customer with that address (created when the shop has none).
//
// A ticket found closed longer than ticket.ReopenWindow ago is not
// revived: the mail opens a new ticket with its subject and order, as
// AnswerFromHub does. A message that joins reopens its ticket and tells
// its assignee like any shopper message. The mail's files are stored on
// the message; one the attachment store refuses is left out with a note.
func (h *Tickets) FromMail(ctx context.Context, shopID int64, in MailIn) (MailOutcome, error) {
	if in.Automated != "" {
		return MailOutcome{Skipped: "sent by a machine: " + in.Automated}, nil
	}
	email := ticket.NormalizeEmail(in.FromEmail)
	if !strings.Contains(email, "@") {
		return MailOutcome{}, &ticket.ValidationError{Field: "from", Problem: "is not an email address"}
	}
	if len(in.Files) > 0 && h.files == nil {
		return MailOutcome{}, errors.New("helpdesk: this server keeps no attachments")
	}
	var out MailOutcome
	err := h.inTx(ctx, func(w *work) error {
		if in.MessageID != "" {
			seen, err := w.tickets.MessageByMailID(ctx, shopID, in.MessageID)
			switch {
			case err == nil && seen.AuthorKind != ticket.AuthorCustomer:
				out.Skipped = fmt.Sprintf("our own mail came back (message %d of ticket %d)", seen.ID, seen.TicketID)
				return nil
			case err == nil:
				out.Skipped = fmt.Sprintf("already filed as message %d of ticket %d", seen.ID, seen.TicketID)
				return nil
			case !errors.Is(err, ticket.ErrNotFound):
				return err
			}
		}
		if blocked, err := w.tickets.SenderBlocked(ctx, shopID, email); err != nil || blocked {
			if blocked {
				out.Skipped = "the sender is blocked"
			}
			return err
		}
		t, err := h.mailTicket(ctx, w, shopID, email, in)
		if err != nil {
			return err
		}
		from := Sender{Email: email, Name: in.FromName}
		msg := ticket.Message{Body: in.Body, BodyHTML: in.BodyHTML, MailMessageID: in.MessageID}
		if t != nil {
			if blocked, err := w.tickets.SenderBlocked(ctx, shopID, t.RequesterEmail); err != nil || blocked {
				if blocked {
					out.Skipped = "the ticket's shopper is blocked"
				}
				return err
			}
		}
		switch {
		case t != nil && t.Reopens(w.tickets.Now()):
			out.Ticket = t
			if err := h.addCustomerMail(ctx, w, shopID, t, from, msg, &out.Message); err != nil {
				return err
			}
		default:
			nt := ticket.NewTicket{RequesterEmail: email, RequesterName: strings.TrimSpace(in.FromName), Subject: in.Subject,
				Channel: ticket.ChannelEmail, Author: ticket.AuthorCustomer, Body: in.Body, BodyHTML: in.BodyHTML, MailMessageID: in.MessageID}
			if t != nil { // closed long ago: a new ticket, about the same order, as AnswerFromHub
				nt.CustomerID, nt.OrderID, nt.Subject = t.CustomerID, t.OrderID, t.Subject
			}
			if nt.CustomerID == 0 {
				first, last := splitName(in.FromName)
				c, _, err := w.commerce.CustomerForEmail(ctx, shopID, email, first, last)
				if err != nil {
					return err
				}
				nt.CustomerID = c.ID
				if nt.RequesterName == "" {
					nt.RequesterName = c.Name()
				}
				if nt.OrderID, err = orderInSubject(ctx, w, shopID, c.ID, in.Subject); err != nil {
					return err
				}
			}
			if strings.TrimSpace(nt.Subject) == "" {
				nt.Subject = "(no subject)"
			}
			out.Ticket, out.Message, err = w.tickets.CreateWithMessage(ctx, shopID, nt)
			if err != nil {
				return err
			}
			out.Created, out.Acknowledge = true, true
			// Machines' mail never gets here (see MailIn.Automated), so
			// an acknowledgement cannot start a loop of auto-replies.
			if err := h.acknowledge(ctx, w, shopID, out.Ticket, ""); err != nil { // the shop's language
				return err
			}
			h.publish(ctx, w, shopID, out.Ticket.ID, ChangeCreated)
		}
		return h.addMailFiles(ctx, w, shopID, out.Message, in.Files, in.NotKept)
	})
	if err != nil {
		return MailOutcome{}, err
	}
	return out, nil
}

// mailTicket finds the ticket a mail belongs on (locked), or nil for a
// new one: see FromMail's order.
func (h *Tickets) mailTicket(ctx context.Context, w *work, shopID int64, email string, in MailIn) (*ticket.Ticket, error) {
	t, err := w.tickets.TicketByMailIDs(ctx, shopID, in.Thread)
	if errors.Is(err, ticket.ErrNotFound) {
		t, err = h.taggedTicket(ctx, w, shopID, email, in.Subject)
	}
	if errors.Is(err, ticket.ErrNotFound) {
		t, err = h.openMailTicket(ctx, w, shopID, email, in.Subject)
	}
	if errors.Is(err, ticket.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t, err = w.tickets.GetForUpdate(ctx, shopID, t.ID)
	for hops := 0; err == nil && t.MergedIntoID != 0 && hops < 10; hops++ {
		t, err = w.tickets.GetForUpdate(ctx, shopID, t.MergedIntoID)
	}
	return t, err
}

// taggedTicket is the ticket "[#123]" in the subject names, when the
// sender is its shopper; ErrNotFound otherwise.
func (h *Tickets) taggedTicket(ctx context.Context, w *work, shopID int64, email, subject string) (*ticket.Ticket, error) {
	match := subjectTag.FindStringSubmatch(subject)
	if match == nil {
		return nil, ticket.ErrNotFound
	}
	id, err := strconv.ParseInt(match[1], 10, 64)
	if err != nil {
		return nil, ticket.ErrNotFound
	}
	t, err := w.tickets.Get(ctx, shopID, id)
	if err != nil {
		return nil, err
	}
	if ticket.NormalizeEmail(t.RequesterEmail) == email {
		return t, nil
	}
	if t.CustomerID != 0 {
		c, err := w.commerce.Customer(ctx, shopID, t.CustomerID)
		if err == nil && ticket.NormalizeEmail(c.Email) == email {
			return t, nil
		}
	}
	return nil, ticket.ErrNotFound
}

// openMailTicket is the sender's open or pending ticket about the order
// the subject names (or about no order when it names none of theirs);
// ErrNotFound when the shop has no customer with that address or they
// have none such.
func (h *Tickets) openMailTicket(ctx context.Context, w *work, shopID int64, email string, subject string) (*ticket.Ticket, error) {
	customers, err := w.commerce.CustomersByEmail(ctx, shopID, email)
	if err != nil {
		return nil, err
	}
	for _, c := range customers {
		orderID, err := orderInSubject(ctx, w, shopID, c.ID, subject)
		if err != nil {
			return nil, err
		}
		t, err := w.tickets.OpenTicketFor(ctx, shopID, c.ID, orderID)
		if !errors.Is(err, ticket.ErrNotFound) {
			return t, err
		}
	}
	return nil, ticket.ErrNotFound
}

// orderName finds what may be an order's name in a subject ("#1001");
// the ticket tag "[#12]" is not one.
var orderName = regexp.MustCompile(`(?:^|[^\[\w])(#[A-Za-z0-9-]{1,30})\b`)

// orderInSubject is the id of the customer's order the subject names,
// or 0: names are not unique across a shop, so only the customer's own
// orders count.
func orderInSubject(ctx context.Context, w *work, shopID, customerID int64, subject string) (int64, error) {
	for _, m := range orderName.FindAllStringSubmatch(subject, 3) {
		orders, _, err := w.commerce.ListOrders(ctx, shopID, commerce.OrderFilter{CustomerID: customerID, Search: m[1]}, database.Page{})
		if err != nil {
			return 0, err
		}
		for _, o := range orders {
			if strings.EqualFold(o.Name, m[1]) {
				return o.ID, nil
			}
		}
	}
	return 0, nil
}

// addMailFiles stores a mail's files on its message. A file the store
// refuses (its limits) is left out, and a staff note on the ticket names
// it and those the reader left out, so the agent knows to ask for them;
// the mail is filed either way.
func (h *Tickets) addMailFiles(ctx context.Context, w *work, shopID int64, m *ticket.Message, files []attachment.Upload, notKept []string) error {
	refused := append([]string(nil), notKept...)
	for _, f := range files {
		store := h.files.With(w.tx)
		if _, err := store.Add(ctx, shopID, m.TicketID, m.ID, f); err != nil {
			var invalid *attachment.ValidationError
			if !errors.As(err, &invalid) {
				return err
			}
			refused = append(refused, invalid.Error())
		}
	}
	if len(refused) == 0 {
		return nil
	}
	_, err := w.tickets.AddMessage(ctx, shopID, m.TicketID, ticket.Message{Kind: ticket.KindNote, AuthorKind: ticket.AuthorSystem,
		Body: "Files of the shopper's mail that were not kept: " + strings.Join(refused, "; ") + "."})
	return err
}
