// Package helpdesk holds the use cases agents work tickets with — open a
// ticket for a shopper, reply, note, change status, assign, tag, merge,
// mark as spam, block a sender — and the one that takes a shopper's
// message in. Each runs in one transaction: the ticket store's writes, the
// bookkeeping that goes with them (desk notifications) and the audit entry
// commit together or not at all, and listeners (Changes) hear of the
// change only after it committed. Surfaces (desk, API, hub; mail later)
// call these, not the ticket store's writes.
package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

var (
	// ErrNotAllowed refuses what the actor's role may not do (an agent
	// assigning a colleague, creating a tag).
	ErrNotAllowed = errors.New("helpdesk: your role does not allow this")
	// ErrDifferentCustomers refuses merging tickets of two shoppers: a
	// merge would show one shopper the other's conversation.
	ErrDifferentCustomers = errors.New("helpdesk: only tickets of the same customer can be merged")
	// ErrMerged refuses merging a ticket that was already merged away.
	ErrMerged = errors.New("helpdesk: the ticket was already merged into another")
)

// Tickets runs the helpdesk's use cases.
type Tickets struct {
	db       database.Querier
	tickets  *ticket.Store
	commerce *commerce.Store
	users    *user.Store
	audit    *audit.Log
	files    *attachment.Store
	changes  Changes
	// queue, mailOn and mailDelay: the agents' notification emails.
	queue     Enqueuer
	mailOn    bool
	mailDelay time.Duration
	// mailFrom is the sender's address, whose domain the Message-IDs of
	// shopper mail are made in.
	mailFrom string
}

// Options are what New needs. Changes may be nil (nobody listens);
// Attachments may be nil only where no message carries files.
type Options struct {
	DB       database.Querier // opens the transactions
	Tickets  *ticket.Store
	Commerce *commerce.Store
	Users    *user.Store
	Audit    *audit.Log
	// Attachments keeps the files of agents' messages, written in the
	// message's transaction.
	Attachments *attachment.Store
	Changes     Changes
	// Queue takes the notification emails' jobs; with MailConfigured
	// false (HUBDESK_SMTP_URL unset) none is enqueued and agents are
	// told in the desk only.
	Queue          Enqueuer
	MailConfigured bool
	// MailDelay is how long a notification's email waits;
	// NotificationMailDelay when 0.
	MailDelay time.Duration
	// MailFrom is the sender's address (HUBDESK_MAIL_FROM). With
	// MailConfigured, agents' replies and acknowledgements are mailed to
	// shoppers (the shopper_mail job).
	MailFrom string
}

// New returns the helpdesk use cases.
func New(o Options) *Tickets {
	delay := o.MailDelay
	if delay <= 0 {
		delay = NotificationMailDelay
	}
	return &Tickets{db: o.DB, tickets: o.Tickets, commerce: o.Commerce, users: o.Users, audit: o.Audit, files: o.Attachments, changes: o.Changes,
		queue: o.Queue, mailOn: o.MailConfigured && o.Queue != nil, mailDelay: delay, mailFrom: o.MailFrom}
}

// work is one use case's transaction: the stores bound to it.
type work struct {
	tx       *database.Tx
	tickets  *ticket.Store
	commerce *commerce.Store
	users    *user.Store
	audit    *audit.Log
}

// inTx runs fn in one transaction with every store bound to it.
func (h *Tickets) inTx(ctx context.Context, fn func(w *work) error) error {
	return h.db.InTx(ctx, func(tx *database.Tx) error {
		return fn(&work{tx: tx, tickets: h.tickets.With(tx), commerce: h.commerce.With(tx), users: h.users.With(tx), audit: h.audit.With(tx)})
	})
}

// publish tells Changes once the transaction has committed.
func (h *Tickets) publish(ctx context.Context, w *work, shopID, ticketID int64, what Change) {
	if h.changes == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	w.tx.AfterCommit(func() { h.changes.TicketChanged(ctx, shopID, ticketID, what) })
}

