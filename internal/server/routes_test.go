package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/attachment"
	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/database/dbtest"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/integration/shopify"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/mail"
	"github.com/hubdesk/hubdesk/internal/privacy"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/server"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/staff"
	"github.com/hubdesk/hubdesk/internal/testapp"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// credential is how a route's callers prove who they are.
type credential int

const (
	public  credential = iota // nothing asked
	session                   // the desk's session cookie; no session → 303 to /login
	bearer                    // an API token; none → 401
	shopper                   // an App Proxy signature; none → 401
	// grantHolder: a guest's grant to one order in the URL is the
	// credential, whoever sends it; without it → 401.
	grantHolder
)

// accessRule is the access a route declares in the route list: the
// credential and, for staff, the least role.
type accessRule struct {
	cred credential
	min  user.Role
}

var (
	anyone      = accessRule{cred: public}
	deskUser    = accessRule{session, user.RoleAgent}
	deskManager = accessRule{session, user.RoleManager}
	deskAdmin   = accessRule{session, user.RoleAdmin}
	apiAgent    = accessRule{bearer, user.RoleAgent}
	apiManager  = accessRule{bearer, user.RoleManager}
	apiAdmin    = accessRule{bearer, user.RoleAdmin}
	signedIn    = accessRule{cred: shopper}
	guestGrant  = accessRule{cred: grantHolder}
)

// routeWorld is what the route table's requests name: shop A, whose
// callers ask, and shop B, whose ids they must not reach.
type routeWorld struct {
	// header is added to every request expect sends (the cross-site
	// test's Origin and Sec-Fetch-Site).
	header  http.Header
	app     *testapp.App
	a, b    *testapp.Tenant
	orders  map[*testapp.Tenant]*commerce.Order
	extra   map[*testapp.Tenant]*user.User // staff for the owners and admins to act on
	tickets map[*testapp.Tenant]int64
	// conversations: a ticket of the hub's shopper that the desk rows
	// leave alone (the shop's ticket above is marked spam and its sender
	// blocked), for the hub's Messages routes.
	conversations map[*testapp.Tenant]int64
	files         map[*testapp.Tenant]int64 // an attachment of the shop's ticket
	macros        map[*testapp.Tenant]int64
	jobs          map[*testapp.Tenant]int64
	sessions      map[user.Role]*http.Client
	emails        int
	made          int // macros made for deleting
}

// routeCase is one row of the route table: a concrete request for the
// pattern (tn is the shop whose ids it names, as the caller u) and the
// status a caller the rule admits gets — the handler's own answer, which
// for some requests here is a refusal past the access rule (409: the
// order is not delivered, so no return yet; 422: a preview sends
// nothing).
type routeCase struct {
	pattern string
	rule    accessRule
	url     func(w *routeWorld, tn *testapp.Tenant, u *user.User) string
	body    string // a form for the desk and the hub, JSON for the API
	// bodyFn, when set, makes a fresh body for each request (a new email
	// to invite, say).
	bodyFn func(w *routeWorld) string
	ok     int
	list   bool // takes ?limit=&cursor=
}

func fixed(path string) func(*routeWorld, *testapp.Tenant, *user.User) string {
	return func(*routeWorld, *testapp.Tenant, *user.User) string { return path }
}

// withID fills the pattern's {id} with the id pick gives for the shop.
func withID(path string, pick func(w *routeWorld, tn *testapp.Tenant, u *user.User) int64) func(*routeWorld, *testapp.Tenant, *user.User) string {
	return func(w *routeWorld, tn *testapp.Tenant, u *user.User) string {
		return strings.Replace(path, "{id}", fmt.Sprint(pick(w, tn, u)), 1)
	}
}

func orderID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 { return w.orders[tn].ID }

// unlinkedReturnID is a return of the shop waiting for its order: Loop
// named it only by a name two of the shop's orders carry.
func unlinkedReturnID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	ctx := context.Background()
	r, err := w.app.Server.Returns.Get(ctx, tn.Shop.ID, returns.ProviderLoop, "unlinked-"+tn.Shop.Domain)
	if err == nil {
		return r.ID
	}
	name := "#77" + fmt.Sprint(tn.Shop.ID)
	w.app.NamedOrder(tn, "9901"+fmt.Sprint(tn.Shop.ID), name, "one@example.com")
	w.app.NamedOrder(tn, "9902"+fmt.Sprint(tn.Shop.ID), name, "two@example.com")
	if _, err := w.app.Server.Returns.Upsert(ctx, tn.Shop.ID, returns.Return{Provider: returns.ProviderLoop,
		ExternalID: "unlinked-" + tn.Shop.Domain, OrderName: name, State: returns.StateOpen}); err != nil {
		w.app.T.Fatal(err)
	}
	if r, err = w.app.Server.Returns.Get(ctx, tn.Shop.ID, returns.ProviderLoop, "unlinked-"+tn.Shop.Domain); err != nil || !r.OrderAmbiguous {
		w.app.T.Fatalf("unlinked return: %v %+v", err, r)
	}
	return r.ID
}

// mailboxID is a mail in the demo mailbox, which is shop A's (the demo's
// one shop): shop B has none.
func mailboxID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	if tn == w.a {
		return 1
	}
	return 1_000_000
}
func customerID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	return w.orders[tn].CustomerID
}
func staffID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64  { return w.extra[tn].ID }
func ticketID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 { return w.tickets[tn] }
func jobID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64    { return w.jobs[tn] }
func macroID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64  { return w.macros[tn] }

// portalQR is the QR download of the shop's portal link: it publishes a
// portal provider for shop tn (live, so the save is published; the link
// is then one Initiate return gives) and names the link.
func portalQR(w *routeWorld, tn *testapp.Tenant, _ *user.User) string {
	const portal = "https://returns.example.com/"
	w.app.T.Helper()
	ctx := context.Background()
	actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
	if _, err := w.app.Server.Settings.Update(ctx, tn.Shop.ID, actor, func(c *returns.Config) error {
		c.Returns = returns.ReturnsConfig{Provider: returns.ProviderOther, PortalURL: portal, LookupField: returns.LookupZip, PortalLookup: returns.LookupEmail}
		return nil
	}); err != nil {
		w.app.T.Fatal(err)
	}
	return fmt.Sprintf("/orders/%d/return-qr.png?url=%s", w.orders[tn].ID, url.QueryEscape(portal))
}

