package inbound

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/database"
)

// Settings is the use case behind Settings → Mail: the shop's support
// addresses and its IMAP mailbox, each change audited.
type Settings struct {
	DB          *database.DB
	Addresses   *Addresses
	Connections *connection.Store
	Mailboxes   *Mailboxes
	Audit       *audit.Log
	Router      *Router
	// Checker logs in to a mailbox before it is saved.
	Checker interface {
		Check(ctx context.Context, a Account) error
	}
	Now func() time.Time
}

func (s *Settings) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// MailView is what the settings page shows.
type MailView struct {
	BuiltIn   string // "" when the built-in addresses are off
	Addresses []Address
	// IMAP is nil when the shop has no mailbox connected; its Password is
	// never filled.
	IMAP   *Account
	Status MailboxState
}

// View reads the shop's mail settings.
func (s *Settings) View(ctx context.Context, shopID int64, shopDomain string) (*MailView, error) {
	v := &MailView{BuiltIn: s.Router.BuiltIn(shopDomain)}
	var err error
	if v.Addresses, err = s.Addresses.List(ctx, shopID); err != nil {
		return nil, err
	}
	conn, err := s.Connections.Get(ctx, shopID, ProviderIMAP)
	if errors.Is(err, connection.ErrNotFound) {
		return v, nil
	}
	if err != nil {
		return nil, err
	}
	a, err := ParseAccount(conn.Credentials)
	if err != nil {
		return nil, err
	}
	a.Password = ""
	v.IMAP = &a
	if v.Status, err = s.Mailboxes.Get(ctx, shopID, a.Mailbox); err != nil {
		return nil, err
	}
	return v, nil
}

// AddAddress adds a support address to the shop.
func (s *Settings) AddAddress(ctx context.Context, actor audit.Actor, shopID int64, raw string) (Address, error) {
	address, err := NormalizeAddress(raw)
	if err != nil {
		return Address{}, err
	}
	if _, domain, _ := strings.Cut(address, "@"); s.Router.Domain != "" && domain == s.Router.Domain {
		// The built-in domain's local parts are the shops' handles.
		return Address{}, ErrAddressReserved
	}
	var added Address
	err = s.DB.InTx(ctx, func(tx *database.Tx) error {
		n, err := s.Addresses.With(tx).Count(ctx, shopID)
		if err != nil {
			return err
		}
		if n >= MaxAddressesPerShop {
			return ErrTooManyAddress
		}
		if added, err = s.Addresses.With(tx).Add(ctx, shopID, address, s.now()); err != nil {
			return err
		}
		return s.Audit.With(tx).Record(ctx, shopID, audit.Entry{Actor: actor, Action: audit.ActionSettingsChanged,
			Subject: "mail settings", Outcome: audit.OutcomeOK, Details: map[string]any{"address_added": address}})
	})
	return added, err
}

// RemoveAddress removes one of the shop's support addresses.
func (s *Settings) RemoveAddress(ctx context.Context, actor audit.Actor, shopID, id int64) error {
	return s.DB.InTx(ctx, func(tx *database.Tx) error {
		address, err := s.Addresses.With(tx).Remove(ctx, shopID, id)
		if err != nil {
			return err
		}
		return s.Audit.With(tx).Record(ctx, shopID, audit.Entry{Actor: actor, Action: audit.ActionSettingsChanged,
			Subject: "mail settings", Outcome: audit.OutcomeOK, Details: map[string]any{"address_removed": address}})
	})
}

// CheckError is a mailbox the check could not log in to or select; the
// account is not saved.
type CheckError struct{ Err error }

func (e *CheckError) Error() string { return "inbound: IMAP check failed: " + e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// SaveIMAP checks the account (login and select) and saves it, sealed; an
// empty password keeps the saved one. The poller picks it up on its next
// look.
func (s *Settings) SaveIMAP(ctx context.Context, actor audit.Actor, shopID int64, a Account) error {
	if a.Password == "" {
		if conn, err := s.Connections.Get(ctx, shopID, ProviderIMAP); err == nil {
			if old, err := ParseAccount(conn.Credentials); err == nil {
				a.Password = old.Password
			}
		}
	}
	if err := a.Normalize(); err != nil {
		return err
	}
	// The remote check happens before the transaction opens.
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Checker.Check(checkCtx, a); err != nil {
		return &CheckError{Err: err}
	}
	now := s.now().UTC()
	return s.DB.InTx(ctx, func(tx *database.Tx) error {
		c := &connection.Connection{Provider: ProviderIMAP, Credentials: a.Credentials(), Status: connection.StatusConnected, CheckedAt: &now}
		if err := s.Connections.With(tx).Save(ctx, shopID, c, now); err != nil {
			return err
		}
		return s.Audit.With(tx).Record(ctx, shopID, audit.Entry{Actor: actor, Action: audit.ActionSettingsChanged,
			Subject: "mail settings", Outcome: audit.OutcomeOK, Details: map[string]any{
				"imap": fmt.Sprintf("%s@%s:%d", a.Username, a.Host, a.Port), "mailbox": a.Mailbox, "delete_after_import": a.DeleteAfterImport}})
	})
}

// DisconnectIMAP removes the shop's mailbox; what was imported stays.
func (s *Settings) DisconnectIMAP(ctx context.Context, actor audit.Actor, shopID int64) error {
	return s.DB.InTx(ctx, func(tx *database.Tx) error {
		if err := s.Connections.With(tx).Delete(ctx, shopID, ProviderIMAP); err != nil {
			return err
		}
		return s.Audit.With(tx).Record(ctx, shopID, audit.Entry{Actor: actor, Action: audit.ActionSettingsChanged,
			Subject: "mail settings", Outcome: audit.OutcomeOK, Details: map[string]any{"imap": "disconnected"}})
	})
}
