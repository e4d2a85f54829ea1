package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// ticketJSON is the Ticket schema of openapi.json.
type ticketJSON struct {
	ID              int64      `json:"id"`
	Subject         string     `json:"subject"`
	Status          string     `json:"status"`
	Channel         string     `json:"channel"`
	CustomerID      *int64     `json:"customer_id"`
	OrderID         *int64     `json:"order_id"`
	RequesterEmail  string     `json:"requester_email"`
	RequesterName   string     `json:"requester_name"`
	AssigneeID      *int64     `json:"assignee_id"`
	Tags            []string   `json:"tags"`
	Preview         string     `json:"preview"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	LastActivityAt  time.Time  `json:"last_activity_at"`
	FirstResponseAt *time.Time `json:"first_response_at"`
	WaitingSince    *time.Time `json:"waiting_since"`
	ClosedAt        *time.Time `json:"closed_at"`
	SpamAt          *time.Time `json:"spam_at"`
	MergedIntoID    *int64     `json:"merged_into_id"`
}

func optionalID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func toTicketJSON(t *ticket.Ticket, tags []string) ticketJSON {
	if tags == nil {
		tags = []string{}
	}
	return ticketJSON{
		ID: t.ID, Subject: t.Subject, Status: string(t.Status), Channel: string(t.Channel), CustomerID: optionalID(t.CustomerID),
		OrderID: optionalID(t.OrderID), RequesterEmail: t.RequesterEmail, RequesterName: t.RequesterName, AssigneeID: optionalID(t.AssigneeID),
		Tags: tags, Preview: t.Preview, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(), LastActivityAt: t.LastActivityAt.UTC(),
		FirstResponseAt: utcPtr(t.FirstResponseAt), WaitingSince: utcPtr(t.WaitingSince), ClosedAt: utcPtr(t.ClosedAt),
		SpamAt: utcPtr(t.SpamAt), MergedIntoID: optionalID(t.MergedIntoID),
	}
}

// messageJSON is the TicketMessage schema: kind is inbound (the shopper),
// reply (an agent, to the shopper) or note (staff only).
type messageJSON struct {
	ID           int64     `json:"id"`
	TicketID     int64     `json:"ticket_id"`
	Kind         string    `json:"kind"`
	AuthorName   string    `json:"author_name"`
	AuthorUserID *int64    `json:"author_user_id"`
	Body         string    `json:"body"`
	CreatedAt    time.Time `json:"created_at"`
	// Delivery is the mail that carried a reply to the shopper; null when
	// the message was not mailed.
	Delivery *deliveryJSON `json:"delivery"`
}

// deliveryJSON is the MailDelivery schema.
type deliveryJSON struct {
	State    string     `json:"state"` // queued, retrying, sent, failed
	Error    string     `json:"error,omitempty"`
	Attempts int        `json:"attempts"`
	SentAt   *time.Time `json:"sent_at"`
	// Response is what the relay answered when it took the mail.
	Response string `json:"response,omitempty"`
}

func toMessageJSON(m ticket.Message) messageJSON {
	return messageJSON{ID: m.ID, TicketID: m.TicketID, Kind: string(m.ConversationKind()), AuthorName: m.AuthorName,
		AuthorUserID: optionalID(m.AuthorUserID), Body: m.Body, CreatedAt: m.CreatedAt.UTC()}
}

// withDeliveries is toMessageJSON with each message's mail delivery.
func withDeliveries(deliveries map[int64]*ticket.Mail) func(ticket.Message) messageJSON {
	return func(m ticket.Message) messageJSON {
		j := toMessageJSON(m)
		if d := deliveries[m.ID]; d != nil {
			j.Delivery = &deliveryJSON{State: string(d.State), Error: d.LastError, Attempts: d.Attempts, SentAt: utcPtr(d.SentAt),
				Response: d.Response}
		}
		return j
	}
}

// ListTickets answers GET /api/v1/tickets: the shop's tickets, most recent
// activity first, not spam; ?status= narrows, ?q= searches.
func (a *API) ListTickets(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	p, bad := httpkit.ParsePage(r)
	if bad != nil {
		httpkit.WriteError(w, bad)
		return
	}
	q := r.URL.Query()
	status := ticket.Status(q.Get("status"))
	if status != "" && !status.Valid() {
		httpkit.WriteError(w, httpkit.BadRequest("status", "status must be open, pending or closed"))
		return
	}
	// With words, the best matches first (the full-text index); without,
	// the most recent activity first.
	find := a.tickets.List
	if words := strings.TrimSpace(q.Get("q")); words != "" {
		find = func(ctx context.Context, shopID int64, f ticket.Filter, p database.Page) ([]*ticket.Ticket, string, error) {
			return a.tickets.Search(ctx, shopID, words, f, p)
		}
	}
	list, next, err := find(r.Context(), shopID, ticket.Filter{Status: status}, p)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	ids := make([]int64, len(list))
	for i, t := range list {
		ids[i] = t.ID
	}
	tags, err := a.tickets.TagsOf(r.Context(), shopID, ids)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeList(w, list, next, func(t *ticket.Ticket) ticketJSON { return toTicketJSON(t, tags[t.ID]) })
}

// ticketInput is the TicketInput schema.
type ticketInput struct {
	Subject       string `json:"subject"`
	CustomerEmail string `json:"customer_email"`
	CustomerName  string `json:"customer_name"`
	Body          string `json:"body"`
	OrderID       int64  `json:"order_id"`
	From          string `json:"from"` // "agent" (default) or "customer"
}

// CreateTicket answers POST /api/v1/tickets: a ticket opened for a
// shopper with the caller's first message to them, or — with
// "from": "customer" — with the shopper's own message an integration
// brings in (201).
func (a *API) CreateTicket(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	var in ticketInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.respond(w, r, err)
		return
	}
	if in.From != "" && in.From != "agent" && in.From != "customer" {
		httpkit.WriteError(w, httpkit.BadRequest("from", "from must be agent or customer"))
		return
	}
	t, err := a.helpdesk.Create(r.Context(), u, helpdesk.NewTicket{Subject: in.Subject, CustomerEmail: in.CustomerEmail,
		CustomerName: in.CustomerName, Body: in.Body, OrderID: in.OrderID, Channel: ticket.ChannelAPI, FromCustomer: in.From == "customer"})
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.writeTicket(w, r, http.StatusCreated, t)
}

// GetTicket answers GET /api/v1/tickets/{id}.
func (a *API) GetTicket(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	t, err := a.ticket(r, shopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	a.writeTicket(w, r, http.StatusOK, t)
}

// writeTicket answers with the ticket and its tags.
func (a *API) writeTicket(w http.ResponseWriter, r *http.Request, status int, t *ticket.Ticket) {
	tags, err := a.tickets.TagsOf(r.Context(), t.ShopID, []int64{t.ID})
	if err != nil {
		a.respond(w, r, err)
		return
	}
	httpkit.JSON(w, status, toTicketJSON(t, tags[t.ID]))
}

// ticket loads the ticket named by the path; another shop's is "not
// found" like a missing one.
func (a *API) ticket(r *http.Request, shopID int64) (*ticket.Ticket, error) {
	id, ok := pathID(r)
	if !ok {
		return nil, httpkit.NotFound("ticket")
	}
	t, err := a.tickets.Get(r.Context(), shopID, id)
	if errors.Is(err, ticket.ErrNotFound) {
		return nil, httpkit.NotFound("ticket")
	}
	return t, err
}

// nullableID is a JSON id that may be given as null (to clear it) or left
// out (to leave it alone).
type nullableID struct {
	Set bool
	ID  int64 // 0 when null
}

func (n *nullableID) UnmarshalJSON(data []byte) error {
	n.Set = true
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		n.ID = 0
		return nil
	}
	return json.Unmarshal(data, &n.ID)
}

// ticketPatch is the TicketUpdate schema: each field given is changed.
type ticketPatch struct {
	Status     *string    `json:"status"`
	AssigneeID nullableID `json:"assignee_id"`
	Tags       *[]string  `json:"tags"`
}

// UpdateTicket answers PATCH /api/v1/tickets/{id}: status, assignee_id
// (null unassigns) and tags (by name; the whole set) under the same rules
// as the desk. The fields are checked before anything changes, then each
// change is its own use case (and audit entry), in the order status,
// assignee, tags.
func (a *API) UpdateTicket(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	t, err := a.ticket(r, u.ShopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	var in ticketPatch
	if err := decodeJSON(w, r, &in); err != nil {
		a.respond(w, r, err)
		return
	}
	if in.Status != nil && !ticket.Status(*in.Status).Valid() {
		a.respond(w, r, &ticket.ValidationError{Field: "status", Problem: "must be open, pending or closed"})
		return
	}
	if in.Tags != nil {
		if _, err := ticket.UniqueTagNames(*in.Tags); err != nil {
			a.respond(w, r, err)
			return
		}
	}
	ctx := r.Context()
	if in.Status != nil {
		if err := a.helpdesk.SetStatus(ctx, u, t.ID, ticket.Status(*in.Status)); err != nil {
			a.respond(w, r, err)
			return
		}
	}
	if in.AssigneeID.Set {
		if err := a.helpdesk.Assign(ctx, u, t.ID, in.AssigneeID.ID); err != nil {
			a.respond(w, r, err)
			return
		}
	}
	if in.Tags != nil {
		if _, err := a.helpdesk.SetTags(ctx, u, t.ID, *in.Tags); err != nil {
			a.respond(w, r, err)
			return
		}
	}
	if t, err = a.tickets.Get(ctx, u.ShopID, t.ID); err != nil {
		a.respond(w, r, err)
		return
	}
	a.writeTicket(w, r, http.StatusOK, t)
}

// ListTicketMessages answers GET /api/v1/tickets/{id}/messages: the
// conversation, oldest first, notes included (the caller is staff).
func (a *API) ListTicketMessages(w http.ResponseWriter, r *http.Request) {
	shopID, ok := a.shopID(w, r)
	if !ok {
		return
	}
	t, err := a.ticket(r, shopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	p, bad := httpkit.ParsePage(r)
	if bad != nil {
		httpkit.WriteError(w, bad)
		return
	}
	msgs, next, err := a.tickets.MessagesPage(r.Context(), shopID, t.ID, p)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	deliveries, err := a.tickets.Deliveries(r.Context(), shopID, t.ID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	writeList(w, msgs, next, withDeliveries(deliveries))
}

// messageInput is the TicketMessageInput schema.
type messageInput struct {
	Kind string `json:"kind"`
	Body string `json:"body"`
}

// AddTicketMessage answers POST /api/v1/tickets/{id}/messages: a reply to
// the shopper or an internal note, written by the token's user (201).
func (a *API) AddTicketMessage(w http.ResponseWriter, r *http.Request) {
	u, ok := caller(w, r)
	if !ok {
		return
	}
	t, err := a.ticket(r, u.ShopID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	var in messageInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.respond(w, r, err)
		return
	}
	var m *ticket.Message
	switch ticket.ConversationKind(in.Kind) {
	case ticket.Reply:
		m, err = a.helpdesk.Reply(r.Context(), u, t.ID, in.Body)
	case ticket.Note:
		m, err = a.helpdesk.Note(r.Context(), u, t.ID, in.Body)
	default:
		err = &ticket.ValidationError{Field: "kind", Problem: "must be reply or note"}
	}
	if err != nil {
		a.respond(w, r, err)
		return
	}
	deliveries, err := a.tickets.Deliveries(r.Context(), u.ShopID, t.ID)
	if err != nil {
		a.respond(w, r, err)
		return
	}
	httpkit.JSON(w, http.StatusCreated, withDeliveries(deliveries)(*m))
}