// ticketAnd fills {id} with the shop's ticket and {name} with the id pick
// gives for the same shop.
func ticketAnd(path, name string, pick func(w *routeWorld, tn *testapp.Tenant, u *user.User) int64) func(*routeWorld, *testapp.Tenant, *user.User) string {
	return func(w *routeWorld, tn *testapp.Tenant, u *user.User) string {
		return strings.NewReplacer("{id}", fmt.Sprint(w.tickets[tn]), "{"+name+"}", fmt.Sprint(pick(w, tn, u))).Replace(path)
	}
}

func conversationID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	return w.conversations[tn]
}

func fileID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 { return w.files[tn] }

// freshMacroID is a new macro of the shop, for a request that deletes
// one.
func freshMacroID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	w.made++
	m, err := w.app.Server.Macros.Create(context.Background(), tn.Manager, macro.Input{Name: fmt.Sprint("Doomed ", w.made), Body: "Bye"})
	if err != nil {
		w.app.T.Fatal(err)
	}
	return m.ID
}

// privacyExportID is a fresh data request's export of the shop, about its
// first customer.
func privacyExportID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	var id int64
	err := w.app.DB.InTx(context.Background(), func(tx *database.Tx) error {
		var err error
		id, err = w.app.Server.Privacy.Export(context.Background(), tx, tn.Shop.ID, privacy.Customer{Email: "someone@example.com"}, "req-1")
		return err
	})
	if err != nil {
		w.app.T.Fatal(err)
	}
	return id
}

// invitationID is a fresh pending invitation of the shop, sent by its
// owner.
func invitationID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	inv, _ := w.invite(tn)
	return inv.ID
}

// invitationLink opens a fresh invitation to shop A.
func invitationLink(w *routeWorld, _ *testapp.Tenant, _ *user.User) string {
	_, link := w.invite(w.a)
	return strings.TrimPrefix(link.URL, w.app.URL)
}

// resetLink opens a fresh password reset of shop A's extra staff member.
func resetLink(w *routeWorld, _ *testapp.Tenant, _ *user.User) string {
	_, link, err := w.app.Server.Team.MakeResetLink(context.Background(), w.a.Owner, w.extra[w.a].ID)
	if err != nil {
		w.app.T.Fatal(err)
	}
	return strings.TrimPrefix(link.URL, w.app.URL)
}

func (w *routeWorld) invite(tn *testapp.Tenant) (*user.Invitation, staff.Link) {
	inv, link, err := w.app.Server.Team.Invite(context.Background(), tn.Owner, w.newEmail(), "", user.RoleAgent)
	if err != nil {
		w.app.T.Fatal(err)
	}
	return inv, link
}

// newEmail is an address nobody has used yet.
func (w *routeWorld) newEmail() string {
	w.emails++
	return fmt.Sprintf("new%d@example.com", w.emails)
}

// mailAddressID is a fresh support address of the shop, for a request
// that removes it.
func mailAddressID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	a, err := w.app.Server.MailSettings.Addresses.Add(context.Background(), tn.Shop.ID, w.newEmail(), time.Now())
	if err != nil {
		panic(err)
	}
	return a.ID
}

// staffTokenID is a fresh API token of the shop's extra staff member.
func staffTokenID(w *routeWorld, tn *testapp.Tenant, _ *user.User) int64 {
	return w.freshToken(w.extra[tn])
}

// ownTokenID is a fresh API token of the caller, or of the shop's extra
// staff member when the request names another shop's token.
func ownTokenID(w *routeWorld, tn *testapp.Tenant, u *user.User) int64 {
	if u == nil || u.ShopID != tn.Shop.ID {
		u = w.extra[tn]
	}
	return w.freshToken(u)
}

func (w *routeWorld) freshToken(u *user.User) int64 {
	w.app.Token(u)
	tokens, err := w.app.Server.Users.APITokens(context.Background(), u)
	if err != nil || len(tokens) == 0 {
		w.app.T.Fatalf("tokens of %s: %v", u.Email, err)
	}
	return slices.MaxFunc(tokens, func(a, b user.APIToken) int { return int(a.ID - b.ID) }).ID
}

// hubURL signs path and query as the App Proxy would for the shop's
// order customer.
func (w *routeWorld) hubURL(path string, query url.Values, tn *testapp.Tenant) string {
	q := shopify.SignedProxyQuery(query, shopify.ProxyParams{Shop: tn.Shop.Domain, LoggedInCustomerID: "c-" + w.orders[tn].ExternalID,
		PathPrefix: "/apps/hub", Timestamp: time.Now()}, tn.Shop.Name+"-client-secret")
	return path + "?" + q.Encode()
}

