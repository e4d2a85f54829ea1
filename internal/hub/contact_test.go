package hub_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
)

// clock is the server's time in these tests; requests read it from the
// server's goroutines while the test steps it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// clockFixture is the hub fixture on a clock the test steps.
func clockFixture(t *testing.T, db *database.DB) (*fixture, *clock) {
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	return newFixture(t, db, testapp.WithClock(c.Now)), c
}

// contactURL is the signed App Proxy URL of an order's contact form for a
// shopper, signed at the server's current time.
func (f *fixture) contactURL(c *clock, customer string, orderName string, query url.Values) string {
	return f.proxyURL("/hub/orders/"+id(f.orders[orderName])+"/contact", proxyReq{customer: customer, at: c.Now(), query: query})
}

func (f *fixture) hubTickets(shopID int64) []*ticket.Ticket {
	f.t.Helper()
	list, _, err := f.app.Server.Tickets.List(context.Background(), shopID, ticket.Filter{}, database.Page{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// One signed contact URL posted 50 times at once, as a double-clicking
// shopper or a replaying script would: one ticket with one message, and
// every post gets the same "sent" answer. The same words again once staff
// closed that ticket are a new question.
func TestContactRepeatsAddNothing(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		target := f.app.URL + f.contactURL(c, "1001", "#1002", nil)
		form := url.Values{"message": {"Where is my parcel?"}}.Encode()
		sent := "/apps/hub/orders/" + id(f.orders["#1002"]) + "?sent=1#contact"

		const posts = 50
		answers := make(chan string, posts)
		var wg sync.WaitGroup
		for range posts {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := f.app.Browser().Do(req)
				if err != nil {
					answers <- err.Error()
					return
				}
				resp.Body.Close()
				answers <- fmt.Sprintf("%d %s", resp.StatusCode, resp.Header.Get("Location"))
			})
		}
		wg.Wait()
		close(answers)
		for a := range answers {
			if a != "303 "+sent {
				t.Errorf("a post got %q, want 303 to %s", a, sent)
			}
		}
		list := f.hubTickets(f.acme.Shop.ID)
		if len(list) != 1 {
			t.Fatalf("%d posts of one message made %d tickets, want 1", posts, len(list))
		}
		msgs, _ := f.app.Server.Tickets.Messages(context.Background(), f.acme.Shop.ID, list[0].ID)
		if len(msgs) != 1 {
			t.Fatalf("the ticket has %d messages, want 1", len(msgs))
		}

		// Staff closed it: the same words now open a new ticket.
		if err := f.app.Server.Tickets.SetStatus(context.Background(), f.acme.Shop.ID, list[0].ID, ticket.StatusClosed); err != nil {
			t.Fatal(err)
		}
		res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1002", nil), url.Values{"message": {"Where is my parcel?"}})
		if res.status != http.StatusSeeOther {
			t.Fatalf("after closing: %d", res.status)
		}
		if n := len(f.hubTickets(f.acme.Shop.ID)); n != 2 {
			t.Fatalf("after closing, the repeat made %d tickets in all, want 2", n)
		}
	})
}

// A shopper may send ShopperContactLimit messages in ShopperContactWindow,
// whether they open tickets or join one.
// The next is refused in her language with the text kept in the box and
// nothing written; other shoppers are not held back; once the window has
// moved on she can write again.
func TestContactShopperLimit(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		for i := range ticket.ShopperContactLimit {
			res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1002", nil), url.Values{"message": {"Question " + strconv.Itoa(i)}})
			if res.status != http.StatusSeeOther {
				t.Fatalf("message %d: %d", i, res.status)
			}
			c.Add(time.Minute)
		}
		over := "One more <thing> & a question"
		res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1001", url.Values{"locale": {"de"}}), url.Values{"message": {over}})
		if res.status != http.StatusTooManyRequests {
			t.Fatalf("message over the limit: %d\n%s", res.status, res.body)
		}
		mustContain(t, res.body, "Sie haben in den letzten Minuten mehrere Nachrichten gesendet", `role="alert"`,
			">"+html.EscapeString(over)+"</textarea>")
		// The first message leaves the window ShopperContactWindow after it
		// was sent; ShopperContactLimit minutes have passed since.
		wantRetry := ticket.ShopperContactWindow - ticket.ShopperContactLimit*time.Minute
		if got := res.header.Get("Retry-After"); got != strconv.Itoa(int(wantRetry.Seconds())) {
			t.Errorf("Retry-After = %q, want %v", got, wantRetry)
		}
		// The messages joined her open ticket about the order: the limit
		// counts messages, not tickets.
		list := f.hubTickets(f.acme.Shop.ID)
		if len(list) != 1 {
			t.Fatalf("%d tickets after the refusal, want the one joined", len(list))
		}
		if msgs, _ := f.app.Server.Tickets.Messages(context.Background(), f.acme.Shop.ID, list[0].ID); len(msgs) != ticket.ShopperContactLimit {
			t.Fatalf("%d messages after the refusal, want %d", len(msgs), ticket.ShopperContactLimit)
		}

		// Bob is not Ada.
		if res := f.do(http.MethodPost, f.contactURL(c, "2002", "#2001", nil), url.Values{"message": {"Hello"}}); res.status != http.StatusSeeOther {
			t.Fatalf("another shopper while Ada is held back: %d", res.status)
		}

		c.Add(wantRetry)
		if res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1001", nil), url.Values{"message": {over}}); res.status != http.StatusSeeOther {
			t.Fatalf("after the window: %d\n%s", res.status, res.body)
		}
	})
}

