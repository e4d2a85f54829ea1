package commerce_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
)

// pageCustomers reads every page of a sorted customers list, two rows a
// page, and names the customers in the order they came.
func pageCustomers(t *testing.T, s *commerce.Store, shopID int64, q commerce.CustomerQuery) []string {
	t.Helper()
	var names []string
	p := database.Page{Limit: 2}
	for range 20 {
		rows, next, err := s.ListCustomersSorted(context.Background(), shopID, q, p)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		for _, r := range rows {
			last := "-"
			if r.LastOrderAt != nil {
				last = r.LastOrderAt.Format("02")
			}
			names = append(names, r.Name()+"@"+last)
		}
		if next == "" {
			return names
		}
		if p.After, err = database.DecodeCursor(next); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("%+v: the pages never ended: %v", q, names)
	return nil
}

// The customers list sorts by name, by the most recent order and by when
// the customer was created, either way, and pages through each sort
// without losing or repeating a customer, ties broken by id.
func TestCustomersSortAndPage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		other := newShop(t, db, "b.myshopify.com")
		// created: day of October; orders: days of November.
		people := []struct {
			first, last, email string
			created            int
			orders             []int
		}{
			{"Cleo", "Adams", "cleo@example.com", 3, []int{2, 9}},
			{"ada", "Zed", "ada@example.com", 1, nil},
			{"", "", "bo@example.com", 5, []int{4}},
			{"Dan", "Brown", "dan@example.com", 5, []int{9}},
			{"Eve", "", "eve@example.com", 2, []int{1}},
		}
		for i, p := range people {
			created := time.Date(2026, 10, p.created, 12, 0, 0, 0, time.UTC)
			c, _, err := s.UpsertCustomer(ctx, shopID, commerce.Customer{ExternalID: fmt.Sprint("c", i), Email: p.email, FirstName: p.first, LastName: p.last, CreatedAt: created, UpdatedAt: created})
			if err != nil {
				t.Fatal(err)
			}
			for j, day := range p.orders {
				o := sampleOrder(fmt.Sprintf("%d%d", i, j), t0)
				o.CreatedAt = time.Date(2026, 11, day, 12, 0, 0, 0, time.UTC)
				if _, _, err := s.UpsertOrder(ctx, shopID, o, c); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Another shop's customer and order are never listed.
		stranger := &commerce.Customer{ExternalID: "x", Email: "aaron@example.com", FirstName: "Aaron"}
		if _, _, err := s.UpsertOrder(ctx, other, sampleOrder("9", t0), stranger); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			q    commerce.CustomerQuery
			want string
		}{
			{commerce.CustomerQuery{Sort: commerce.CustomersByName, Ascending: true}, "ada Zed@- bo@example.com@04 Cleo Adams@09 Dan Brown@09 Eve@01"},
			{commerce.CustomerQuery{Sort: commerce.CustomersByName}, "Eve@01 Dan Brown@09 Cleo Adams@09 bo@example.com@04 ada Zed@-"},
			// Cleo and Dan tie on their last order: the later id first.
			{commerce.CustomerQuery{Sort: commerce.CustomersByLastOrder}, "Dan Brown@09 Cleo Adams@09 bo@example.com@04 Eve@01 ada Zed@-"},
			{commerce.CustomerQuery{Sort: commerce.CustomersByLastOrder, Ascending: true}, "ada Zed@- Eve@01 bo@example.com@04 Cleo Adams@09 Dan Brown@09"},
			{commerce.CustomerQuery{Sort: commerce.CustomersByCreated}, "Dan Brown@09 bo@example.com@04 Cleo Adams@09 Eve@01 ada Zed@-"},
			{commerce.CustomerQuery{Sort: commerce.CustomersByCreated, Ascending: true}, "ada Zed@- Eve@01 Cleo Adams@09 bo@example.com@04 Dan Brown@09"},
			{commerce.CustomerQuery{Search: "example", Sort: commerce.CustomersByName, Ascending: true}, "ada Zed@- bo@example.com@04 Cleo Adams@09 Dan Brown@09 Eve@01"},
			{commerce.CustomerQuery{Search: "d", Sort: commerce.CustomersByName}, "Dan Brown@09 Cleo Adams@09 ada Zed@-"},
		} {
			if got := strings.Join(pageCustomers(t, s, shopID, tc.q), " "); got != tc.want {
				t.Errorf("%+v:\n got %s\nwant %s", tc.q, got, tc.want)
			}
		}

		// A cursor of one sort is refused by another.
		_, next, err := s.ListCustomersSorted(ctx, shopID, commerce.CustomerQuery{Sort: commerce.CustomersByName}, database.Page{Limit: 1})
		if err != nil || next == "" {
			t.Fatal(next, err)
		}
		after, _ := database.DecodeCursor(next)
		if _, _, err := s.ListCustomersSorted(ctx, shopID, commerce.CustomerQuery{Sort: commerce.CustomersByCreated}, database.Page{After: after}); !errors.Is(err, database.ErrBadCursor) {
			t.Errorf("a name cursor on the created sort: %v, want ErrBadCursor", err)
		}
	})
}

// The orders list sorts by date or by total either way and pages through
// each sort completely.
func TestOrdersSortByTotalAndPage(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := commerce.NewStore(db)
		shopID := newShop(t, db, "a.myshopify.com")
		cust := &commerce.Customer{ExternalID: "c1", Email: "ada@example.com", FirstName: "Ada"}
		totals := []int64{500, 9900, 500, 120, 4200}
		for i, total := range totals {
			o := sampleOrder(fmt.Sprint(1001+i), t0)
			o.TotalMinor = total
			o.CreatedAt = t0.Add(time.Duration(i) * time.Hour)
			if _, _, err := s.UpsertOrder(ctx, shopID, o, cust); err != nil {
				t.Fatal(err)
			}
		}
		list := func(f commerce.OrderFilter) string {
			var names []string
			p := database.Page{Limit: 2}
			for range 10 {
				page, next, err := s.ListOrders(ctx, shopID, f, p)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range page {
					names = append(names, fmt.Sprint(o.Name, "=", o.TotalMinor))
				}
				if next == "" {
					break
				}
				if p.After, err = database.DecodeCursor(next); err != nil {
					t.Fatal(err)
				}
			}
			return strings.Join(names, " ")
		}
		for _, tc := range []struct {
			f    commerce.OrderFilter
			want string
		}{
			{commerce.OrderFilter{}, "#1005=4200 #1004=120 #1003=500 #1002=9900 #1001=500"},
			{commerce.OrderFilter{Ascending: true}, "#1001=500 #1002=9900 #1003=500 #1004=120 #1005=4200"},
			{commerce.OrderFilter{Sort: commerce.OrdersByTotal}, "#1002=9900 #1005=4200 #1003=500 #1001=500 #1004=120"},
			{commerce.OrderFilter{Sort: commerce.OrdersByTotal, Ascending: true}, "#1004=120 #1001=500 #1003=500 #1005=4200 #1002=9900"},
		} {
			if got := list(tc.f); got != tc.want {
				t.Errorf("%+v:\n got %s\nwant %s", tc.f, got, tc.want)
			}
		}
	})
}
