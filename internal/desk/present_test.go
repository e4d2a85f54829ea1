package desk

import (
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubdesk/hubdesk/internal/audit"
	"github.com/hubdesk/hubdesk/internal/commerce"
	"github.com/hubdesk/hubdesk/internal/connection"
	"github.com/hubdesk/hubdesk/internal/demo"
	"github.com/hubdesk/hubdesk/internal/inbound"
	"github.com/hubdesk/hubdesk/internal/integration/loop"
	"github.com/hubdesk/hubdesk/internal/jobs"
	"github.com/hubdesk/hubdesk/internal/locale"
	"github.com/hubdesk/hubdesk/internal/macro"
	"github.com/hubdesk/hubdesk/internal/orderview"
	"github.com/hubdesk/hubdesk/internal/privacy"
	"github.com/hubdesk/hubdesk/internal/qr"
	"github.com/hubdesk/hubdesk/internal/returns"
	"github.com/hubdesk/hubdesk/internal/shop"
	"github.com/hubdesk/hubdesk/internal/shopifyconnect"
	"github.com/hubdesk/hubdesk/internal/ticket"
	"github.com/hubdesk/hubdesk/internal/user"
)

// The stored values desk pages show, by catalogue group. Each must be
// named in words; the page test below fails when one shows as its code.
var (
	orderStatuses = []commerce.Status{commerce.StatusCancelled, commerce.StatusProcessing, commerce.StatusPartiallyShipped,
		commerce.StatusInTransit, commerce.StatusOutForDelivery, commerce.StatusDelivered, commerce.StatusReturnInProgress, commerce.StatusReturned}
	// Shopify's financial, fulfillment and shipment statuses, and Loop's
	// outcomes and label statuses (contracts/loop.md).
	paymentStatuses     = []string{"pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided", "expired"}
	fulfillmentStatuses = []string{"pending", "open", "success", "cancelled", "error", "failure"}
	shipmentStatuses    = []string{"label_printed", "label_purchased", "confirmed", "ready_for_pickup", "in_transit", "out_for_delivery", "attempted_delivery", "delivered", "failure"}
	returnStates        = []returns.ReturnState{returns.StateOpen, returns.StateReview, returns.StateClosed, returns.StateCancelled, returns.StateExpired}
	returnOutcomes      = []string{"exchange", "upsell", "refund", "credit", "exchange+refund", "exchange+credit"}
	returnLabels        = []string{"new", "pending", "pre_transit", "in_transit", "out_for_delivery", "delivered", "failure", "error", "N/A"}
	ticketChannels      = []ticket.Channel{ticket.ChannelHub, ticket.ChannelEmail, ticket.ChannelAPI, ticket.ChannelDesk}
	conversationKinds   = []ticket.ConversationKind{ticket.Inbound, ticket.Reply, ticket.Note}
	authorKinds         = []ticket.AuthorKind{ticket.AuthorCustomer, ticket.AuthorAgent, ticket.AuthorSystem}
	messageKinds        = []ticket.MessageKind{ticket.KindMessage, ticket.KindNote}
	notificationKinds   = []ticket.NotificationKind{ticket.NotifyAssigned, ticket.NotifyReply}
	roles               = []user.Role{user.RoleOwner, user.RoleAdmin, user.RoleManager, user.RoleAgent}
	auditOutcomes       = []string{audit.OutcomeOK, audit.OutcomeFailed}
	actorKinds          = []audit.ActorKind{audit.ActorUser, audit.ActorShopper, audit.ActorSystem}
	reasons             = []returns.Reason{returns.ReasonDisabled, returns.ReasonLookupMissing, returns.ReasonLoopAuth, returns.ReasonOrderUnknown, returns.ReasonLoopDown}
	vias                = []string{"loop_api", "loop_portal", "portal", "email", "link"}
	scopes              = []loop.Scope{loop.ScopeOrders, loop.ScopeReturns, loop.ScopeDeveloperTools}
	scopeStatuses       = []loop.ScopeStatus{loop.ScopeGranted, loop.ScopeDenied, loop.ScopeUnknown}
)

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

var mailStates = []ticket.MailState{ticket.MailQueued, ticket.MailRetrying, ticket.MailSent, ticket.MailFailed}

// labelled lists every catalogue group with the values it must name.
func labelled() map[string][]string {
	return map[string][]string{
		"order.status":       strs(orderStatuses),
		"payment":            paymentStatuses,
		"fulfillment":        fulfillmentStatuses,
		"shipment":           shipmentStatuses,
		"return.state":       strs(returnStates),
		"return.outcome":     returnOutcomes,
		"return.label":       returnLabels,
		"return.eligibility": append(strs(returns.Reasons), "eligible"),
		"return.sync":        strs(returns.SyncProblems),
		"provider":           strs(returns.Providers),
		"ticket.status":      strs(ticketStatuses),
		"ticket.channel":     strs(ticketChannels),
		"ticket.author":      strs(authorKinds),
		"ticket.kind":        strs(messageKinds),
		"notifications.kind": strs(notificationKinds),
		"ticket.type":        strs(conversationKinds),
		"ticket.delivery":    strs(mailStates),
		"role":               strs(roles),
		"audit.action":       auditActions,
		"audit.outcome":      auditOutcomes,
		"audit.actor":        strs(actorKinds),
		"audit.reason":       strs(reasons),
		"audit.via":          vias,
		"scope":              strs(scopes),
		"scope.use":          strs(scopes),
		"scope.status":       strs(scopeStatuses),
		"account":            {"active", "disabled"},
		"settings.state":     {"unpublished"},
		"job.state":          strs(jobs.Failed),
		"job.kind":           {"sessions_expired_delete", "database_statistics_refresh", "staff_mail", "shopper_mail", "webhook_event_process"}, // the kinds internal/server works
	}
}