// The shop as a whole takes ShopContactLimit hub tickets in
// ShopContactWindow, however many accounts send them.
func TestContactShopLimit(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		ctx := context.Background()
		for i := range ticket.ShopContactLimit {
			if _, err := f.app.Server.Tickets.Create(ctx, f.acme.Shop.ID, ticket.NewTicket{CustomerID: f.bob.ID, Subject: "Flood",
				Body: "Message " + strconv.Itoa(i), Channel: ticket.ChannelHub}); err != nil {
				t.Fatal(err)
			}
		}
		// Tickets from other channels and other shops do not count.
		if _, err := f.app.Server.Tickets.Create(ctx, f.acme.Shop.ID, ticket.NewTicket{Subject: "Mail", Body: "By email", Channel: ticket.ChannelEmail}); err != nil {
			t.Fatal(err)
		}
		if res := f.do(http.MethodPost, f.proxyURL("/hub/orders/"+id(f.orders["#9001"])+"/contact",
			proxyReq{shop: otherDomain, secret: otherSecret, customer: "1001", at: c.Now()}), url.Values{"message": {"Hi"}}); res.status != http.StatusSeeOther {
			t.Fatalf("another shop: %d", res.status)
		}

		c.Add(time.Minute)
		res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1002", nil), url.Values{"message": {"Where is my parcel?"}})
		if res.status != http.StatusTooManyRequests {
			t.Fatalf("over the shop's limit: %d", res.status)
		}
		mustContain(t, res.body, "receiving a lot of messages", ">Where is my parcel?</textarea>")
		list, _, _ := f.app.Server.Tickets.List(ctx, f.acme.Shop.ID, ticket.Filter{CustomerID: f.ada.ID}, database.Page{})
		if len(list) != 0 {
			t.Fatalf("the refused message was written: %+v", list[0])
		}

		c.Add(ticket.ShopContactWindow)
		if res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1002", nil), url.Values{"message": {"Where is my parcel?"}}); res.status != http.StatusSeeOther {
			t.Fatalf("an hour later: %d", res.status)
		}
	})
}

