// Package inbound takes mail in for the helpdesk: a built-in SMTP
// listener that receives mail addressed to the shops' support addresses,
// and a poller per shop that imports an existing mailbox over IMAP. Both
// hand the raw message to the webhook intake (provider email) and
// acknowledge it — 250 to the sending server, or the UID recorded as
// taken — only once the intake's transaction has committed, so mail
// acknowledged is never lost. Parsing it into a ticket is the email
// handler's job, run by the intake's processing job.
package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/shop"
)

// Address is one of a shop's own support addresses.
type Address struct {
	ID        int64
	Address   string // lower case
	CreatedAt time.Time
}

// MaxAddressesPerShop bounds how many addresses a shop may add; a support
// team has a handful, never hundreds.
const MaxAddressesPerShop = 20

// Errors of AddAddress, each worded for the person who typed the address.
var (
	ErrAddressInvalid  = errors.New("inbound: not an email address")
	ErrAddressTaken    = errors.New("inbound: address already in use")
	ErrAddressReserved = errors.New("inbound: address in the built-in mail domain")
	ErrTooManyAddress  = errors.New("inbound: too many addresses")
	ErrAddressNotFound = errors.New("inbound: no such address")
)

// NormalizeAddress returns the bare address (no name, no angle brackets)
// in lower case, or ErrAddressInvalid. Case is dropped from the local
// part too: RFC 5321 lets a server tell cases apart, but no mail system
// a merchant uses does, and senders write addresses in any case.
func NormalizeAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || !database.StorableText(s) {
		return "", ErrAddressInvalid
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || strings.ContainsAny(a.Address, " \t\r\n\"") {
		return "", ErrAddressInvalid
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") && domain != "localhost" {
		return "", ErrAddressInvalid
	}
	return strings.ToLower(a.Address), nil
}

// Addresses keeps the shops' own support addresses.
type Addresses struct {
	db database.Querier
}

// NewAddresses returns the store over db (the database or a transaction).
func NewAddresses(db database.Querier) *Addresses { return &Addresses{db: db} }

// With returns the store running on q, typically a use case's transaction.
func (s *Addresses) With(q database.Querier) *Addresses { return &Addresses{db: q} }

// List returns the shop's addresses, oldest first.
func (s *Addresses) List(ctx context.Context, shopID int64) ([]Address, error) {
	rows, err := s.db.Query(ctx, `SELECT id, address, created_at FROM mail_addresses WHERE shop_id = ? ORDER BY id`, shopID)
	if err != nil {
		return nil, fmt.Errorf("inbound: list addresses of shop %d: %w", shopID, err)
	}
	defer rows.Close()
	var out []Address
	for rows.Next() {
		var a Address
		if err := rows.Scan(&a.ID, &a.Address, (*database.Time)(&a.CreatedAt)); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Add stores address (already normalised) for the shop; ErrAddressTaken
// when any shop has it.
func (s *Addresses) Add(ctx context.Context, shopID int64, address string, now time.Time) (Address, error) {
	a := Address{Address: address, CreatedAt: now.UTC()}
	err := s.db.ExecReturning(ctx, `INSERT INTO mail_addresses (shop_id, address, created_at) VALUES (?, ?, ?) RETURNING id`,
		shopID, address, database.Time(a.CreatedAt)).Scan(&a.ID)
	if database.IsUniqueViolation(err) {
		return Address{}, ErrAddressTaken
	}
	if err != nil {
		return Address{}, fmt.Errorf("inbound: add address for shop %d: %w", shopID, err)
	}
	return a, nil
}

// Count says how many addresses the shop has.
func (s *Addresses) Count(ctx context.Context, shopID int64) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM mail_addresses WHERE shop_id = ?`, shopID).Scan(&n)
	return n, err
}

// Remove deletes the shop's address id and returns it; ErrAddressNotFound
// when the shop has no such address.
func (s *Addresses) Remove(ctx context.Context, shopID, id int64) (string, error) {
	var address string
	err := s.db.ExecReturning(ctx, `DELETE FROM mail_addresses WHERE shop_id = ? AND id = ? RETURNING address`, shopID, id).Scan(&address)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrAddressNotFound
	}
	if err != nil {
		return "", fmt.Errorf("inbound: remove address %d of shop %d: %w", id, shopID, err)
	}
	return address, nil
}

// ShopOf returns the shop that has address (normalised), or 0.
func (s *Addresses) ShopOf(ctx context.Context, address string) (int64, error) {
	var shopID int64
	err := s.db.QueryRow(ctx, `SELECT shop_id FROM mail_addresses WHERE address = ?`, address).Scan(&shopID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return shopID, err
}

// Handle is the local part of a shop's built-in address: its myshopify
// name (demo-shop for demo-shop.myshopify.com), or the whole domain of a
// shop on a domain of its own. Shop domains are unique, so handles are.
func Handle(shopDomain string) string {
	return strings.TrimSuffix(strings.ToLower(shopDomain), ".myshopify.com")
}

// Router finds the shop an envelope recipient belongs to: an address a
// shop added, or a built-in <handle>@<Domain>.
type Router struct {
	Addresses *Addresses
	Shops     *shop.Store
	// Domain is the built-in addresses' mail domain (lower case); "" turns
	// the built-in addresses off.
	Domain string
}

// BuiltIn is the shop's built-in support address; "" without a domain.
func (r *Router) BuiltIn(shopDomain string) string {
	if r.Domain == "" {
		return ""
	}
	return Handle(shopDomain) + "@" + r.Domain
}

// Route returns the shop recipient belongs to, or 0 when it is none of
// ours.
func (r *Router) Route(ctx context.Context, recipient string) (int64, error) {
	address, err := NormalizeAddress(recipient)
	if err != nil {
		return 0, nil
	}
	if id, err := r.Addresses.ShopOf(ctx, address); err != nil || id != 0 {
		return id, err
	}
	local, domain, _ := strings.Cut(address, "@")
	if r.Domain == "" || domain != r.Domain {
		return 0, nil
	}
	candidates := []string{local + ".myshopify.com"}
	if strings.Contains(local, ".") {
		candidates = append(candidates, local)
	}
	for _, c := range candidates {
		sh, err := r.Shops.GetByDomain(ctx, c)
		if errors.Is(err, shop.ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if Handle(sh.Domain) == local {
			return sh.ID, nil
		}
	}
	return 0, nil
}
