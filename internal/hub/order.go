package hub

import (
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/web"
)

// orderPage is the order details page.
type orderPage struct {
	Name      string
	CreatedAt time.Time
	Status    commerce.Status
	Timeline  []step
	Items     []item
	Currency  string
	Subtotal  int64
	Shipping  int64
	Tax       int64
	Total     int64
	Address   []string
	Shipments []shipment
	// Unshipped are the lines (and how many of each) no shipment carries
	// yet, when every shipment said what it carries.
	Unshipped  []shipItem
	ReorderURL string
	// NotReordered are the lines Reorder leaves out, each with why.
	NotReordered []notReordered
	// Payment is refunded or partially_refunded once money was given
	// back, else "".
	Payment       string
	Refunded      int64
	Refunds       []refundView
	Return        returnBox
	ReturnAction  string
	ContactAction string
	Back          string
	Contact       contactForm
}

// step is one stage of the status timeline.
type step struct {
	Key     string // timeline.<key>
	At      *time.Time
	Done    bool
	Current bool
}

type item struct {
	Title, VariantTitle, Image string
	Quantity                   int
	Removed                    bool
	// Refunded is how many units refunds gave back; a line refunded in
	// full (AllRefunded) shows as refunded rather than removed.
	Refunded         int
	AllRefunded      bool
	Price, LineTotal int64
}

// refundView is one refund: when, how much, and the items it gave back.
type refundView struct {
	At     time.Time
	Amount int64
	Items  []shipItem
}

// notReordered is a line Reorder cannot put in the cart, and why
// (reorder.<Reason>: sold_out, unavailable).
type notReordered struct {
	Title, VariantTitle string
	Reason              string
}

type shipment struct {
	Carrier, Number, URL string
	StatusKey            string // shipment.<status>
	DeliveredAt, ETA     *time.Time
	// Items are the order's lines this shipment carries, when the platform
	// said (a partial shipment names its own).
	Items []shipItem
}

type shipItem struct {
	Title, VariantTitle string
	Quantity            int
}

// returnBox is the Returns section: what the shopper may do next.
type returnBox struct {
	Show        bool // the section appears at all
	CanStart    bool
	Until       *time.Time // end of the return window, when there is one
	Active      *returns.Return
	StatusPage  string
	Returned    bool
	WindowEnded *time.Time
	NotYet      bool // not delivered yet
	// Returns are the order's returns the shopper can follow, newest
	// first: state, items, tracking, and a closed one's outcome.
	Returns []returnView
}

// returnView is one return as the shopper follows it.
type returnView struct {
	State       returns.ReturnState
	Open        bool   // under way (open or under review)
	OutcomeKey  string // return.outcome.<outcome> once closed; "" when not known
	Items       []returns.ReturnedItem
	Carrier     string
	Number      string // the return shipment's tracking number, when there is one
	TrackingURL string
	LabelURL    string
	StatusPage  string
}

// contactForm is the Contact support form's state.
type contactForm struct {
	Show     bool // the shop's helpdesk is on (or a refused message is shown back)
	Action   string
	Message  string
	Error    string
	Sent     bool
	Disabled bool // nothing can be sent from here
	// Guest: the answer comes by email only (a guest has no Messages).
	Guest  bool
	Notice string // why, when that is not an error
}

