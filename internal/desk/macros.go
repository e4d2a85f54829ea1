package desk

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/macro"
)

// MacroPages are Settings → Macros (Managers and above keep the shop's
// saved replies) and the JSON answer the ticket view's reply box asks for
// when an agent inserts a macro.
type MacroPages struct {
	*Desk
	Macros *macro.Macros
}

// macroPlaceholder is one line of the page's placeholder help.
type macroPlaceholder struct{ Name, LabelKey string }

// macroPlaceholders describe macro.Placeholders, in their order.
var macroPlaceholders = func() []macroPlaceholder {
	out := make([]macroPlaceholder, len(macro.Placeholders))
	for i, p := range macro.Placeholders {
		out[i] = macroPlaceholder{p, "macros.placeholder." + strings.ReplaceAll(p, ".", "_")}
	}
	return out
}()

// macroForm is the create or edit form as shown, or as submitted when it
// was refused; ID is 0 for a new macro.
type macroForm struct {
	ID         int64
	Name, Body string
}

type macrosView struct {
	Macros           []*macro.Macro
	Form             macroForm
	Placeholders     []macroPlaceholder
	Saved, Deleted   bool
	Error, Field     string
	MaxName, MaxBody int
}

func (p *MacroPages) render(w http.ResponseWriter, r *http.Request, status int, v macrosView) {
	list, err := p.Macros.List(r.Context(), auth.UserFrom(r.Context()).ShopID)
	if err != nil {
		p.serverError(w, r, err)
		return
	}
	v.Macros, v.Placeholders, v.MaxName, v.MaxBody = list, macroPlaceholders, macro.MaxNameRunes, macro.MaxBodyRunes
	q := r.URL.Query()
	v.Saved, v.Deleted = v.Saved || q.Get("saved") == "1", q.Get("deleted") == "1"
	p.page(w, r, status, "settings_macros", "Settings · Macros", v)
}

// List shows the shop's macros and the form for a new one.
func (p *MacroPages) List(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusOK, macrosView{})
}

// Edit shows the list with one macro in the form.
func (p *MacroPages) Edit(w http.ResponseWriter, r *http.Request) {
	m, ok := loadByID(p.Desk, w, r, p.Macros.Get)
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, macrosView{Form: macroForm{ID: m.ID, Name: m.Name, Body: m.Body}})
}

// Create saves a new macro.
func (p *MacroPages) Create(w http.ResponseWriter, r *http.Request) {
	in := macro.Input{Name: r.PostFormValue("name"), Body: r.PostFormValue("body")}
	_, err := p.Macros.Create(r.Context(), auth.UserFrom(r.Context()), in)
	p.afterChange(w, r, macroForm{Name: in.Name, Body: in.Body}, err, "saved")
}

// Update saves an edited macro.
func (p *MacroPages) Update(w http.ResponseWriter, r *http.Request) {
	id, ok := p.pathID(w, r, "id")
	if !ok {
		return
	}
	in := macro.Input{Name: r.PostFormValue("name"), Body: r.PostFormValue("body")}
	_, err := p.Macros.Update(r.Context(), auth.UserFrom(r.Context()), id, in)
	p.afterChange(w, r, macroForm{ID: id, Name: in.Name, Body: in.Body}, err, "saved")
}

// Delete removes a macro.
func (p *MacroPages) Delete(w http.ResponseWriter, r *http.Request) {
	id, ok := p.pathID(w, r, "id")
	if !ok {
		return
	}
	p.afterChange(w, r, macroForm{}, p.Macros.Delete(r.Context(), auth.UserFrom(r.Context()), id), "deleted")
}

// afterChange answers a change: back to the list when it was made, the
// form with the refusal when it was not.
func (p *MacroPages) afterChange(w http.ResponseWriter, r *http.Request, form macroForm, err error, done string) {
	var invalid *macro.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/settings/macros?"+done+"=1", http.StatusSeeOther)
	case errors.Is(err, database.ErrNotFound):
		p.NotFound(w, r)
	case errors.Is(err, macro.ErrForbidden):
		p.Error(w, r, http.StatusForbidden, "Your role does not allow this page. Ask an owner or admin.")
	case errors.As(err, &invalid):
		p.render(w, r, http.StatusUnprocessableEntity, macrosView{Form: form, Field: invalid.Field, Error: macroProblem(invalid)})
	default:
		p.serverError(w, r, err)
	}
}

// macroProblem words a refusal for the page.
func macroProblem(e *macro.ValidationError) string {
	field := map[string]string{"name": "The name", "body": "The text"}[e.Field]
	return field + " " + e.Problem + "."
}

func (p *MacroPages) pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		p.NotFound(w, r)
		return 0, false
	}
	return id, true
}

// macroPicker is what the "macro-picker" partial renders in a ticket's
// reply box: the shop's macros, the ticket they are expanded for, and the
// id of the textarea the chosen text goes into.
type macroPicker struct {
	TicketID int64
	Macros   []*macro.Macro
	Target   string
}

// newMacroPicker builds the ticket view's picker; with no macros it
// renders nothing.
func newMacroPicker(ticketID int64, macros []*macro.Macro, target string) macroPicker {
	return macroPicker{TicketID: ticketID, Macros: macros, Target: target}
}

// expandedMacro is the reply box's answer: the text to insert.
type expandedMacro struct {
	Body string `json:"body"`
}

// Expanded answers {"body": "..."}: the macro with its placeholders
// filled for the ticket, for the reply box to insert. Another shop's
// ticket or macro is a 404.
func (p *MacroPages) Expanded(w http.ResponseWriter, r *http.Request) {
	ticketID, err1 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	macroID, err2 := strconv.ParseInt(r.PathValue("macroID"), 10, 64)
	if err1 != nil || err2 != nil {
		httpkit.WriteError(w, httpkit.NotFound("macro"))
		return
	}
	body, err := p.Macros.Expanded(r.Context(), auth.UserFrom(r.Context()), ticketID, macroID)
	switch {
	case errors.Is(err, database.ErrNotFound):
		httpkit.WriteError(w, httpkit.NotFound("macro"))
	case err != nil:
		p.Logger.Error("expand a macro", "ticket", ticketID, "macro", macroID, "err", err)
		httpkit.WriteError(w, httpkit.Internal())
	default:
		httpkit.JSON(w, http.StatusOK, expandedMacro{body})
	}
}
