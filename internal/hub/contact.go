package hub

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/ticket"
)

// MaxContactRunes bounds a message from the contact form.
const MaxContactRunes = 5000

// Contact answers the Contact support form: it opens a helpdesk ticket
// linked to the order and the customer with the shopper's message, then
// sends the browser back to the order (303, so a reload does not send the
// message twice). The preview never sends: an admin must not write to
// the helpdesk in a customer's name.
func (h *Hub) Contact(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	o, rets, ok := h.ownOrder(w, r, s)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.message(w, s, http.StatusBadRequest, "error.forbidden.title", "error.forbidden.body")
		return
	}
	// Only the body: the query carries the App Proxy's or the token's
	// parameters, never the message.
	msg := strings.TrimSpace(r.PostForm.Get("message"))
	data := h.orderData(s, o, rets)
	data.Contact.Message = msg
	switch {
	case s.mode == viaPreview:
		data.Contact.Error = s.loc.T("preview.no_send")
	case msg == "":
		data.Contact.Error = s.loc.T("contact.empty")
	case utf8.RuneCountInString(msg) > MaxContactRunes:
		data.Contact.Error = s.loc.T("contact.too_long", "n", s.loc.Number(MaxContactRunes))
	}
	if data.Contact.Error != "" {
		h.page(w, s, http.StatusUnprocessableEntity, "order", s.loc.T("order.title", "name", o.Name), data)
		return
	}
	email := o.Email
	if email == "" {
		email = s.customer.Email
	}
	_, err := h.opts.Tickets.Create(r.Context(), s.shop.ID, ticket.NewTicket{
		CustomerID: s.customer.ID, OrderID: o.ID, RequesterEmail: email, RequesterName: s.customer.Name(),
		Subject: o.Name + ": " + firstLine(msg), Channel: ticket.ChannelHub, Author: ticket.AuthorCustomer, Body: msg,
	})
	var ve *ticket.ValidationError
	if errors.As(err, &ve) {
		data.Contact.Error = s.loc.T("contact.empty")
		h.page(w, s, http.StatusUnprocessableEntity, "order", s.loc.T("order.title", "name", o.Name), data)
		return
	}
	if err != nil {
		h.serverError(w, r, s, err)
		return
	}
	h.setHeaders(w, s.shop)
	http.Redirect(w, r, s.link("/orders/"+itoa(o.ID), url.Values{"sent": {"1"}})+"#contact", http.StatusSeeOther)
}

// firstLine is the start of a message, for a ticket's subject.
func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	line = strings.TrimSpace(line)
	if utf8.RuneCountInString(line) > 80 {
		r := []rune(line)
		line = strings.TrimSpace(string(r[:79])) + "…"
	}
	return line
}
