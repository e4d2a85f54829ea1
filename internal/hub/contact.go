package hub

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/hubdesk/hubdesk/internal/helpdesk"
)

// MaxContactRunes bounds a message from the contact form.
const MaxContactRunes = 5000

// Contact answers the Contact support form: the shopper's message joins
// their open or pending ticket about this order, or opens a new one
// (helpdesk.Tickets.ContactFromHub), then the browser goes back to the
// order (303, so a reload does not send the message twice). A repeat of a
// message already sent gets the same answer and adds nothing; over a contact limit the page
// comes back with the message still in the box. The preview never sends:
// an admin must not write to the helpdesk in a customer's name. With the
// shop's helpdesk off the form is not shown, and a post from a page shown
// before it was switched off is refused the same way, text kept.
func (h *Hub) Contact(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	o, ok := h.ownOrder(w, r, s)
	if !ok {
		return
	}
	// The server has already capped and parsed the form (refuseUnstorableText).
	if err := r.ParseForm(); err != nil {
		h.message(w, s, http.StatusBadRequest, "error.forbidden.title", "error.forbidden.body")
		return
	}
	// Only the body: the query carries the App Proxy's or the token's
	// parameters, never the message.
	msg := strings.TrimSpace(r.PostForm.Get("message"))
	data := h.orderData(s, o)
	data.Contact.Message = msg
	refuse := func(status int, text string) {
		data.Contact.Show, data.Contact.Error = true, text
		h.page(w, s, status, "order", s.loc.T("order.title", "name", o.Name), data)
	}
	if status, text, off := s.refuseMessage(msg); status != 0 {
		data.Contact.Disabled = off
		refuse(status, text)
		return
	}
	in := helpdesk.HubContact{OrderID: o.ID, Email: o.Email, Subject: o.Name + ": " + firstLine(msg), Body: msg, Lang: s.loc.Lang}
	if s.guestOrder != 0 {
		// A guest link opened this order: the ticket is its email's, with
		// the order's customer when it has one.
		in.Guest, in.CustomerID, in.Name = true, o.CustomerID, o.ShippingAddress.Name
	} else {
		in.CustomerID, in.Name = s.customer.ID, s.customer.Name()
		if in.Email == "" {
			in.Email = s.customer.Email
		}
	}
	out, err := h.opts.Helpdesk.ContactFromHub(r.Context(), s.shop.ID, in)
	if h.refusedMessage(w, r, s, err, refuse) {
		return
	}
	if out.Repeated {
		h.log.Debug("hub: repeated contact message added nothing", "shop", s.shop.ID, "order", o.ID)
	}
	h.setHeaders(w, s.shop)
	http.Redirect(w, r, s.link(s.orderPath(o.ID), url.Values{"sent": {"1"}})+"#contact", http.StatusSeeOther)
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

// refuseMessage is what the hub answers a shopper's message it will not
// take before any store is asked — the helpdesk switched off (off), the
// admin preview (which never sends), an empty or overlong text — as a
// status and the shopper's words; status 0 lets it through.
func (s *session) refuseMessage(msg string) (status int, text string, off bool) {
	switch {
	case !s.helpdeskOn():
		return http.StatusForbidden, s.loc.T("contact.off"), true
	case s.mode == viaPreview:
		return http.StatusUnprocessableEntity, s.loc.T("preview.no_send"), false
	case msg == "":
		return http.StatusUnprocessableEntity, s.loc.T("contact.empty"), false
	case utf8.RuneCountInString(msg) > MaxContactRunes:
		return http.StatusUnprocessableEntity, s.loc.T("contact.too_long", "n", s.loc.Number(MaxContactRunes)), false
	}
	return 0, "", false
}