// Order is the order details page. Only the signed-in shopper's own orders
// exist here: another customer's order id answers 404, like a missing one.
//
// The rendered page is kept per customer, order, orders version and
// everything else it shows (orderPageKey), until the clock alone would
// change it (a return window closing): a repeated view costs the
// signature check and one read of the version. A page whose Returns
// section waits on the returns platform's answer is not kept — its
// every view asks for that answer, as an unkept page always did — and
// the stored answer moves the version.
func (h *Hub) Order(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r.Context())
	sent := r.URL.Query().Get("sent") == "1"
	key, keep := "", false
	if id, err := strconv.ParseInt(r.PathValue("id"), 10, 64); err == nil && id > 0 && s.customer != nil && s.mode != viaPreview {
		// The version is read before the order: a write that lands in
		// between is then in the page but not in its key, and the next
		// request renders again rather than keeping a stale page.
		version, err := h.opts.Commerce.OrdersVersion(r.Context(), s.shop.ID, s.customer.ID)
		if err != nil && !errors.Is(err, commerce.ErrNotFound) {
			h.serverError(w, r, s, err)
			return
		}
		if err == nil {
			key, keep = h.orderPageKey(s, id, sent, version)
		}
		if keep {
			if cached, ok := h.orderPages.get(key, h.opts.Now()); ok {
				h.pageHeaders(w, s)
				web.WritePage(w, http.StatusOK, cached.contentType, cached.body)
				return
			}
		}
	}
	o, ok := h.ownOrder(w, r, s)
	if !ok {
		return
	}
	data := h.orderData(s, o)
	data.Contact.Sent = sent
	title := s.loc.T("order.title", "name", o.Name)
	if !keep || o.EligibilityStale {
		h.page(w, s, http.StatusOK, "order", title, data)
		return
	}
	c := &capture{ResponseWriter: w}
	h.page(c, s, http.StatusOK, "order", title, data)
	if c.status == http.StatusOK {
		p := cachedPage{body: c.body, contentType: w.Header().Get("Content-Type")}
		if o.ReturnHoldsUntil != nil {
			p.holdsUntil = *o.ReturnHoldsUntil
		}
		h.orderPages.put(key, p)
	}
}

