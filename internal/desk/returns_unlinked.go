package desk

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/user"
)

// ReturnLinker lists the returns stored without an order because the
// order name the platform reported is carried by several orders, and
// attaches one to the order a manager chooses, audited (loopsync).
type ReturnLinker interface {
	ReturnsNeedingOrder(ctx context.Context, shopID int64) ([]returns.Unlinked, error)
	UnlinkedNaming(ctx context.Context, shopID int64, orderName string) (int, error)
	LinkReturn(ctx context.Context, shopID int64, actor audit.Actor, returnID, orderID int64) (*returns.Return, error)
}

// unlinkedPage is the data of "Returns needing an order".
type unlinkedPage struct {
	Returns []returns.Unlinked
	// Linked names the order the last return was linked to; Error why a
	// link was refused.
	Linked, Error string
}

// UnlinkedReturns lists the returns waiting for their order because
// their order name is ambiguous, each with the orders carrying the name
// and a Link button per order (Manager and up).
func (d *Desk) UnlinkedReturns(w http.ResponseWriter, r *http.Request) {
	d.unlinkedPage(w, r, http.StatusOK, unlinkedPage{Linked: r.URL.Query().Get("linked")})
}

func (d *Desk) unlinkedPage(w http.ResponseWriter, r *http.Request, status int, data unlinkedPage) {
	list, err := d.ReturnLinks.ReturnsNeedingOrder(r.Context(), auth.UserFrom(r.Context()).ShopID)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	data.Returns = list
	d.page(w, r, status, "returns_unlinked", "Returns needing an order", data)
}

// LinkReturn attaches a return waiting for its order to the order the
// form names (one carrying the return's order name), audited; then back
// to the list. Another shop's or an unknown return is 404; an order that
// does not carry the name 422; a return linked meanwhile 409.
func (d *Desk) LinkReturn(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		d.NotFound(w, r)
		return
	}
	orderID, _ := strconv.ParseInt(r.PostFormValue("order"), 10, 64)
	me := auth.UserFrom(r.Context())
	ret, err := d.ReturnLinks.LinkReturn(r.Context(), me.ShopID, audit.UserActor(me), id, orderID)
	switch {
	case errors.Is(err, returns.ErrNotFound):
		d.NotFound(w, r)
	case errors.Is(err, returns.ErrNotCandidate):
		d.unlinkedPage(w, r, http.StatusUnprocessableEntity, unlinkedPage{Error: "Choose one of the orders carrying the return's order name."})
	case errors.Is(err, returns.ErrAlreadyLinked):
		d.unlinkedPage(w, r, http.StatusConflict, unlinkedPage{Error: "That return is attached to an order already."})
	case err != nil:
		d.serverError(w, r, err)
	default:
		http.Redirect(w, r, "/returns/unlinked?linked="+strconv.FormatInt(ret.OrderID, 10), http.StatusSeeOther)
	}
}

// unlinkedCount is how many returns wait for an order a manager links,
// for the Orders page's notice: 0 for an agent, who cannot link them, and
// when the desk has no linker.
func (d *Desk) unlinkedCount(ctx context.Context, u *user.User) int {
	if d.ReturnLinks == nil || !u.Role.AtLeast(user.RoleManager) {
		return 0
	}
	return d.unlinkedNaming(ctx, u.ShopID, "")
}

// unlinkedNaming is how many returns wait for an order that name the
// order's name, for the notice on its page.
func (d *Desk) unlinkedNaming(ctx context.Context, shopID int64, orderName string) int {
	if d.ReturnLinks == nil {
		return 0
	}
	n, err := d.ReturnLinks.UnlinkedNaming(ctx, shopID, orderName)
	if err != nil {
		d.Logger.WarnContext(ctx, "desk: returns needing an order", "order", orderName, "err", err)
		return 0
	}
	return n
}
