package ticket_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// searchTickets are the conversations the search tests look through.
type searchTickets struct {
	refund, parcel, question, german int64
}

// seedSearch writes the search tests' tickets in shop A: a refund in the
// subject, one linked to Ada's customer record and order #1001, one whose
// only mention of a refund is its fifth message (and a staff note), and
// one in German.
func seedSearch(t *testing.T, f *fixture) searchTickets {
	t.Helper()
	ctx := context.Background()
	create := func(in ticket.NewTicket, more ...ticket.Message) int64 {
		t.Helper()
		in.Channel = ticket.ChannelHub
		tk, err := f.store.Create(ctx, f.shopA, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range more {
			if _, err := f.store.AddMessage(ctx, f.shopA, tk.ID, m); err != nil {
				t.Fatal(err)
			}
		}
		return tk.ID
	}
	customer := func(body string) ticket.Message { return ticket.Message{AuthorKind: ticket.AuthorCustomer, Body: body} }
	var s searchTickets
	s.refund = create(ticket.NewTicket{RequesterEmail: "grace@example.org", RequesterName: "Grace Hopper",
		Subject: "Refund for my shoes", Body: "I want my money back."})
	s.parcel = create(ticket.NewTicket{CustomerID: f.customer, OrderID: f.order, RequesterEmail: "ada@example.com",
		RequesterName: "Ada Lovelace", Subject: "Where is my parcel", Body: "It has not arrived yet."})
	s.question = create(ticket.NewTicket{RequesterEmail: "alan@example.net", RequesterName: "Alan Turing",
		Subject: "A question about sizes", Body: "Hello there."},
		customer("Do you have a size chart?"), customer("The blue one, please."), customer("Thanks for the help."),
		customer("Otherwise I would take a refund instead."),
		ticket.Message{Kind: ticket.KindNote, AuthorKind: ticket.AuthorAgent, Body: "Regular buyer, zebra pattern fan."})
	s.german = create(ticket.NewTicket{RequesterEmail: "j.mueller@example.de", RequesterName: "Jürgen Müller",
		Subject: "Größe tauschen", Body: "Die Schuhe sind zu klein. 日本語 ok 🙂"})
	return s
}

func search(t *testing.T, f *fixture, shop int64, q string, filter ticket.Filter) []int64 {
	t.Helper()
	found, _, err := f.store.Search(context.Background(), shop, q, filter, database.Page{})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	ids := []int64{}
	for _, tk := range found {
		if tk.ShopID != shop {
			t.Fatalf("search %q in shop %d returned ticket %d of shop %d", q, shop, tk.ID, tk.ShopID)
		}
		ids = append(ids, tk.ID)
	}
	return ids
}

// TestSearchFindsByEveryField searches subjects, messages, notes, the
// requester, the linked customer and order, prefixes and other scripts,
// and ranks a subject match above a word deep in the conversation.
func TestSearchFindsByEveryField(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		s := seedSearch(t, f)
		cases := []struct {
			q    string
			want []int64 // in this order
		}{
			{"refund", []int64{s.refund, s.question}}, // subject first, fifth message after
			{"REFUND", []int64{s.refund, s.question}},
			{"refu", []int64{s.refund, s.question}}, // the last word is a prefix
			{"money back", []int64{s.refund}},
			{"grace hopper", []int64{s.refund}},
			{"hopper shoes", []int64{s.refund}}, // requester and subject together
			{"example.org", []int64{s.refund}},
			{"ada@example.com", []int64{s.parcel}},
			{"ADA@EXAMPLE.COM", []int64{s.parcel}},
			{"ada", []int64{s.parcel}},
			{"lovelace parcel", []int64{s.parcel}},
			{"1001", []int64{s.parcel}}, // the linked order's name
			{"#1001", []int64{s.parcel}},
			{"zebra", []int64{s.question}}, // a staff note
			{"chart", []int64{s.question}},
			{"alan@example.net", []int64{s.question}},
			{"müller", []int64{s.german}},
			{"MÜLLER", []int64{s.german}},
			{"größe", []int64{s.german}},
			{"j.mueller", []int64{s.german}},
			{"日本語", []int64{s.german}},
			{"parcel refund", []int64{}}, // every word must be found
			{"nothing-like-this", []int64{}},
			{"", []int64{}},
		}
		for _, c := range cases {
			if got := search(t, f, f.shopA, c.q, ticket.Filter{}); !slices.Equal(got, c.want) {
				t.Errorf("search %q = %v, want %v", c.q, got, c.want)
			}
		}
	})
}

