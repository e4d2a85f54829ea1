// Package desk serves the signed-in staff pages: login, the customers and
// orders browser, and the shell (layout and navigation) that the helpdesk
// and settings pages hang on.
package desk

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/auth"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/database"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/httpkit"
	"github.com/hubdesk/hubdesk/internal/inbound"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/privacy"
	"github.com/hubdesk/hubdesk/internal/secret"
	"github.com/hubdesk/hubdesk/internal/settings"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/staff"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
	"github.com/hubdesk/hubdesk/internal/web"
)

//go:embed templates
var templateFiles embed.FS

// Desk holds the dependencies of the staff pages.
type Desk struct {
	Users *user.Store
	// Access issues and revokes tokens and disables staff, audited.
	Access *staff.Access
	// Team invites people and makes and redeems password reset links.
	Team     *staff.Team
	Shops    *shop.Store
	Commerce *commerce.Store
	Auth     *auth.Authenticator
	// Limiter counts failed logins per email and client address.
	Limiter *auth.LoginLimiter
	// ResetLimits bound "Forgot your password?"; DefaultResetLimits when
	// zero.
	ResetLimits ResetLimits
	// Proxies are trusted to name the client in X-Forwarded-For.
	Proxies  auth.Proxies
	Settings *settings.Editor
	// Secrets names the shop's stored secrets this server cannot open, for
	// the settings page's notice.
	Secrets settings.Secrets
	// OrderView views orders with their status and return eligibility, and
	// previews the return destination on the settings page.
	OrderView *orderview.View
	Audit     *audit.Log
	// Privacy lists Shopify's privacy requests and hands out exports.
	Privacy *privacy.Requests
	// JobQueue lists the shop's failed background jobs and retries them.
	JobQueue *jobs.Queue
	// MailIn is Settings → Mail: support addresses and the IMAP mailbox.
	MailIn *inbound.Settings
	// Tickets counts the signed-in user's unread notifications for the
	// badge on every page, and serves the notifications and reports pages.
	Tickets *ticket.Store
	Logger  *slog.Logger
	// BaseURL is where Loop delivers webhooks, shown on the Returns tab.
	BaseURL string
	// Now is the clock pages measure ages against ("3 hours ago", a
	// waiting time); time.Now when nil (the demo's --clock sets it).
	Now func() time.Time
	// Mailbox is the demo's relay, whose mail the demo mailbox page shows
	// to the staff of MailboxShop (a domain: the demo's one shop, as the
	// relay's mail is not told apart by shop); nil outside the demo.
	Mailbox     *demo.Mailbox
	MailboxShop string
	// Freshness refreshes an open ticket's returns in the background when
	// they are older than the freshness limit (loopsync); nil: none.
	Freshness Freshener
	// freshening holds a place per refresh request under way
	// (freshenLater).
	freshening chan struct{}
	// ReturnLinks lists the returns waiting for an order because their
	// order name is ambiguous and links them (loopsync); nil: none shown.
	ReturnLinks ReturnLinker
	// Backfill is the Shopify sync's backfill, for its progress fragment;
	// nil: no Shopify sync.
	Backfill ShopifyBackfill
	// CustomerFreshness refreshes an open ticket's customer's orders from
	// the store's platform in the background (shopifysync); nil: none.
	CustomerFreshness CustomerFreshener
	// Shopify connects the shop to its Shopify store (Settings → Shopify)
	// and installs the public app (/shopify/install, /shopify/callback).
	Shopify *shopifyconnect.Connector
	render  *web.Renderer
}

// CustomerFreshener asks for the background refresh of a customer's
// orders when they are older than the freshness limit; it never waits on
// the platform.
type CustomerFreshener interface {
	Freshen(ctx context.Context, shopID, customerID int64) (bool, error)
}

// Freshener asks for the background refresh of viewed orders' returns;
// it never waits on the returns platform.
type Freshener interface {
	Freshen(ctx context.Context, shopID int64, orders []orderview.Order) (int, error)
}

// New parses the templates; it fails at start-up rather than on a request.
func New(d Desk) (*Desk, error) {
	sub, err := fs.Sub(templateFiles, "templates")
	if err != nil {
		return nil, err
	}
	funcs := templateFuncs(web.DefaultAssets, staffLocale)
	funcs["ago"] = func(t time.Time) string { return ago(d.now(), t) }
	r, err := web.NewRenderer(sub, funcs, d.Logger,
		"layout.html", "parts.html", "order_table.html", "settings_tabs.html", "helpdesk_notice.html", "shopify_backfill.html")
	if err != nil {
		return nil, err
	}
	d.render = r
	d.freshening = make(chan struct{}, freshenAtOnce)
	if d.Limiter == nil {
		d.Limiter = auth.NewLoginLimiter()
	}
	if d.ResetLimits.Address == nil || d.ResetLimits.Email == nil {
		d.ResetLimits = DefaultResetLimits()
	}
	return &d, nil
}

