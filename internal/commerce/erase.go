package commerce

import (
	"context"
	"fmt"
	"strings"

	"github.com/hubdesk/hubdesk/internal/database"
)

// Person is what the shop's commerce data knows of someone to be
// forgotten: their customer records and orders, and the words that name
// them elsewhere (emails, names, phone numbers, order names), for the
// other domains' erasures.
type Person struct {
	CustomerIDs []int64
	OrderIDs    []int64
	// OrderExternalIDs are the platform's ids of OrderIDs and of the
	// orders the request named, stored or not.
	OrderExternalIDs []string
	Emails           []string // lower case
	Names            []string // full names ("Ada Lovelace"), never a lone first name
	Phones           []string
	OrderNames       []string
}

// FindPerson gathers the shop's records of one customer — by the
// platform's customer id, by email (hubdesk's own email-keyed customers
// included) — and of the orders named (the platform's ids), whoever
// placed them.
func (s *Store) FindPerson(ctx context.Context, shopID int64, customerExternalID, email string, orderExternalIDs []string) (*Person, error) {
	p := &Person{}
	email = strings.ToLower(strings.TrimSpace(email))
	add := func(list *[]string, v string) {
		if v = strings.TrimSpace(v); v != "" {
			for _, have := range *list {
				if strings.EqualFold(have, v) {
					return
				}
			}
			*list = append(*list, v)
		}
	}
	add(&p.Emails, email)
	rows, err := s.db.Query(ctx, `SELECT id, email, first_name, last_name, phone, addr_name, addr_phone FROM customers
		WHERE shop_id = ? AND ((external_id = ? AND external_id <> '') OR (email = ? AND email <> '') OR external_id = ?)`,
		shopID, strings.TrimSpace(customerExternalID), email, EmailKey(email))
	if err != nil {
		return nil, fmt.Errorf("find customer %s: %w", customerExternalID, err)
	}
	for rows.Next() {
		var id int64
		var em, first, last, phone, addrName, addrPhone string
		if err := rows.Scan(&id, &em, &first, &last, &phone, &addrName, &addrPhone); err != nil {
			rows.Close()
			return nil, err
		}
		p.CustomerIDs = append(p.CustomerIDs, id)
		add(&p.Emails, strings.ToLower(em))
		if first != "" && last != "" {
			add(&p.Names, first+" "+last)
		}
		add(&p.Names, addrName)
		add(&p.Phones, phone)
		add(&p.Phones, addrPhone)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, id := range orderExternalIDs {
		add(&p.OrderExternalIDs, id)
	}
	where := []string{}
	args := []any{shopID}
	if len(p.CustomerIDs) > 0 {
		in, a := database.InList(p.CustomerIDs)
		where, args = append(where, `customer_id IN (`+in+`)`), append(args, a...)
	}
	if len(p.OrderExternalIDs) > 0 {
		in, a := database.InList(p.OrderExternalIDs)
		where, args = append(where, `external_id IN (`+in+`)`), append(args, a...)
	}
	if email != "" {
		where, args = append(where, `email = ?`), append(args, email)
	}
	if len(where) == 0 {
		return p, nil
	}
	rows, err = s.db.Query(ctx, `SELECT id, external_id, name, email, ship_name, ship_phone FROM orders WHERE shop_id = ? AND (`+strings.Join(where, " OR ")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("find orders of customer %s: %w", customerExternalID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var ext, name, em, shipName, shipPhone string
		if err := rows.Scan(&id, &ext, &name, &em, &shipName, &shipPhone); err != nil {
			return nil, err
		}
		p.OrderIDs = append(p.OrderIDs, id)
		add(&p.OrderExternalIDs, ext)
		add(&p.OrderNames, name)
		add(&p.Emails, strings.ToLower(em))
		add(&p.Names, shipName)
		add(&p.Phones, shipPhone)
	}
	return p, rows.Err()
}

// ErasePerson deletes the person's orders (their items and shipments with
// them) and customer records. The caller erases what other domains hold
// first, in the same transaction.
func (s *Store) ErasePerson(ctx context.Context, shopID int64, p *Person) error {
	if len(p.OrderIDs) > 0 {
		in, args := database.InList(p.OrderIDs)
		if _, err := s.db.Exec(ctx, `DELETE FROM orders WHERE shop_id = ? AND id IN (`+in+`)`, append([]any{shopID}, args...)...); err != nil {
			return fmt.Errorf("erase orders: %w", err)
		}
	}
	if len(p.CustomerIDs) > 0 {
		in, args := database.InList(p.CustomerIDs)
		if _, err := s.db.Exec(ctx, `DELETE FROM customers WHERE shop_id = ? AND id IN (`+in+`)`, append([]any{shopID}, args...)...); err != nil {
			return fmt.Errorf("erase customers: %w", err)
		}
	}
	return nil
}

// EraseAll deletes every order and customer of the shop.
func (s *Store) EraseAll(ctx context.Context, shopID int64) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM orders WHERE shop_id = ?`, shopID); err != nil {
		return fmt.Errorf("erase the shop's orders: %w", err)
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM customers WHERE shop_id = ?`, shopID); err != nil {
		return fmt.Errorf("erase the shop's customers: %w", err)
	}
	return nil
}
