package ticket_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/fixtures"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

type fixture struct {
	store        *ticket.Store
	shopA, shopB int64
	customer     int64
	order        int64
}

func newFixture(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	a, b := fixtures.Shop(t, db, "a"), fixtures.Shop(t, db, "b")
	now := time.Now().UTC().Truncate(time.Second)
	o, _, err := commerce.NewStore(db).UpsertOrder(ctx, a.ID, commerce.Order{ExternalID: "1", Name: "#1001", Currency: "USD", CreatedAt: now, UpdatedAt: now},
		&commerce.Customer{ExternalID: "c1", Email: "ada@example.com", FirstName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: ticket.NewStore(db, nil), shopA: a.ID, shopB: b.ID, customer: o.CustomerID, order: o.ID}
}

// newOldSchemaFixture is newFixture for a database at an older migration:
// today's commerce store writes columns later migrations add, so the
// customer and the order go in by SQL with the columns every migration has.
func newOldSchemaFixture(t *testing.T, db *database.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	a, b := fixtures.Shop(t, db, "a"), fixtures.Shop(t, db, "b")
	now := time.Now().UTC().Truncate(time.Second)
	var customer, order int64
	if err := db.ExecReturning(ctx, `INSERT INTO customers (shop_id, external_id, email, first_name, created_at, updated_at)
		VALUES (?, 'c1', 'ada@example.com', 'Ada', ?, ?) RETURNING id`, a.ID, database.Time(now), database.Time(now)).Scan(&customer); err != nil {
		t.Fatal(err)
	}
	if err := db.ExecReturning(ctx, `INSERT INTO orders (shop_id, external_id, customer_id, name, email, currency, created_at, updated_at)
		VALUES (?, '1', ?, '#1001', 'ada@example.com', 'USD', ?, ?) RETURNING id`, a.ID, customer, database.Time(now), database.Time(now)).Scan(&order); err != nil {
		t.Fatal(err)
	}
	return &fixture{store: ticket.NewStore(db, nil), shopA: a.ID, shopB: b.ID, customer: customer, order: order}
}

func TestCreateReadAndScope(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		tk, err := f.store.Create(ctx, f.shopA, ticket.NewTicket{
			CustomerID: f.customer, OrderID: f.order, RequesterEmail: "ada@example.com", RequesterName: "Ada",
			Subject: "Order #1001:\n  where is it?", Channel: ticket.ChannelHub, Body: "  Where is my parcel?  ",
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.store.Get(ctx, f.shopA, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != "Order #1001: where is it?" || got.Status != ticket.StatusOpen || got.Channel != ticket.ChannelHub ||
			got.CustomerID != f.customer || got.OrderID != f.order || got.AssigneeID != 0 || got.ClosedAt != nil {
			t.Errorf("stored ticket = %+v", got)
		}
		msgs, err := f.store.Messages(ctx, f.shopA, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].Body != "Where is my parcel?" || msgs[0].AuthorKind != ticket.AuthorCustomer || msgs[0].Kind != ticket.KindMessage {
			t.Errorf("messages = %+v", msgs)
		}
		// Another shop sees nothing.
		if _, err := f.store.Get(ctx, f.shopB, tk.ID); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("shop B reads shop A's ticket: %v", err)
		}
		if msgs, _ := f.store.Messages(ctx, f.shopB, tk.ID); len(msgs) != 0 {
			t.Errorf("shop B reads shop A's messages: %v", msgs)
		}
		if list, _, _ := f.store.List(ctx, f.shopB, ticket.Filter{}, database.Page{}); len(list) != 0 {
			t.Errorf("shop B lists shop A's tickets: %v", list)
		}
		if _, err := f.store.AddMessage(ctx, f.shopB, tk.ID, ticket.Message{AuthorKind: ticket.AuthorAgent, Body: "x"}); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("shop B writes into shop A's ticket: %v", err)
		}
		if err := f.store.SetStatus(ctx, f.shopB, tk.ID, ticket.StatusClosed); !errors.Is(err, ticket.ErrNotFound) {
			t.Errorf("shop B closes shop A's ticket: %v", err)
		}
	})
}