// TestSearchTreatsSyntaxAsText gives the search what would be query syntax
// in FTS5 or tsquery: it is text, never an error.
func TestSearchTreatsSyntaxAsText(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		s := seedSearch(t, f)
		refunds := []int64{s.refund, s.question}
		cases := []struct {
			q    string
			want []int64 // nil: any answer, as long as there is no error
		}{
			{`"`, []int64{}},
			{`""`, []int64{}},
			{`*`, []int64{}},
			{`'`, []int64{}},
			{`\`, []int64{}},
			{`:`, []int64{}},
			{`-`, []int64{}},
			{`(`, []int64{}},
			{`&|!<->`, []int64{}},
			{`a:b`, nil},
			{`refund:*`, refunds},
			{`"refund`, refunds},
			{`refund"`, refunds},
			{`refund*`, refunds},
			{`-refund`, refunds}, // not a negation
			{`!refund`, refunds},
			{`NEAR(refund`, []int64{}}, // "near" is a word here, and no ticket has it
			{`NEAR(refund parcel, 2)`, []int64{}},
			{`refund OR parcel`, []int64{}},
			{`refund AND`, nil},
			{`NOT refund`, []int64{}},
			{`subject:refund`, []int64{}},
			{`{subject related}: refund`, []int64{}},
			{`refund'); DROP TABLE tickets; --`, []int64{}},
			{`ada@example.com'`, []int64{s.parcel}},
			{strings.Repeat("a", 10_240), []int64{}},
			{strings.Repeat("refund ", 1_500), refunds},
			{strings.Repeat(`"*:-( `, 2_000), []int64{}},
			{"🙂", []int64{}},
			{"\u200b\u00a0\t", []int64{}},
			{"e\u0301", nil}, // a combining mark
		}
		for _, c := range cases {
			got := search(t, f, f.shopA, c.q, ticket.Filter{})
			if c.want != nil && !slices.Equal(got, c.want) {
				t.Errorf("search %.40q = %v, want %v", c.q, got, c.want)
			}
		}
		// The tickets are all still there.
		if got := search(t, f, f.shopA, "refund", ticket.Filter{}); !slices.Equal(got, refunds) {
			t.Errorf("after the hostile searches: %v", got)
		}
	})
}

// TestSearchStaysInItsShop: another shop's tickets with the same words are
// never found, whatever the query.
func TestSearchStaysInItsShop(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := seedSearch(t, f)
		other, err := f.store.Create(ctx, f.shopB, ticket.NewTicket{RequesterEmail: "ada@example.com", RequesterName: "Ada Lovelace",
			Subject: "Refund for order #1001", Body: "zebra refund", Channel: ticket.ChannelHub})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"refund", "ada@example.com", "1001", "zebra", "refu"} {
			for _, id := range search(t, f, f.shopA, q, ticket.Filter{}) {
				if id == other.ID {
					t.Errorf("search %q in shop A found shop B's ticket", q)
				}
			}
			if got := search(t, f, f.shopB, q, ticket.Filter{}); !slices.Equal(got, []int64{other.ID}) {
				t.Errorf("search %q in shop B = %v, want only its ticket %d", q, got, other.ID)
			}
		}
		if got := search(t, f, f.shopB, "grace", ticket.Filter{}); len(got) != 0 {
			t.Errorf("shop B found shop A's ticket %v", got)
		}
		_ = s
	})
}

