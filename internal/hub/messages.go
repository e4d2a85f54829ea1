package hub

import (
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/helpdesk"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/mailhtml"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// messagesPage is the Messages tab: the shopper's conversations.
type messagesPage struct {
	Rows   []conversationRow
	Older  string // next page; "" on the last
	Newest string // first page; "" on it
	Off    bool   // the shop's helpdesk is off: no new messages from here
}

type conversationRow struct {
	URL       string
	Subject   string
	StatusKey string // messages.status.<key>
	Activity  time.Time
	Preview   string
	Unread    bool // the shop replied since the shopper last opened it
}

// conversationPage is one conversation with its answer form.
type conversationPage struct {
	Back      string
	Subject   string
	StatusKey string
	OrderURL  string // the order it is about; "" when none
	OrderName string
	Messages  []conversationMessage
	Reply     contactForm
	// NewTicket: the ticket was closed too long ago for an answer to
	// reopen it; sending starts a new conversation.
	NewTicket bool

	ticketID    int64
	unseenReply bool // a reply of the shop's came after the shopper last looked
}

type conversationMessage struct {
	FromShop bool // the shop's reply; false: the shopper's own message
	Author   string
	At       time.Time
	Lines    []string
	// Quoted is the history a mail quoted under the shopper's answer,
	// folded behind a toggle (the same rule as the desk's).
	Quoted []string
}

// shopperStatus is a ticket's status in the shopper's words: closed; the
// shop owes an answer ("waiting"); or the shop answered last or waits for
// the shopper — pending — ("replied").
func shopperStatus(t *ticket.Ticket) string {
	switch {
	case t.Status == ticket.StatusClosed:
		return "closed"
	case t.Status == ticket.StatusOpen && t.WaitingSince != nil:
		return "waiting"
	}
	return "replied"
}

// Messages is the Messages tab: the signed-in shopper's conversations with
// the shop, the most recent activity first, a page at a time. Only their
// own tickets, never spam or tickets merged into another.
func (h *Hub) Messages(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	if s.customer == nil {
		h.notFound(w, s)
		return
	}
	p, bad := httpkit.ParsePage(r)
	if bad != nil {
		h.Refuse(w, r, http.StatusBadRequest)
		return
	}
	if p.Limit == 0 {
		p.Limit = h.opts.PageSize
	}
	list, next, err := h.opts.Tickets.ShopperTickets(r.Context(), s.shop.ID, s.customer.ID, p)
	if err != nil {
		h.serverError(w, r, s, err)
		return
	}
	data := messagesPage{Off: !s.helpdeskOn()}
	for _, t := range list {
		data.Rows = append(data.Rows, conversationRow{URL: s.link("/messages/"+itoa(t.ID), nil), Subject: t.Subject,
			StatusKey: shopperStatus(t.Ticket), Activity: t.LastActivityAt, Preview: t.Preview, Unread: t.Unread()})
	}
	if next != "" {
		data.Older = s.link("/messages", url.Values{"cursor": {next}})
	}
	if p.After != nil {
		data.Newest = s.link("/messages", nil)
	}
	h.page(w, s, http.StatusOK, "messages", s.loc.T("messages.title"), data)
}

// Conversation shows one of the shopper's conversations: their messages
// and the shop's replies (never staff notes) and the answer form. Another
// shopper's ticket, or another shop's, answers 404 like a missing one.
func (h *Hub) Conversation(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	data, ok := h.conversation(w, r, s)
	if !ok {
		return
	}
	data.Reply.Sent = r.URL.Query().Get("sent") == "1"
	// The shopper has now seen the shop's replies. Only written when there
	// is a reply they had not seen, so reading a conversation again writes
	// nothing; the admin preview never marks anything.
	if data.unseenReply && s.mode != viaPreview {
		if err := h.opts.Tickets.MarkSeenByCustomer(r.Context(), s.shop.ID, s.customer.ID, data.ticketID); err != nil {
			h.serverError(w, r, s, err)
			return
		}
	}
	h.page(w, s, http.StatusOK, "conversation", data.Subject, data)
}

// conversation reads the shopper's ticket named in the path into the
// page, or answers 404.
func (h *Hub) conversation(w http.ResponseWriter, r *http.Request, s *session) (conversationPage, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 || s.customer == nil {
		h.notFound(w, s)
		return conversationPage{}, false
	}
	t, err := h.opts.Tickets.ShopperTicket(r.Context(), s.shop.ID, s.customer.ID, id)
	if errors.Is(err, ticket.ErrNotFound) {
		h.notFound(w, s)
		return conversationPage{}, false
	}
	if err != nil {
		h.serverError(w, r, s, err)
		return conversationPage{}, false
	}
	msgs, err := h.opts.Tickets.ShopperMessages(r.Context(), s.shop.ID, t.ID)
	if err != nil {
		h.serverError(w, r, s, err)
		return conversationPage{}, false
	}
	p := conversationPage{Back: s.link("/messages", nil), Subject: t.Subject, StatusKey: shopperStatus(t),
		NewTicket: !t.Reopens(h.opts.Now()),
		Reply:     contactForm{Show: s.helpdeskOn(), Action: s.link("/messages/"+itoa(t.ID), nil)}}
	if t.OrderID != 0 {
		if o, err := h.opts.Commerce.Order(r.Context(), s.shop.ID, t.OrderID); err == nil && o.CustomerID == s.customer.ID {
			p.OrderURL, p.OrderName = s.link("/orders/"+itoa(o.ID), nil), o.Name
		}
	}
	if s.mode == viaPreview {
		p.Reply.Disabled, p.Reply.Notice = true, s.loc.T("preview.no_send")
	}
	p.ticketID = t.ID
	for _, m := range msgs {
		cm := conversationMessage{FromShop: m.AuthorKind == ticket.AuthorAgent, At: m.CreatedAt}
		cm.Lines, cm.Quoted = mailhtml.SplitText(m.Body)
		if cm.FromShop && (t.CustomerSeenAt == nil || m.CreatedAt.After(*t.CustomerSeenAt)) {
			p.unseenReply = true
		}
		if cm.FromShop {
			// Staff sign as the shop: their names stay in the desk.
			cm.Author = s.shop.Name
		} else {
			cm.Author = s.loc.T("messages.you")
		}
		p.Messages = append(p.Messages, cm)
	}
	return p, true
}

// Answer takes the shopper's answer on a conversation
// (helpdesk.Tickets.AnswerFromHub: same checks and limits as the contact
// form; a ticket closed within a week reopens, older starts a new one) and
// sends the browser to the conversation it went on (303). The preview
// never sends, and nothing is taken while the shop's helpdesk is off.
func (h *Hub) Answer(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	data, ok := h.conversation(w, r, s)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		h.message(w, s, http.StatusBadRequest, "error.forbidden.title", "error.forbidden.body")
		return
	}
	msg := strings.TrimSpace(r.PostForm.Get("message"))
	data.Reply.Message = msg
	refuse := func(status int, text string) {
		data.Reply.Show, data.Reply.Error = true, text
		h.page(w, s, status, "conversation", data.Subject, data)
	}
	if status, text, off := s.refuseMessage(msg); status != 0 {
		data.Reply.Disabled = off
		refuse(status, text)
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	out, err := h.opts.Helpdesk.AnswerFromHub(r.Context(), s.shop.ID, id,
		helpdesk.Sender{CustomerID: s.customer.ID, Email: s.customer.Email, Name: s.customer.Name()}, msg)
	if h.refusedMessage(w, r, s, err, refuse) {
		return
	}
	h.setHeaders(w, s.shop)
	http.Redirect(w, r, s.link("/messages/"+itoa(out.Ticket.ID), url.Values{"sent": {"1"}})+"#reply", http.StatusSeeOther)
}

// refusedMessage answers a message the helpdesk refused (blocked sender,
// over a limit, not found, invalid) and reports whether it did; the text
// stays in the box.
func (h *Hub) refusedMessage(w http.ResponseWriter, r *http.Request, s *session, err error, refuse func(int, string)) bool {
	var ve *ticket.ValidationError
	var limit *ticket.LimitError
	switch {
	case err == nil:
		return false
	case errors.Is(err, ticket.ErrNotFound):
		h.notFound(w, s)
	case errors.As(err, &ve):
		refuse(http.StatusUnprocessableEntity, s.loc.T("contact.empty"))
	case errors.Is(err, ticket.ErrBlockedSender):
		h.log.Info("hub: message from a blocked sender refused", "shop", s.shop.ID, "customer", s.customer.ID)
		refuse(http.StatusForbidden, s.loc.T("contact.blocked"))
	case errors.As(err, &limit):
		h.log.Info("hub: contact limit reached", "shop", s.shop.ID, "customer", s.customer.ID, "per_shop", limit.PerShop)
		key := "contact.limit_shopper"
		if limit.PerShop {
			key = "contact.limit_shop"
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limit.RetryAfter.Seconds()))))
		refuse(http.StatusTooManyRequests, s.loc.T(key))
	default:
		h.serverError(w, r, s, err)
	}
	return true
}
