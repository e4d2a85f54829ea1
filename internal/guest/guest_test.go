package guest_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/guest"
	"github.com/hubdesk/hubdesk/internal/jobs/jobstest"
	"github.com/hubdesk/hubdesk/internal/mail/mailtest"
	"github.com/hubdesk/hubdesk/internal/testapp"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A lookup that matches mails a link whose token opens its order once,
// in its own shop only, within LinkLifetime; the purge removes it a day
// after it expired, and the lookups' rate-limit rows an hour after the
// last one.
func TestLinksOpenOnceWithinTheirShopAndLifetime(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		c := &clock{t: time.Now().UTC().Truncate(time.Second)}
		relay := mailtest.Start(t)
		app := testapp.New(t, db, testapp.WithMail(relay.URL()), testapp.WithClock(c.Now))
		jobstest.Work(t, app.Server.Jobs)
		acme, other := app.NewTenant("acme"), app.NewTenant("other")
		o := app.NamedOrder(acme, "5001", "#5001", "Guest@Example.com")
		ctx := context.Background()
		g := app.Server.Guests

		if err := g.Request(ctx, acme.Shop.ID, guest.Lookup{OrderName: " ", Email: "guest@example.com", Address: "192.0.2.1"}); !errors.Is(err, guest.ErrInvalid) {
			t.Errorf("no order number: %v", err)
		}
		if err := g.Request(ctx, acme.Shop.ID, guest.Lookup{OrderName: "#5001", Email: "not an address", Address: "192.0.2.1"}); !errors.Is(err, guest.ErrInvalid) {
			t.Errorf("no address: %v", err)
		}
		if err := g.Request(ctx, acme.Shop.ID, guest.Lookup{OrderName: "5001", Email: "guest@example.com", Address: "192.0.2.1", Lang: "fr"}); err != nil {
			t.Fatal(err)
		}
		m := relay.WaitFor(t, "guest@example.com", 1)
		if !strings.Contains(m.Subject, "Votre lien vers la commande #5001") {
			t.Errorf("subject %q", m.Subject)
		}
		u, err := url.Parse(m.Link(t, guest.OpenPath))
		if err != nil {
			t.Fatal(err)
		}
		token := u.Query().Get("key")
		// Looking costs nothing: a mail scanner's fetch leaves it usable.
		for range 2 {
			p, err := g.Peek(ctx, 0, token)
			if err != nil || p.ShopID != acme.Shop.ID || p.OrderName != "#5001" {
				t.Fatalf("peek: %+v %v", p, err)
			}
		}
		if _, err := g.Peek(ctx, other.Shop.ID, token); !errors.Is(err, guest.ErrLinkInvalid) {
			t.Errorf("another shop peeked at the link: %v", err)
		}
		if _, err := g.Peek(ctx, 0, token+"x"); !errors.Is(err, guest.ErrLinkInvalid) {
			t.Errorf("an unknown token: %v", err)
		}
		if _, err := g.Open(ctx, other.Shop.ID, token); !errors.Is(err, guest.ErrLinkInvalid) {
			t.Errorf("another shop opened the link: %v", err)
		}
		link, err := g.Open(ctx, acme.Shop.ID, token)
		if err != nil || link.OrderID != o.ID || link.ShopID != acme.Shop.ID {
			t.Fatalf("open: %+v %v", link, err)
		}
		if _, err := g.Open(ctx, 0, token); !errors.Is(err, guest.ErrLinkInvalid) {
			t.Errorf("the link opened twice: %v", err)
		}
		if _, err := g.Peek(ctx, 0, token); !errors.Is(err, guest.ErrLinkInvalid) {
			t.Errorf("a used link still shows its page: %v", err)
		}

		if err := g.Request(ctx, acme.Shop.ID, guest.Lookup{OrderName: "#5001", Email: "guest@example.com", Address: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		u, _ = url.Parse(relay.WaitFor(t, "guest@example.com", 2).Link(t, guest.OpenPath))
		c.Add(guest.LinkLifetime)
		if _, err := g.Peek(ctx, 0, u.Query().Get("key")); !errors.Is(err, guest.ErrLinkInvalid) {
			t.Errorf("an expired link shows its page: %v", err)
		}
		if _, err := g.Open(ctx, 0, u.Query().Get("key")); !errors.Is(err, guest.ErrLinkInvalid) {
			t.Errorf("an expired link opened: %v", err)
		}
		count := func(q string) int {
			var n int
			if err := db.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if err := guest.Purge(ctx, db, c.Now()); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM hub_guest_links`); n != 2 {
			t.Errorf("%d links left right after expiry, want both kept for a day", n)
		}
		if n := count(`SELECT COUNT(*) FROM api_rate_keys WHERE key_id LIKE 'hub-guest:%'`); n != 0 {
			t.Errorf("%d rate-limit keys kept a day after their lookups", n)
		}
		c.Add(24*time.Hour + time.Second)
		if err := guest.Purge(ctx, db, c.Now()); err != nil {
			t.Fatal(err)
		}
		if n := count(`SELECT COUNT(*) FROM hub_guest_links`); n != 0 {
			t.Errorf("%d links left a day after expiry", n)
		}
	})
}