func TestValidation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for name, in := range map[string]ticket.NewTicket{
			"no subject": {Channel: ticket.ChannelHub, Body: "hi"},
			"no body":    {Channel: ticket.ChannelHub, Subject: "s", Body: "   "},
			"no channel": {Subject: "s", Body: "hi"},
			"too long":   {Channel: ticket.ChannelHub, Subject: "s", Body: strings.Repeat("x", ticket.MaxBodyRunes+1)},
		} {
			var ve *ticket.ValidationError
			if _, err := f.store.Create(ctx, f.shopA, in); !errors.As(err, &ve) {
				t.Errorf("%s: err = %v, want a validation error", name, err)
			}
		}
		long, err := f.store.Create(ctx, f.shopA, ticket.NewTicket{Channel: ticket.ChannelAPI, Subject: strings.Repeat("é", 300), Body: "b"})
		if err != nil {
			t.Fatal(err)
		}
		if n := len([]rune(long.Subject)); n != ticket.MaxSubjectRunes {
			t.Errorf("subject cut to %d runes, want %d", n, ticket.MaxSubjectRunes)
		}
	})
}

func TestListStatusAndActivity(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		var ids []int64
		for i := range 5 {
			tk, err := f.store.Create(ctx, f.shopA, ticket.NewTicket{Channel: ticket.ChannelHub, Subject: "t" + string(rune('a'+i)), Body: "b", CustomerID: f.customer})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, tk.ID)
		}
		// Walk pages of two; every ticket once, newest activity first.
		var seen []int64
		p := database.Page{Limit: 2}
		for range 10 {
			page, next, err := f.store.List(ctx, f.shopA, ticket.Filter{}, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range page {
				seen = append(seen, tk.ID)
			}
			if next == "" {
				break
			}
			if p.After, err = database.DecodeCursor(next); err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != 5 {
			t.Fatalf("paged through %v, want 5 tickets", seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] > seen[i-1] {
				t.Errorf("order %v is not newest first", seen)
			}
		}

		// Closing, then a shopper's reply reopens; an agent's note does not.
		first := ids[0]
		if err := f.store.SetStatus(ctx, f.shopA, first, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		if closed, _, _ := f.store.List(ctx, f.shopA, ticket.Filter{Status: ticket.StatusClosed}, database.Page{}); len(closed) != 1 || closed[0].ClosedAt == nil {
			t.Fatalf("closed list = %v", closed)
		}
		if _, err := f.store.AddMessage(ctx, f.shopA, first, ticket.Message{Kind: ticket.KindNote, AuthorKind: ticket.AuthorAgent, Body: "note"}); err != nil {
			t.Fatal(err)
		}
		if tk, _ := f.store.Get(ctx, f.shopA, first); tk.Status != ticket.StatusClosed {
			t.Errorf("a note changed the status to %s", tk.Status)
		}
		if _, err := f.store.AddMessage(ctx, f.shopA, first, ticket.Message{AuthorKind: ticket.AuthorCustomer, Body: "again"}); err != nil {
			t.Fatal(err)
		}
		tk, _ := f.store.Get(ctx, f.shopA, first)
		if tk.Status != ticket.StatusOpen || tk.ClosedAt != nil {
			t.Errorf("after the shopper's reply: status %s closed_at %v", tk.Status, tk.ClosedAt)
		}
		if msgs, _ := f.store.Messages(ctx, f.shopA, first); len(msgs) != 3 {
			t.Errorf("messages = %d, want 3", len(msgs))
		}
		if byCustomer, _, _ := f.store.List(ctx, f.shopA, ticket.Filter{CustomerID: f.customer}, database.Page{Limit: 100}); len(byCustomer) != 5 {
			t.Errorf("by customer = %d, want 5", len(byCustomer))
		}
		if err := f.store.SetStatus(ctx, f.shopA, first, "bogus"); err == nil {
			t.Error("an unknown status was accepted")
		}
	})
}