// With the helpdesk switched off (and published) the hub shows no contact
// form, a post from a page shown before is refused with the text kept, and
// a failed return does not offer one either. The preview follows the
// draft. Staff see on the ticket pages that it is off, and tickets that
// arrive another way are still kept.
func TestHelpdeskOff(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
		off := returns.DefaultConfig()
		off.General.HelpdeskEnabled = false
		o := f.orders["#1002"]

		// Draft off while not live: shoppers keep the form, the preview loses it.
		if err := f.app.Server.Settings.SetLive(ctx, f.acme.Shop.ID, false, actor); err != nil {
			t.Fatal(err)
		}
		if _, err := f.app.Server.Settings.Save(ctx, f.acme.Shop.ID, off, actor); err != nil {
			t.Fatal(err)
		}
		mustContain(t, f.get(f.adaURL("/hub/orders/"+id(o))).body, `id="contact"`, "/contact")
		manager := f.app.LoginAs(f.acme.Manager)
		_, body, _ := f.app.Do(manager, http.MethodGet, "/settings/hub-preview/orders/"+id(o)+"?customer="+itoa(f.ada.ID), "", "")
		mustContain(t, body, "Order #1002")
		mustNotContain(t, body, `id="contact"`, "/contact")

		// Published.
		f.configure(f.acme, off)
		res := f.get(f.adaURL("/hub/orders/" + id(o)))
		if res.status != http.StatusOK {
			t.Fatalf("order page: %d", res.status)
		}
		mustContain(t, res.body, "Order #1002")
		mustNotContain(t, res.body, `id="contact"`, "/contact", "Contact support")

		msg := "Where is my parcel?"
		res = f.do(http.MethodPost, f.adaURL("/hub/orders/"+id(o)+"/contact"), url.Values{"message": {msg}})
		if res.status != http.StatusForbidden {
			t.Fatalf("post with the helpdesk off: %d", res.status)
		}
		mustContain(t, res.body, "isn&#39;t taking messages here", ">"+msg+"</textarea>", "disabled>")
		if n := len(f.hubTickets(f.acme.Shop.ID)); n != 0 {
			t.Fatalf("the helpdesk is off but %d tickets were opened from the hub", n)
		}

		// Start a return on an order that cannot be returned: no contact offer.
		res = f.do(http.MethodPost, f.adaURL("/hub/orders/"+id(o)+"/return"), url.Values{})
		if res.status != http.StatusConflict {
			t.Fatalf("start a return in transit: %d", res.status)
		}
		mustContain(t, res.body, "get in touch with the store")
		mustNotContain(t, res.body, `id="contact"`, "Send us a message")

		// Another channel still lands in the helpdesk.
		tk, err := f.app.Server.Tickets.Create(ctx, f.acme.Shop.ID, ticket.NewTicket{RequesterEmail: "ada@example.com", Subject: "Sent by email",
			Body: "Hello", Channel: ticket.ChannelEmail})
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ = f.app.Do(manager, http.MethodGet, "/tickets", "", "")
		mustContain(t, body, `id="helpdesk-off"`, "The helpdesk is off.", `href="/settings/general"`, "Sent by email")
		_, body, _ = f.app.Do(manager, http.MethodGet, "/tickets/"+itoa(tk.ID), "", "")
		mustContain(t, body, `id="helpdesk-off"`)
		agent := f.app.LoginAs(f.acme.Agent)
		_, body, _ = f.app.Do(agent, http.MethodGet, "/tickets", "", "")
		mustContain(t, body, `id="helpdesk-off"`, "A manager can switch it back on in Settings → General")
		mustNotContain(t, body, `href="/settings/general"`)

		// Switched back on: the form and the quiet ticket pages return.
		f.configure(f.acme, returns.DefaultConfig())
		mustContain(t, f.get(f.adaURL("/hub/orders/"+id(o))).body, `id="contact"`)
		_, body, _ = f.app.Do(agent, http.MethodGet, "/tickets", "", "")
		mustNotContain(t, body, `id="helpdesk-off"`)
	})
}

// Once staff block a shopper's address, their next message is refused
// with a reason, their text kept, and nothing is written; other shoppers
// are not affected.
func TestContactFromABlockedSender(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		f, c := clockFixture(t, db)
		if res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1002", nil), url.Values{"message": {"Buy my stuff"}}); res.status != http.StatusSeeOther {
			t.Fatalf("first message: %d", res.status)
		}
		tickets := f.hubTickets(f.acme.Shop.ID)
		if len(tickets) != 1 {
			t.Fatalf("%d tickets", len(tickets))
		}
		if _, err := f.app.Server.Helpdesk.BlockSender(context.Background(), f.acme.Manager, tickets[0].ID); err != nil {
			t.Fatal(err)
		}
		res := f.do(http.MethodPost, f.contactURL(c, "1001", "#1001", nil), url.Values{"message": {"More <stuff>"}})
		if res.status != http.StatusForbidden {
			t.Fatalf("blocked sender: %d\n%s", res.status, res.body)
		}
		mustContain(t, res.body, "This store is not accepting messages from your address.", `role="alert"`, ">"+html.EscapeString("More <stuff>")+"</textarea>")
		if n := len(f.hubTickets(f.acme.Shop.ID)); n != 1 {
			t.Errorf("%d tickets after the refusal, want 1", n)
		}
		if res := f.do(http.MethodPost, f.contactURL(c, "2002", "#2001", nil), url.Values{"message": {"Hello"}}); res.status != http.StatusSeeOther {
			t.Errorf("another shopper: %d", res.status)
		}
	})
}