// now is the desk's clock.
func (d *Desk) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// navItem is one entry of the side navigation.
type navItem struct {
	Path, LabelKey string
	Current        bool
}

// navigation lists the sections a role may open, labelled by catalogue
// key.
var navigation = []struct {
	Path, LabelKey string
	MinRole        user.Role
}{
	{"/customers", "nav.customers", user.RoleAgent},
	{"/tickets", "nav.tickets", user.RoleAgent},
	{"/orders", "nav.orders", user.RoleAgent},
	{"/settings", "nav.settings", user.RoleManager},
	{"/settings/staff", "nav.staff", user.RoleAdmin},
	{"/settings/mail", "nav.mail", user.RoleAdmin},
	{"/settings/mail-webhook", "nav.mail_webhook", user.RoleAdmin},
	{"/settings/shopify", "nav.shopify", user.RoleAdmin},
	{"/audit", "nav.audit", user.RoleManager},
	{"/settings/jobs", "nav.jobs", user.RoleManager},
	{"/settings/privacy", "nav.privacy", user.RoleAdmin},
	{"/reports", "nav.reports", user.RoleManager},
}

// view is what every desk page template receives.
type view struct {
	Title string
	User  *user.User
	Shop  *shop.Shop
	Nav   []navItem
	// Notifications is the signed-in user's unread notifications, for the
	// badge in the navigation.
	Notifications int
	Data          any
}

func (d *Desk) page(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	d.pageIn(w, r, status, name, title, data, nil)
}

// frame is what every page's layout shows beside the page: the shop and
// the notification badge, for a page that read them in its own batch.
type frame struct {
	Shop          *shop.Shop
	Notifications int
}

// pageIn renders a page in its layout; f is the layout's data when the
// page has read it already, nil to read it here.
func (d *Desk) pageIn(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, f *frame) {
	v := view{Title: title, Data: data}
	if u := auth.UserFrom(r.Context()); u != nil {
		v.User = u
		if f == nil {
			f = d.readFrame(r, u)
		}
		v.Shop, v.Notifications = f.Shop, f.Notifications
		if v.Shop == nil {
			v.Shop = &shop.Shop{}
		}
		current := ""
		for _, n := range navigation {
			if u.Role.AtLeast(n.MinRole) {
				v.Nav = append(v.Nav, navItem{Path: n.Path, LabelKey: n.LabelKey})
				// The longest match wins: /settings/staff is Staff, not Settings.
				if strings.HasPrefix(r.URL.Path, n.Path) && len(n.Path) > len(current) {
					current = n.Path
				}
			}
		}
		if d.mailboxFor(v.Shop) {
			v.Nav = append(v.Nav, navItem{Path: "/demo/mailbox", LabelKey: "nav.mailbox"})
			if strings.HasPrefix(r.URL.Path, "/demo/mailbox") {
				current = "/demo/mailbox"
			}
		}
		for i := range v.Nav {
			v.Nav[i].Current = v.Nav[i].Path == current
		}
	}
	d.render.RenderBetween(w, status, name, v, layoutHead(staffLocale, web.DefaultAssets, &v), layoutTail(staffLocale, web.DefaultAssets, v.User != nil))
}

// readFrameIn queues the reads of the layout's data for u's page into a
// page's batch, filling f.
func readFrameIn(u *user.User, f *frame) func(*database.Batch) {
	return func(b *database.Batch) {
		shop.Read(b, u.ShopID, &f.Shop)
		ticket.ReadUnreadNotifications(b, u.ShopID, u.ID, &f.Notifications)
	}
}

// readFrame reads the layout's data for u's page.
func (d *Desk) readFrame(r *http.Request, u *user.User) *frame {
	f := &frame{}
	if sh, err := d.Shops.Get(r.Context(), u.ShopID); err == nil {
		f.Shop = sh
	}
	// One indexed count on every page; the badge is an aside, so a
	// failure leaves it out rather than failing the page.
	if d.Tickets != nil {
		if n, err := d.Tickets.UnreadNotifications(r.Context(), u.ShopID, u.ID); err == nil {
			f.Notifications = n
		} else {
			d.Logger.Warn("desk: count notifications", "user", u.ID, "err", err)
		}
	}
	return f
}