// record appends the audit entry of a change to the ticket.
func (w *work) record(ctx context.Context, actor *user.User, action, subject string, details map[string]any) error {
	return w.audit.Record(ctx, actor.ShopID, audit.Entry{Actor: audit.UserActor(actor), Action: action, Subject: subject,
		Outcome: audit.OutcomeOK, Details: details})
}

// subject names a ticket in the audit log.
func subject(id int64) string { return "ticket " + strconv.FormatInt(id, 10) }

// NewTicket is a ticket an agent (desk) or an integration (API) opens for
// a shopper.
type NewTicket struct {
	Subject       string
	CustomerEmail string
	CustomerName  string
	Body          string         // the first message, sent to the shopper
	OrderID       int64          // optional; must be an order of the shop
	Channel       ticket.Channel // ticket.ChannelDesk or ticket.ChannelAPI
	// FromCustomer: Body is the shopper's own message, brought in by an
	// integration (a contact form elsewhere, another inbox): the ticket
	// waits for an answer, unassigned, like one the hub opens.
	FromCustomer bool
	// Acknowledge (with FromCustomer): mail the shopper that their message
	// arrived, with the ticket's reference, in Lang (the shop's default
	// when empty) — at most one per address per AcknowledgementInterval.
	// Mail intake sets it for a person's mail and never for an
	// auto-reply, a bounce or a loop, which must not be answered.
	Acknowledge bool
	Lang        string
}

