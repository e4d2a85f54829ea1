package desk_test

import (
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

var (
	customerLinks = regexp.MustCompile(`<a href="/customers/\d+">([^<]+)</a>`)
	orderLinks    = regexp.MustCompile(`<a href="/orders/\d+">([^<]+)</a>`)
	pagerLink     = regexp.MustCompile(`<div class="pager"><a class="button secondary" href="([^"]+)"`)
	sortedHeader  = regexp.MustCompile(`<th aria-sort="(ascending|descending)"[^>]*><a class="sort" href="([^"]+)">([^<]+)`)
)

// The customers and orders lists sort by their column headers: each is
// a link, the sorted one says so with aria-sort and reverses the order,
// the sort stays in the URL of the next page, and the next page follows
// on in the same order.
func TestListsSortFromTheirHeaders(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		other := app.NewTenant("shopb")
		base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		for i, c := range []struct {
			first, last string
			total       int64
		}{{"Cleo", "Adams", 500}, {"Ada", "Zed", 9900}, {"Bo", "Marsh", 120}} {
			at := base.Add(time.Duration(i) * time.Hour)
			app.Ingest(tn.Shop.ID, commerce.Order{ExternalID: c.first, Name: "#10" + c.first, Currency: "USD", TotalMinor: c.total, CreatedAt: at, UpdatedAt: at},
				&commerce.Customer{ExternalID: "c-" + c.first, Email: strings.ToLower(c.first) + "@example.com", FirstName: c.first, LastName: c.last, CreatedAt: at, UpdatedAt: at})
		}
		app.Ingest(other.Shop.ID, commerce.Order{ExternalID: "x", Name: "#1Aaron", Currency: "USD", TotalMinor: 1, CreatedAt: base, UpdatedAt: base},
			&commerce.Customer{ExternalID: "c-x", Email: "aaron@example.com", FirstName: "Aaron", CreatedAt: base, UpdatedAt: base})
		agent := app.LoginAs(tn.Agent)
		get := func(path string) string {
			t.Helper()
			status, body, _ := app.Do(agent, http.MethodGet, path, "", "")
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, status, body)
			}
			return body
		}
		names := func(re *regexp.Regexp, body string) string {
			var out []string
			for _, m := range re.FindAllStringSubmatch(body, -1) {
				out = append(out, html.UnescapeString(m[1]))
			}
			return strings.Join(out, ", ")
		}
		sorted := func(body string) (aria, href, label string) {
			t.Helper()
			m := sortedHeader.FindAllStringSubmatch(body, -1)
			if len(m) != 1 {
				t.Fatalf("%d headers with aria-sort, want 1", len(m))
			}
			return m[0][1], html.UnescapeString(m[0][2]), strings.TrimSpace(m[0][3])
		}

		// Newest first by default, on the column that says so.
		body := get("/customers")
		if got := names(customerLinks, body); got != "Bo Marsh, Ada Zed, Cleo Adams" {
			t.Errorf("customers by default: %s", got)
		}
		if aria, href, label := sorted(body); aria != "descending" || label != "Customer since" || href != "/customers?dir=asc&sort=created" {
			t.Errorf("default sorted header: %s %s %s", aria, href, label)
		}
		if !strings.Contains(body, `<a class="sort" href="/customers?dir=asc&amp;sort=name">Name</a>`) || !strings.Contains(body, `<a class="sort" href="/customers?dir=desc&amp;sort=last_order">Last order</a>`) {
			t.Errorf("the name and last order headers do not sort:\n%s", body)
		}

		// By name, one row a page: the pager keeps the sort and the search.
		body = get("/customers?q=example&sort=name&dir=asc&limit=1")
		if got := names(customerLinks, body); got != "Ada Zed" {
			t.Errorf("first page by name: %s", got)
		}
		if aria, href, _ := sorted(body); aria != "ascending" || href != "/customers?dir=desc&q=example&sort=name" {
			t.Errorf("sorted by name: %s %s", aria, href)
		}
		m := pagerLink.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no next page")
		}
		next := html.UnescapeString(m[1])
		if !strings.Contains(next, "sort=name") || !strings.Contains(next, "dir=asc") || !strings.Contains(next, "q=example") {
			t.Errorf("the next page's link %s lost the sort or the search", next)
		}
		if got := names(customerLinks, get(next)); got != "Bo Marsh, Cleo Adams" {
			t.Errorf("second page by name: %s", got)
		}
		// A cursor of the name sort is no page of another sort.
		cursor := next[strings.Index(next, "cursor=")+len("cursor="):]
		cursor, _, _ = strings.Cut(cursor, "&")
		if status, _, _ := app.Do(agent, http.MethodGet, "/customers?sort=created&cursor="+cursor, "", ""); status != http.StatusBadRequest {
			t.Errorf("a name cursor on the created sort: %d, want 400", status)
		}

		// Orders by total, both ways.
		body = get("/orders?sort=total")
		if got := names(orderLinks, body); got != "#10Ada, #10Cleo, #10Bo" {
			t.Errorf("orders by total: %s", got)
		}
		if aria, href, label := sorted(body); aria != "descending" || label != "Total" || href != "/orders?dir=asc&sort=total" {
			t.Errorf("orders sorted header: %s %s %s", aria, href, label)
		}
		if got := names(orderLinks, get("/orders?sort=total&dir=asc")); got != "#10Bo, #10Cleo, #10Ada" {
			t.Errorf("orders by total ascending: %s", got)
		}
		if got := names(orderLinks, get("/orders")); got != "#10Bo, #10Ada, #10Cleo" {
			t.Errorf("orders by default: %s", got)
		}
	})
}

