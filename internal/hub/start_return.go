package hub

import (
	"errors"
	"net/http"

	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// returnFailedPage explains why the returns portal did not open and
// offers what is left: the plain portal link when the merchant set one,
// and the contact form while the shop's helpdesk is on.
type returnFailedPage struct {
	TitleKey, BodyKey string
	Name              string
	FallbackURL       string
	Back              string
	Contact           contactForm
}

// StartReturn answers the Start a return button (a form POST): it asks the
// order view where this order's return starts — with the session's
// configuration, published or the preview's draft — and answers 303 to
// that destination. The destination comes only from the resolver (the
// provider's API or the configured portal), never from the request. The
// view refuses an order that is not eligible, so a forged POST for an
// order that shows no button goes nowhere.
func (h *Hub) StartReturn(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	o, ok := h.ownOrder(w, r, s)
	if !ok {
		return
	}
	data := h.orderData(s, o)
	failed := returnFailedPage{Name: o.Name, Back: data.Back, Contact: data.Contact}
	dest, err := h.opts.Orders.StartReturn(r.Context(), o, returns.Request{
		ShopID: s.shop.ID, Customer: s.customer, Actor: s.actor, Config: s.cfg,
	})
	var f *returns.Failure
	var notEligible *orderview.NotEligibleError
	switch {
	case errors.As(err, &notEligible):
		failed.TitleKey, failed.BodyKey = "return.unavailable.title", "return.unavailable.body"
		if !data.Contact.Show {
			failed.BodyKey = "return.unavailable.body_no_contact"
		}
		h.page(w, s, http.StatusConflict, "return_failed", s.loc.T(failed.TitleKey), failed)
		return
	case errors.As(err, &f):
		h.log.Info("hub: start a return failed", "shop", s.shop.ID, "order", o.Name, "reason", f.Reason, "err", f.Err)
		failed.TitleKey, failed.BodyKey, failed.FallbackURL = "return.failed.title", "return.failed.body", safeURL(f.FallbackURL)
		h.page(w, s, http.StatusBadGateway, "return_failed", s.loc.T(failed.TitleKey), failed)
		return
	case err != nil:
		h.serverError(w, r, s, err)
		return
	}
	target := safeURL(dest.URL)
	if target == "" {
		h.log.Warn("hub: returns destination is not an http(s) URL", "shop", s.shop.ID, "order", o.Name, "via", dest.Via)
		failed.TitleKey, failed.BodyKey = "return.failed.title", "return.failed.body"
		h.page(w, s, http.StatusBadGateway, "return_failed", s.loc.T(failed.TitleKey), failed)
		return
	}
	h.setHeaders(w, s.shop)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}