// ownOrder loads the order named in the path, viewed with the session's
// configuration, if it belongs to the session's customer; otherwise it
// answers 404.
func (h *Hub) ownOrder(w http.ResponseWriter, r *http.Request, s *session) (orderview.Order, bool) {
	if s.guestOrder != 0 {
		return h.guestsOrder(w, r, s)
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 || s.customer == nil {
		h.notFound(w, s)
		return orderview.Order{}, false
	}
	o, err := h.opts.Orders.Order(r.Context(), s.shop.ID, s.cfg, s.customer.ID, id)
	if errors.Is(err, commerce.ErrNotFound) {
		h.notFound(w, s)
		return orderview.Order{}, false
	}
	if err != nil {
		h.serverError(w, r, s, err)
		return orderview.Order{}, false
	}
	return o, true
}

// guestsOrder loads the one order a guest link opened, whoever's it is;
// the shopper's Start a return and messages are audited as its email's.
func (h *Hub) guestsOrder(w http.ResponseWriter, r *http.Request, s *session) (orderview.Order, bool) {
	o, err := h.opts.Orders.Order(r.Context(), s.shop.ID, s.cfg, 0, s.guestOrder)
	if errors.Is(err, commerce.ErrNotFound) {
		h.notFound(w, s)
		return orderview.Order{}, false
	}
	if err != nil {
		h.serverError(w, r, s, err)
		return orderview.Order{}, false
	}
	if s.mode != viaPreview {
		s.actor = audit.ShopperActor("", o.Email)
	}
	return o, true
}

func (h *Hub) orderData(s *session, o orderview.Order) orderPage {
	orderPath := s.orderPath(o.ID)
	p := orderPage{
		Name: o.Name, CreatedAt: o.CreatedAt, Status: o.Status,
		Currency: o.Currency, Subtotal: o.SubtotalMinor, Shipping: o.ShippingMinor, Tax: o.TaxMinor, Total: o.TotalMinor,
		Address:      addressLines(o.ShippingAddress, s.loc),
		ReturnAction: s.link(orderPath+"/return", nil),
		Contact:      contactForm{Show: s.helpdeskOn(), Action: s.link(orderPath+"/contact", nil)},
	}
	if s.guestOrder == 0 {
		p.Back = s.link("", nil)
	} else {
		p.Contact.Guest = true
	}
	if s.mode == viaPreview {
		p.Contact.Disabled, p.Contact.Notice = true, s.loc.T("preview.no_send")
	}
	p.Timeline = timeline(o.Order, p.Status)
	for _, li := range o.LineItems {
		it := item{Title: li.Title, VariantTitle: li.VariantTitle, Image: safeURL(li.ImageURL), Quantity: li.CurrentQuantity,
			Refunded: o.RefundedQuantity(li.ExternalID), Price: li.PriceMinor, LineTotal: li.PriceMinor * int64(li.CurrentQuantity)}
		if li.CurrentQuantity <= 0 && li.Quantity > 0 {
			it.Quantity = li.Quantity
			it.AllRefunded = it.Refunded >= li.Quantity
			it.Removed = !it.AllRefunded
		}
		p.Items = append(p.Items, it)
	}
	p.Payment, p.Refunded = paymentOf(o.Order), o.RefundedMinor
	for _, r := range o.Refunds {
		rv := refundView{At: r.CreatedAt, Amount: r.AmountMinor}
		for _, it := range o.RefundedItems(r) {
			// A line the order no longer lists has only the platform's
			// id, which means nothing to the shopper.
			if it.Listed {
				rv.Items = append(rv.Items, shipItem{Title: it.Title, VariantTitle: it.VariantTitle, Quantity: it.Quantity})
			}
		}
		p.Refunds = append(p.Refunds, rv)
	}
	for _, f := range o.Fulfillments {
		if !f.Active() {
			continue
		}
		sh := shipment{Carrier: f.Carrier, Number: f.TrackingNumber, URL: safeURL(f.TrackingURL), StatusKey: shipmentKey(&f),
			Items: shipmentItems(o.Order, &f)}
		if f.Delivered() {
			sh.DeliveredAt = f.DeliveredAt
		} else {
			sh.ETA = f.EstimatedDeliveryAt
		}
		p.Shipments = append(p.Shipments, sh)
	}
	if o.CancelledAt == nil && len(p.Shipments) > 0 {
		p.Unshipped = unshippedItems(o.Order)
	}
	if path := reorderPath(o.Order); path != "" {
		p.ReorderURL = s.storefrontURL(path + "?storefront=true")
	}
	p.NotReordered = notReorderable(o.Order)
	p.Return = returnBoxFor(o)
	return p
}

// paymentOf is the order's refund state for the shopper: the platform's
// financial status when it says refunded or partially refunded, else what
// the stored refunds add up to; "" when nothing was given back.
func paymentOf(o *commerce.Order) string {
	switch o.FinancialStatus {
	case commerce.FinancialRefunded, commerce.FinancialPartiallyRefunded:
		return o.FinancialStatus
	}
	if o.RefundedMinor > 0 {
		return commerce.RefundedStatus(o.TotalMinor, o.RefundedMinor)
	}
	return ""
}

// unshippedItems are the order's lines, with how many units, that no live
// shipment carries; none when a shipment did not say what it carries (a
// whole-order shipment, or data from before it was kept).
func unshippedItems(o *commerce.Order) []shipItem {
	shipped := map[string]int{}
	for i := range o.Fulfillments {
		f := &o.Fulfillments[i]
		if !f.Active() {
			continue
		}
		if len(f.LineItems) == 0 {
			return nil
		}
		for _, l := range f.LineItems {
			shipped[l.LineItemID] += l.Quantity
		}
	}
	var out []shipItem
	for _, li := range o.LineItems {
		if li.ExternalID == "" {
			return nil
		}
		if n := li.CurrentQuantity - shipped[li.ExternalID]; n > 0 {
			out = append(out, shipItem{Title: li.Title, VariantTitle: li.VariantTitle, Quantity: n})
		}
	}
	return out
}

// returnBoxFor shows the order view's eligibility: the active or finished
// return, nothing while returns are off or the order was cancelled, "not
// yet" before delivery, the end of the window, or the button.
func returnBoxFor(o orderview.Order) returnBox {
	b := eligibilityBox(o)
	for _, r := range o.Returns {
		if v, ok := returnViewOf(r); ok {
			b.Returns = append(b.Returns, v)
		}
	}
	if len(b.Returns) > 0 {
		// Returns already made are followed even where no new one can
		// start (returns turned off since, a cancelled order).
		b.Show = true
	}
	return b
}

func eligibilityBox(o orderview.Order) returnBox {
	e := o.Return
	switch e.Reason {
	case returns.ReturnOpen:
		active := o.ActiveReturn()
		return returnBox{Show: true, Active: active, StatusPage: safeURL(active.StatusPageURL)}
	case returns.AlreadyReturned:
		return returnBox{Show: true, Returned: true}
	case returns.NotDelivered:
		return returnBox{Show: true, NotYet: true}
	case returns.OutsideWindow:
		return returnBox{Show: true, WindowEnded: e.WindowEnds}
	case "":
		return returnBox{Show: true, CanStart: true, Until: e.WindowEnds}
	}
	// No provider, not connected, cancelled: no Returns section.
	return returnBox{}
}

// returnOutcomes are the outcomes the hub names (Loop's: contracts/loop.md).
var returnOutcomes = map[string]bool{"refund": true, "credit": true, "exchange": true, "upsell": true,
	"exchange+refund": true, "exchange+credit": true}

// returnViewOf is r as the shopper follows it: open and under-review
// returns with their items, label and tracking; closed ones with their
// outcome too. Cancelled and expired returns are not shown (nothing is
// under way and nothing came of them).
func returnViewOf(r returns.Return) (returnView, bool) {
	v := returnView{State: r.State, Items: r.LineItems, StatusPage: safeURL(r.StatusPageURL), LabelURL: safeURL(r.LabelLink())}
	switch r.State {
	case returns.StateOpen, returns.StateReview:
		v.Open = r.State.Active()
	case returns.StateClosed:
		if o := strings.ToLower(strings.TrimSpace(r.Outcome)); returnOutcomes[o] {
			v.OutcomeKey = "return.outcome." + o
		}
	default:
		return returnView{}, false
	}
	if r.HasTrackingNumber() {
		v.Carrier, v.Number, v.TrackingURL = r.Carrier, r.TrackingNumber, safeURL(r.Tracking())
	}
	return v, true
}

// timeline lays out placed → shipped → out for delivery → delivered, or
// placed → cancelled, marking what has happened and the current step.
func timeline(o *commerce.Order, status commerce.Status) []step {
	placed := o.CreatedAt
	steps := []step{{Key: "placed", At: &placed, Done: true}}
	if o.CancelledAt != nil {
		steps = append(steps, step{Key: "cancelled", At: o.CancelledAt, Done: true})
	} else {
		var shippedAt *time.Time
		shipped, out := false, false
		for i := range o.Fulfillments {
			f := &o.Fulfillments[i]
			if !f.Active() {
				continue
			}
			shipped = true
			at := f.InTransitAt
			if at == nil {
				at = &f.CreatedAt
			}
			if shippedAt == nil || at.Before(*shippedAt) {
				shippedAt = at
			}
			if f.ShipmentStatus == "out_for_delivery" || f.Delivered() {
				out = true
			}
		}
		delivered := o.DeliveredAt()
		returnStage := status == commerce.StatusReturnInProgress || status == commerce.StatusReturned
		steps = append(steps,
			step{Key: "shipped", At: shippedAt, Done: shipped},
			// Dated only when the carrier said when.
			step{Key: "out_for_delivery", At: o.OutForDeliveryAt(), Done: out || delivered != nil || returnStage},
			step{Key: "delivered", At: delivered, Done: delivered != nil || returnStage},
		)
	}
	// Every step that happened is dated: one no one dated (out for
	// delivery the carrier did not time) is left out rather than shown
	// without a date or with a made-up one.
	steps = slices.DeleteFunc(steps, func(s step) bool { return s.Done && s.At == nil })
	last := 0
	for i := range steps {
		if steps[i].Done {
			last = i
		}
	}
	steps[last].Current = true
	return steps
}

// shipmentItems are the order's lines f carries, in the order's line
// order, with how many of each; none when the platform did not say.
func shipmentItems(o *commerce.Order, f *commerce.Fulfillment) []shipItem {
	if len(f.LineItems) == 0 {
		return nil
	}
	qty := map[string]int{}
	for _, l := range f.LineItems {
		qty[l.LineItemID] += l.Quantity
	}
	var out []shipItem
	for _, li := range o.LineItems {
		if n := qty[li.ExternalID]; n > 0 && li.ExternalID != "" {
			out = append(out, shipItem{Title: li.Title, VariantTitle: li.VariantTitle, Quantity: n})
		}
	}
	return out
}

// shipmentKey names a shipment's carrier status for the catalogue.
func shipmentKey(f *commerce.Fulfillment) string {
	if f.Delivered() {
		return "shipment.delivered"
	}
	switch f.ShipmentStatus {
	case "label_printed", "confirmed", "in_transit", "out_for_delivery", "attempted_delivery", "failure":
		return "shipment." + f.ShipmentStatus
	case "":
		if f.Status == "pending" || f.Status == "open" {
			return "shipment.pending"
		}
	}
	return "shipment.in_transit"
}

var numericID = regexp.MustCompile(`^[0-9]{1,20}$`)

// notReorderable are the lines still on the order that reorderPath leaves
// out, each with why: sold_out (the variant exists but cannot be sold
// now) or unavailable (the product or variant was deleted).
func notReorderable(o *commerce.Order) []notReordered {
	var out []notReordered
	for _, li := range o.LineItems {
		if li.CurrentQuantity <= 0 {
			continue
		}
		reason := ""
		switch {
		case !numericID.MatchString(li.VariantID):
			reason = "unavailable"
		case !li.VariantAvailable:
			reason = "sold_out"
		}
		if reason != "" {
			out = append(out, notReordered{Title: li.Title, VariantTitle: li.VariantTitle, Reason: reason})
		}
	}
	return out
}

// reorderPath builds Shopify's cart permalink path (contracts/shopify.md
// §5): "/cart/VARIANT:QTY,..." with current quantities, leaving out lines
// whose variant was deleted (no id), cannot be sold any more, or was
// edited out of the order. A variant on several lines is merged. "" when
// nothing can be reordered.
func reorderPath(o *commerce.Order) string {
	qty := map[string]int{}
	var order []string
	for _, li := range o.LineItems {
		if !li.VariantAvailable || !numericID.MatchString(li.VariantID) || li.CurrentQuantity <= 0 {
			continue
		}
		if _, seen := qty[li.VariantID]; !seen {
			order = append(order, li.VariantID)
		}
		qty[li.VariantID] += li.CurrentQuantity
	}
	if len(order) == 0 {
		return ""
	}
	parts := make([]string, len(order))
	for i, v := range order {
		parts[i] = v + ":" + strconv.Itoa(qty[v])
	}
	return "/cart/" + strings.Join(parts, ",")
}

// addressLines writes an address the way its country does: city before
// the postal code in North America and Australia, on its own line before
// it in the UK, after it in most of Europe — and names the country in the
// shopper's language.
func addressLines(a commerce.Address, loc *locale.Locale) []string {
	var lines []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" {
			lines = append(lines, s)
		}
	}
	add(a.Name)
	add(a.Address1)
	add(a.Address2)
	switch strings.ToUpper(a.CountryCode) {
	case "US", "CA", "AU":
		city := a.City
		if a.Province != "" {
			city += ", " + a.Province
		}
		add(city + " " + a.Zip)
	case "GB", "IE":
		add(a.City)
		add(a.Zip)
	default:
		add(a.Zip + " " + a.City)
		add(a.Province)
	}
	add(loc.Country(a.CountryCode))
	return lines
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
