package desk

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/qr"
	"github.com/hubdesk/hubdesk/internal/returns"
)

// orderCard is an order's returns section: its returns as last stored,
// and Initiate return (when the order can start one and the shop shows
// the button) or the short reason it cannot. Ticket is the ticket the
// card sits beside (0 on the order page): it adds Insert into reply.
type orderCard struct {
	Order    orderview.Order
	Initiate bool
	Ticket   int64
	// Health, when failing, puts the notice that Loop is down, limiting
	// or refusing the key above the returns (one card of a page has it).
	Health returns.SyncHealth
}

// returnLinkView is the Initiate return panel: the link, Copy and Insert
// into reply, the QR code drawn inline and its PNG download.
type returnLinkView struct {
	Order  orderview.Order
	Ticket int64
	Link   *orderview.ReturnLink
	QRSVG  template.HTML
	PNGURL string
	Error  string
}

// fragmentHeader marks a request from returns.js, which wants the panel
// alone to put in the page; without it (no JavaScript) the panel comes as
// a page of its own.
const fragmentHeader = "X-Hubdesk-Fragment"

// InitiateReturn makes the return link of an order for an agent to pass
// on (orderview.InitiateReturn: the one eligibility rule, at most one
// Loop call, audited) and shows it with its QR code.
func (d *Desk) InitiateReturn(w http.ResponseWriter, r *http.Request) {
	me := auth.UserFrom(r.Context())
	id, ao, ok := d.agentOrder(w, r)
	if !ok {
		return
	}
	v := returnLinkView{Order: ao.Order}
	// The ticket only decides whether the panel offers Insert into reply
	// and where Back goes; it is not looked up.
	if t, err := strconv.ParseInt(r.PostFormValue("ticket"), 10, 64); err == nil && t > 0 {
		v.Ticket = t
	}
	status := http.StatusOK
	link, err := d.OrderView.InitiateReturn(r.Context(), ao.Order, ao.Request(me.ShopID, audit.UserActor(me)))
	var ne *orderview.NotEligibleError
	var f *returns.Failure
	switch {
	case err == nil:
		v.Link = link
		// The SVG is drawn by package qr from the matrix alone; only its
		// fixed title is text, and that is escaped there.
		v.QRSVG = template.HTML(link.QR.SVG("QR code of the return link for order " + ao.Order.Name))
		v.PNGURL = "/orders/" + strconv.FormatInt(id, 10) + "/return-qr.png?url=" + url.QueryEscape(link.URL)
	case errors.Is(err, orderview.ErrInitiateHidden):
		status, v.Error = http.StatusConflict, "Initiate return is turned off for this shop (Settings → Returns)."
	case errors.As(err, &ne):
		status, v.Error = http.StatusConflict, "This order cannot start a return: "+label(staffLocale, "return.eligibility", ne.Reason)+"."
	case errors.As(err, &f):
		status, v.Error = http.StatusBadGateway, failureText(f.Reason)
	default:
		d.serverError(w, r, err)
		return
	}
	if r.Header.Get(fragmentHeader) == "1" {
		d.render.Fragment(w, status, "return-link-panel", v)
		return
	}
	d.page(w, r, status, "return_link", "Return link for order "+ao.Order.Name, v)
}

// agentOrder reads the order the path names as the signed-in agent sees
// it; false when the answer is written already (404, or an error page).
func (d *Desk) agentOrder(w http.ResponseWriter, r *http.Request) (int64, orderview.AgentOrder, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return 0, orderview.AgentOrder{}, false
	}
	ao, err := d.OrderView.ForAgent(r.Context(), auth.UserFrom(r.Context()).ShopID, id)
	if errors.Is(err, commerce.ErrNotFound) {
		d.NotFound(w, r)
		return 0, orderview.AgentOrder{}, false
	}
	if err != nil {
		d.serverError(w, r, err)
		return 0, orderview.AgentOrder{}, false
	}
	return id, ao, true
}

// failureText says why no return link could be made, for an agent.
func failureText(reason returns.Reason) string {
	switch reason {
	case returns.ReasonLookupMissing:
		return "Loop cannot be asked for this order: it has no value for the portal's lookup field (postal code, email or phone)."
	case returns.ReasonLoopAuth:
		return "Loop refused the shop's API key. An admin can check it on Settings → Returns."
	case returns.ReasonOrderUnknown:
		return "Loop does not know this order yet."
	}
	return "Loop did not answer. Try again in a moment."
}

// ReturnQR downloads the QR code of a return link as PNG. Only a link
// Initiate return gives for this order now is drawn (orderview.IssuedLink),
// never any URL a request names.
func (d *Desk) ReturnQR(w http.ResponseWriter, r *http.Request) {
	me := auth.UserFrom(r.Context())
	_, ao, ok := d.agentOrder(w, r)
	if !ok {
		return
	}
	link := r.URL.Query().Get("url")
	if !d.OrderView.IssuedLink(ao.Request(me.ShopID, audit.UserActor(me)), link) {
		d.Error(w, r, http.StatusNotFound, "This QR code is not available any more. Press Initiate return again.")
		return
	}
	code, err := qr.Encode(link)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	img, err := code.PNG(8)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	name := "return-" + strings.Trim(strings.Map(func(r rune) rune {
		if (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '-'
	}, ao.Order.Name), "-") + ".png"
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(img)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img)
}

// ago is how long ago t was, for "updated 3 min ago".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h ago"
	}
	return strconv.Itoa(int(d.Hours()/24)) + " days ago"
}