// TestCatalogueNamesEveryValue is the desk catalogue's parity test: every
// value a desk page can show has its words, every key a template names
// exists, and every badge kind's values are in its group.
func TestCatalogueNamesEveryValue(t *testing.T) {
	l := locale.Desk.For("en")
	for group, values := range labelled() {
		for _, v := range values {
			if !l.Has(group + "." + v) {
				t.Errorf("desk catalogue lacks %q", group+"."+v)
			}
		}
	}
	for kind, group := range badgeGroups {
		if _, ok := labelled()[group]; !ok {
			t.Errorf("badge kind %s names group %s, which no test lists", kind, group)
		}
	}
	keyUse := regexp.MustCompile(`\{\{-?\s*(?:t|n) "([^"]+)"|(?:pager|label) "([a-z._]+)"`)
	check := func(p, raw string) {
		for _, m := range keyUse.FindAllStringSubmatch(raw, -1) {
			switch {
			case m[1] != "" && strings.Contains(m[0], " n "), strings.HasPrefix(strings.TrimLeft(m[0], "{- "), "n "):
				if !l.Has(m[1]+".one") || !l.Has(m[1]+".other") {
					t.Errorf("%s counts with %q, which lacks .one or .other", p, m[1])
				}
			case m[1] != "":
				if !l.Has(m[1]) {
					t.Errorf("%s uses unknown key %q", p, m[1])
				}
			case strings.HasPrefix(m[0], "pager"):
				if !l.Has(m[2]) {
					t.Errorf("%s pages with unknown key %q", p, m[2])
				}
			default:
				if _, ok := labelled()[m[2]]; !ok {
					t.Errorf("%s labels values of group %q, which TestCatalogueNamesEveryValue does not cover", p, m[2])
				}
			}
		}
	}
	err := fs.WalkDir(templateFiles, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(templateFiles, p)
		if err != nil {
			return err
		}
		check(p, string(raw))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The pages written in Go name their keys in their reference
	// templates.
	for name, raw := range map[string]string{"inbox page": inboxPageTemplate, "ticket page": ticketPageTemplate, "order cards": orderCardsTemplate,
		"conversation": conversationTemplate, "ticket card": ticketCardTemplate, "customer card": customerCardTemplate} {
		check(name, raw)
	}
	for _, n := range navigation {
		if !l.Has(n.LabelKey) {
			t.Errorf("navigation %s has unknown key %q", n.Path, n.LabelKey)
		}
	}
}

// pageFixtures are the desk pages with data that between them hold every
// value of labelled().
func pageFixtures() map[string][]any {
	at := time.Date(2026, time.March, 2, 14, 5, 0, 0, time.UTC)
	customer := &commerce.Customer{ID: 7, ExternalID: "5001", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", CreatedAt: at}
	row := func(i int, s commerce.Status) orderview.Order {
		o := &commerce.Order{ID: int64(i + 1), Name: "#" + strconv.Itoa(1001+i), Currency: "EUR", TotalMinor: 123450, CreatedAt: at,
			LineItems: make([]commerce.LineItem, i%3)}
		return orderview.Order{Order: o, Status: s}
	}
	var rows []orderview.Order
	for i, s := range orderStatuses {
		rows = append(rows, row(i, s))
	}
	var orders []any
	for i, pay := range paymentStatuses {
		r := row(i, orderStatuses[i%len(orderStatuses)])
		r.FinancialStatus = pay
		r.ShippingAddress = commerce.Address{Name: "Ada", Address1: "Main St 1", City: "Berlin", Zip: "10115", CountryCode: "DE"}
		r.LineItems = []commerce.LineItem{{Title: "Linen shirt", VariantTitle: "M", SKU: "LS-M", Quantity: 2, CurrentQuantity: 1, PriceMinor: 4900}}
		for _, f := range fulfillmentStatuses {
			r.Fulfillments = append(r.Fulfillments, commerce.Fulfillment{Status: f, Carrier: "DHL", TrackingNumber: "00340"})
		}
		for _, sh := range shipmentStatuses {
			r.Fulfillments = append(r.Fulfillments, commerce.Fulfillment{Status: "success", ShipmentStatus: sh, DeliveredAt: &at})
		}
		for j := range max(len(returnStates), len(returnOutcomes), len(returnLabels), len(returns.Providers)) {
			ret := returns.Return{Provider: returns.Providers[j%len(returns.Providers)], ExternalID: "R" + strconv.Itoa(j),
				State: returnStates[j%len(returnStates)], Outcome: returnOutcomes[j%len(returnOutcomes)], LabelStatus: returnLabels[j%len(returnLabels)], UpdatedAt: at, SyncedAt: at}
			// Known and unknown carriers, with and without a label.
			switch j % 3 {
			case 0:
				ret.Carrier, ret.TrackingNumber, ret.LabelURL = "USPS", "9400100000000000000000", "https://labels.example.com/l.pdf"
			case 1:
				ret.Carrier, ret.TrackingNumber = "Happy Returns", "HR1"
			}
			// Stuck with and without Loop's message; the returned items.
			ret.ProcessingFailed, ret.ProcessingError = j%4 < 2, []string{"Refund failed: card expired", ""}[j%2]
			ret.LineItems = []returns.ReturnedItem{{Title: "Linen shirt", Variant: "M", Quantity: 2, Reason: "Too small"}, {Title: "Socks", Quantity: 1}}
			r.Returns = append(r.Returns, ret)
		}
		health := returns.SyncHealth{}
		if problems := returns.SyncProblems; i%(len(problems)+1) < len(problems) {
			health = returns.SyncHealth{Problem: problems[i%(len(problems)+1)], FailingSince: at, LastOK: []time.Time{at, {}}[i%2]}
		}
		orders = append(orders, orderPage{Order: r, Customer: customer, Initiate: i%2 == 0, Health: health})
	}
	for i, reason := range returns.Reasons {
		r := row(i, commerce.StatusDelivered)
		r.Return = returns.Eligibility{Reason: reason, WindowEnds: &at}
		orders = append(orders, orderPage{Order: r, Customer: customer, Unlinked: 1 + i%2, CanLink: i%2 == 0})
	}

	var tickets []*ticket.Ticket
	for i, st := range ticketStatuses {
		for j, ch := range ticketChannels {
			tickets = append(tickets, &ticket.Ticket{ID: int64(i*10 + j + 1), Subject: "Where is my parcel", RequesterEmail: "ada@example.com", Status: st, Channel: ch, LastActivityAt: at})
		}
	}
	var ticketLists, ticketViews []any
	nav := ticket.InboxNav{Counts: ticket.InboxCounts{Mine: 1, Unassigned: 2, All: 3, Open: 3, Pending: 4}, Tags: []ticket.Tag{{ID: 1, Name: "VIP"}}}
	waited := at.Add(-3 * time.Hour)
	for i, st := range append([]ticket.Status{""}, ticketStatuses...) {
		for j, scope := range []ticket.InboxScope{ticket.ScopeMine, ticket.ScopeUnassigned, ticket.ScopeAll, ticket.ScopeSpam} {
			sort := []ticket.InboxSort{ticket.SortWaiting, ticket.SortNewest}[(i+j)%2]
			q := inboxQuery{path: "/tickets", scope: scope, sort: sort, view: ticket.InboxView{Scope: scope, Status: st, TagID: int64(j % 2)}}
			page := inboxPage{Helpdesk: helpdeskNotice{Off: j == 0}, Scope: scope, Status: st, Sort: sort, Back: q.url(""),
				Pager: pagerLink{URL: q.url("abc"), LabelKey: "pager.next"}}
			page.Views, page.Statuses, page.Tags, page.Sorts = inboxNavigation(staffLocale, q, nav, j%2 == 0)
			var rows []ticket.InboxRow
			for k, tk := range tickets {
				row := ticket.InboxRow{Ticket: *tk, Preview: "Where is it?", Unread: k%2 == 0}
				if k%3 == 0 {
					row.WaitingSince = &waited
				}
				if k%3 == 1 {
					row.AssigneeName, row.Tags = "Grace", []string{"VIP", "Damaged"}
				}
				rows = append(rows, row)
			}
			page.Rows, page.Words = inboxRows(staffLocale, rows, at), newInboxWords(staffLocale)
			ticketLists = append(ticketLists, page, inboxPage{Scope: scope, Status: st, Sort: sort})
			searched := page
			searched.Query = "ada@example.com"
			ticketLists = append(ticketLists, searched, inboxPage{Scope: scope, Status: st, Query: "refund"})
		}
	}
	var notes []ticket.Notification
	for i, k := range notificationKinds {
		n := ticket.Notification{ID: int64(i + 1), TicketID: 1, Subject: "Where is my parcel", Kind: k, CreatedAt: at}
		if i%2 == 1 {
			n.ReadAt = &at
		}
		notes = append(notes, n)
	}
	report := &ticket.Report{Since: at, Until: at,
		Shop: ticket.ReportFigures{Opened: 12, Closed: 7, Responded: 10, FirstResponseAvg: 95 * time.Minute, FirstResponse: 40 * time.Minute,
			ResolutionAvg: 30 * time.Hour, Resolution: 26*time.Hour + 5*time.Minute},
		Agents: []ticket.ReportFigures{{AgentID: 3, AgentName: "Grace", Opened: 5, Closed: 4, Responded: 5, FirstResponse: time.Hour, FirstResponseAvg: 2 * time.Hour,
			Resolution: 3 * time.Hour, ResolutionAvg: 4 * time.Hour}, {Opened: 2}}}
	var msgs []messageView
	for _, a := range authorKinds {
		for _, k := range messageKinds {
			for _, m := range []ticket.Message{{Kind: k, AuthorKind: a, Body: "Hello\nthere\n\nOn Monday, Ada wrote:\n> Hi", CreatedAt: at},
				{Kind: k, AuthorKind: a, AuthorName: "Grace", Body: "Hi", CreatedAt: at}} {
				shown, quoted := splitQuoted(m.Body)
				msgs = append(msgs, messageView{Message: m, Type: m.ConversationKind(), Shown: shown, Quoted: quoted})
			}
		}
	}
	for _, state := range mailStates {
		mail := &ticket.Mail{State: state, Recipient: "ada@example.com", Attempts: 2, Response: "250 2.0.0 queued as 4F2A"}
		if state == ticket.MailRetrying || state == ticket.MailFailed {
			mail.LastError = "mail: relay.example.com:587: 451 4.3.0 try again later"
		}
		msgs = append(msgs, messageView{Message: ticket.Message{Kind: ticket.KindMessage, AuthorKind: ticket.AuthorAgent, Body: "Sent", CreatedAt: at},
			Type: ticket.Reply, Shown: []string{"Sent"}, Delivery: mail})
	}
	me := &user.User{ID: 1, Email: "agent@example.com", Role: user.RoleAgent}
	staff := []*user.User{me, {ID: 2, Email: "grace@example.com", Name: "Grace", Role: user.RoleManager}}
	for i, tk := range tickets {
		r := rows[i%len(rows)]
		tk.AssigneeID = int64(i % 3) // unassigned, mine, a colleague's
		closed := at.Add(90 * time.Minute)
		tk.ClosedAt, tk.FirstResponseAt, tk.SpamAt, tk.CreatedAt = &closed, &closed, &closed, at
		tk.MergedIntoID = int64(i % 2)
		ticketViews = append(ticketViews, ticketPage{Helpdesk: helpdeskNotice{Off: true, CanSwitch: i%2 == 0}, Ticket: tk, Statuses: ticketStatuses,
			Messages: msgs, Customer: customer, Order: &r, Orders: rows, OrdersCount: len(rows), Tags: []ticket.Tag{{ID: 1, Name: "vip"}},
			AllTags: []ticket.Tag{{ID: 1, Name: "vip"}, {ID: 2, Name: "refund"}}, Assignee: staff[1], Staff: staff, Me: me, CanAssign: i%2 == 1,
			MergeTargets: []*ticket.Ticket{tickets[0]}, FirstResponse: humanDuration(90 * time.Minute), Resolution: humanDuration(90 * time.Minute),
			Blocked: i%2 == 0, Error: "Write a message first.", Draft: "draft",
			ReturnsHealth: returns.SyncHealth{Problem: returns.SyncProblems[i%len(returns.SyncProblems)], FailingSince: at, LastOK: at}})
	}
	ticketViews = append(ticketViews, ticketPage{Ticket: tickets[0], Statuses: ticketStatuses, Me: me})

	var entries []audit.Entry
	for i, action := range auditActions {
		entries = append(entries, audit.Entry{At: at, Action: action, Subject: "#1001",
			Actor:    audit.Actor{Kind: actorKinds[i%len(actorKinds)], ID: "1", Label: "ada@example.com"},
			Provider: string(returns.Providers[i%len(returns.Providers)]), Outcome: auditOutcomes[i%len(auditOutcomes)],
			Details: map[string]any{"order_id": float64(1000000 + i), "reason": string(reasons[i%len(reasons)]), "via": vias[i%len(vias)],
				"fallback_offered": i%2 == 0, "published": true, "live": false, "role": string(roles[i%len(roles)]), "previous_role": string(roles[(i+1)%len(roles)]), "token_name": "sync",
				"fields":  []any{"general.hub_enabled", "returns.loop_api_key", "returns.params.narvar.order"},
				"removed": []any{"returns.loop_webhook_secret"}, "reentered": []any{"returns.loop_api_key"}}})
	}

	var members []staffMember
	var tokens []staffToken
	for i, r := range roles {
		u := &user.User{ID: int64(i + 1), Email: "p" + strconv.Itoa(i) + "@example.com", Name: "Person", Role: r, LastLoginAt: &at}
		if i%2 == 1 {
			u.DisabledAt = &at
		}
		members = append(members, staffMember{User: u, Roles: roles[i:]})
		tokens = append(tokens, staffToken{APIToken: user.APIToken{ID: int64(i + 1), Name: "sync", CreatedAt: at}, Owner: u})
	}

	var invitations []pendingInvitation
	for i, r := range roles {
		invitations = append(invitations, pendingInvitation{Invitation: &user.Invitation{ID: int64(i + 1), Email: "new" + strconv.Itoa(i) + "@example.com",
			Name: "New person", Role: r, CreatedAt: at, ExpiresAt: at}, Expired: i%2 == 0, CanResend: i > 0})
	}

	var settings []any
	for _, st := range scopeStatuses {
		for _, p := range returns.Providers {
			cfg := returns.Config{Returns: returns.ReturnsConfig{Provider: p, KeyCheck: &returns.KeyCheck{CheckedAt: at, Orders: string(st), Returns: string(st), DeveloperTools: string(st)}}}
			state := &returns.State{Draft: cfg}
			report := &loop.KeyReport{}
			report.Orders = loop.ScopeResult{Scope: loop.ScopeOrders, Status: st}
			report.Returns = loop.ScopeResult{Scope: loop.ScopeReturns, Status: st}
			report.DeveloperTools = loop.ScopeResult{Scope: loop.ScopeDeveloperTools, Status: st}
			settings = append(settings, &settingsView{Tab: "returns", State: state, Config: cfg, Report: report, Providers: returns.Providers,
				Defaults: returns.DefaultParams, Sample: orderview.Sample{Order: &commerce.Order{Name: "#1001"}}, PreviewFor: "7", SaveAnyway: true})
		}
	}

	unreadable := returns.Config{Returns: returns.ReturnsConfig{Provider: returns.ProviderLoop, LoopKeyUnreadable: true, LoopWebhookSecretUnreadable: true}}
	settings = append(settings, &settingsView{Tab: "returns", State: &returns.State{Draft: unreadable}, Config: unreadable, Providers: returns.Providers,
		Defaults: returns.DefaultParams, Sample: orderview.Sample{Order: &commerce.Order{Name: "#1001"}},
		Unreadable: "This server cannot read the shop's stored Loop API key (Settings → Returns).", Error: "Loop API key cannot be read", Field: "returns.loop_api_key"})

	var failedJobs []jobs.Job
	for i, state := range jobs.Failed {
		failedJobs = append(failedJobs, jobs.Job{ID: int64(i + 1), Kind: "sessions_expired_delete", State: state, Attempt: 2, MaxAttempts: 5,
			Errors: []jobs.AttemptError{{Attempt: 1, At: at, Error: "The database went away."}}, CreatedAt: at, ScheduledAt: at})
	}

	return map[string][]any{
		"customers": {customersPage{Query: "ada", Next: "abc", Customers: []commerce.CustomerRow{{Customer: customer, LastOrderAt: &at}, {Customer: customer}},
			Sort: listSort{Key: "name", Ascending: true}, Headers: sortHeaders(staffLocale, "/customers", "ada", listSort{Key: "name", Ascending: true}, customerSorts)},
			customersPage{Query: "zz", Headers: sortHeaders(staffLocale, "/customers", "zz", listSort{Key: "created"}, customerSorts)}},
		"customer": {customerPage{Customer: customer, Orders: rows, Next: "abc"}},
		"orders": {ordersPage{Query: "#10", Next: "abc", Orders: rows, Sort: listSort{Key: "total"}, Headers: sortHeaders(staffLocale, "/orders", "#10", listSort{Key: "total"}, orderSorts)},
			ordersPage{Query: "#10", Orders: rows, Unlinked: 2, Headers: sortHeaders(staffLocale, "/orders", "#10", listSort{Key: "created"}, orderSorts)}},
		"returns_unlinked": {unlinkedPage{Linked: "7", Returns: []returns.Unlinked{{
			Return: returns.Return{ID: 3, Provider: returns.ProviderLoop, ExternalID: "48210002", OrderName: "#1032", State: returns.StateReview,
				CreatedAt: at, LineItems: []returns.ReturnedItem{{Title: "Tee", Variant: "M", Quantity: 1, Reason: "Too small"}}, OrderAmbiguous: true},
			Candidates: []returns.Candidate{{OrderID: 7, Name: "#1032", Email: "ada@example.com", CreatedAt: at, TotalMinor: 1999, Currency: "USD"},
				{OrderID: 8, Name: "#1032", CreatedAt: at, TotalMinor: 500, Currency: "EUR"}}}}},
			unlinkedPage{Error: "That return is attached to an order already."}},
		"order":         orders,
		"return_link":   returnLinkFixtures(),
		"tickets":       ticketLists,
		"notifications": {notificationsPage{Notifications: notes, Next: "abc", Unread: 1}, notificationsPage{}},
		"reports":       {reportsPage{Days: 30, Periods: reportPeriods, Report: report}, reportsPage{Days: 7, Periods: reportPeriods, Report: &ticket.Report{}}},
		"ticket":        ticketViews,
		"ticket_new":    {newTicketPage{Email: "ada@example.com", Name: "Ada", Subject: "Your order", Body: "Hello", OrderID: 1, Order: &commerce.Order{ID: 1, Name: "#1001"}, Error: "Give the ticket a subject."}, newTicketPage{}},
		"audit":         {auditPage{Entries: entries, Next: "abc", Actions: auditActions}, auditPage{Actions: auditActions}},
		"jobs":          {jobsPage{Jobs: failedJobs, Next: "abc", Retried: true}, jobsPage{}},
		"settings_shopify_backfill": {shopifyBackfillView{Status: "none"},
			shopifyBackfillView{Status: "importing", StatusLabel: "Importing", Active: true, RowsDone: 5000, RowsTotal: 10000, Percent: 49.5,
				ETA: "1m5s", ErrorCount: 1, LastError: "order #1001: currency must be a three-letter ISO 4217 code", StartedAt: "5 Dec 2026 07:00 UTC"},
			shopifyBackfillView{Status: "completed", StatusLabel: "Completed", RowsDone: 10000, RowsTotal: 10000, Percent: 100,
				StartedAt: "5 Dec 2026 07:00 UTC", FinishedAt: "5 Dec 2026 07:10 UTC", Started: true},
			shopifyBackfillView{Status: "failed", StatusLabel: "Failed", ErrorCount: 1, LastError: "Shopify refused the access token", Notice: "An import is already running."}},
		"settings_mail_webhook": {mailWebhookPage{URL: "https://hubdesk.example/webhooks/email/1?token=abc", Made: true},
			mailWebhookPage{Unreadable: true}, mailWebhookPage{}},
		"settings_privacy": {privacyPage{Requests: []privacyRow{{Request: &privacy.Request{ID: 1, Kind: privacy.KindDataRequest,
			CustomerEmail: "ada@example.com", Document: "{}", Summary: "1 orders"}, What: privacyKinds[privacy.KindDataRequest]}}}, privacyPage{}},
		"staff": {staffView{Members: members, Tokens: tokens, Grantable: roles, MailOff: true, Invite: inviteForm{Role: user.RoleAgent},
			Link:        &shownLink{Kind: "invitation", For: "new@example.com", URL: "https://desk.example.com/invite/abc"},
			Invitations: invitations},
			staffView{Members: members, Grantable: roles[1:], Link: &shownLink{Kind: "invitation", For: "new@example.com", URL: "https://desk.example.com/invite/abc", Mailed: true}},
			staffView{Members: members, Link: &shownLink{Kind: "reset", For: "p1@example.com", URL: "https://desk.example.com/reset/abc"}, Error: "Only an owner can make someone an owner."}},
		"invite": {acceptView{Email: "new@example.com", Shop: "Acme", Role: user.RoleManager, Token: "abc"},
			acceptView{Email: "new@example.com", Shop: "Acme", Name: "Ada", Role: user.RoleAgent, Token: "abc", Error: "Choose a password of at least 8 characters."}},
		"forgot_password":  {forgotView{}, forgotView{MailOff: true}, forgotView{Sent: true, Email: "ada@example.com"}, forgotView{Error: "Too many reset requests from here."}},
		"reset_password":   {resetView{Email: "ada@example.com", Token: "abc"}, resetView{Email: "ada@example.com", Token: "abc", Error: "Choose a password of at least 8 characters."}},
		"tokens":           {tokensView{Tokens: []user.APIToken{{Name: "sync", CreatedAt: at, LastUsedAt: &at}}, New: "hd-abc123"}},
		"settings_general": {&settingsView{Tab: "general", State: &returns.State{Live: true}, Saved: true}},
		"settings_returns": settings,
		"login":            {loginForm{Error: "Wrong email or password."}},
		"settings_macros":  macroViews(at),
		"error":            {struct{ Message string }{"This page does not exist."}},
		"demo_mailbox": {mailboxPage{Size: 200}, mailboxPage{Size: 200, NotFound: true, Mails: []demo.CapturedMail{{ID: 1, At: at, To: "ada@example.com", Subject: "Re: Parcel [#1]"}},
			Open:    &demo.CapturedMail{ID: 1, At: at, To: "ada@example.com", Subject: "Re: Parcel [#1]", Text: "Hi", HTML: "<p>Hi</p>"},
			Headers: []mailHeader{{"Message-Id", "<a@b>"}}}},
		"account_notifications": {notificationMailView{On: true, MailOff: true, Saved: true, Signature: "Grace\nSupport", SignatureSaved: true, MaxSignature: 500},
			notificationMailView{SignatureError: "A signature is at most 500 characters."}},
		"settings_mail":    mailSettingsViews(at),
		"settings_shopify": shopifyViews(at),
		"shopify_installed": {installedPage{Shop: "acme.myshopify.com", Created: true, Missing: []string{"read_customers"}},
			installedPage{Shop: "acme.myshopify.com"}, installedPage{Reason: "This install link was already used or is unknown."}},
	}
}

// shopifyViews are Settings → Shopify: never connected (the app's install
// offered), connected each way with scopes missing and webhooks checked,
// refused, uninstalled, a refused connect.
func shopifyViews(at time.Time) []any {
	scopes := func(granted bool) []shopifyconnect.ScopeStatus {
		var out []shopifyconnect.ScopeStatus
		for _, sc := range shopifyconnect.InstallScopes() {
			out = append(out, shopifyconnect.ScopeStatus{Scope: sc, Required: slices.Contains(shopifyconnect.RequiredScopes, sc), Granted: granted})
		}
		return out
	}
	var topics []shopifyconnect.TopicStatus
	for i, tp := range shopifyconnect.Topics {
		states := []string{shopifyconnect.SubscriptionOK, shopifyconnect.SubscriptionCreated, shopifyconnect.SubscriptionRepaired, shopifyconnect.SubscriptionFailed, ""}
		topics = append(topics, shopifyconnect.TopicStatus{Topic: tp, Name: strings.ToLower(tp), State: states[i%len(states)]})
	}
	base := func(st *shopifyconnect.Status) shopifyPage {
		st.WebhookURL = "https://hubdesk.example/webhooks/shopify"
		return shopifyPage{Status: st, Domain: "acme.myshopify.com", Now: at}
	}
	offered := base(&shopifyconnect.Status{InstallOffered: true, InstallURL: "https://hubdesk.example/shopify/install?shop=acme.myshopify.com", Scopes: scopes(false)})
	cc := base(&shopifyconnect.Status{Connected: true, State: connection.StatusConnected, Method: connection.ShopifyClientCredentials, ClientID: "abc123",
		ExpiresAt: &at, CheckedAt: &at, Scopes: scopes(true), MissingRequired: []string{"read_fulfillments"}, Subscriptions: topics,
		SubscriptionsCheckedAt: &at, SubscriptionsError: "orders/create: Address is invalid"})
	cc.Notice = shopifyNotices["connected"]
	token := base(&shopifyconnect.Status{Connected: true, State: connection.StatusConnected, Method: connection.ShopifyAdminToken, Scopes: scopes(true),
		Subscriptions: topics, SubscriptionsCheckedAt: &at, SubscriptionsHealthy: true})
	app := base(&shopifyconnect.Status{Connected: true, State: connection.StatusRefused, Method: connection.ShopifyPublicApp, ExpiresAt: &at, Scopes: scopes(true),
		Subscriptions: topics, InstallOffered: true})
	gone := base(&shopifyconnect.Status{State: connection.StatusUninstalled, Method: connection.ShopifyPublicApp, Uninstalled: &at, Scopes: scopes(false), Unreadable: true})
	refused := base(&shopifyconnect.Status{Scopes: scopes(false)})
	refused.Error, refused.Field = "Shopify refused these credentials, so nothing was saved.", "client_id"
	refused.Form = shopifyconnect.CustomApp{Method: connection.ShopifyClientCredentials, ClientID: "abc123"}
	return []any{offered, cc, token, app, gone, refused}
}

// macroViews are Settings → Macros: empty, with macros (one with a
// placeholder hubdesk does not know), editing one, refused, saved.
func macroViews(at time.Time) []any {
	macros := []*macro.Macro{
		{ID: 1, Name: "Where is my order", Body: "Hi {{customer.first_name|there}},\nyour order {{order.name}}: {{order.tracking_url}}", CreatedAt: at, UpdatedAt: at},
		{ID: 2, Name: "Refund issued", Body: "Hello {{customer.last_name}}", CreatedAt: at, UpdatedAt: at},
	}
	return []any{
		macrosView{Placeholders: macroPlaceholders},
		macrosView{Macros: macros, Placeholders: macroPlaceholders, Saved: true},
		macrosView{Macros: macros, Placeholders: macroPlaceholders, Deleted: true, Form: macroForm{ID: 1, Name: macros[0].Name, Body: macros[0].Body}},
		macrosView{Macros: macros, Placeholders: macroPlaceholders, Error: "The name is already used by another macro.", Field: "name",
			Form: macroForm{Name: "Refund issued", Body: "{{agent.first_name}}"}},
	}
}

var (
	// Code and text areas show what staff type as they type it (a macro's
	// placeholders, {{customer.first_name}}), not a stored code to word.
	invisible = regexp.MustCompile(`(?is)<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->|<head\b.*?</head>|<code\b.*?</code>|<textarea\b.*?</textarea>`)
	// Placeholders are left out: they show what to type, and a parameter
	// name is typed as its code.
	visibleAttr = regexp.MustCompile(`(?i)\s(?:title|alt|aria-label)="([^"]*)"`)
	tag         = regexp.MustCompile(`(?s)<[^>]*>`)
	// snakeCase is a code such as in_transit or loop_auth; no desk text
	// and no fixture value is written that way.
	snakeCase = regexp.MustCompile(`\b[a-z]+(?:_[a-z]+)+\b`)
	separator = regexp.MustCompile(`[|·()\[\],:;—–]`)
)

// visibleText is what a page shows or reads out: its text nodes and the
// attributes people see, each text node on its own line.
func visibleText(page string) []string {
	page = invisible.ReplaceAllString(page, "")
	var out []string
	for _, m := range visibleAttr.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	for _, node := range tag.Split(page, -1) {
		if s := strings.TrimSpace(html.UnescapeString(node)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// TestDeskPagesShowNoRawValues renders every desk page with fixtures that
// hold every status, state, channel, role, action and outcome, and fails
// when one shows as its stored code (delivered, in_transit, hub,
// settings.changed …) instead of words.
func TestDeskPagesShowNoRawValues(t *testing.T) {
	d, err := New(Desk{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]bool{}
	for _, values := range labelled() {
		for _, v := range values {
			if v == strings.ToLower(v) {
				raw[v] = true
			}
		}
	}
	for _, b := range []bool{true, false} {
		raw[strconv.FormatBool(b)] = true
	}
	keyGroups := map[string]bool{}
	for _, k := range locale.Desk.For("en").Keys() {
		first, _, _ := strings.Cut(k, ".")
		keyGroups[first] = true
	}
	pages, err := fs.Glob(templateFiles, "templates/pages/*.html")
	if err != nil {
		t.Fatal(err)
	}
	fixtures := pageFixtures()
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/pages/"), ".html")
		data, ok := fixtures[name]
		if !ok {
			t.Errorf("page %s has no fixture", name)
			continue
		}
		for i, dt := range data {
			role := roles[i%len(roles)]
			v := view{Title: "Page", Data: dt, User: &user.User{Email: "ada@example.com", Role: role}, Shop: &shop.Shop{Name: "Acme", Domain: "acme.myshopify.com"}, Notifications: i % 3}
			for _, n := range navigation {
				v.Nav = append(v.Nav, navItem{Path: n.Path, LabelKey: n.LabelKey})
			}
			w := httptest.NewRecorder()
			d.render.Render(w, 200, name, v)
			if w.Code != 200 {
				t.Fatalf("%s #%d: status %d: %s", name, i, w.Code, w.Body)
			}
			for _, text := range visibleText(w.Body.String()) {
				if m := snakeCase.FindString(text); m != "" {
					t.Errorf("%s #%d shows the code %q in %q", name, i, m, text)
				}
				for _, seg := range separator.Split(text, -1) {
					if seg = strings.TrimSpace(seg); raw[seg] {
						t.Errorf("%s #%d shows the code %q in %q", name, i, seg, text)
					}
				}
				if first, _, ok := strings.Cut(text, "."); strings.Contains(text, "{") || ok && keyGroups[first] && !strings.Contains(text, " ") {
					t.Errorf("%s #%d shows a catalogue key or placeholder in %q", name, i, text)
				}
			}
		}
	}
}

// TestBadgeColours: every badge a page can show has its own rule in
// desk.css, its text passes WCAG AA contrast (4.5:1) on its background,
// and a closed ticket does not look like a closed return.
func TestBadgeColours(t *testing.T) {
	css, err := os.ReadFile("../web/static/desk.css")
	if err != nil {
		t.Fatal(err)
	}
	rule := regexp.MustCompile(`\.(badge--[a-z-]+)\{background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})\}`)
	colours := map[string][2]string{}
	for _, m := range rule.FindAllStringSubmatch(string(css), -1) {
		colours[m[1]] = [2]string{m[2], m[3]}
	}
	l := locale.Desk.For("en")
	for kind, group := range badgeGroups {
		for _, v := range labelled()[group] {
			class := newBadge(l, kind, v).Class
			c, ok := colours[class]
			if !ok {
				t.Errorf("desk.css has no .%s{background:…;color:…}", class)
				continue
			}
			if r := contrast(c[0], c[1]); r < 4.5 {
				t.Errorf(".%s: contrast %.2f:1 of %s on %s, want at least 4.5:1", class, r, c[1], c[0])
			}
		}
	}
	if colours["badge--ticket-closed"] == colours["badge--return-closed"] {
		t.Errorf("a closed ticket and a closed return share colours %v", colours["badge--ticket-closed"])
	}
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	var rgb [3]float64
	for i := range rgb {
		n, err := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		if err != nil {
			panic(fmt.Sprintf("colour %q: %v", hex, err))
		}
		c := float64(n) / 255
		if c <= 0.03928 {
			rgb[i] = c / 12.92
		} else {
			rgb[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
}

func TestContrast(t *testing.T) {
	if r := contrast("#000000", "#ffffff"); math.Abs(r-21) > 0.01 {
		t.Errorf("black on white = %.2f, want 21", r)
	}
	if r := contrast("#777777", "#ffffff"); r >= 4.5 {
		t.Errorf("#777 on white = %.2f, want below 4.5", r)
	}
}

// returnLinkFixtures are Initiate return's answers: a link of each
// provider, Loop's portal after a failure, and each refusal.
func returnLinkFixtures() []any {
	o := orderview.Order{Order: &commerce.Order{ID: 7, Name: "#1007"}}
	code, err := qr.Encode("https://returns.example.com/?order=%231007")
	if err != nil {
		panic(err)
	}
	var out []any
	for i, p := range returns.Providers {
		link := &orderview.ReturnLink{URL: "https://returns.example.com/?order=%231007", Provider: p, Via: []string{"portal", "loop_api", "loop_portal"}[i%3], QR: code}
		if i%2 == 1 {
			link.Failure = &returns.Failure{Reason: returns.ReasonLoopDown}
		}
		out = append(out, returnLinkView{Order: o, Ticket: int64(i % 2), Link: link, QRSVG: template.HTML(code.SVG("QR")), PNGURL: "/orders/7/return-qr.png?url=x"})
	}
	return append(out, returnLinkView{Order: o, Ticket: 3, Error: "This order cannot start a return: Not delivered yet."})
}

// mailSettingsViews are Settings → Mail without a mailbox, with one that
// works and with one that fails.
func mailSettingsViews(at time.Time) []any {
	account := &inbound.Account{Host: "imap.example.com", Port: 993, Security: inbound.SecurityTLS, Username: "support@acme.example", Mailbox: "INBOX"}
	addresses := []inbound.Address{{ID: 1, Address: "support@acme.example", CreatedAt: at}}
	return []any{
		&mailSettingsPage{MailView: &inbound.MailView{BuiltIn: "acme@mail.example.com"}, Notice: "Address added."},
		&mailSettingsPage{MailView: &inbound.MailView{BuiltIn: "acme@mail.example.com", Addresses: addresses, IMAP: account,
			Status: inbound.MailboxState{Mailbox: "INBOX", UIDValidity: 1, LastUID: 7, PolledAt: &at}}, Form: *account},
		&mailSettingsPage{MailView: &inbound.MailView{Addresses: addresses, IMAP: account,
			Status: inbound.MailboxState{Mailbox: "INBOX", LastError: "login as support@acme.example: Invalid credentials", ErrorAt: &at}},
			Form: *account, Error: "The port is a number from 1 to 65535 (993 for TLS, 143 for STARTTLS)."},
	}
}