// Create opens a ticket for a shopper with the actor's first message to
// them. The shopper is the shop's customer with that email (any case);
// one is created when there is none (see commerce.CustomerForEmail, which
// keys them so a later platform import of the address adopts the record).
// The ticket is assigned to the agent who opened it: they started the
// conversation, so the answer comes back to them. With FromCustomer the
// first message is the shopper's instead, and the ticket waits in the
// inbox unassigned.
func (h *Tickets) Create(ctx context.Context, actor *user.User, in NewTicket) (*ticket.Ticket, error) {
	email := ticket.NormalizeEmail(in.CustomerEmail)
	if email == "" || !strings.Contains(email, "@") {
		return nil, &ticket.ValidationError{Field: "customer_email", Problem: "is not an email address"}
	}
	if in.Channel == "" {
		in.Channel = ticket.ChannelDesk
	}
	var t *ticket.Ticket
	err := h.inTx(ctx, func(w *work) error {
		if in.OrderID != 0 {
			if _, err := w.commerce.Order(ctx, actor.ShopID, in.OrderID); errors.Is(err, commerce.ErrNotFound) {
				return &ticket.ValidationError{Field: "order_id", Problem: "is not an order of this shop"}
			} else if err != nil {
				return err
			}
		}
		first, last := splitName(in.CustomerName)
		c, _, err := w.commerce.CustomerForEmail(ctx, actor.ShopID, email, first, last)
		if err != nil {
			return err
		}
		name := strings.TrimSpace(in.CustomerName)
		if name == "" {
			name = c.Name()
		}
		nt := ticket.NewTicket{
			CustomerID: c.ID, OrderID: in.OrderID, RequesterEmail: email, RequesterName: name, Subject: in.Subject,
			Channel: in.Channel, Author: ticket.AuthorAgent, AuthorUserID: actor.ID, AuthorName: actor.DisplayName(),
			AssigneeID: actor.ID, Body: in.Body,
		}
		if in.FromCustomer {
			if blocked, err := w.tickets.SenderBlocked(ctx, actor.ShopID, email); err != nil {
				return err
			} else if blocked {
				return &ticket.ValidationError{Field: "customer_email", Problem: "is a sender the shop blocked"}
			}
			nt.Author, nt.AuthorUserID, nt.AuthorName, nt.AssigneeID = ticket.AuthorCustomer, 0, name, 0
		}
		t, err = w.tickets.Create(ctx, actor.ShopID, nt)
		if err != nil {
			return err
		}
		if in.FromCustomer && in.Acknowledge {
			if err := h.acknowledge(ctx, w, actor.ShopID, t, in.Lang); err != nil {
				return err
			}
		} else if !in.FromCustomer {
			// The ticket's first message is the agent's: it goes to the
			// shopper like any reply.
			if err := h.mailFirstMessage(ctx, w, actor.ShopID, t); err != nil {
				return err
			}
		}
		h.publish(ctx, w, actor.ShopID, t.ID, ChangeCreated)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// splitName parts "Ada King Lovelace" into first and last name at the
// last space.
func splitName(name string) (first, last string) {
	name = strings.Join(strings.Fields(name), " ")
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		return name[:i], name[i+1:]
	}
	return name, ""
}

// Reply records the actor's message to the shopper: it ends the
// shopper's wait and, the first time, stamps the first response. When
// mail is set up and the shopper has an address, the mail and its send
// job are written in this transaction (ShopperMailWorker sends it), so a
// reply is never sent without being recorded or recorded without being
// sent. Files go with the
// message in the same transaction (attachment.Check's limits first): a
// refused file leaves no message, a refused message no file.
func (h *Tickets) Reply(ctx context.Context, actor *user.User, ticketID int64, body string, files ...attachment.Upload) (*ticket.Message, error) {
	return h.agentMessage(ctx, actor, ticketID, ticket.KindMessage, body, files, ChangeMessage)
}

// Note records an internal note, which the shopper never sees, with its
// files as Reply does.
func (h *Tickets) Note(ctx context.Context, actor *user.User, ticketID int64, body string, files ...attachment.Upload) (*ticket.Message, error) {
	return h.agentMessage(ctx, actor, ticketID, ticket.KindNote, body, files, ChangeNote)
}

func (h *Tickets) agentMessage(ctx context.Context, actor *user.User, ticketID int64, kind ticket.MessageKind, body string, files []attachment.Upload, what Change) (*ticket.Message, error) {
	if len(files) > 0 {
		if h.files == nil {
			return nil, errors.New("helpdesk: this server keeps no attachments")
		}
		if err := attachment.Check(files); err != nil {
			return nil, err
		}
	}
	var m *ticket.Message
	err := h.inTx(ctx, func(w *work) error {
		t, err := w.tickets.GetForUpdate(ctx, actor.ShopID, ticketID)
		if err != nil {
			return err
		}
		m, err = w.tickets.AddMessage(ctx, actor.ShopID, ticketID, ticket.Message{Kind: kind, AuthorKind: ticket.AuthorAgent,
			AuthorUserID: actor.ID, AuthorName: actor.DisplayName(), Body: body})
		if err != nil {
			return err
		}
		if kind == ticket.KindMessage {
			if err := h.queueReply(ctx, w, actor.ShopID, t, m); err != nil {
				return err
			}
		}
		if len(files) > 0 {
			store := h.files.With(w.tx)
			for _, f := range files {
				if _, err := store.Add(ctx, actor.ShopID, ticketID, m.ID, f); err != nil {
					return err
				}
			}
		}
		h.publish(ctx, w, actor.ShopID, ticketID, what)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Sender is the shopper a message comes from.
type Sender struct {
	CustomerID int64 // the signed-in shopper (hub); 0 when only the address is known (mail)
	Email      string
	Name       string
}

// CustomerMessage takes in a shopper's message on their ticket (the hub
// now, mail later). It reopens a pending or closed ticket and starts the
// wait when the ticket is not already waiting (ticket.Store.AddMessage);
// the ticket's assignee is told. A message to a ticket that was merged
// goes to the ticket it was merged into. A ticket of another customer is
// ticket.ErrNotFound; a blocked sender is ticket.ErrBlockedSender.
func (h *Tickets) CustomerMessage(ctx context.Context, shopID, ticketID int64, from Sender, body string) (*ticket.Message, error) {
	var m *ticket.Message
	err := h.inTx(ctx, func(w *work) error {
		t, err := w.tickets.GetForUpdate(ctx, shopID, ticketID)
		for hops := 0; err == nil && t.MergedIntoID != 0 && hops < 10; hops++ {
			t, err = w.tickets.GetForUpdate(ctx, shopID, t.MergedIntoID)
		}
		if err != nil {
			return err
		}
		if from.CustomerID != 0 && t.CustomerID != from.CustomerID {
			return ticket.ErrNotFound
		}
		for _, email := range []string{from.Email, t.RequesterEmail} {
			if blocked, err := w.tickets.SenderBlocked(ctx, shopID, email); err != nil || blocked {
				if blocked {
					err = ticket.ErrBlockedSender
				}
				return err
			}
		}
		return h.addCustomerMessage(ctx, w, shopID, t, from, body, &m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// addCustomerMessage writes the shopper's message on t (locked by the
// caller) with what goes with it: the assignee told, listeners told after
// commit. The message is stored in *out when out is not nil.
func (h *Tickets) addCustomerMessage(ctx context.Context, w *work, shopID int64, t *ticket.Ticket, from Sender, body string, out **ticket.Message) error {
	return h.addCustomerMail(ctx, w, shopID, t, from, ticket.Message{Body: body}, out)
}

// addCustomerMail is addCustomerMessage for a message with more than its
// text: a mail's HTML and Message-ID.
func (h *Tickets) addCustomerMail(ctx context.Context, w *work, shopID int64, t *ticket.Ticket, from Sender, msg ticket.Message, out **ticket.Message) error {
	name := from.Name
	if name == "" {
		name = t.RequesterName
	}
	msg.Kind, msg.AuthorKind, msg.AuthorName = ticket.KindMessage, ticket.AuthorCustomer, name
	m, err := w.tickets.AddMessage(ctx, shopID, t.ID, msg)
	if err != nil {
		return err
	}
	if out != nil {
		*out = m
	}
	if t.AssigneeID != 0 {
		if err := h.notify(ctx, w, shopID, t.AssigneeID, t.ID, ticket.NotifyReply); err != nil {
			return err
		}
	}
	h.publish(ctx, w, shopID, t.ID, ChangeMessage)
	return nil
}

// SetStatus moves the ticket to open, pending or closed (closing stamps
// closed_at, from which the resolution time is counted; reopening clears
// it). Asking for the status it has changes and records nothing.
func (h *Tickets) SetStatus(ctx context.Context, actor *user.User, ticketID int64, status ticket.Status) error {
	if !status.Valid() {
		return &ticket.ValidationError{Field: "status", Problem: "must be open, pending or closed"}
	}
	return h.inTx(ctx, func(w *work) error {
		t, err := w.tickets.GetForUpdate(ctx, actor.ShopID, ticketID)
		if err != nil || t.Status == status {
			return err
		}
		if err := w.tickets.SetStatus(ctx, actor.ShopID, ticketID, status); err != nil {
			return err
		}
		h.publish(ctx, w, actor.ShopID, ticketID, ChangeStatus)
		return w.record(ctx, actor, audit.ActionTicketStatus, subject(ticketID),
			map[string]any{"previous_status": string(t.Status), "status": string(status)})
	})
}

// CanAssign is the assignment rule: anyone may take an unassigned ticket
// (or keep their own) and give up their own; assigning a colleague,
// taking a colleague's ticket or unassigning one is for Managers and
// above.
func CanAssign(actor *user.User, current, to int64) bool {
	if actor.Role.AtLeast(user.RoleManager) {
		return true
	}
	switch to {
	case actor.ID:
		return current == 0 || current == actor.ID
	case 0:
		return current == actor.ID
	}
	return false
}

// Assign gives the ticket to assigneeID (0 unassigns) under CanAssign;
// the assignee must be an active person of the shop, and is told unless
// they assigned themselves.
func (h *Tickets) Assign(ctx context.Context, actor *user.User, ticketID, assigneeID int64) error {
	return h.inTx(ctx, func(w *work) error {
		t, err := w.tickets.GetForUpdate(ctx, actor.ShopID, ticketID)
		if err != nil {
			return err
		}
		if t.AssigneeID == assigneeID {
			return nil // as asked already: nothing changes, whoever asks
		}
		if !CanAssign(actor, t.AssigneeID, assigneeID) {
			return ErrNotAllowed
		}
		details := map[string]any{"assignee": ""}
		if assigneeID != 0 {
			to, err := w.users.Get(ctx, actor.ShopID, assigneeID)
			if errors.Is(err, user.ErrNotFound) || (err == nil && to.DisabledAt != nil) {
				return &ticket.ValidationError{Field: "assignee_id", Problem: "is not an active person of this shop"}
			}
			if err != nil {
				return err
			}
			details["assignee"] = to.Email
		}
		if err := w.tickets.SetAssignee(ctx, actor.ShopID, ticketID, assigneeID); err != nil {
			return err
		}
		if assigneeID != 0 && assigneeID != actor.ID {
			if err := h.notify(ctx, w, actor.ShopID, assigneeID, ticketID, ticket.NotifyAssigned); err != nil {
				return err
			}
		}
		h.publish(ctx, w, actor.ShopID, ticketID, ChangeAssignee)
		return w.record(ctx, actor, audit.ActionTicketAssigned, subject(ticketID), details)
	})
}

// SetTags replaces the ticket's tags by name. A name the shop has no tag
// for yet creates one when a Manager or above asks; an agent may use only
// existing tags (ErrNotAllowed) — tags drive views and reports, and a
// free-for-all ends in "refund", "refunds" and "Refund request".
func (h *Tickets) SetTags(ctx context.Context, actor *user.User, ticketID int64, names []string) ([]string, error) {
	names, err := ticket.UniqueTagNames(names)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	err = h.inTx(ctx, func(w *work) error {
		if _, err := w.tickets.GetForUpdate(ctx, actor.ShopID, ticketID); err != nil {
			return err
		}
		current, err := w.tickets.TicketTags(ctx, actor.ShopID, ticketID)
		if err != nil {
			return err
		}
		if slices.Equal(tagNames(current), names) {
			return nil
		}
		all, err := w.tickets.Tags(ctx, actor.ShopID)
		if err != nil {
			return err
		}
		byName := map[string]int64{}
		for _, t := range all {
			byName[t.Name] = t.ID
		}
		ids := make([]int64, 0, len(names))
		for _, n := range names {
			id, ok := byName[n]
			if !ok {
				if !actor.Role.AtLeast(user.RoleManager) {
					return fmt.Errorf("%w: tag %q does not exist, and only managers create tags", ErrNotAllowed, n)
				}
				tag, err := w.tickets.CreateTag(ctx, actor.ShopID, n)
				if err != nil {
					return err
				}
				id = tag.ID
			}
			ids = append(ids, id)
		}
		if err := w.tickets.SetTicketTags(ctx, actor.ShopID, ticketID, ids); err != nil {
			return err
		}
		h.publish(ctx, w, actor.ShopID, ticketID, ChangeTags)
		return w.record(ctx, actor, audit.ActionTicketTags, subject(ticketID),
			map[string]any{"previous_tags": tagNames(current), "tags": names})
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

func tagNames(tags []ticket.Tag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, t.Name)
	}
	return out
}

// Merge moves the source ticket's conversation into the target, where the
// messages take their place by time, and closes the source as merged; a
// note from hubdesk in each says so. Both must be tickets of one customer
// (ErrDifferentCustomers otherwise), and neither merged already.
func (h *Tickets) Merge(ctx context.Context, actor *user.User, sourceID, targetID int64) error {
	if sourceID == targetID {
		return &ticket.ValidationError{Field: "target", Problem: "is this ticket"}
	}
	return h.inTx(ctx, func(w *work) error {
		src, err := w.tickets.GetForUpdate(ctx, actor.ShopID, sourceID)
		if err != nil {
			return err
		}
		dst, err := w.tickets.GetForUpdate(ctx, actor.ShopID, targetID)
		if errors.Is(err, ticket.ErrNotFound) {
			return &ticket.ValidationError{Field: "target", Problem: "is not a ticket of this shop"}
		}
		if err != nil {
			return err
		}
		if src.MergedIntoID != 0 || dst.MergedIntoID != 0 {
			return ErrMerged
		}
		if !sameCustomer(src, dst) {
			return ErrDifferentCustomers
		}
		if err := w.tickets.Merge(ctx, actor.ShopID, sourceID, targetID); err != nil {
			return err
		}
		notes := []struct {
			on   int64
			body string
		}{
			{targetID, fmt.Sprintf("Ticket %d (%s) was merged into this one by %s.", sourceID, src.Subject, actor.DisplayName())},
			{sourceID, fmt.Sprintf("Merged into ticket %d by %s.", targetID, actor.DisplayName())},
		}
		for _, n := range notes {
			if _, err := w.tickets.AddMessage(ctx, actor.ShopID, n.on, ticket.Message{Kind: ticket.KindNote, AuthorKind: ticket.AuthorSystem, Body: n.body}); err != nil {
				return err
			}
		}
		h.publish(ctx, w, actor.ShopID, sourceID, ChangeMerged)
		h.publish(ctx, w, actor.ShopID, targetID, ChangeMerged)
		return w.record(ctx, actor, audit.ActionTicketMerged, subject(sourceID), map[string]any{"merged_into": targetID})
	})
}

// sameCustomer: both tickets name one customer, or — neither matched to a
// customer — one sender address.
func sameCustomer(a, b *ticket.Ticket) bool {
	if a.CustomerID != 0 || b.CustomerID != 0 {
		return a.CustomerID == b.CustomerID
	}
	ea := ticket.NormalizeEmail(a.RequesterEmail)
	return ea != "" && ea == ticket.NormalizeEmail(b.RequesterEmail)
}

// MarkSpam takes the ticket out of every inbox view (it is kept, and
// stays reachable by its address).
func (h *Tickets) MarkSpam(ctx context.Context, actor *user.User, ticketID int64) error {
	return h.inTx(ctx, func(w *work) error {
		t, err := w.tickets.GetForUpdate(ctx, actor.ShopID, ticketID)
		if err != nil || t.SpamAt != nil {
			return err
		}
		if err := w.tickets.MarkSpam(ctx, actor.ShopID, ticketID); err != nil {
			return err
		}
		h.publish(ctx, w, actor.ShopID, ticketID, ChangeSpam)
		return w.record(ctx, actor, audit.ActionTicketSpam, subject(ticketID), nil)
	})
}

// BlockSender blocks the address of the ticket's shopper: their later
// messages (hub, mail) are refused with ticket.ErrBlockedSender. It
// returns the address blocked.
func (h *Tickets) BlockSender(ctx context.Context, actor *user.User, ticketID int64) (string, error) {
	var email string
	err := h.inTx(ctx, func(w *work) error {
		t, err := w.tickets.GetForUpdate(ctx, actor.ShopID, ticketID)
		if err != nil {
			return err
		}
		email = ticket.NormalizeEmail(t.RequesterEmail)
		if email == "" && t.CustomerID != 0 {
			if c, err := w.commerce.Customer(ctx, actor.ShopID, t.CustomerID); err == nil {
				email = c.Email
			}
		}
		if email == "" {
			return &ticket.ValidationError{Field: "email", Problem: "is not known for this ticket's sender"}
		}
		if blocked, err := w.tickets.SenderBlocked(ctx, actor.ShopID, email); err != nil || blocked {
			return err
		}
		if err := w.tickets.BlockSender(ctx, actor.ShopID, email); err != nil {
			return err
		}
		return w.record(ctx, actor, audit.ActionSenderBlocked, email, map[string]any{"ticket_id": ticketID})
	})
	return email, err
}
