package macro

import (
	"context"
	"errors"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// ErrForbidden means the user's role may not change macros.
var ErrForbidden = errors.New("macro: only managers and above change macros")

// Macros runs the macro use cases: changes by managers, each with its
// audit entry in the same transaction, and the macros agents insert.
type Macros struct {
	db       database.Querier
	store    *Store
	audit    *audit.Log
	tickets  *ticket.Store
	commerce *commerce.Store
}

// New returns the macro use cases over db, which opens their
// transactions.
func New(db database.Querier, store *Store, log *audit.Log, tickets *ticket.Store, commerce *commerce.Store) *Macros {
	return &Macros{db: db, store: store, audit: log, tickets: tickets, commerce: commerce}
}

// ReadAllCached queues into b the read of the shop's macros unless this
// process holds them (Store.ReadAllCached); call done once b has run.
func (m *Macros) ReadAllCached(b *database.Batch, shopID int64, into *[]*Macro) (done func(error)) {
	return m.store.ReadAllCached(b, shopID, into)
}

// List returns the shop's macros by name, for every agent (the reply
// box's picker) and the settings page.
func (m *Macros) List(ctx context.Context, shopID int64) ([]*Macro, error) {
	return m.store.List(ctx, shopID)
}

// Get returns one macro of the shop.
func (m *Macros) Get(ctx context.Context, shopID, id int64) (*Macro, error) {
	return m.store.Get(ctx, shopID, id)
}

// Create saves a new macro of actor's shop (Managers and above).
func (m *Macros) Create(ctx context.Context, actor *user.User, in Input) (*Macro, error) {
	return m.change(ctx, actor, audit.ActionMacroCreated, func(s *Store) (*Macro, error) { return s.Create(ctx, actor.ShopID, in) })
}

// Update renames or rewrites a macro of actor's shop (Managers and above).
func (m *Macros) Update(ctx context.Context, actor *user.User, id int64, in Input) (*Macro, error) {
	return m.change(ctx, actor, audit.ActionMacroUpdated, func(s *Store) (*Macro, error) { return s.Update(ctx, actor.ShopID, id, in) })
}

// Delete removes a macro of actor's shop (Managers and above).
func (m *Macros) Delete(ctx context.Context, actor *user.User, id int64) error {
	_, err := m.change(ctx, actor, audit.ActionMacroDeleted, func(s *Store) (*Macro, error) { return s.Delete(ctx, actor.ShopID, id) })
	return err
}

// change checks the role, then runs the write and its audit entry in one
// transaction.
func (m *Macros) change(ctx context.Context, actor *user.User, action string, write func(*Store) (*Macro, error)) (*Macro, error) {
	if !actor.Role.AtLeast(user.RoleManager) {
		return nil, ErrForbidden
	}
	var out *Macro
	err := m.db.InTx(ctx, func(tx *database.Tx) error {
		var err error
		if out, err = write(m.store.With(tx)); err != nil {
			return err
		}
		return m.audit.With(tx).Record(ctx, actor.ShopID, audit.Entry{Actor: audit.UserActor(actor), Action: action,
			Subject: out.Name, Outcome: audit.OutcomeOK, Details: map[string]any{"macro_id": out.ID}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Expanded is a macro of the agent's shop with its placeholders filled
// for one of the shop's tickets: the ticket's customer, its order's name
// and latest tracking link, and the agent. Another shop's ticket or
// macro is ErrNotFound (ticket.ErrNotFound is the same error).
func (m *Macros) Expanded(ctx context.Context, agent *user.User, ticketID, macroID int64) (string, error) {
	t, err := m.tickets.Get(ctx, agent.ShopID, ticketID)
	if err != nil {
		return "", err
	}
	mc, err := m.store.Get(ctx, agent.ShopID, macroID)
	if err != nil {
		return "", err
	}
	c, err := m.Context(ctx, agent, t)
	if err != nil {
		return "", err
	}
	return Expand(mc.Body, c), nil
}

// Context reads the placeholders' values for a ticket of the agent's
// shop. A customer or order the ticket names but the shop no longer has
// leaves its values empty.
func (m *Macros) Context(ctx context.Context, agent *user.User, t *ticket.Ticket) (MacroContext, error) {
	var customer *commerce.Customer
	var order *commerce.Order
	var err error
	if t.CustomerID != 0 {
		if customer, err = m.commerce.Customer(ctx, agent.ShopID, t.CustomerID); err != nil && !errors.Is(err, database.ErrNotFound) {
			return MacroContext{}, err
		}
	}
	if t.OrderID != 0 {
		if order, err = m.commerce.Order(ctx, agent.ShopID, t.OrderID); err != nil && !errors.Is(err, database.ErrNotFound) {
			return MacroContext{}, err
		}
	}
	return ContextFor(customer, t.RequesterName, order, agent), nil
}