// TestSearchFiltersAndPages combines the search with the status filter
// and walks its pages: each ticket once, in rank order.
func TestSearchFiltersAndPages(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := seedSearch(t, f)
		if err := f.store.SetStatus(ctx, f.shopA, s.refund, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		if got := search(t, f, f.shopA, "refund", ticket.Filter{Status: ticket.StatusClosed}); !slices.Equal(got, []int64{s.refund}) {
			t.Errorf("closed refunds = %v", got)
		}
		if got := search(t, f, f.shopA, "refund", ticket.Filter{Status: ticket.StatusOpen}); !slices.Equal(got, []int64{s.question}) {
			t.Errorf("open refunds = %v", got)
		}
		if got := search(t, f, f.shopA, "parcel", ticket.Filter{CustomerID: f.customer, OrderID: f.order}); !slices.Equal(got, []int64{s.parcel}) {
			t.Errorf("the customer's parcel tickets = %v", got)
		}

		// Tickets that rank alike (ties broken by id) and others that rank apart.
		for i := range 7 {
			subject, body := "Wombat", "nothing"
			if i%2 == 0 {
				subject, body = "Hello", strings.Repeat("wombat ", i+1)
			}
			if _, err := f.store.Create(ctx, f.shopA, ticket.NewTicket{Subject: subject, Body: body, Channel: ticket.ChannelHub}); err != nil {
				t.Fatal(err)
			}
		}
		all := search(t, f, f.shopA, "wombat", ticket.Filter{})
		if len(all) != 7 {
			t.Fatalf("one page of wombats = %v", all)
		}
		var walked []int64
		page := database.Page{Limit: 2}
		for range 10 {
			found, next, err := f.store.Search(ctx, f.shopA, "wombat", ticket.Filter{}, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, tk := range found {
				walked = append(walked, tk.ID)
			}
			if next == "" {
				break
			}
			if page.After, err = database.DecodeCursor(next); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(walked, all) {
			t.Errorf("pages of 2 = %v, one page = %v", walked, all)
		}
	})
}

// TestSearchFollowsChanges: what is written is found at once, what is
// changed or deleted is no longer found by its old words.
func TestSearchFollowsChanges(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		s := seedSearch(t, f)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Exec(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		expect := func(q string, want ...int64) {
			t.Helper()
			if want == nil {
				want = []int64{}
			}
			if got := search(t, f, f.shopA, q, ticket.Filter{}); !slices.Equal(got, want) {
				t.Errorf("search %q = %v, want %v", q, got, want)
			}
		}

		m, err := f.store.AddMessage(ctx, f.shopA, s.parcel, ticket.Message{AuthorKind: ticket.AuthorAgent, Body: "A kangaroo took it."})
		if err != nil {
			t.Fatal(err)
		}
		expect("kangaroo", s.parcel)
		expect("arrived kangaroo", s.parcel) // the first message is still there

		exec(`UPDATE ticket_messages SET body = ? WHERE id = ?`, "An emu took it.", m.ID)
		expect("kangaroo")
		expect("emu", s.parcel)
		exec(`DELETE FROM ticket_messages WHERE id = ?`, m.ID)
		expect("emu")
		expect("arrived", s.parcel)

		exec(`UPDATE tickets SET requester_name = ?, subject = ? WHERE id = ?`, "Grace Brewster", "Refund for my boots", s.refund)
		expect("hopper")
		expect("brewster boots", s.refund)
		expect("money", s.refund) // the conversation is kept

		exec(`UPDATE customers SET email = ?, first_name = ?, last_name = ? WHERE id = ?`, "countess@example.com", "Augusta", "King", f.customer)
		expect("augusta king", s.parcel)
		expect("countess@example.com", s.parcel)
		exec(`UPDATE orders SET name = ? WHERE id = ?`, "#2002", f.order)
		expect("2002", s.parcel)
		expect("1001")
		exec(`DELETE FROM customers WHERE id = ?`, f.customer) // the ticket's link is cleared
		expect("augusta")
		expect("ada", s.parcel) // the requester's own address stays

		exec(`DELETE FROM tickets WHERE id = ?`, s.question)
		expect("zebra")
		expect("refund", s.refund)
		var left int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM ticket_search`).Scan(&left); err != nil || left != 3 {
			t.Errorf("search documents after a delete = %d, %v; want 3", left, err)
		}

		// What the triggers kept equals what the index would be rebuilt to.
		switch db.Dialect {
		case database.SQLite:
			exec(`INSERT INTO ticket_search (ticket_search, rank) VALUES ('integrity-check', 1)`)
		case database.Postgres:
			var stale int
			if err := db.QueryRow(ctx, `SELECT count(*) FROM ticket_search WHERE document <> ticket_search_document(ticket_id)`).Scan(&stale); err != nil || stale != 0 {
				t.Errorf("documents unlike their rebuild: %d, %v", stale, err)
			}
		}
	})
}

// TestSearchMigrationIndexesExistingTickets: tickets written before the
// search index existed are found once it is migrated in.
func TestSearchMigrationIndexesExistingTickets(t *testing.T) {
	const searchMigration = 12
	dbtest.ForEachAt(t, searchMigration-1, func(t *testing.T, db *database.DB) {
		f := newOldSchemaFixture(t, db)
		s := seedSearch(t, f)
		// To the latest migration: the search reads every ticket column the
		// code knows, some added after the index.
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := search(t, f, f.shopA, "refund", ticket.Filter{}); !slices.Equal(got, []int64{s.refund, s.question}) {
			t.Errorf("refund = %v", got)
		}
		if got := search(t, f, f.shopA, "ada 1001 arrived", ticket.Filter{}); !slices.Equal(got, []int64{s.parcel}) {
			t.Errorf("ada 1001 arrived = %v", got)
		}
	})
}

// TestSearchRanksTheNewestMatches: past the rank window, a search ranks the
// shop's newest matching tickets — never crowded out by another shop's
// newer ones.
func TestSearchRanksTheNewestMatches(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		create := func(shop int64, subject, body string) int64 {
			t.Helper()
			tk, err := f.store.Create(ctx, shop, ticket.NewTicket{Subject: subject, Body: body, Channel: ticket.ChannelHub})
			if err != nil {
				t.Fatal(err)
			}
			return tk.ID
		}
		oldBest := create(f.shopA, "Wombat wombat", "wombat")
		older := create(f.shopA, "Hello", "a wombat")
		newer := create(f.shopA, "Wombat", "hi")
		newest := create(f.shopA, "Hi", "wombat")
		for range 5 {
			create(f.shopB, "Wombat", "wombat wombat")
		}
		store := f.store.WithRankWindow(3)
		found, next, err := store.Search(ctx, f.shopA, "wombat", ticket.Filter{}, database.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, tk := range found {
			got = append(got, tk.ID)
		}
		if want := []int64{newer, newest, older}; !slices.Equal(got, want) || next != "" {
			t.Errorf("window of 3 = %v (next %q), want the newest three ranked %v; the best-ranked %d is older", got, next, want, oldBest)
		}
		if got := search(t, f, f.shopA, "wombat", ticket.Filter{}); len(got) != 4 || !slices.Contains(got[:2], oldBest) {
			t.Errorf("the default window ranks all four, %d among the first two: %v", oldBest, got)
		}
	})
}