// newGuestLink stores a fresh guest link to the shop's order, as the
// lookup's job stores one, and returns its token.
func (w *routeWorld) newGuestLink(tn *testapp.Tenant) string {
	w.emails++
	token := fmt.Sprintf("route-link-%d", w.emails)
	sum := sha256.Sum256([]byte(token))
	now := time.Now()
	if _, err := w.app.DB.Exec(context.Background(), `INSERT INTO hub_guest_links (shop_id, order_id, token_hash, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, tn.Shop.ID, w.orders[tn].ID, hex.EncodeToString(sum[:]), database.Time(now), database.Time(now.Add(time.Hour))); err != nil {
		w.app.T.Fatal(err)
	}
	return token
}

// withLink names path with a fresh guest link's token.
func withLink(path string) func(*routeWorld, *testapp.Tenant, *user.User) string {
	return func(w *routeWorld, tn *testapp.Tenant, _ *user.User) string {
		return path + "?key=" + w.newGuestLink(tn)
	}
}

// withGrant opens a fresh guest link to the shop's order (its button's
// post) and names path with the grant it gives.
func withGrant(path string) func(*routeWorld, *testapp.Tenant, *user.User) string {
	return func(w *routeWorld, tn *testapp.Tenant, _ *user.User) string {
		resp, err := w.app.Browser().PostForm(w.app.URL+"/hub/guest/open?key="+w.newGuestLink(tn), url.Values{})
		if err != nil {
			w.app.T.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("grant") == "" {
			w.app.T.Fatalf("opening a guest link: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		return path + "?grant=" + url.QueryEscape(loc.Query().Get("grant"))
	}
}

// previewGuest adds the order an admin previews as its guest would see it.
func previewGuest(path string) func(*routeWorld, *testapp.Tenant, *user.User) string {
	return func(w *routeWorld, tn *testapp.Tenant, _ *user.User) string {
		return path + "?order=" + fmt.Sprint(w.orders[tn].ID)
	}
}

// preview adds the customer an admin previews the hub as.
func preview(path func(*routeWorld, *testapp.Tenant, *user.User) string) func(*routeWorld, *testapp.Tenant, *user.User) string {
	return func(w *routeWorld, tn *testapp.Tenant, u *user.User) string {
		return path(w, tn, u) + "?customer=" + fmt.Sprint(w.orders[tn].CustomerID)
	}
}

// routeTable is the route list's access rules, as the tests expect them.
// Every pattern the server registers needs a row here.
func routeTable() []routeCase {
	order := `{"external_id":"o-77","name":"#77","currency":"USD"}`
	return []routeCase{
		{pattern: "GET /healthz", rule: anyone, url: fixed("/healthz"), ok: 200},
		{pattern: "GET /readyz", rule: anyone, url: fixed("/readyz"), ok: 200},
		{pattern: "GET /static/", rule: anyone, url: func(w *routeWorld, _ *testapp.Tenant, _ *user.User) string {
			return w.app.Server.Assets().URL("desk.css")
		}, ok: 200},

		{pattern: "GET /login", rule: anyone, url: fixed("/login"), ok: 200},
		{pattern: "POST /login", rule: anyone, url: fixed("/login"), body: "email=nobody%40example.com&password=x", ok: 401},
		{pattern: "POST /logout", rule: anyone, url: fixed("/logout"), ok: 303},
		{pattern: "GET /forgot-password", rule: anyone, url: fixed("/forgot-password"), ok: 200},
		{pattern: "POST /forgot-password", rule: anyone, url: fixed("/forgot-password"), body: "email=nobody%40example.com", ok: 200},
		{pattern: "GET /reset/{token}", rule: anyone, url: resetLink, ok: 200},
		{pattern: "POST /reset/{token}", rule: anyone, url: resetLink, body: "password=a+new+long+password", ok: 303},
		{pattern: "GET /invite/{token}", rule: anyone, url: invitationLink, ok: 200},
		{pattern: "POST /invite/{token}", rule: anyone, url: invitationLink, body: "name=New&password=a+new+long+password", ok: 303},
		{pattern: "GET /{$}", rule: deskUser, url: fixed("/"), ok: 303}, // on to the first page of the navigation
		{pattern: "GET /customers", rule: deskUser, url: fixed("/customers"), ok: 200, list: true},
		{pattern: "GET /customers/{id}", rule: deskUser, url: withID("/customers/{id}", customerID), ok: 200, list: true},
		{pattern: "GET /orders", rule: deskUser, url: fixed("/orders"), ok: 200, list: true},
		{pattern: "GET /orders/{id}", rule: deskUser, url: withID("/orders/{id}", orderID), ok: 200},
		// Initiate return: the order is not delivered yet, so 409; any agent may ask.
		{pattern: "POST /orders/{id}/return-link", rule: deskUser, url: withID("/orders/{id}/return-link", orderID), ok: 409},
		{pattern: "GET /orders/{id}/return-qr.png", rule: deskUser, url: portalQR, ok: 200},
		{pattern: "GET /returns/unlinked", rule: deskManager, url: fixed("/returns/unlinked"), ok: 200},
		// No order named: refused past the access rule, nothing linked.
		{pattern: "POST /returns/{id}/link", rule: deskManager, url: withID("/returns/{id}/link", unlinkedReturnID), body: "order=0", ok: 422},
		{pattern: "GET /settings", rule: deskManager, url: fixed("/settings"), ok: 200},
		{pattern: "GET /settings/general", rule: deskManager, url: fixed("/settings/general"), ok: 200},
		{pattern: "POST /settings/general", rule: deskManager, url: fixed("/settings/general"),
			body: "hub_enabled=on&helpdesk_enabled=on&return_window_days=30&default_locale=en", ok: 303},
		{pattern: "POST /settings/live", rule: deskManager, url: fixed("/settings/live"), body: "live=on&confirmed=1", ok: 303},
		{pattern: "GET /settings/returns", rule: deskManager, url: fixed("/settings/returns"), ok: 200},
		{pattern: "POST /settings/returns", rule: deskManager, url: fixed("/settings/returns"), body: "provider=disabled", ok: 303},
		{pattern: "POST /settings/returns/preview", rule: deskManager, url: fixed("/settings/returns/preview"),
			body: "provider=other&portal_url=https%3A%2F%2Freturns.example.com%2F", ok: 200},
		{pattern: "GET /settings/staff", rule: deskAdmin, url: fixed("/settings/staff"), ok: 200},
		{pattern: "GET /settings/privacy", rule: deskAdmin, url: fixed("/settings/privacy"), ok: 200, list: true},
		{pattern: "GET /settings/privacy/{id}/export", rule: deskAdmin, url: withID("/settings/privacy/{id}/export", privacyExportID), ok: 200},
		{pattern: "POST /settings/staff/{id}/disable", rule: deskAdmin, url: withID("/settings/staff/{id}/disable", staffID), ok: 303},
		{pattern: "POST /settings/staff/{id}/enable", rule: deskAdmin, url: withID("/settings/staff/{id}/enable", staffID), ok: 303},
		{pattern: "POST /settings/staff/tokens/{id}/revoke", rule: deskAdmin, url: withID("/settings/staff/tokens/{id}/revoke", staffTokenID), ok: 303},
		{pattern: "POST /settings/staff/{id}/role", rule: deskAdmin, url: withID("/settings/staff/{id}/role", staffID), body: "role=manager", ok: 303},
		{pattern: "POST /settings/staff/{id}/reset-link", rule: deskAdmin, url: withID("/settings/staff/{id}/reset-link", staffID), ok: 200},
		{pattern: "POST /settings/staff/invitations", rule: deskAdmin, url: fixed("/settings/staff/invitations"), ok: 200,
			bodyFn: func(w *routeWorld) string { return "role=agent&email=" + url.QueryEscape(w.newEmail()) }},
		{pattern: "POST /settings/staff/invitations/{id}/resend", rule: deskAdmin, url: withID("/settings/staff/invitations/{id}/resend", invitationID), ok: 200},
		{pattern: "POST /settings/staff/invitations/{id}/revoke", rule: deskAdmin, url: withID("/settings/staff/invitations/{id}/revoke", invitationID), ok: 303},
		{pattern: "GET /audit", rule: deskManager, url: fixed("/audit"), ok: 200, list: true},
		{pattern: "GET /settings/mail", rule: deskAdmin, url: fixed("/settings/mail"), ok: 200},
		{pattern: "POST /settings/mail/addresses", rule: deskAdmin, url: fixed("/settings/mail/addresses"), ok: 303,
			bodyFn: func(w *routeWorld) string { return "address=" + url.QueryEscape(w.newEmail()) }},
		{pattern: "POST /settings/mail/addresses/{id}/delete", rule: deskAdmin, url: withID("/settings/mail/addresses/{id}/delete", mailAddressID), ok: 303},
		// No server named: refused before any connection is tried.
		{pattern: "POST /settings/mail/imap", rule: deskAdmin, url: fixed("/settings/mail/imap"), body: "host=&username=a&password=b", ok: 422},
		{pattern: "POST /settings/mail/imap/delete", rule: deskAdmin, url: fixed("/settings/mail/imap/delete"), ok: 303},
		{pattern: "GET /settings/mail-webhook", rule: deskAdmin, url: fixed("/settings/mail-webhook"), ok: 200},
		{pattern: "POST /settings/mail-webhook/token", rule: deskAdmin, url: fixed("/settings/mail-webhook/token"), ok: 303},
		{pattern: "GET /settings/shopify/backfill", rule: deskAdmin, url: fixed("/settings/shopify/backfill"), ok: 200},
		{pattern: "POST /settings/shopify/backfill", rule: deskAdmin, url: fixed("/settings/shopify/backfill"), ok: 303},
		{pattern: "GET /settings/shopify", rule: deskAdmin, url: fixed("/settings/shopify"), ok: 200},
		// Refused before Shopify is asked: no token given.
		{pattern: "POST /settings/shopify/connect", rule: deskAdmin, url: fixed("/settings/shopify/connect"), body: "method=admin_token&client_secret=s", ok: 422},
		{pattern: "POST /settings/shopify/check", rule: deskAdmin, url: fixed("/settings/shopify/check"), ok: 422},
		{pattern: "POST /settings/shopify/disconnect", rule: deskAdmin, url: fixed("/settings/shopify/disconnect"), ok: 303},
		{pattern: "GET /settings/jobs", rule: deskManager, url: fixed("/settings/jobs"), ok: 200, list: true},
		{pattern: "POST /settings/jobs/{id}/retry", rule: deskManager, url: withID("/settings/jobs/{id}/retry", jobID), ok: 303},
		{pattern: "GET /account/tokens", rule: deskUser, url: fixed("/account/tokens"), ok: 200},
		{pattern: "POST /account/tokens", rule: deskUser, url: fixed("/account/tokens"), body: "name=zapier", ok: 200},
		{pattern: "POST /account/tokens/{id}/revoke", rule: deskUser, url: withID("/account/tokens/{id}/revoke", ownTokenID), ok: 303},
		{pattern: "GET /account/notifications", rule: deskUser, url: fixed("/account/notifications"), ok: 200},
		{pattern: "POST /account/notifications", rule: deskUser, url: fixed("/account/notifications"), body: "mail=off", ok: 303},
		{pattern: "POST /account/signature", rule: deskUser, url: fixed("/account/signature"), body: "signature=Grace", ok: 303},
		{pattern: "GET /demo/mailbox", rule: deskUser, url: fixed("/demo/mailbox?id=1"), ok: 200},
		{pattern: "GET /demo/mailbox/{id}/html", rule: deskUser, url: withID("/demo/mailbox/{id}/html", mailboxID), ok: 200},
		{pattern: "GET /tickets", rule: deskUser, url: fixed("/tickets"), ok: 200, list: true},
		{pattern: "GET /tickets/spam", rule: deskManager, url: fixed("/tickets/spam"), ok: 200, list: true},
		{pattern: "GET /tickets/{id}", rule: deskUser, url: withID("/tickets/{id}", ticketID), ok: 200},
		{pattern: "GET /tickets/{id}/attachments/{attachmentID}", rule: deskUser,
			url: ticketAnd("/tickets/{id}/attachments/{attachmentID}", "attachmentID", fileID), ok: 200},
		{pattern: "GET /tickets/{id}/macros/{macroID}/expanded", rule: deskUser,
			url: ticketAnd("/tickets/{id}/macros/{macroID}/expanded", "macroID", macroID), ok: 200},
		{pattern: "GET /settings/macros", rule: deskManager, url: fixed("/settings/macros"), ok: 200},
		// Every admitted caller posts the same form: a name left empty is
		// refused past the access rule, so the rows do not collide.
		{pattern: "POST /settings/macros", rule: deskManager, url: fixed("/settings/macros"), body: "name=&body=Hello", ok: 422},
		{pattern: "GET /settings/macros/{id}", rule: deskManager, url: withID("/settings/macros/{id}", macroID), ok: 200},
		{pattern: "POST /settings/macros/{id}", rule: deskManager, url: withID("/settings/macros/{id}", macroID),
			body: "name=Where+is+my+order&body=Hi+%7B%7Bcustomer.first_name%7D%7D", ok: 303},
		{pattern: "POST /settings/macros/{id}/delete", rule: deskManager, url: withID("/settings/macros/{id}/delete", freshMacroID), ok: 303},
		{pattern: "POST /tickets/{id}/unread", rule: deskUser, url: withID("/tickets/{id}/unread", ticketID), body: "back=%2Ftickets%3Fview%3Dmine", ok: 303},
		{pattern: "GET /notifications", rule: deskUser, url: fixed("/notifications"), ok: 200, list: true},
		{pattern: "POST /notifications/read", rule: deskUser, url: fixed("/notifications/read"), ok: 303},
		{pattern: "GET /reports", rule: deskManager, url: fixed("/reports?days=7"), ok: 200},
		{pattern: "GET /tickets/new", rule: deskUser, url: fixed("/tickets/new"), ok: 200},
		{pattern: "POST /tickets", rule: deskUser, url: fixed("/tickets"), body: "customer_email=new%40example.com&subject=Hello&body=Hi", ok: 303},
		{pattern: "POST /tickets/{id}/reply", rule: deskUser, url: withID("/tickets/{id}/reply", ticketID), body: "body=On+its+way", ok: 303},
		{pattern: "POST /tickets/{id}/note", rule: deskUser, url: withID("/tickets/{id}/note", ticketID), body: "body=Checked", ok: 303},
		{pattern: "POST /tickets/{id}/status", rule: deskUser, url: withID("/tickets/{id}/status", ticketID), body: "status=pending", ok: 303},
		// Asking for the assignee the ticket has changes nothing, so every role may.
		{pattern: "POST /tickets/{id}/assign", rule: deskUser, url: withID("/tickets/{id}/assign", ticketID), body: "assignee=0", ok: 303},
		{pattern: "POST /tickets/{id}/tags", rule: deskUser, url: withID("/tickets/{id}/tags", ticketID), body: "tags=", ok: 303},
		// No target: refused after the access rule, nothing merged.
		{pattern: "POST /tickets/{id}/merge", rule: deskUser, url: withID("/tickets/{id}/merge", ticketID), body: "target=0", ok: 422},
		{pattern: "POST /tickets/{id}/spam", rule: deskUser, url: withID("/tickets/{id}/spam", ticketID), ok: 303},
		{pattern: "POST /tickets/{id}/block", rule: deskUser, url: withID("/tickets/{id}/block", ticketID), ok: 303},
		{pattern: "GET /events", rule: deskUser, url: fixed("/events"), ok: 200},
		{pattern: "GET /tickets/{id}/presence", rule: deskUser, url: withID("/tickets/{id}/presence", ticketID), ok: 200},
		{pattern: "POST /tickets/{id}/presence", rule: deskUser, url: withID("/tickets/{id}/presence", ticketID), body: "state=viewing", ok: 204},

		{pattern: "GET /hub", rule: signedIn, url: fixed("/hub"), ok: 200, list: true},
		{pattern: "GET /hub/{$}", rule: signedIn, url: fixed("/hub/"), ok: 200, list: true},
		{pattern: "GET /hub/orders/{id}", rule: signedIn, url: withID("/hub/orders/{id}", orderID), ok: 200},
		{pattern: "POST /hub/orders/{id}/return", rule: signedIn, url: withID("/hub/orders/{id}/return", orderID), ok: 409},
		{pattern: "POST /hub/orders/{id}/contact", rule: signedIn, url: withID("/hub/orders/{id}/contact", orderID),
			body: "message=Where+is+my+parcel%3F", ok: 303},
		{pattern: "GET /hub/messages", rule: signedIn, url: fixed("/hub/messages"), ok: 200, list: true},
		{pattern: "GET /hub/messages/{id}", rule: signedIn, url: withID("/hub/messages/{id}", conversationID), ok: 200},
		{pattern: "POST /hub/messages/{id}", rule: signedIn, url: withID("/hub/messages/{id}", conversationID),
			body: "message=Any+news%3F", ok: 303},
		{pattern: "GET /hub/embed.js", rule: anyone, url: fixed("/hub/embed.js"), ok: 200},
		{pattern: "GET /hub/account", rule: signedIn, url: fixed("/hub/account"), ok: 200},
		// The lookup form: through the App Proxy (or ?shop= on hubdesk's
		// domain, which the hub's tests cover); unsigned without a shop, 401.
		{pattern: "GET /hub/guest", rule: signedIn, url: fixed("/hub/guest"), ok: 200},
		{pattern: "POST /hub/guest", rule: signedIn, url: fixed("/hub/guest"), bodyFn: func(w *routeWorld) string {
			return "order=%2377&email=" + url.QueryEscape(w.newEmail())
		}, ok: 303},
		// The mailed link: its token is the credential (an unknown one opens
		// nothing: 410, in the hub's tests). Its page uses nothing up; its
		// button posts to it and goes on to the order with a grant.
		{pattern: "GET /hub/guest/open", rule: anyone, url: withLink("/hub/guest/open"), ok: 200},
		{pattern: "POST /hub/guest/open", rule: anyone, url: withLink("/hub/guest/open"), ok: 303},
		{pattern: "GET /hub/guest/order", rule: guestGrant, url: withGrant("/hub/guest/order"), ok: 200},
		{pattern: "POST /hub/guest/order/return", rule: guestGrant, url: withGrant("/hub/guest/order/return"), ok: 409},
		{pattern: "POST /hub/guest/order/contact", rule: guestGrant, url: withGrant("/hub/guest/order/contact"),
			body: "message=Where+is+my+parcel%3F", ok: 303},
		{pattern: "GET /settings/hub-preview", rule: deskManager, url: preview(fixed("/settings/hub-preview")), ok: 200},
		{pattern: "GET /settings/hub-preview/orders/{id}", rule: deskManager,
			url: preview(withID("/settings/hub-preview/orders/{id}", orderID)), ok: 200},
		{pattern: "POST /settings/hub-preview/orders/{id}/return", rule: deskManager,
			url: preview(withID("/settings/hub-preview/orders/{id}/return", orderID)), ok: 409},
		{pattern: "POST /settings/hub-preview/orders/{id}/contact", rule: deskManager,
			url: preview(withID("/settings/hub-preview/orders/{id}/contact", orderID)), body: "message=Test", ok: 422},
		{pattern: "GET /settings/hub-preview/messages", rule: deskManager, url: preview(fixed("/settings/hub-preview/messages")), ok: 200},
		{pattern: "GET /settings/hub-preview/account", rule: deskManager, url: preview(fixed("/settings/hub-preview/account")), ok: 200},
		{pattern: "GET /settings/hub-preview/guest", rule: deskManager, url: fixed("/settings/hub-preview/guest"), ok: 200},
		{pattern: "POST /settings/hub-preview/guest", rule: deskManager, url: fixed("/settings/hub-preview/guest"),
			body: "order=%2377&email=a%40example.com", ok: 422},
		{pattern: "GET /settings/hub-preview/guest/order", rule: deskManager, url: previewGuest("/settings/hub-preview/guest/order"), ok: 200},
		{pattern: "POST /settings/hub-preview/guest/order/return", rule: deskManager,
			url: previewGuest("/settings/hub-preview/guest/order/return"), ok: 409},
		{pattern: "POST /settings/hub-preview/guest/order/contact", rule: deskManager,
			url: previewGuest("/settings/hub-preview/guest/order/contact"), body: "message=Test", ok: 422},
		{pattern: "GET /settings/hub-preview/messages/{id}", rule: deskManager,
			url: preview(withID("/settings/hub-preview/messages/{id}", conversationID)), ok: 200},
		{pattern: "POST /settings/hub-preview/messages/{id}", rule: deskManager,
			url: preview(withID("/settings/hub-preview/messages/{id}", conversationID)), body: "message=Test", ok: 422},

		// Unsigned: the signature is the webhook's only credential.
		{pattern: "GET /shopify/install", rule: anyone, url: fixed("/shopify/install?shop=shopa.myshopify.com"), ok: 302},
		// Unsigned: refused, nothing changes.
		{pattern: "GET /shopify/callback", rule: anyone, url: fixed("/shopify/callback?shop=shopa.myshopify.com&code=x&state=y"), ok: 403},
		{pattern: "POST /webhooks/loop/{shop}", rule: anyone, url: fixed("/webhooks/loop/shopa.myshopify.com"), body: `{"topic":"return"}`, ok: 401},
		// The token in the address is the mail webhook's only credential; no token made yet.
		// No X-Shopify-Shop-Domain: no shop to verify it for.
		{pattern: "POST /webhooks/shopify", rule: anyone, url: fixed("/webhooks/shopify"), body: `{"id":1}`, ok: 404},
		{pattern: "POST /webhooks/email/{shop}", rule: anyone, url: fixed("/webhooks/email/shopa.myshopify.com?token=x"), body: "From: a@b.test\r\n\r\nhi", ok: 401},

		{pattern: "GET /api/v1/openapi.json", rule: anyone, url: fixed("/api/v1/openapi.json"), ok: 200},
		{pattern: "GET /api/v1/customers", rule: apiAgent, url: fixed("/api/v1/customers"), ok: 200, list: true},
		{pattern: "PUT /api/v1/customers", rule: apiManager, url: fixed("/api/v1/customers"), body: `{"external_id":"c-77"}`, ok: 200},
		{pattern: "GET /api/v1/customers/{id}", rule: apiAgent, url: withID("/api/v1/customers/{id}", customerID), ok: 200},
		{pattern: "GET /api/v1/customers/{id}/orders", rule: apiAgent, url: withID("/api/v1/customers/{id}/orders", customerID), ok: 200, list: true},
		{pattern: "GET /api/v1/orders", rule: apiAgent, url: fixed("/api/v1/orders"), ok: 200, list: true},
		{pattern: "PUT /api/v1/orders", rule: apiManager, url: fixed("/api/v1/orders"), body: order, ok: 200},
		{pattern: "GET /api/v1/orders/{id}", rule: apiAgent, url: withID("/api/v1/orders/{id}", orderID), ok: 200},
		{pattern: "GET /api/v1/orders/{id}/returns", rule: apiAgent, url: withID("/api/v1/orders/{id}/returns", orderID), ok: 200},
		{pattern: "GET /api/v1/orders/{id}/return-eligibility", rule: apiAgent, url: withID("/api/v1/orders/{id}/return-eligibility", orderID), ok: 200},
		{pattern: "POST /api/v1/orders/{id}/return-link", rule: apiAgent, url: withID("/api/v1/orders/{id}/return-link", orderID), ok: 409},
		{pattern: "GET /api/v1/settings/returns", rule: apiManager, url: fixed("/api/v1/settings/returns"), ok: 200},
		{pattern: "PUT /api/v1/settings/returns", rule: apiManager, url: fixed("/api/v1/settings/returns"), body: `{"provider":"disabled"}`, ok: 200},
		{pattern: "GET /api/v1/settings/shopify", rule: apiAdmin, url: fixed("/api/v1/settings/shopify"), ok: 200},
		{pattern: "PUT /api/v1/settings/shopify", rule: apiAdmin, url: fixed("/api/v1/settings/shopify"), body: `{"method":"admin_token","client_secret":"s"}`, ok: 422},
		{pattern: "DELETE /api/v1/settings/shopify", rule: apiAdmin, url: fixed("/api/v1/settings/shopify"), ok: 204},
		{pattern: "GET /api/v1/audit", rule: apiManager, url: fixed("/api/v1/audit"), ok: 200, list: true},
		{pattern: "GET /api/v1/privacy/requests", rule: apiAdmin, url: fixed("/api/v1/privacy/requests"), ok: 200, list: true},
		{pattern: "GET /api/v1/privacy/requests/{id}/export", rule: apiAdmin, url: withID("/api/v1/privacy/requests/{id}/export", privacyExportID), ok: 200},
		{pattern: "GET /api/v1/jobs", rule: apiManager, url: fixed("/api/v1/jobs?state=dead"), ok: 200, list: true},
		{pattern: "GET /api/v1/tickets", rule: apiAgent, url: fixed("/api/v1/tickets?status=open&q=parcel"), ok: 200, list: true},
		{pattern: "POST /api/v1/tickets", rule: apiAgent, url: fixed("/api/v1/tickets"),
			body: `{"subject":"Hello","customer_email":"new@example.com","body":"Hi"}`, ok: 201},
		{pattern: "GET /api/v1/tickets/{id}", rule: apiAgent, url: withID("/api/v1/tickets/{id}", ticketID), ok: 200},
		{pattern: "PATCH /api/v1/tickets/{id}", rule: apiAgent, url: withID("/api/v1/tickets/{id}", ticketID), body: `{"status":"pending"}`, ok: 200},
		{pattern: "GET /api/v1/tickets/{id}/messages", rule: apiAgent, url: withID("/api/v1/tickets/{id}/messages", ticketID), ok: 200, list: true},
		{pattern: "POST /api/v1/tickets/{id}/messages", rule: apiAgent, url: withID("/api/v1/tickets/{id}/messages", ticketID),
			body: `{"kind":"note","body":"Checked"}`, ok: 201},
		{pattern: "POST /api/v1/hub/tokens", rule: apiAdmin, url: fixed("/api/v1/hub/tokens"), body: `{"customer_external_id":"c-1001"}`, ok: 200},
		{pattern: "GET /api/v1/shopify/backfill", rule: apiAdmin, url: fixed("/api/v1/shopify/backfill"), ok: 200},
		// No shop of the route world is connected to Shopify.
		{pattern: "POST /api/v1/shopify/backfill", rule: apiAdmin, url: fixed("/api/v1/shopify/backfill"), ok: 409},
		{pattern: "/api/", rule: anyone, url: fixed("/api/v1/nothing"), ok: 404},
		{pattern: "/", rule: anyone, url: fixed("/nothing"), ok: 404},
	}
}

// TestRouteTable walks the real route list: every route answers each kind
// of caller — nobody, an agent, a manager, an admin, an owner, a signed-in
// shopper — as its row says, another shop's id is a 404 on every {id}
// route, and every list refuses a page it did not make. A route added
// without a row fails here.
func TestRouteTable(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newRouteWorld(t, db)
		table := routeTable()
		var rows []string
		for _, rc := range table {
			rows = append(rows, rc.pattern)
		}
		for _, p := range w.app.Server.Routes() {
			if !slices.Contains(rows, p) {
				t.Errorf("route %q has no row in the route table", p)
			}
		}
		for _, p := range rows {
			if !slices.Contains(w.app.Server.Routes(), p) {
				t.Errorf("the route table's %q is not a route", p)
			}
		}
		roles := []user.Role{"", user.RoleAgent, user.RoleManager, user.RoleAdmin, user.RoleOwner}
		for _, rc := range table {
			t.Run(rc.pattern, func(t *testing.T) {
				method, _, _ := strings.Cut(rc.pattern, " ")
				if !strings.Contains(rc.pattern, " ") {
					method = http.MethodGet
				}
				if rc.rule.cred == public {
					w.expect(t, rc, method, "", w.a, nil, rc.ok)
					return
				}
				if rc.rule.cred == grantHolder {
					w.expect(t, rc, method, "", w.a, nil, rc.ok)
					// Without the grant: nothing, whoever asks.
					bare := rc
					bare.url = func(w *routeWorld, tn *testapp.Tenant, u *user.User) string {
						p, _, _ := strings.Cut(rc.url(w, tn, u), "?")
						return p
					}
					for _, role := range roles {
						w.expect(t, bare, method, role, w.a, nil, http.StatusUnauthorized)
					}
					w.expect(t, bare, method, "shopper", w.a, nil, http.StatusUnauthorized)
					return
				}
				for _, role := range roles {
					w.expect(t, rc, method, role, w.a, nil, w.statusFor(rc, role))
				}
				if rc.rule.cred == shopper {
					w.expect(t, rc, method, "shopper", w.a, nil, rc.ok)
				}
				top := user.RoleOwner
				if rc.rule.cred == shopper {
					top = "shopper"
				}
				if strings.Contains(rc.pattern, "{id}") {
					w.expect(t, rc, method, top, w.b, nil, http.StatusNotFound)
				}
				if rc.list {
					for _, bad := range []string{"cursor=!!", "limit=0", fmt.Sprintf("limit=%d", database.MaxPageSize+1)} {
						w.expect(t, rc, method, top, w.a, &bad, http.StatusBadRequest)
					}
				}
			})
		}
	})
}

// TestCrossSiteWritesAreRefused: a page on another site cannot make a
// signed-in browser change anything. Every state-changing route, sent
// with the caller's session or token as a browser sends a cross-site form
// or fetch (Origin and Sec-Fetch-Site of another site), answers 403 —
// including the hub's two forms that the global check lets through for
// the App Proxy, which apply the hub's own origin rule. Webhooks and the
// login are no exception: no browser has a reason to post them cross-site.
func TestCrossSiteWritesAreRefused(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, db *database.DB) {
		w := newRouteWorld(t, db)
		w.header = http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
		checked := 0
		for _, rc := range routeTable() {
			method, _, ok := strings.Cut(rc.pattern, " ")
			if !ok || method == http.MethodGet || method == http.MethodHead {
				continue
			}
			checked++
			t.Run(rc.pattern, func(t *testing.T) {
				role := user.RoleOwner
				switch rc.rule.cred {
				case shopper:
					role = "shopper"
				case public, grantHolder:
					role = ""
				}
				w.expect(t, rc, method, role, w.a, nil, http.StatusForbidden)
			})
		}
		if checked < 20 {
			t.Fatalf("only %d state-changing routes in the table", checked)
		}
	})
}

func newRouteWorld(t *testing.T, db *database.DB) *routeWorld {
	mailbox, err := demo.StartMailbox()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailbox.Close() })
	app := testapp.New(t, db, func(o *server.Options) {
		o.DemoMailbox, o.DemoMailboxShop = mailbox, "shopa.myshopify.com"
		// The public app's install is offered; no row here reaches Shopify.
		o.Shopify = server.ShopifyOptions{App: shopifyconnect.App{ClientID: "app-id", ClientSecret: "app-secret"}, AdminURL: "http://127.0.0.1:9"}
	})
	relay, err := mail.NewSMTP(mailbox.URL(), testapp.MailFrom)
	if err != nil {
		t.Fatal(err)
	}
	if err := relay.Send(context.Background(), mail.Message{To: "ada@example.com", Subject: "Re: Parcel [#1]", Text: "Hi", HTML: "<p>Hi</p>"}); err != nil {
		t.Fatal(err)
	}
	w := &routeWorld{app: app, a: app.NewTenant("shopa"), b: app.NewTenant("shopb"), orders: map[*testapp.Tenant]*commerce.Order{},
		extra: map[*testapp.Tenant]*user.User{}, tickets: map[*testapp.Tenant]int64{}, conversations: map[*testapp.Tenant]int64{}, files: map[*testapp.Tenant]int64{}, macros: map[*testapp.Tenant]int64{}, jobs: map[*testapp.Tenant]int64{}, sessions: map[user.Role]*http.Client{}}
	ctx := context.Background()
	for i, tn := range []*testapp.Tenant{w.a, w.b} {
		w.orders[tn] = app.Order(tn, fmt.Sprint(1001+i*1000), fmt.Sprintf("shopper%d@example.com", i))
		extra, err := app.Server.Users.Create(ctx, user.NewUser{ShopID: tn.Shop.ID, Email: "extra@" + tn.Shop.Domain, Role: user.RoleAgent, Password: testapp.Password})
		if err != nil {
			t.Fatal(err)
		}
		w.extra[tn] = extra
		actor := audit.Actor{Kind: audit.ActorSystem, Label: "test"}
		if err := app.Server.Settings.SetLive(ctx, tn.Shop.ID, true, actor); err != nil {
			t.Fatal(err)
		}
		o := w.orders[tn]
		// The ticket's sender is not the order's email, so that blocking
		// the sender (a row below) leaves the hub's contact form open.
		tk, err := app.Server.Tickets.Create(ctx, tn.Shop.ID, ticket.NewTicket{CustomerID: o.CustomerID, OrderID: o.ID,
			RequesterEmail: "sender@example.com", Subject: "Where is my parcel?", Channel: ticket.ChannelHub, Body: "It is late."})
		if err != nil {
			t.Fatal(err)
		}
		w.tickets[tn] = tk.ID
		conv, err := app.Server.Tickets.Create(ctx, tn.Shop.ID, ticket.NewTicket{CustomerID: o.CustomerID,
			RequesterEmail: o.Email, Subject: "A question", Channel: ticket.ChannelHub, Body: "Do you ship abroad?"})
		if err != nil {
			t.Fatal(err)
		}
		w.conversations[tn] = conv.ID
		msgs, err := app.Server.Tickets.Messages(ctx, tn.Shop.ID, tk.ID)
		if err != nil {
			t.Fatal(err)
		}
		file, err := app.Server.Attachments.Add(ctx, tn.Shop.ID, tk.ID, msgs[0].ID, attachment.Upload{Filename: "label.pdf", Data: []byte("%PDF-1.7\n")})
		if err != nil {
			t.Fatal(err)
		}
		w.files[tn] = file.ID
		m, err := app.Server.Macros.Create(ctx, tn.Manager, macro.Input{Name: "Where is my order", Body: "Hi {{customer.first_name}}"})
		if err != nil {
			t.Fatal(err)
		}
		w.macros[tn] = m.ID
		err = db.InTx(ctx, func(tx *database.Tx) error {
			res, err := app.Server.Jobs.Enqueue(ctx, tx, shopUpkeepArgs{ShopID: tn.Shop.ID}, nil)
			if err == nil {
				w.jobs[tn] = res.Job.ID
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []*user.User{w.a.Agent, w.a.Manager, w.a.Admin, w.a.Owner} {
		w.sessions[u.Role] = app.LoginAs(u)
	}
	return w
}

// shopUpkeepArgs is a job for a shop, of a kind the server works (it
// removes expired sessions), so that there is one of each shop's jobs to
// retry.
type shopUpkeepArgs struct {
	ShopID int64 `json:"shop_id"`
}

func (shopUpkeepArgs) Kind() string  { return "sessions_expired_delete" }
func (a shopUpkeepArgs) Shop() int64 { return a.ShopID }

// statusFor is what a caller of this role gets from the route's rule
// ("" is nobody); the shopper's own answer is the row's.
func (w *routeWorld) statusFor(rc routeCase, role user.Role) int {
	switch {
	case rc.rule.cred == shopper:
		return http.StatusUnauthorized // a staff session is no shopper
	case role == "" && rc.rule.cred == session:
		return http.StatusSeeOther
	case role == "":
		return http.StatusUnauthorized
	case !role.AtLeast(rc.rule.min):
		return http.StatusForbidden
	}
	return rc.ok
}

// expect sends the row's request as role ("" nobody, "shopper" the shop's
// signed-in customer), naming tn's ids, with extra query if given.
func (w *routeWorld) expect(t *testing.T, rc routeCase, method string, role user.Role, tn *testapp.Tenant, query *string, want int) {
	t.Helper()
	var caller *user.User
	if role != "" && role != "shopper" {
		caller = map[user.Role]*user.User{user.RoleAgent: w.a.Agent, user.RoleManager: w.a.Manager, user.RoleAdmin: w.a.Admin, user.RoleOwner: w.a.Owner}[role]
	}
	target, err := url.Parse(rc.url(w, tn, caller))
	if err != nil {
		t.Fatal(err)
	}
	q := target.Query()
	if query != nil {
		extra, _ := url.ParseQuery(*query)
		for k, v := range extra {
			q[k] = v
		}
	}
	target.RawQuery = q.Encode()
	client := w.app.Browser()
	switch {
	case role == "shopper":
		target, _ = url.Parse(w.hubURL(target.Path, q, w.a))
	case rc.rule.cred != bearer && caller != nil:
		client = w.sessions[role]
	}
	var body io.Reader
	if rc.bodyFn != nil {
		rc.body = rc.bodyFn(w)
	}
	if rc.body != "" {
		body = strings.NewReader(rc.body)
	}
	req, err := http.NewRequest(method, w.app.URL+target.String(), body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range w.header {
		req.Header[k] = v
	}
	switch {
	case rc.rule.cred == bearer:
		req.Header.Set("Content-Type", "application/json")
		if caller != nil {
			req.Header.Set("Authorization", "Bearer "+w.app.Token(caller))
		}
	case rc.body != "":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	if resp.Header.Get("Content-Type") != "text/event-stream" { // a stream never ends: its status is all
		data, _ = io.ReadAll(resp.Body)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Errorf("%s %s as %q: %d, want %d\n%.300s", method, target, role, resp.StatusCode, want, data)
	}
	if want == http.StatusSeeOther && rc.rule.cred == session && caller == nil && !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("%s %s without a session went to %q, not the login", method, target, resp.Header.Get("Location"))
	}
}