// The order page adds up the order as the shopper paid it: each line's
// total, then subtotal, shipping, tax and total; and the shipping address
// reads as its country's post writes it, as does the customer's own.
func TestOrderPageShowsTotalsAndTheAddressAsItsCountryWritesIt(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		app := testapp.New(t, db)
		tn := app.NewTenant("shopa")
		at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		o := app.Ingest(tn.Shop.ID, commerce.Order{ExternalID: "1", Name: "#1001", Currency: "GBP", CreatedAt: at, UpdatedAt: at,
			SubtotalMinor: 5400, ShippingMinor: 495, TaxMinor: 1080, TotalMinor: 6975,
			ShippingAddress: commerce.Address{Name: "Ada Lovelace", Address1: "12 Upper St", City: "London", Zip: "N1 9GU", CountryCode: "GB"},
			LineItems: []commerce.LineItem{{ExternalID: "l1", Title: "Wool socks", Quantity: 3, CurrentQuantity: 2, PriceMinor: 1200},
				{ExternalID: "l2", Title: "Beanie", Quantity: 1, CurrentQuantity: 1, PriceMinor: 3000}},
		}, &commerce.Customer{ExternalID: "c1", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", CreatedAt: at, UpdatedAt: at,
			DefaultAddress: commerce.Address{Name: "Ada Lovelace", Address1: "1 Main St", City: "San Francisco", Province: "CA", Zip: "94103", CountryCode: "US"}})
		agent := app.LoginAs(tn.Agent)
		text := func(path string) string {
			t.Helper()
			status, body, _ := app.Do(agent, http.MethodGet, path, "", "")
			if status != http.StatusOK {
				t.Fatalf("GET %s: %d", path, status)
			}
			body = regexp.MustCompile(`<br>`).ReplaceAllString(body, " | ")
			body = regexp.MustCompile(`<[^>]+>`).ReplaceAllString(body, " ")
			return strings.Join(strings.Fields(html.UnescapeString(body)), " ")
		}
		page := text("/orders/" + strconv.FormatInt(o.ID, 10))
		for _, want := range []string{
			"Ada Lovelace | 12 Upper St | London | N1 9GU | United Kingdom",
			"Wool socks 2 (of 3) £12.00 £24.00",
			"Beanie 1 £30.00 £30.00",
			"Subtotal £54.00 Shipping £4.95 Tax £10.80 Total £69.75",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the order page lacks %q:\n%s", want, page)
			}
		}
		if page := text("/customers/" + strconv.FormatInt(o.CustomerID, 10)); !strings.Contains(page, "Address Ada Lovelace | 1 Main St | San Francisco, CA 94103 | United States") {
			t.Errorf("the customer page lacks the US address:\n%s", page)
		}
	})
}