// Error renders a readable error page.
func (d *Desk) Error(w http.ResponseWriter, r *http.Request, status int, message string) {
	d.page(w, r, status, "error", http.StatusText(status), struct{ Message string }{message})
}

// NotFound is the desk's 404 page; another shop's records look the same.
func (d *Desk) NotFound(w http.ResponseWriter, r *http.Request) {
	d.Error(w, r, http.StatusNotFound, "This page does not exist, or you do not have access to it.")
}

// listPage reads the page a list asks for (httpkit.ParsePage), answering
// a page link this server did not make with a 400 page.
func (d *Desk) listPage(w http.ResponseWriter, r *http.Request) (database.Page, bool) {
	p, bad := httpkit.ParsePage(r)
	switch {
	case bad == nil:
		return p, true
	case bad.Field == "cursor":
		d.Error(w, r, http.StatusBadRequest, badCursorMessage)
	default:
		d.Error(w, r, http.StatusBadRequest, "The "+bad.Message+".")
	}
	return p, false
}

// badCursorMessage answers a page link whose cursor this server did not
// make, or made for another sort of the list.
const badCursorMessage = "That page link is not valid any more. Start from the first page."

// unreadableAdvice tells staff why a stored secret cannot be opened and
// what mends it.
const unreadableAdvice = "It was sealed with a secret key this server is not given. Every hubdesk process on this database " +
	"must be given the same HUBDESK_SECRET_KEY (while rotating, the new key first and the older ones after it); " +
	"until then the hub tells this shop's shoppers it is being set up."

// reentryAdvice tells an admin how to mend the shop without the key that
// sealed its secrets: by entering them again, which seals them with this
// server's key.
const reentryAdvice = "If that key is lost, enter them again: the Loop API key and webhook secret on Settings → Returns, " +
	"the Shopify client secret with hubdesk shop secret."

func (d *Desk) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, secret.ErrUnreadable) {
		d.Logger.Warn("desk page: a stored secret of this shop cannot be opened with this process's HUBDESK_SECRET_KEY", "path", r.URL.Path, "err", err)
		d.Error(w, r, http.StatusServiceUnavailable, "This server cannot read a secret stored for this shop. "+unreadableAdvice)
		return
	}
	if database.IsStorageFailure(err) {
		d.Logger.Warn("desk page: the database refused a write", "path", r.URL.Path, "err", err)
		d.Error(w, r, http.StatusServiceUnavailable, "The database cannot store changes right now: its disk is full or read-only. "+
			"Nothing was saved. Try again once an administrator has freed space; pages can still be read meanwhile.")
		return
	}
	d.Logger.Error("desk page failed", "path", r.URL.Path, "err", err)
	d.Error(w, r, http.StatusInternalServerError, "Something went wrong on our side. Please try again.")
}

// RequireUser sends visitors without a session to the login page, then back.
func (d *Desk) RequireUser(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.UserFrom(r.Context()) == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next(w, r)
	})
}

// RequireRole is RequireUser plus a minimum role; others get a 403 page.
func (d *Desk) RequireRole(min user.Role, next http.HandlerFunc) http.Handler {
	return d.RequireUser(func(w http.ResponseWriter, r *http.Request) {
		if role := auth.UserFrom(r.Context()).Role; !role.AtLeast(min) {
			d.Error(w, r, http.StatusForbidden, forbiddenFor(role, min))
			return
		}
		next(w, r)
	})
}

// forbiddenFor says who may open a page that role may not: the roles
// from min up, and who can change a role.
func forbiddenFor(role, min user.Role) string {
	var names []string
	for _, r := range []user.Role{user.RoleOwner, user.RoleAdmin, user.RoleManager, user.RoleAgent} {
		if r.AtLeast(min) {
			names = append(names, r.Label())
		}
	}
	allowed := names[0]
	if n := len(names); n > 1 {
		allowed = strings.Join(names[:n-1], ", ") + " or " + names[n-1]
	}
	return "This page is for these roles: " + allowed + ". Your role is " + role.Label() + "; an owner or admin can change it."
}

// Home sends signed-in staff to their start page.
func (d *Desk) Home(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		d.NotFound(w, r)
		return
	}
	http.Redirect(w, r, navigation[0].Path, http.StatusSeeOther)
}
